"""The nurse tools in Chromium: a note written from the patient page, a follow-up call
recorded from the worklist, a flag sent to the physician's inbox, and the printable pages
(dosing calendar, worklist) fitting A4 paper with no serious accessibility violations."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import Flag
from patients.models import FollowUpCall
from therapy import services as therapy_services
from therapy.models import Regimen

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

A4_PRINTABLE_PX = 718  # 210 mm less 2 x 10 mm margins, at 96 px per inch


@pytest.fixture
def started(patient, physician):
    """A course that started two days ago: its first follow-up call is due today."""
    course = therapy_services.course_start(
        patient=patient,
        user=physician,
        regimen=Regimen.objects.get(code="len-10-d1-21"),
        start_date=timezone.localdate() - timedelta(days=2),
        vte_prophylaxis="aspirin",
        aspirin_dose_mg=81,
        justification="synthetic browser test",
    )
    Flag.objects.create(
        patient=patient,
        kind="leukopenia",
        severity=2,
        ctcae_grade=2,
        message="White blood cells 2.3 10^9/L: grade 2 leukopenia (CTCAE v5.0).",
        rule_id="ctcae.v5",
        basis="CTCAE v5.0",
        opened_at=timezone.now(),
        opened_as_of=timezone.localdate(),
    )
    return course


def test_nurse_writes_a_note_records_the_call_and_notifies_the_physician(
    log_in, live_server, nurse, physician, patient, started, axe_violations
):
    page = log_in("nurse.a")
    page.goto(f"{live_server.url}/patients/{patient.public_id}/")
    page.get_by_role("link", name="New note").click()
    page.get_by_label("Reason").select_option("symptoms")
    page.get_by_label("Note").fill(
        "Mild nausea since the first capsule; advised taking it with food."
    )
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("networkidle")
    assert "Mild nausea since the first capsule" in page.content()
    assert axe_violations() == []

    page.goto(f"{live_server.url}/monitoring/worklist/")
    page.get_by_role("link", name="Record the call").click()
    page.get_by_label("Outcome of the call").fill("Reached her; taking capsules daily.")
    page.get_by_role("button", name="Save and mark done").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/monitoring/worklist/")
    assert "No follow-up calls due." in page.content()
    assert FollowUpCall.objects.get(kind="after_start_early").status == "done"

    page.locator("summary", has_text="Notify physician").first.click()
    page.get_by_label("Note for the physician").first.fill("Counts low, feels well: review?")
    page.get_by_role("button", name="Send to inbox").first.click()
    page.wait_for_load_state("networkidle")

    page.context.clear_cookies()
    page = log_in("physician.a")
    page.goto(f"{live_server.url}/monitoring/inbox/")
    assert "Counts low, feels well: review?" in page.content()
    assert axe_violations() == []


@pytest.mark.parametrize(
    "path", ["/monitoring/patients/{public_id}/dosing-calendar/", "/monitoring/worklist/print/"]
)
def test_print_pages_fit_a4_and_are_accessible(
    log_in, live_server, nurse, patient, started, axe_violations, path
):
    page = log_in("nurse.a")
    page.goto(live_server.url + path.format(public_id=patient.public_id))
    page.wait_for_load_state("networkidle")
    assert axe_violations() == []
    page.set_viewport_size({"width": A4_PRINTABLE_PX, "height": 1000})
    page.emulate_media(media="print")
    assert page.evaluate("document.documentElement.scrollWidth") <= A4_PRINTABLE_PX
    assert not page.locator("nav").count()
