from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django.utils import timezone

from monitoring.models import Flag, InterfaceMessage
from patients.models import FollowUpCall, LabResult
from patients.nursing import services as nursing_services
from patients.rulebook import Finding
from tests.factories import WeightFactory
from therapy import services as therapy_services
from therapy.models import Regimen, RemsAuthorization, RemsEnrollment


@pytest.fixture
def matrix_world(nurse, physician, rems_admin, superuser, outsider, patient):
    """One of every record a URL can point at, all belonging to clinic A's patient."""
    weight = WeightFactory(patient=patient)
    RemsEnrollment.objects.create(
        patient=patient,
        patient_risk_category="male_adult",
        enrolled_on=date(2024, 9, 1),
        agreement_signed_on=date(2024, 9, 1),
        rems_patient_id="RP-1",
        prescriber_name="P",
        prescriber_enrollment_id="PE-1",
        prescriber_certification_expires_on=date(2030, 1, 1),
    )
    course = therapy_services.course_start(
        patient=patient,
        user=physician,
        regimen=Regimen.objects.get(code="len-10-d1-21"),
        start_date=date(2024, 9, 10),
        vte_prophylaxis="aspirin",
        aspirin_dose_mg=81,
        justification="test world",
        today=date(2024, 9, 10),  # recorded on the day: its follow-up calls are owed
    )
    hold = therapy_services.hold_start(
        course=course, user=physician, start_date=date(2025, 1, 5), reason="neutropenia"
    )
    suggestion = therapy_services.dose_suggestion_raise(
        patient=patient,
        course=course,
        kind="resume_lower",
        finding=Finding(
            "dosing.test", "resume_lower", "Counts recovered: resume at the next lower level"
        ),
        evidence=[],
        as_of=date(2025, 1, 20),
    )
    authorization = RemsAuthorization.objects.create(
        patient=patient,
        authorization_number="AUTH-1",
        obtained_on=date(2025, 1, 2),
        days_supply=28,
        patient_risk_category="male_adult",
        expires_on=date(2025, 2, 1),
    )
    result = LabResult.objects.create(
        patient=patient,
        test_code="ANC",
        panel="cbc",
        collected_at=timezone.make_aware(datetime.combine(date(2025, 1, 4), time(9))),
        entered_at=timezone.now(),
        value_as_entered="0.4",
        unit_as_entered="10^9/L",
        canonical_value=Decimal("0.4"),
        canonical_unit="10^9/L",
        ctcae_grade=4,
        ctcae_version="5.0",
    )
    flag = Flag.objects.create(
        patient=patient,
        kind="neutropenia",
        severity=4,
        ctcae_grade=4,
        message="ANC 0.4: grade 4 neutropenia",
        rule_id="ctcae.v5",
        basis="CTCAE v5.0",
        opened_at=timezone.now(),
        opened_as_of=date(2025, 1, 4),
    )
    note = nursing_services.note_create(
        patient=patient,
        user=nurse,
        kind="telephone",
        reason="symptoms",
        text="Mild rash on the arms; advised to call if it spreads.",
        contact_at=timezone.now(),
    )
    call = FollowUpCall.objects.filter(course_public_id=course.public_id).first()
    interface_message = InterfaceMessage.objects.create(
        channel="mllp",
        received_at=timezone.now(),
        raw="MSH|^~\\&|LIS|NORTHLAB|||||ORU^R01|M1|P|2.5.1\rPID|1||X-1^^^N^MR\rOBR|1\rOBX|1",
        sending_facility="NORTHLAB",
        control_id="M1",
        status="held",
        ack_code="AE",
        reason="No patient with MRN X-1",
        clinic=patient.clinic,
    )
    return {
        "users": {
            "nurse": nurse,
            "physician": physician,
            "rems": rems_admin,
            "superuser": superuser,
            "outsider": outsider,
        },
        "patient": patient,
        "patient_id": patient.public_id,
        "weight_id": weight.pk,
        "course_id": course.public_id,
        "hold_id": hold.pk,
        "suggestion_id": suggestion.public_id,
        "authorization_id": authorization.public_id,
        "result_id": result.pk,
        "collection_id": result.collection_id,
        "flag_id": flag.pk,
        "note_id": note.public_id,
        "call_id": call.public_id,
        "interface_message_id": interface_message.pk,
        "fhir_observation_id": f"lab-{result.pk}",
    }
