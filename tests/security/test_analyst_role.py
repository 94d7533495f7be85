"""The analyst role reads aggregates only: every URL in the permission table that is not a
general page refuses an analyst of the patient's own clinic."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from patients.roles import ANALYST
from tests.factories import UserFactory
from tests.security.matrix_table import MATRIX, expand_kwargs

GENERAL = {
    "home",
    "login",
    "about",
    "rule_settings",
    "api-schema",
    "monitoring:cohort",
    "fhir:metadata",
}


@pytest.mark.django_db
def test_analyst_reaches_no_patient_or_clinical_page(matrix_world, clinic_a, client):
    analyst = UserFactory(username="analyst.a")
    analyst.groups.add(Group.objects.get(name=ANALYST))
    clinic_a.staff.add(analyst)
    client.force_login(analyst)
    reached = []
    for name, spec in MATRIX.items():
        if name in GENERAL or "GET" not in spec.methods:
            continue
        response = client.get(reverse(name, kwargs=expand_kwargs(spec, matrix_world)))
        if response.status_code == 200:
            reached.append(name)
    assert reached == []
    assert client.get(reverse("monitoring:cohort")).status_code == 200
