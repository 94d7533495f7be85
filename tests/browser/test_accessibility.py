"""axe-core (from the npm registry) finds no serious or critical violations."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_page_has_no_serious_accessibility_violations(page, live_server, axe_violations):
    page.goto(f"{live_server.url}/login/")
    assert axe_violations() == []


@pytest.mark.parametrize(
    "path", ["/patients/", "/patients/{public_id}/", "/patients/{public_id}/history/"]
)
def test_patient_pages_have_no_serious_accessibility_violations(
    log_in, live_server, physician, patient, axe_violations, path
):
    page = log_in("physician.a")
    page.goto(live_server.url + path.format(public_id=patient.public_id))
    assert axe_violations() == []
