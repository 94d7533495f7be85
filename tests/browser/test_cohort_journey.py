"""The Cohort page in a real browser: the curves are drawn (Plotly, served by the app, under
the Content Security Policy) and the modebar offers image export."""

import pytest
from playwright.sync_api import expect

from tests.monitoring.test_cohort_page import _on_maintenance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_physician_opens_the_cohort_page_and_finds_the_curves_drawn(
    log_in, live_server, clinic_a, physician, screenshot
):
    for i in range(8):
        _on_maintenance(
            clinic_a, physician, index=i, progressed_after=300 + 60 * i if i < 4 else None
        )
    problems = []
    page = log_in("physician.a")
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.get_by_role("link", name="Cohort").click()
    expect(page.get_by_role("heading", name="Cohort outcomes")).to_be_visible()
    page.wait_for_selector("#fig-pfs[data-drawn='true']")
    page.wait_for_selector("#fig-os[data-drawn='true']")
    # The step curve, its band and the censor ticks are SVG paths inside the plot.
    assert page.locator("#fig-pfs .scatterlayer .trace").count() >= 3
    assert page.locator("#fig-pfs .annotation-text", has_text="Number at risk").count() == 1
    assert page.locator("#fig-pfs .modebar-btn[data-title='Download plot as a PNG']").count() == 1
    assert page.locator("#fig-pfs .modebar-btn[data-title='Download plot as SVG']").count() == 1
    expect(page.get_by_test_id("table-pfs")).to_be_visible()
    assert problems == []
    screenshot("cohort")
