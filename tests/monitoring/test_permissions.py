"""Every monitoring page for every persona: outsiders 404, the wrong role 403."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.models import Flag
from tests.monitoring.conftest import record

pytestmark = pytest.mark.django_db

PERSONAS = ["nurse", "physician", "rems_admin", "outsider"]

# url name -> expected status for nurse, physician, REMS administrator, outsider (clinic B)
MATRIX = {
    "worklist": (200, 200, 200, 200),
    "inbox": (403, 200, 403, 200),
    "labs": (200, 200, 200, 404),
    "lab_entry": (200, 200, 403, 404),
    "collection": (200, 200, 200, 404),
    "result": (200, 200, 200, 404),
    "result_correct": (200, 200, 403, 404),
    "result_mark_error": (200, 200, 403, 404),
    "patient_flags": (200, 200, 200, 404),
    "flag_acknowledge": (302, 302, 403, 404),
}


@pytest.fixture
def objects(patient, nurse):
    (result,) = record(patient, nurse, date(2025, 3, 1), ANC="0.4")
    flag = Flag.objects.create(
        patient=patient,
        kind="neutropenia",
        severity=4,
        ctcae_grade=4,
        message="m",
        rule_id="ctcae.grade",
        basis="b",
        opened_at=timezone.now(),
        opened_as_of=date(2025, 3, 1),
    )
    return patient, result, flag


def url_for(name, patient, result, flag):
    pid = patient.public_id
    return {
        "worklist": reverse("monitoring:worklist"),
        "inbox": reverse("monitoring:inbox"),
        "labs": reverse("monitoring:labs", args=[pid]),
        "lab_entry": reverse("monitoring:lab_entry", args=[pid, "chemistry"]),
        "collection": reverse("monitoring:collection", args=[pid, result.collection_id]),
        "result": reverse("monitoring:result", args=[pid, result.pk]),
        "result_correct": reverse("monitoring:result_correct", args=[pid, result.pk]),
        "result_mark_error": reverse("monitoring:result_mark_error", args=[pid, result.pk]),
        "patient_flags": reverse("monitoring:patient_flags", args=[pid]),
        "flag_acknowledge": reverse("monitoring:flag_acknowledge", args=[flag.pk]),
    }[name]


@pytest.mark.parametrize("name", MATRIX)
@pytest.mark.parametrize("persona", PERSONAS)
def test_permission_matrix(request, client_for, objects, name, persona):
    user = request.getfixturevalue(persona)
    url = url_for(name, *objects)
    client = client_for(user)
    response = client.post(url, {"note": ""}) if name == "flag_acknowledge" else client.get(url)
    assert response.status_code == MATRIX[name][PERSONAS.index(persona)]


@pytest.mark.parametrize("name", MATRIX)
def test_anonymous_users_are_sent_to_login(client, objects, name):
    response = client.get(url_for(name, *objects))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_unknown_panel_is_404(client_for, nurse, patient):
    assert (
        client_for(nurse)
        .get(f"/monitoring/patients/{patient.public_id}/labs/enter/urine/")
        .status_code
        == 404
    )


def test_result_of_another_patient_is_404_even_inside_the_clinic(
    client_for, nurse, objects, clinic_a
):
    from tests.factories import PatientFactory

    _, result, _ = objects
    other = PatientFactory(clinic=clinic_a)
    assert (
        client_for(nurse)
        .get(reverse("monitoring:result", args=[other.public_id, result.pk]))
        .status_code
        == 404
    )
