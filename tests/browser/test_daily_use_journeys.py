"""Daily use, end to end in Chromium: each role's common task from its landing page in the
number of clicks the README states ("Daily use: the three common tasks"), the loops that
close in the same request, and no page of the demo wider than a 1280-pixel screen.

A click is every mouse click and every Enter the test performs, from the landing page to the
task being done; typing and Tab are not clicks. Evaluation after a lab entry runs through a
real Celery worker on its own queue."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from monitoring import services as monitoring_services
from monitoring.models import Flag
from patients.models import LabResult, Patient
from tests.monitoring.conftest import cbc, evaluate
from tests.waiting import wait_until
from therapy import services as therapy_services
from therapy.models import DoseSuggestion, Hold, Regimen, RemsAuthorization, RemsEnrollment

from .conftest import ARTIFACTS, AXE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The click counts the README states, from each role's landing page.
NURSE_CBC_CLICKS = 4  # patient, "Enter labs", Enter saves, "Worklist"
PHYSICIAN_HOLD_CLICKS = 4  # Accept, "Patients", patient, header tab "Timeline"
REMS_AUTHORIZATION_CLICKS = 3  # patient, "Authorization number" field, "Record authorization"

SCREEN_WIDTH = 1280
PHONE_WIDTH = 412  # a common Android phone, portrait
README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_states_these_click_counts():
    text = README.read_text()
    assert f"whose CBC is overdue: {NURSE_CBC_CLICKS}.**" in text
    assert f"see it on the timeline: {PHYSICIAN_HOLD_CLICKS}.**" in text
    assert f"record an authorization: {REMS_AUTHORIZATION_CLICKS}.**" in text


class Clicks:
    """Counts the clicks and Enter presses a journey performs."""

    def __init__(self, page):
        self.page = page
        self.count = 0

    def click(self, locator):
        locator.click()
        self.count += 1
        self.page.wait_for_load_state("networkidle")

    def enter(self):
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")
        self.count += 1
        self.page.wait_for_load_state("networkidle")


@pytest.fixture
def on_lenalidomide(patient, physician, nurse):
    """Lenalidomide 10 mg days 1-28 for 120 days (cycle 5: CBC every 28 days), REMS
    enrolled, with a normal complete CBC 40 days ago: the CBC is overdue."""
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
    course = therapy_services.course_start(
        patient=patient,
        user=physician,
        regimen=Regimen.objects.get(code="len-10-d1-28"),
        start_date=today - timedelta(days=120),
        vte_prophylaxis="aspirin",
        aspirin_dose_mg=81,
        justification="Baseline labs recorded on paper before go-live (synthetic test)",
    )
    cbc(patient, nurse, today - timedelta(days=40))
    evaluate(patient, today)
    return course


@pytest.fixture
def hold_suggested(patient, nurse, on_lenalidomide):
    """ANC 0.4 today (grade 4): a hold suggestion is pending. Returns the ANC result."""
    monitoring_services.lab_results_record(
        patient=patient,
        user=nurse,
        collected_at=timezone.now() - timedelta(minutes=30),
        entries=[
            monitoring_services.LabEntry(code, value, unit, True)
            for code, value, unit in (
                ("WBC", "2.1", "10^9/L"),
                ("ANC", "0.4", "10^9/L"),
                ("HGB", "11.0", "g/dL"),
                ("PLT", "140", "10^9/L"),
            )
        ],
    )
    evaluate(patient, timezone.localdate())
    assert DoseSuggestion.objects.pending().filter(patient=patient, kind="hold").exists()
    return LabResult.objects.filter(patient=patient, test_code="ANC").latest("collected_at", "pk")


def badge(page, testid: str) -> int:
    """A navbar count; no badge is zero."""
    found = page.locator(f"[data-testid='{testid}']")
    return int(found.inner_text().split()[0]) if found.count() else 0


def test_nurse_enters_a_cbc_for_an_overdue_patient_in_the_stated_clicks(
    log_in, live_server, nurse, patient, on_lenalidomide, worker, screenshot
):
    assert Flag.objects.open().filter(patient=patient, kind="cbc_overdue").exists()
    page = log_in("nurse.a")
    assert page.url.endswith("/monitoring/worklist/")
    worklist = page.locator("[data-testid='worklist']")
    assert "CBC overdue" in worklist.inner_text()
    open_before = badge(page, "open-flag-count")
    clicks = Clicks(page)

    clicks.click(worklist.get_by_role("link", name="Lovelace, Ada", exact=True).first)
    clicks.click(
        page.get_by_role("navigation", name="Patient pages").get_by_role("link", name="Enter labs")
    )
    # Keyboard first: "Collected at" has the focus and a default; the values follow it.
    assert page.evaluate("document.activeElement.name") == "collected_at"
    assert page.locator("[name='collected_at']").input_value()
    values = {
        "White blood cells": "6.2",
        "Neutrophils (ANC)": "3.1",
        "Hemoglobin": "13.2",
        "Platelets": "210",
    }
    typed, passed = [], []
    while len(typed) < len(values):
        page.keyboard.press("Tab")
        label, row = page.evaluate(
            "() => { const e = document.activeElement;"
            " return [e.labels && e.labels.length ? e.labels[0].innerText.trim() : '',"
            " e.closest('tbody') ? 'value' : e.tagName]; }"
        )
        # Value fields are consecutive: Tab moves from one value to the next (an optional
        # count such as lymphocytes is left empty), never to a unit or a link.
        assert row == "value", f"Tab left the value fields at {label!r} ({row})"
        if label in values:
            page.keyboard.type(values[label])
            typed.append(label)
        else:
            passed.append(label)
    assert len(passed) <= 2, passed
    clicks.enter()
    assert LabResult.objects.filter(
        patient=patient, test_code="PLT", canonical_value=210
    ).exists(), (page.url, page.get_by_role("alert").all_inner_texts())

    # The real worker evaluates the patient: the overdue CBC resolves.
    assert wait_until(
        lambda: not Flag.objects.open().filter(patient=patient, kind="cbc_overdue").exists()
    )
    clicks.click(page.get_by_role("link", name="Worklist"))
    assert "CBC overdue" not in page.locator("[data-testid='worklist']").inner_text()
    assert badge(page, "open-flag-count") == open_before - 1
    assert clicks.count == NURSE_CBC_CLICKS
    screenshot("worklist-after-cbc")


def test_physician_accepts_a_hold_in_the_inbox_it_clears_at_once_and_is_shaded_on_the_timeline(
    log_in, live_server, physician, patient, hold_suggested, screenshot
):
    page = log_in("physician.a")
    assert page.url.endswith("/monitoring/inbox/")
    decisions_before = badge(page, "decision-flag-count")
    assert decisions_before >= 1
    rows = page.locator("[data-testid='inbox-row']")
    hold_row = rows.filter(has_text="Hold recommended")
    assert hold_row.count() == 1
    clicks = Clicks(page)

    clicks.click(hold_row.get_by_role("button", name="Accept"))
    # Cleared in the same request (no worker runs in this test): the row, its count and its
    # flag are gone on the very page the Accept returns.
    assert page.url.endswith("/monitoring/inbox/")
    assert "Accepted" in page.get_by_role("alert").first.inner_text()
    assert (
        page.locator("[data-testid='inbox-row']").filter(has_text="Hold recommended").count() == 0
    )
    assert badge(page, "decision-flag-count") == decisions_before - 1
    assert Hold.objects.filter(course__patient=patient, end_date__isnull=True).exists()
    assert not Flag.objects.open().filter(patient=patient, kind="hold_recommended").exists()
    assert not DoseSuggestion.objects.pending().filter(patient=patient, kind="hold").exists()

    clicks.click(page.get_by_role("link", name="Patients", exact=True))
    clicks.click(page.get_by_role("link", name="Lovelace, Ada", exact=True).first)
    clicks.click(
        page.get_by_role("navigation", name="Patient pages").get_by_role("link", name="Timeline")
    )
    page.wait_for_selector("[data-figure='counts-figure'][data-drawn='true']")
    shaded = page.locator(
        "[data-figure='counts-figure'] .shapelayer path[style*='fill: rgb(214, 39, 40)']"
    )
    assert shaded.count() >= 1
    assert clicks.count == PHYSICIAN_HOLD_CLICKS
    screenshot("timeline-hold-shaded")


def test_rems_administrator_records_an_authorization_in_the_stated_clicks(
    log_in, live_server, rems_admin, patient, on_lenalidomide, screenshot
):
    assert Flag.objects.open().filter(patient=patient, kind="rems_action_needed").exists()
    page = log_in("rems.a")
    assert page.url.endswith("/therapy/rems/")
    clicks = Clicks(page)

    clicks.click(page.get_by_role("link", name="Lovelace, Ada", exact=True).first)
    status = page.locator("[data-testid='rems-status']")
    before = status.inner_text()
    assert "action needed" in before.lower()
    clicks.click(page.get_by_role("textbox", name="Authorization number"))
    page.keyboard.type("AUTH-778899")
    # Typed, not clicked (fill stands for the keystrokes of a date field's segments).
    page.get_by_label("Date obtained").fill(timezone.localdate().isoformat())
    page.get_by_role("spinbutton", name="Days' supply").fill("28")
    clicks.click(page.get_by_role("button", name="Record authorization"))

    assert RemsAuthorization.objects.filter(
        patient=patient, authorization_number="AUTH-778899"
    ).exists()
    after = page.locator("[data-testid='rems-status']").inner_text()
    assert after != before
    assert "AUTH-778899" in page.content()
    assert clicks.count == REMS_AUTHORIZATION_CLICKS
    screenshot("rems-authorized")


def test_the_rems_flag_follows_a_recorded_authorization_within_seconds(
    client, rems_admin, patient, on_lenalidomide, worker
):
    """Recording the authorization queues the patient's evaluation on commit (therapy asks
    the monitoring worker by task name): the flag's words follow without waiting for a sweep."""
    flag = Flag.objects.open().get(patient=patient, kind="rems_action_needed")
    assert "no authorization" in flag.message
    client.force_login(rems_admin)
    response = client.post(
        f"/therapy/patients/{patient.public_id}/rems/authorizations/",
        {
            "authorization_number": "AUTH-778899",
            "obtained_on": timezone.localdate().isoformat(),
            "days_supply": "28",
        },
    )
    assert response.status_code == 302
    assert RemsAuthorization.objects.filter(patient=patient).exists()

    def updated():
        flag = Flag.objects.filter(patient=patient, kind="rems_action_needed").first()
        flag.refresh_from_db() if flag else None
        return flag is None or flag.status == "resolved" or "no authorization" not in flag.message

    assert wait_until(updated)


def test_entered_in_error_on_the_anc_withdraws_the_hold_suggestion(
    log_in, live_server, nurse, patient, hold_suggested, screenshot
):
    page = log_in("nurse.a")
    page.goto(
        f"{live_server.url}/monitoring/patients/{patient.public_id}/labs/{hold_suggested.pk}/"
    )
    page.get_by_role("link", name="Entered in error…").click()
    page.get_by_label("Reason").fill("Wrong patient's tube")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("networkidle")

    suggestion = DoseSuggestion.objects.get(patient=patient, kind="hold")
    assert suggestion.status == "withdrawn"
    page.goto(f"{live_server.url}/therapy/patients/{patient.public_id}/course/")
    card = page.locator("[data-testid='suggestion']").filter(has_text="Withdrawn")
    assert card.count() == 1
    assert "Wrong patient's tube" in card.inner_text()
    assert card.get_by_role("button", name="Accept").count() == 0
    assert page.get_by_role("button", name="Accept").count() == 0
    screenshot("suggestion-withdrawn")


ROLES = ("nurse.north", "physician.north", "rems.north", "analyst.north")


def demo_pages(patient: Patient) -> dict[str, str]:
    p = patient.public_id
    return {
        "landing": "/",
        "patient list": "/patients/",
        "patient record": f"/patients/{p}/",
        "labs": f"/monitoring/patients/{p}/labs/",
        "lab entry": f"/monitoring/patients/{p}/labs/enter/cbc/",
        "flags": f"/monitoring/patients/{p}/flags/",
        "history": f"/patients/{p}/history/",
        "therapy history": f"/therapy/patients/{p}/history/",
        "timeline": f"/monitoring/patients/{p}/timeline/",
        "course": f"/therapy/patients/{p}/course/",
        "dosing calendar": f"/monitoring/patients/{p}/dosing-calendar/",
        "REMS list": "/therapy/rems/",
        "REMS detail": f"/therapy/patients/{p}/rems/",
        "cohort": "/monitoring/cohort/",
        "interface queue": "/interface/",
        "worklist": "/monitoring/worklist/",
        "inbox": "/monitoring/inbox/",
    }


def test_no_page_of_the_demo_is_wider_than_the_screen(chromium, live_server):
    """On a desktop screen and on a phone's (412 px): a wide table scrolls in its own box,
    a form's button wraps under its note, the page itself never scrolls sideways."""
    call_command("seed_demo", patients=12, verbosity=0)
    # The widest record: a patient of the north clinic with a hold, a course and REMS.
    patient = (
        Patient.objects.filter(clinic__code="north", courses__holds__isnull=False)
        .order_by("pk")
        .first()
    ) or Patient.objects.filter(clinic__code="north", courses__isnull=False).first()
    assert patient is not None
    too_wide, measured = [], set()
    for screen in (SCREEN_WIDTH, PHONE_WIDTH):
        for username in ROLES:
            context = chromium.new_context(viewport={"width": screen, "height": 900})
            page = context.new_page()
            page.goto(f"{live_server.url}/login/")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill("mmm-demo-2026")
            page.get_by_role("button", name="Log in").click()
            page.wait_for_load_state("networkidle")
            for name, path in demo_pages(patient).items():
                response = page.goto(f"{live_server.url}{path}")
                if response.status in (403, 404):
                    continue  # not this role's page
                assert response.status == 200, (username, name, response.status)
                if name == "timeline":
                    page.wait_for_selector("[data-figure='counts-figure'][data-drawn='true']")
                width = page.evaluate("document.documentElement.scrollWidth")
                measured.add((screen, name))
                if width > screen:
                    too_wide.append(f"{screen}px {username} {name} {path}: {width}px")
            context.close()
    # every page, as at least one role, on both screens
    assert measured == {
        (w, name) for w in (SCREEN_WIDTH, PHONE_WIDTH) for name in demo_pages(patient)
    }
    assert too_wide == [], "\n".join(too_wide)


SERIOUS = ("serious", "critical")
# The lists a role works down on a phone; each row becomes one block at 412 px.
STACKED_LISTS = {
    "worklist": ("/monitoring/worklist/", "[data-testid='worklist']", "Patient"),
    "patient list": ("/patients/", "table", "Name"),
    "REMS list": ("/therapy/rems/", "[data-testid='rems-list']", "Patient"),
}


def test_on_a_phone_the_lists_read_top_to_bottom_with_nothing_to_scroll_sideways(
    chromium, live_server
):
    """At 412 px each row of the worklist, the patient list and the REMS list is one block:
    the patient first, each other cell below it with its heading before its value ("Clinic:
    North Hematology Clinic"), the headings kept for screen readers, and no box scrolls
    sideways. At 1280 px they are tables with their headings."""
    call_command("seed_demo", patients=12, verbosity=0)
    shown, violations = {}, {}
    for screen in (PHONE_WIDTH, SCREEN_WIDTH):
        context = chromium.new_context(viewport={"width": screen, "height": 900})
        page = context.new_page()
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill("nurse.north")
        page.get_by_label("Password").fill("mmm-demo-2026")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("networkidle")
        for name, (path, table_selector, first_heading) in STACKED_LISTS.items():
            page.goto(f"{live_server.url}{path}")
            table = page.locator(table_selector).first
            cells = table.locator("tbody tr").first.locator("td")
            assert cells.count() >= 2, name
            first, second = cells.nth(0).bounding_box(), cells.nth(1).bounding_box()
            shown[screen, name] = {
                "second cell below the first": second["y"] >= first["y"] + first["height"] - 1,
                # read by a screen reader on both screens, seen only on the wide one
                "headings shown": table.get_by_role("columnheader", name=first_heading).count() == 1
                and table.locator("thead").bounding_box()["width"] > 1,
                "labels shown": cells.nth(1).evaluate(
                    "td => !!td.dataset.label && getComputedStyle(td, '::before').content"
                    ' === `"${td.dataset.label}: "`'
                ),
                "sideways": page.evaluate(
                    "[...document.querySelectorAll('.table-responsive')]"
                    ".filter(e => e.scrollWidth > e.clientWidth).length"
                ),
                "fits the screen": page.evaluate("document.documentElement.scrollWidth") <= screen,
            }
            page.evaluate(AXE.read_text())
            result = page.evaluate("async () => await axe.run(document)")
            for v in result["violations"]:
                if v["impact"] in SERIOUS:
                    violations[screen, name, v["id"]] = [n["target"] for n in v["nodes"]][:3]
            page.screenshot(path=str(ARTIFACTS / f"{name}-{screen}px.png".replace(" ", "-")))
        context.close()
    phone = {"second cell below the first": True, "headings shown": False, "sideways": 0}
    wide = {"second cell below the first": False, "headings shown": True, "sideways": 0}
    assert shown == {
        **{
            (PHONE_WIDTH, name): {
                **phone,
                "labels shown": name != "worklist",  # the worklist's second cell is the to-do
                "fits the screen": True,
            }
            for name in STACKED_LISTS
        },
        **{
            (SCREEN_WIDTH, name): {**wide, "labels shown": False, "fits the screen": True}
            for name in STACKED_LISTS
        },
    }
    assert violations == {}  # axe-core, serious and critical
