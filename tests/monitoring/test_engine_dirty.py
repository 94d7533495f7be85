"""Incremental evaluation: every change to a rule input marks the patient for evaluation
in its own transaction, and the mark is cleared by compare-and-set on the version."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from monitoring import services as lab_services
from monitoring.evaluation import patients_evaluate, sweep_patient_ids, sweep_run
from monitoring.models import Flag, MonitoringStatus
from patients import services as patient_services
from patients.models import Patient, WeightMeasurement
from tests.monitoring.conftest import COURSE_START, cbc, record, start_course
from therapy import dosing
from therapy import services as therapy_services
from therapy.models import Hold, RemsAuthorization

AS_OF = date(2025, 3, 20)


def version(patient) -> int:
    return Patient.objects.values_list("rules_version", flat=True).get(pk=patient.pk)


def is_due(patient, on=AS_OF) -> bool:
    return patient.pk in sweep_patient_ids(due_on=on)


def _enrollment(c):
    therapy_services.rems_enrollment_save(
        patient=c["patient"],
        user=c["rems_admin"],
        today=AS_OF,
        data={
            "patient_risk_category": "male_adult",
            "enrolled_on": date(2025, 1, 2),
            "agreement_signed_on": date(2025, 1, 2),
            "prescriber_certification_expires_on": date(2030, 1, 1),
            "status": "active",
        },
    )


def _authorization(c):
    return therapy_services.rems_authorization_create(
        patient=c["patient"],
        user=c["rems_admin"],
        authorization_number="AUTH-7",
        obtained_on=AS_OF - timedelta(days=2),
        days_supply=28,
        today=AS_OF,
    )


def _hold(c):
    return therapy_services.hold_start(
        course=c["course"],
        user=c["physician"],
        start_date=COURSE_START + timedelta(days=10),
        reason="neutropenia",
    )


# (name, prepare before the evaluation, the change)
CHANGES = [
    ("lab results recorded", None, lambda c: record(c["patient"], c["nurse"], AS_OF, ANC="2.1")),
    (
        "lab result corrected",
        None,
        lambda c: lab_services.lab_result_correct(
            result=c["plt"], user=c["nurse"], value="150", unit="10^9/L", reason="Typo"
        ),
    ),
    (
        "lab result entered in error",
        None,
        lambda c: lab_services.lab_result_mark_entered_in_error(
            result=c["plt"], user=c["nurse"], reason="Wrong patient", as_of=AS_OF
        ),
    ),
    (
        "course started",
        "no course",
        lambda c: start_course(c["patient"], c["physician"], c["regimen"]),
    ),
    (
        "course planned",
        "no course",
        lambda c: therapy_services.course_start(
            patient=c["patient"],
            user=c["physician"],
            regimen=c["regimen"],
            start_date=AS_OF + timedelta(days=20),
            vte_prophylaxis="aspirin",
            aspirin_dose_mg=81,
            justification="Planned",
            today=AS_OF,
        ),
    ),
    (
        "course discontinued",
        None,
        lambda c: therapy_services.course_discontinue(
            course=c["course"], user=c["physician"], discontinued_on=AS_OF, reason="toxicity"
        ),
    ),
    (
        "course corrected",
        "discontinued",
        lambda c: therapy_services.course_correct(
            course=c["course"],
            user=c["physician"],
            data={"discontinuation_reason": "progression"},
            reason="Marrow",
        ),
    ),
    ("hold started", None, _hold),
    (
        "hold ended",
        "hold",
        lambda c: therapy_services.hold_end(
            hold=Hold.objects.get(course=c["course"]),
            user=c["physician"],
            end_date=COURSE_START + timedelta(days=17),
            resume_level=dosing.LEVEL_5_21,
        ),
    ),
    (
        "dose changed",
        None,
        lambda c: therapy_services.dose_change(
            course=c["course"],
            user=c["physician"],
            level=dosing.LEVEL_5_21,
            effective_from=COURSE_START + timedelta(days=60),
            reason="hematologic_toxicity",
        ),
    ),
    ("REMS enrollment saved", None, _enrollment),
    ("REMS authorization recorded", "enrolled", _authorization),
    (
        "REMS authorization dispensed",
        "authorized",
        lambda c: therapy_services.rems_authorization_update(
            authorization=RemsAuthorization.objects.get(patient=c["patient"]),
            user=c["rems_admin"],
            dispensed_on=AS_OF,
            today=AS_OF,
        ),
    ),
    (
        "REMS survey recorded",
        "enrolled",
        lambda c: therapy_services.rems_survey_create(
            patient=c["patient"], user=c["rems_admin"], completed_on=AS_OF, today=AS_OF
        ),
    ),
    (
        "weight recorded",
        None,
        lambda c: patient_services.weight_add(
            patient=c["patient"], user=c["nurse"], measured_on=AS_OF, weight_kg=Decimal("71.5")
        ),
    ),
    (
        "weight entered in error",
        None,
        lambda c: patient_services.mark_entered_in_error(
            record=WeightMeasurement.objects.get(patient=c["patient"]),
            user=c["nurse"],
            reason="Other patient's",
        ),
    ),
    (
        "patient fields updated",
        None,
        lambda c: patient_services.patient_update(
            patient=c["patient"], user=c["nurse"], data={"status": "off_therapy"}
        ),
    ),
    (
        "diagnosis saved",
        None,
        lambda c: patient_services.diagnosis_save(
            patient=c["patient"], user=c["physician"], data={"on_dialysis": True}
        ),
    ),
    (
        "transplant recorded",
        None,
        lambda c: patient_services.transplant_add(
            patient=c["patient"], user=c["physician"], transplanted_on=date(2024, 7, 1)
        ),
    ),
    (
        "flag acknowledged",
        None,
        lambda c: lab_services.flag_acknowledge(
            flag=Flag.objects.open().filter(patient=c["patient"]).first(), user=c["physician"]
        ),
    ),
    (
        "rule setting changed for the clinic",
        None,
        lambda c: patient_services.clinic_rules_changed(c["patient"].clinic_id),
    ),
    (
        "rule setting default changed",
        None,
        lambda c: patient_services.clinic_rules_changed(None),
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "prepare", "change"), CHANGES, ids=[c[0] for c in CHANGES])
def test_every_change_to_a_rule_input_marks_the_patient_for_evaluation(
    name, prepare, change, patient, nurse, physician, rems_admin, regimen
):
    patient_services.weight_add(
        patient=patient, user=nurse, measured_on=date(2025, 1, 2), weight_kg=Decimal("80")
    )
    c = {
        "patient": patient,
        "nurse": nurse,
        "physician": physician,
        "rems_admin": rems_admin,
        "regimen": regimen,
    }
    if prepare != "no course":
        c["course"] = start_course(patient, physician, regimen)
    c["plt"] = next(r for r in cbc(patient, nurse, date(2025, 3, 10)) if r.test_code == "PLT")
    if prepare == "discontinued":
        therapy_services.course_discontinue(
            course=c["course"], user=physician, discontinued_on=AS_OF, reason="toxicity"
        )
        # Still followed (awaiting a new course): in the sweep's scope.
        Patient.objects.filter(pk=patient.pk).update(status=Patient.Status.PRE_MAINTENANCE)
    if prepare == "hold":
        _hold(c)
    if prepare in ("enrolled", "authorized"):
        _enrollment(c)
    if prepare == "authorized":
        _authorization(c)
    sweep_run(as_of=AS_OF)
    assert not is_due(patient)
    before = version(patient)

    change(c)

    assert version(patient) > before
    status = MonitoringStatus.objects.get(patient=patient)
    # Dirty, unless the service evaluated the patient in its own transaction (entered in
    # error: flags on withdrawn evidence resolve at once), at the version it changed.
    assert is_due(patient) or status.evaluated_version == version(patient)


@pytest.mark.django_db
def test_an_evaluation_stores_the_version_read_at_its_start_so_an_edit_during_it_stays_dirty(
    patient, nurse, physician, regimen, monkeypatch
):
    from monitoring.evaluation import engine as evaluation

    start_course(patient, physician, regimen)
    cbc(patient, nurse, date(2025, 3, 10))
    real_gather = evaluation._gather

    def gather_then_edit(patient_ids, as_of):
        batch = real_gather(patient_ids, as_of)
        # A nurse saves a weight while the evaluation runs (after it read the patient).
        patient_services.patient_rules_changed([patient.pk])
        return batch

    monkeypatch.setattr(evaluation, "_gather", gather_then_edit)
    patients_evaluate([patient.pk], as_of=AS_OF)
    monkeypatch.undo()
    status = MonitoringStatus.objects.get(patient=patient)
    assert status.evaluated_version == version(patient) - 1
    assert is_due(patient)
    patients_evaluate([patient.pk], as_of=AS_OF)
    assert not is_due(patient)


@pytest.mark.django_db
def test_a_stale_patient_instance_saved_whole_does_not_undo_a_dirty_mark(patient):
    stale = Patient.objects.get(pk=patient.pk)
    patient_services.patient_rules_changed([patient.pk])
    stale.phone = "555-0100"
    stale.save()
    assert version(patient) == 1


@pytest.mark.django_db
def test_the_incremental_sweep_skips_patients_not_due_until_their_cbc_turns_overdue(
    patient, nurse, physician, regimen
):
    start_course(patient, physician, regimen)  # 6 January: cycle 3 from 3 March
    cbc(patient, nurse, date(2025, 3, 10))  # cycle 3: next CBC 28 days later, 7 April
    assert sweep_run(as_of=AS_OF, full=False).patients == 1
    assert sweep_run(as_of=AS_OF, full=False).patients == 0
    # Due 7 April, 3-day grace: overdue from 11 April (reference sec. 4), nothing before.
    assert MonitoringStatus.objects.get(patient=patient).next_review_on == date(2025, 4, 11)
    assert sweep_run(as_of=date(2025, 4, 10), full=False).patients == 0
    outcome = sweep_run(as_of=date(2025, 4, 11), full=False)
    assert outcome.patients == 1
    assert "cbc_overdue" in outcome.kinds_open[patient.pk]


@pytest.mark.django_db
def test_the_full_sweep_warns_naming_patient_and_kind_when_it_changes_a_skipped_patient(
    patient, nurse, physician, regimen, caplog
):
    start_course(patient, physician, regimen)
    cbc(patient, nurse, date(2025, 3, 10), plt="150")
    sweep_run(as_of=AS_OF, full=False)
    # A write that bypassed the services (no dirty mark): only the safety net sees it.
    from patients.models import LabResult

    LabResult.objects.filter(patient=patient, test_code="PLT").update(canonical_value=Decimal("40"))
    assert sweep_run(as_of=AS_OF, full=False).patients == 0
    outcome = sweep_run(as_of=AS_OF, full=True)
    assert outcome.created >= 1
    assert str(patient.public_id) in caplog.text
    assert "thrombocytopenia" in caplog.text


def test_a_nightly_full_sweep_is_scheduled_beside_the_incremental_one(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["monitoring-full-sweep"]
    assert entry["task"] == "monitoring.tasks.sweep" and entry["kwargs"] == {"full": True}
    assert entry["schedule"].hour == {2}


@pytest.mark.django_db
def test_the_sweep_command_is_incremental_unless_full(patient, nurse, physician, regimen, capsys):
    from django.core.management import call_command

    start_course(patient, physician, regimen)
    cbc(patient, nurse, date(2025, 3, 10))
    call_command("run_monitoring_sweep", "--as-of", "2025-03-20", "--no-email")
    call_command("run_monitoring_sweep", "--as-of", "2025-03-20", "--no-email")
    call_command("run_monitoring_sweep", "--as-of", "2025-03-20", "--no-email", "--full")
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[1].split(",")[0].strip() for line in out] == [
        "1 patients",
        "0 patients",
        "1 patients",
    ]
