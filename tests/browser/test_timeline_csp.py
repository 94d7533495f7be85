"""The timeline in Chromium under the real Content Security Policy (no ``bypass_csp``):
Plotly, htmx and the app's script draw, synchronise and load everything without one CSP
violation or error in the console, and the charts show what the issue asked for."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from patients.models import LabResult
from therapy import services as therapy_services
from therapy.models import Regimen

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHART_RANGES = """() => Array.from(document.querySelectorAll('[data-figure]')).flatMap(el =>
  Object.keys(el._fullLayout).filter(k => /^xaxis\\d*$/.test(k))
    .map(k => el._fullLayout[k].range.map(v => String(v).slice(0, 10)).join('/')))"""


@pytest.fixture
def strict_page(chromium):
    """A page with the app's own CSP in force, recording every console message."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console = []
    page.on("console", lambda m: page.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: page.console.append(f"pageerror: {e}"))
    yield page
    context.close()


@pytest.fixture
def patient_with_holds(patient, physician):
    today = timezone.localdate()
    course = therapy_services.course_start(
        patient=patient,
        user=physician,
        regimen=Regimen.objects.get(code="len-10-d1-28"),
        start_date=today - timedelta(days=300),
        vte_prophylaxis="aspirin",
        aspirin_dose_mg=81,
        justification="Baseline labs recorded on paper before go-live (synthetic test)",
    )
    hold = therapy_services.hold_start(
        course=course, user=physician, start_date=today - timedelta(days=200), reason="neutropenia"
    )
    therapy_services.hold_end(hold=hold, user=physician, end_date=today - timedelta(days=185))
    therapy_services.hold_start(
        course=course,
        user=physician,
        start_date=today - timedelta(days=3),
        reason="thrombocytopenia",
    )
    for days_ago in (290, 262, 234, 206, 199, 178, 150, 40, 12):  # a 110-day silence
        on = timezone.make_aware(datetime.combine(today - timedelta(days=days_ago), time(9)))
        for code, value in (("ANC", "1.9"), ("PLT", "150"), ("WBC", "4.1")):
            LabResult.objects.create(
                patient=patient,
                test_code=code,
                panel="cbc",
                collected_at=on,
                entered_at=on,
                canonical_value=Decimal(value),
                canonical_unit="10^9/L",
            )
        LabResult.objects.create(
            patient=patient,
            test_code="FLC_KAPPA",
            panel="myeloma",
            collected_at=on,
            entered_at=on,
            canonical_value=Decimal(29 + days_ago % 10),
            canonical_unit="mg/L",
        )
    return patient


def test_timeline_runs_under_the_strict_csp_with_synchronised_ranges_and_tables(
    strict_page, live_server, physician, patient_with_holds
):
    page = strict_page
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("physician.a")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")
    # One click from the patient record.
    page.goto(f"{live_server.url}/patients/{patient_with_holds.public_id}/")
    page.get_by_role("navigation", name="Patient pages").get_by_role(
        "link", name="Timeline"
    ).click()
    for name in ("counts", "regimen", "disease"):
        page.wait_for_selector(f"[data-figure='{name}-figure'][data-drawn='true']")

    # Holds shaded on the count rows, drawn by Plotly.
    counts = "[data-figure='counts-figure'] .shapelayer path[style*='fill: rgb(214, 39, 40)']"
    assert page.locator(counts).count() >= 2 * 3

    # Free light chains 29-38 mg/L: the log axis reads tens.
    ticks = page.locator("[data-figure='disease-figure'] .yaxislayer-above .y2tick text")
    assert ticks.all_text_contents() == ["20", "30", "40"]

    for months in ("3", "12", "0"):
        page.click(f"[data-range-months='{months}']")
        page.wait_for_timeout(300)  # Plotly.relayout settles on the next animation frame
        assert len(set(page.evaluate(CHART_RANGES))) == 1, months

    full = page.evaluate(CHART_RANGES)
    # A zoom dragged on the third count row moves every chart; a double-click resets all.
    row = page.locator("[data-figure='counts-figure'] .nsewdrag[data-subplot='x3y3']")
    row.scroll_into_view_if_needed()
    box = row.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=5)
    page.mouse.up()
    page.wait_for_timeout(500)
    zoomed = page.evaluate(CHART_RANGES)
    assert len(set(zoomed)) == 1 and zoomed != full
    page.mouse.dblclick(box["x"] + box["width"] * 0.5, y)
    page.wait_for_timeout(500)
    assert page.evaluate(CHART_RANGES) == full

    # Hover labels of every chart (Plotly writes their text as SVG; styled tags would
    # need a style attribute), then the modebar.
    for name, curve, subplot in (("counts", 0, "xy"), ("regimen", 0, "xy"), ("disease", 1, "x2y2")):
        page.evaluate(
            "([name, curve, subplot]) => Plotly.Fx.hover("
            "document.querySelector(`[data-figure='${name}-figure']`),"
            " [{curveNumber: curve, pointNumber: 0}], subplot)",
            [name, curve, subplot],
        )
        assert page.locator(f"[data-figure='{name}-figure'] .hoverlayer .hovertext").count()
    page.locator("[data-figure='counts-figure']").hover()
    page.locator("[data-figure='counts-figure'] .modebar-btn").first.hover()
    page.get_by_text("Data tables: every value the charts draw").click()
    page.wait_for_selector("#data-tables caption:has-text('ANC (10^9/L)')")
    page.screenshot(path=str(ARTIFACTS / "timeline-strict-csp.png"), full_page=True)
    assert page.console == []
