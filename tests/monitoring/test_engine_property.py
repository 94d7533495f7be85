"""Property: the incremental sweep, run over random small histories, leaves the same open
flags as the full sweep (after each sweep day's incremental sweeps, a full sweep over
everyone changes nothing). Changes come before and between a day's sweeps, so a missed
dirty mark shows. Sweep days jump forward by random steps (time travel by ``as_of``) over
about four months: a ``next_review_on`` one day too late is missed on the day the rule's
output changed, and the full sweep then finds the change."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring import services as lab_services
from monitoring.errors import LabEntryRejected
from monitoring.evaluation import sweep_run
from monitoring.models import Flag
from patients import services as patient_services
from patients.errors import DomainError
from patients.models import LabResult, Patient
from tests.factories import DiagnosisFactory, PatientFactory
from tests.monitoring.conftest import cbc, record, start_course
from therapy import services as therapy_services
from therapy.models import Hold, MaintenanceCourse

FIRST_DAY = date(2025, 2, 24)  # cycle 2 of a course started 2025-01-06; cycle 3 on 3 March
DAYS = 11  # sweep days
# Steps between sweep days: often the next day, sometimes a jump (a weekend, weeks).
STEPS = st.lists(st.sampled_from([1, 1, 1, 2, 3, 4, 6, 9, 14]), min_size=DAYS, max_size=DAYS)

event = st.tuples(
    st.integers(0, DAYS - 1),  # day
    st.booleans(),  # after the day's first sweep (then only a dirty mark brings it in)
    st.integers(0, 2),  # patient
    st.sampled_from(
        [
            "cbc",
            "anc",
            "markers",
            "creatinine",
            "weight",
            "hold",
            "end_hold",
            "in_error",
            "status",
            "authorization",
            "survey",
            "pregnancy_test",
        ]
    ),
    st.sampled_from(["0.4", "0.9", "1.6", "3.0"]),  # ANC (10^9/L)
    st.sampled_from(["20", "45", "90", "200"]),  # platelets (10^9/L)
)


def apply(kind, patient, users, on, anc, plt):
    nurse, physician, rems_admin = users
    try:
        if kind == "cbc":
            cbc(patient, nurse, on, anc=anc, plt=plt)
        elif kind == "anc":
            record(patient, nurse, on, hour=14, ANC=anc)
        elif kind == "markers":
            spep = str(Decimal(plt) / 100)
            record(patient, nurse, on, SPEP_M=spep, FLC_KAPPA=plt, FLC_LAMBDA="10")
        elif kind == "creatinine":
            record(patient, nurse, on, CREAT=str(Decimal(anc) + Decimal("0.5")))
        elif kind == "weight":
            patient_services.weight_add(
                patient=patient, user=nurse, measured_on=on, weight_kg=Decimal(plt) / 2 + 40
            )
        elif kind == "hold":
            course = MaintenanceCourse.objects.active().filter(patient=patient).first()
            if course is not None:
                therapy_services.hold_start(
                    course=course, user=physician, start_date=on, reason="neutropenia"
                )
        elif kind == "end_hold":
            hold = Hold.objects.valid().filter(course__patient=patient, end_date=None).first()
            if hold is not None:
                therapy_services.hold_end(hold=hold, user=physician, end_date=on)
        elif kind == "in_error":
            result = LabResult.objects.valid().filter(patient=patient).order_by("-pk").first()
            if result is not None:
                lab_services.lab_result_mark_entered_in_error(
                    result=result, user=nurse, reason="Wrong tube", as_of=on
                )
        elif kind == "authorization":
            therapy_services.rems_authorization_create(
                patient=patient,
                user=rems_admin,
                authorization_number=f"A-{patient.pk}-{on:%Y%m%d}",
                obtained_on=on,
                days_supply=28,
                today=on,
            )
        elif kind == "survey":
            therapy_services.rems_survey_create(
                patient=patient, user=rems_admin, completed_on=on, today=on
            )
        elif kind == "pregnancy_test":
            record(patient, nurse, on, hour=8, HCG_URINE_QUAL="negative")
        elif kind == "status":
            fresh = Patient.objects.get(pk=patient.pk)
            status = "off_therapy" if fresh.status == "active" else "active"
            patient_services.patient_update(patient=fresh, user=nurse, data={"status": status})
    except (DomainError, LabEntryRejected):
        pass  # a refused change changes nothing (services are atomic)


def open_flags():
    return sorted(
        Flag.objects.open().values_list("patient__mrn", "kind", "severity", "message", "due_on")
    )


@pytest.mark.django_db
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.lists(event, max_size=14), steps=STEPS)
def test_incremental_sweep_day_by_day_gives_the_same_flags_as_the_full_sweep(
    events, steps, clinic_a, nurse, physician, rems_admin, regimen
):
    users = (nurse, physician, rems_admin)
    with transaction.atomic():
        patients = []
        for index in range(3):
            patient = PatientFactory(clinic=clinic_a, mrn=f"P{index}")
            DiagnosisFactory(patient=patient)
            if index < 2:  # the third has no course: reviewed only when its inputs change
                start_course(patient, physician, regimen)
                cbc(patient, nurse, date(2025, 2, 10))
            patients.append(patient)
        # REMS dates move with the calendar: a pregnancy test schedule, an authorization
        # and a prescriber certification expiring within the weeks swept.
        therapy_services.rems_enrollment_save(
            patient=patients[0],
            user=rems_admin,
            today=FIRST_DAY,
            data={
                "patient_risk_category": "fcbp_adult",
                "enrolled_on": date(2025, 1, 2),
                "agreement_signed_on": date(2025, 1, 2),
                "prescriber_certification_expires_on": date(2025, 4, 20),
                "status": "active",
            },
        )
        apply("authorization", patients[0], users, date(2025, 2, 21), "0", "0")
        on = FIRST_DAY
        for offset, step in enumerate(steps):
            for later in (False, True):
                for day, afternoon, who, kind, anc, plt in events:
                    if (day, afternoon) == (offset, later):
                        apply(kind, patients[who], users, on, anc, plt)
                sweep_run(as_of=on, full=False, batch_size=2)
            incremental = open_flags()
            full = sweep_run(as_of=on, full=True, batch_size=2)
            assert (full.created, full.changed, full.resolved) == (0, 0, 0), (on, events)
            assert open_flags() == incremental
            on += timedelta(days=step)
        transaction.set_rollback(True)
