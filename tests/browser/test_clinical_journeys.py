"""The key clinical journeys of the issue, in Chromium against a live server with a real
Celery worker (Redis in CI, the filesystem broker without it). Each ends in a screenshot."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import Flag
from tests.waiting import wait_until
from therapy import services as therapy_services
from therapy.models import DoseSuggestion, Hold, Regimen, RemsAuthorization, RemsEnrollment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def on_lenalidomide(patient, physician):
    today = timezone.localdate()
    RemsEnrollment.objects.create(
        patient=patient,
        patient_risk_category="male_adult",
        enrolled_on=today - timedelta(days=200),
        agreement_signed_on=today - timedelta(days=200),
        rems_patient_id="RP-9001",
        prescriber_name="Paul Physician",
        prescriber_enrollment_id="PE-9001",
        prescriber_certification_expires_on=today + timedelta(days=365),
    )
    return therapy_services.course_start(
        patient=patient,
        user=physician,
        regimen=Regimen.objects.get(code="len-10-d1-28"),
        start_date=today - timedelta(days=120),
        vte_prophylaxis="aspirin",
        aspirin_dose_mg=81,
        justification="Baseline labs recorded on paper before go-live (synthetic test)",
    )


def enter_cbc_with_anc(page, live_server, patient, anc="0.4"):
    page.goto(f"{live_server.url}/monitoring/patients/{patient.public_id}/labs/enter/cbc/")
    page.get_by_label("White blood cells", exact=True).fill("2.1")
    page.get_by_label("Neutrophils (ANC)", exact=True).fill(anc)
    page.get_by_label("Hemoglobin", exact=True).fill("11.0")
    page.get_by_label("Platelets", exact=True).fill("140")
    page.get_by_role("button", name="Save complete blood count").click()
    page.wait_for_load_state("networkidle")


def test_1_nurse_enters_anc_0_4_and_sees_grade_4_flag_and_hold_suggestion(
    log_in, live_server, nurse, physician, patient, on_lenalidomide, worker, screenshot
):
    page = log_in("nurse.a")
    assert "/monitoring/worklist/" in page.url
    enter_cbc_with_anc(page, live_server, patient)
    assert "grade 4" in page.content().lower()
    assert wait_until(
        lambda: (
            Flag.objects.open().filter(patient=patient, kind="neutropenia", ctcae_grade=4).exists()
        )
    )
    assert wait_until(
        lambda: DoseSuggestion.objects.pending().filter(patient=patient, kind="hold").exists()
    )
    page.goto(f"{live_server.url}/patients/{patient.public_id}/")
    text = page.content()
    assert "Neutropenia" in text
    # The label's hold (reference sec. 3): interrupt at ANC < 0.5, CBC weekly, resume lower.
    assert "Interrupt lenalidomide; CBC every 7 days" in text
    assert "A physician decides on this suggestion." in text  # nurses see it, cannot act
    screenshot("flag-and-suggestion")


def test_2_physician_opens_the_timeline_accepts_the_hold_and_sees_it_shaded(
    log_in, live_server, nurse, physician, patient, on_lenalidomide, worker, screenshot
):
    page = log_in("nurse.a")
    enter_cbc_with_anc(page, live_server, patient)
    assert wait_until(
        lambda: DoseSuggestion.objects.pending().filter(patient=patient, kind="hold").exists()
    )
    page.get_by_role("button", name="Log out").click()
    page = log_in("physician.a")
    page.goto(f"{live_server.url}/monitoring/patients/{patient.public_id}/timeline/")
    page.wait_for_selector("[data-figure='counts-figure'][data-drawn='true']")
    assert page.locator("[data-figure='counts-figure'] .scatterlayer .trace").count() >= 4
    page.get_by_role("button", name="Accept").first.click()
    page.wait_for_load_state("networkidle")
    assert Hold.objects.filter(course=on_lenalidomide, end_date__isnull=True).exists()
    page.goto(f"{live_server.url}/monitoring/patients/{patient.public_id}/timeline/")
    page.wait_for_selector("[data-figure='regimen-figure'][data-drawn='true']")
    # The hold is a shaded rectangle on the regimen track, starting today, with a width.
    today = timezone.localdate().isoformat()
    rects = page.evaluate(
        "() => document.querySelector(\"[data-figure='regimen-figure']\").layout.shapes.filter(s => s.type === 'rect')"
    )
    assert [r["x0"][:10] for r in rects] == [today]
    assert rects[0]["x1"][:10] > today
    drawn = page.locator(
        "[data-figure='regimen-figure'] .shapelayer path[style*='fill: rgb(214, 39, 40)']"
    )
    assert drawn.count() == 1 and drawn.first.bounding_box()["width"] > 5
    assert "on hold" in page.content()
    screenshot("hold-shaded")


def test_3_rems_administrator_records_an_authorization_and_the_status_changes(
    log_in, live_server, rems_admin, patient, on_lenalidomide, screenshot
):
    page = log_in("rems.a")
    page.goto(f"{live_server.url}/therapy/patients/{patient.public_id}/rems/")
    before = page.locator("[data-testid='rems-status']").inner_text().splitlines()[0]
    assert "action needed" in before.lower()
    assert "no authorization" in before.lower()
    page.get_by_role("textbox", name="Authorization number").fill("AUTH-778899")
    page.get_by_role("textbox", name="Date obtained").fill(timezone.localdate().isoformat())
    page.get_by_role("spinbutton", name="Days' supply").fill("28")
    page.get_by_role("button", name="Record authorization").click()
    page.wait_for_load_state("networkidle")
    assert RemsAuthorization.objects.filter(
        patient=patient, authorization_number="AUTH-778899"
    ).exists()
    after = page.locator("[data-testid='rems-status']").inner_text().splitlines()[0]
    assert "no authorization" not in after.lower()
    assert "action needed" in after.lower()  # a male adult still needs his survey
    page.get_by_role("textbox", name="Survey completed").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Record survey").click()
    page.wait_for_load_state("networkidle")
    status = page.locator("[data-testid='rems-status']").inner_text()
    assert status.startswith("Compliant.")
    screenshot("rems-status")
