"""A nurse works the interface queue in a real browser: map an unknown unit (once given the
administrator's mapping permissions), retry, reject."""

import re

import pytest
from playwright.sync_api import expect

from monitoring.interop import hl7 as ingest
from monitoring.interop import services as interop_services
from patients.models import LabResult
from tests.monitoring.interop.conftest import CBC, Res, oru

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DRAWN = "20250602083000-0400"


def test_nurse_maps_a_unit_and_rejects_a_wrong_patient_from_the_queue(
    log_in, live_server, nurse, patient, clinic_a, screenshot, axe_violations
):
    interop_services.sender_register(facility="NORTHLAB", authority="NORTHMRN", clinic=clinic_a)
    ingest.receive(
        oru([(DRAWN, [Res("6690-2", "5.1", "Gpt/L", "4.0-11.0")])], control_id="U1"), channel="mllp"
    )
    ingest.receive(oru([(DRAWN, CBC)], control_id="D1", dob="19600518"), channel="mllp")

    page = log_in("nurse.a")
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Interface queue").click()
    expect(page.get_by_role("heading", name="Interface queue")).to_be_visible()
    assert axe_violations() == []
    screenshot("queue")

    page.get_by_role("link", name="U1").click()
    # The unit table is global: a nurse without the mapping permission is told to ask.
    expect(page.get_by_test_id("mapping-admin-only")).to_be_visible()
    assert page.locator("form[action$='/map-unit/']").count() == 0
    from django.contrib.auth.models import Permission

    nurse.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_unitmapping", "change_unitmapping"])
    )
    page.reload()
    assert page.get_by_label("Unit as sent (OBX-6, exact)").input_value() == "Gpt/L"
    assert axe_violations() == []
    page.get_by_label("Catalogue unit").select_option("10^9/L")
    page.locator("form[action$='/map-unit/'] button").click()
    expect(page.get_by_test_id("message-status")).to_have_text(re.compile(r"^Accepted \(ACK AA\)"))
    assert LabResult.objects.filter(patient=patient, test_code="WBC").exists()
    screenshot("accepted")

    page.get_by_role("link", name="← Interface queue").click()
    page.get_by_role("link", name="D1").click()
    expect(page.locator("main")).to_contain_text("does not match the patient with MRN A-1001")
    page.get_by_label("Reason (for example: test message, patient not treated here)").fill(
        "Lab sent the wrong date of birth; asked to resend"
    )
    page.get_by_role("button", name="Reject message").click()
    expect(page.get_by_test_id("message-status")).to_have_text(re.compile(r"^Rejected by staff"))
    screenshot("rejected")
