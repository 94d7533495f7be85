"""The patient's History page says what happened in words: lab entries, corrections,
entered-in-error, flags and their acknowledgement, suggestion decisions, course, hold and
dose events, REMS events. No field names, ids, booleans or UTC timestamps."""

import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from monitoring import services
from monitoring.models import Flag
from patients.models import LabResult
from tests.monitoring.conftest import cbc, evaluate, open_flag, record, start_course
from therapy import services as therapy_services
from therapy.models import DoseSuggestion, RemsEnrollment

TODAY = date(2025, 2, 3)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today():
    moment = datetime(2025, 2, 3, 15, 0, tzinfo=timezone.get_current_timezone())
    with time_machine.travel(moment, tick=False):
        yield


@pytest.fixture
def story(patient, nurse, physician, rems_admin, regimen):
    RemsEnrollment.objects.create(
        patient=patient,
        patient_risk_category="male_adult",
        enrolled_on=date(2025, 1, 2),
        agreement_signed_on=date(2025, 1, 2),
        prescriber_name="Paul Physician",
        prescriber_certification_expires_on=date(2030, 1, 1),
    )
    course = start_course(patient, physician, regimen)
    therapy_services.rems_authorization_create(
        patient=patient,
        user=rems_admin,
        authorization_number="AUTH-77",
        obtained_on=date(2025, 1, 30),
        days_supply=28,
        today=TODAY,
    )
    cbc(patient, nurse, date(2025, 1, 27))
    low = cbc(patient, nurse, date(2025, 2, 3), anc="0.4")
    evaluate(patient, TODAY)
    suggestion = DoseSuggestion.objects.get(patient=patient, status="pending")
    therapy_services.dose_suggestion_accept(suggestion=suggestion, user=physician, on=TODAY)
    platelets = next(r for r in low if r.test_code == "PLT")
    services.lab_result_correct(
        result=platelets, user=nurse, value="190", unit="10^9/L", reason="Transcription error"
    )
    hemoglobin = next(r for r in low if r.test_code == "HGB")
    services.lab_result_mark_entered_in_error(
        result=hemoglobin, user=nurse, reason="Wrong patient's tube"
    )
    flag = open_flag(patient, Flag.Kind.NEUTROPENIA)
    services.flag_acknowledge(flag=flag, user=nurse, note="Patient called, no fever")
    return course


def _history(client_for, user, patient) -> str:
    response = client_for(user).get(reverse("patients:history", args=[patient.public_id]))
    assert response.status_code == 200
    html = response.content.decode()
    return html[html.index('data-testid="patient-history"') :]


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_history_tells_the_story_in_words(client_for, physician, patient, story):
    text = _text(_history(client_for, physician, patient))
    assert "Labs entered, collected 2025-02-03 09:00 by Nadia Nurse" in text
    assert "Neutrophils (ANC) 0.4 10^9/L" in text
    assert "Platelets 190 10^9/L corrected (was 200 10^9/L)" in text
    assert "Transcription error" in text
    assert "marked entered in error by Nadia Nurse" in text
    assert "Wrong patient's tube" in text
    assert "Flag raised: Neutropenia" in text
    assert "Flag acknowledged: Neutropenia by Nadia Nurse" in text
    assert "Patient called, no fever" in text
    assert "Dose suggestion accepted (Hold lenalidomide): hold started 2025-02-03 by Paul" in text
    assert "Hold started 2025-02-03" in text
    assert "Lenalidomide" in text and "started 2025-01-06" in text
    assert "REMS authorization AUTH-77 obtained 2025-01-30, 28 days' supply" in text
    assert "REMS enrollment" in text


def test_history_shows_no_field_names_ids_booleans_or_utc_offsets(
    client_for, physician, patient, story
):
    html = _history(client_for, physician, patient)
    text = _text(html)
    for developer_text in ("created_hold", "decided_by", "_at:", "True", "False", "None"):
        assert developer_text not in text, developer_text
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text)  # ISO with a T
    assert not re.search(r"\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}", text)  # str() of a datetime


def test_history_times_are_in_the_clinic_time_zone(client_for, nurse, patient, story):
    result = LabResult.objects.filter(patient=patient, entered_in_error_at__isnull=False).first()
    local = timezone.localtime(result.entered_in_error_at).strftime("%Y-%m-%d %H:%M")
    utc = result.entered_in_error_at.astimezone(UTC)
    assert local in _text(_history(client_for, nurse, patient))
    assert local != utc.strftime("%Y-%m-%d %H:%M")  # the clinic is not on UTC


def test_the_suggestion_rule_id_stays_in_a_details_element(client_for, physician, patient, story):
    html = _history(client_for, physician, patient)
    rule_id = DoseSuggestion.objects.get(patient=patient).rule_id
    assert f"<summary>Rule</summary><code>{rule_id}</code>" in html


def test_the_entered_in_error_page_names_the_result_in_clinic_time(
    client_for, nurse, patient, story
):
    result = (
        LabResult.objects.valid().filter(patient=patient, test_code="ANC").latest("collected_at")
    )
    url = reverse("monitoring:result_mark_error", args=[patient.public_id, result.pk])
    page = client_for(nurse).get(url).content.decode()
    assert "Neutrophils (ANC) 0.4 10^9/L (2025-02-03 09:00)" in page  # collected 09:00 local
    assert "14:00" not in page  # the same moment in UTC


def test_an_mrd_level_reads_as_a_power_of_ten(nurse, patient):
    (result,) = record(patient, nurse, date(2025, 2, 1), MRD_LEVEL="0.000002")
    assert result.shown_value == "2 × 10^-6 fraction"
