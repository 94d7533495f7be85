"""axe-core (from the npm registry) finds no serious or critical violations on the pages
the issue names: login, worklist, patient, timeline, lab entry and REMS."""

from datetime import timedelta

import pytest
from django.utils import timezone

from therapy import services as therapy_services
from therapy.models import Regimen

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    ("physician.a", "/patients/"),
    ("physician.a", "/patients/{public_id}/"),
    ("physician.a", "/patients/{public_id}/history/"),
    ("nurse.a", "/monitoring/worklist/"),
    ("physician.a", "/monitoring/inbox/"),
    ("physician.a", "/monitoring/patients/{public_id}/timeline/"),
    ("nurse.a", "/monitoring/patients/{public_id}/labs/enter/cbc/"),
    ("nurse.a", "/monitoring/patients/{public_id}/labs/"),
    ("physician.a", "/therapy/patients/{public_id}/course/"),
    ("rems.a", "/therapy/rems/"),
    ("rems.a", "/therapy/patients/{public_id}/rems/"),
]


def test_login_page_has_no_serious_accessibility_violations(page, live_server, axe_violations):
    page.goto(f"{live_server.url}/login/")
    assert axe_violations() == []


@pytest.fixture
def on_course(patient, physician):
    return therapy_services.course_start(
        patient=patient,
        user=physician,
        regimen=Regimen.objects.get(code="len-10-d1-21"),
        start_date=timezone.localdate() - timedelta(days=60),
        vte_prophylaxis="aspirin",
        aspirin_dose_mg=81,
        justification="synthetic accessibility test",
    )


@pytest.mark.parametrize(("username", "path"), PAGES)
def test_pages_have_no_serious_accessibility_violations(
    log_in,
    live_server,
    nurse,
    physician,
    rems_admin,
    patient,
    on_course,
    axe_violations,
    username,
    path,
):
    page = log_in(username)
    page.goto(live_server.url + path.format(public_id=patient.public_id))
    page.wait_for_load_state("networkidle")
    assert axe_violations() == []
