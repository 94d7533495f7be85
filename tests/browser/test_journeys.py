"""Key journeys in a real browser. Each ends in a screenshot under test-artifacts/."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_physician_logs_in_finds_a_patient_and_opens_the_record(
    log_in, live_server, physician, patient, screenshot
):
    page = log_in("physician.a")
    page.goto(f"{live_server.url}/patients/")
    page.get_by_label("MRN or name").fill("Lovelace")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Lovelace, Ada", exact=True).click()
    expect(page.get_by_role("heading", name="Lovelace, Ada")).to_be_visible()
    assert "Cytogenetic risk" in page.content()
    screenshot("patient-record")


def test_user_of_another_clinic_cannot_reach_the_patient(
    log_in, live_server, outsider, patient, screenshot
):
    page = log_in("physician.b")
    response = page.goto(f"{live_server.url}/patients/{patient.public_id}/")
    assert response.status == 404
    assert "Lovelace" not in page.content()
    screenshot("not-found")


def test_static_assets_are_served_by_the_app_not_a_cdn(log_in, live_server, physician, page):
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    log_in("physician.a")
    assert any("/static/vendor/bootstrap/css/bootstrap.min.css" in url for url in requested)
    assert all(url.startswith(live_server.url) or url.startswith("data:") for url in requested)
