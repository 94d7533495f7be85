"""At 1280 pixels, the pages a clinician works on fit the screen and the navbar stays on one
line, for every role of the seeded demo clinic."""

import pytest
from django.core.management import call_command

from patients.models import Patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "mmm-demo-2026"  # noqa: S105 - the documented demo login
NAVBAR_ONE_LINE_PX = 70  # one line is 56 px; a wrapped navbar is 100 px or more


@pytest.mark.parametrize("username", ["physician.north", "nurse.north", "rems.north"])
def test_patient_rems_history_and_lab_pages_fit_1280_pixels(
    log_in, live_server, page, screenshot, username
):
    call_command("seed_demo", "--patients", "6")
    patient = (
        Patient.objects.filter(clinic__staff__username=username, courses__isnull=False)
        .distinct()
        .first()
    )
    log_in(username, DEMO_PASSWORD)
    paths = [
        f"/patients/{patient.public_id}/",
        f"/patients/{patient.public_id}/history/",
        f"/therapy/patients/{patient.public_id}/rems/",
        f"/monitoring/patients/{patient.public_id}/labs/",
        "/therapy/rems/",
        "/rules/",
    ]
    too_wide = {}
    for path in paths:
        response = page.goto(f"{live_server.url}{path}")
        if response.status != 200:
            continue  # a role that may not see the page
        width = page.evaluate("document.documentElement.scrollWidth")
        navbar = page.evaluate("document.querySelector('nav.navbar').offsetHeight")
        if width > 1280 or navbar > NAVBAR_ONE_LINE_PX:
            too_wide[path] = (width, navbar)
    screenshot("history")
    assert not too_wide, too_wide
