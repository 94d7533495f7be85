"""The access log for the API: every route of the permission matrix, every persona. A
response that carries a patient's data (2xx) writes one row per patient with the route;
a refusal writes none; a list writes one row per patient returned, in one insert."""

from __future__ import annotations

import pytest
from django.urls import reverse

from patients.models import PatientAccess
from tests.factories import PatientFactory
from tests.security.matrix_table import MATRIX, PERSONAS, expand_kwargs

API_ROWS = [
    (name, method, persona)
    for name, spec in MATRIX.items()
    if name.startswith("api-") and name != "api-schema"
    for method in spec.methods
    for persona in PERSONAS
    if persona != "anonymous"
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "persona"), API_ROWS)
def test_every_api_response_with_patient_data_writes_the_access_log(
    name, method, persona, matrix_world, client
):
    spec = MATRIX[name]
    url = reverse(name, kwargs=expand_kwargs(spec, matrix_world))
    user = matrix_world["users"][persona]
    client.force_login(user)
    before = PatientAccess.objects.count()
    payload = spec.payload(matrix_world) if method == "POST" else None
    response = getattr(client, method.lower())(url, payload)
    rows = PatientAccess.objects.order_by("pk")[before:]
    if not 200 <= response.status_code < 300:
        assert list(rows) == [], (name, method, persona, response.status_code)
        return
    body = response.json()
    listed = body.get("results") if isinstance(body, dict) and name == "api-patients" else None
    expected = len(listed) if listed is not None else 1
    assert len(rows) == expected, (name, method, persona)
    for row in rows:
        assert row.user == user
        assert row.path.startswith(url)
    if listed is None:
        assert {row.patient for row in rows} == {matrix_world["patient"]}


@pytest.mark.django_db
def test_a_patient_list_writes_one_row_per_patient_in_one_insert(
    physician, clinic_a, patient, client, django_assert_num_queries
):
    PatientFactory.create_batch(4, clinic=clinic_a)
    client.force_login(physician)
    response = client.get("/api/v1/patients/")
    assert response.status_code == 200 and len(response.json()["results"]) == 5
    rows = PatientAccess.objects.all()
    assert rows.count() == 5
    assert {r.path for r in rows} == {"/api/v1/patients/"}
    assert {r.user for r in rows} == {physician}


@pytest.mark.django_db
def test_access_log_admin_filters_by_user_and_patient_and_exports_csv(
    client, superuser, physician, nurse, patient
):
    for user in (physician, nurse):
        client.force_login(user)
        client.get(f"/api/v1/patients/{patient.public_id}/")
    client.force_login(superuser)
    changelist = reverse("admin:patients_patientaccess_changelist")
    filtered = client.get(
        changelist, {"user__id__exact": nurse.pk, "patient__id__exact": patient.pk}
    )
    assert filtered.status_code == 200
    assert filtered.context["cl"].result_count == 1
    rows = PatientAccess.objects.values_list("pk", flat=True)
    export = client.post(
        changelist, {"action": "export_csv", "_selected_action": [str(pk) for pk in rows]}
    )
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    text = export.content.decode()
    assert text.splitlines()[0] == "Accessed at,User,Patient MRN,Patient,Route"
    assert "nurse.a" in text and "physician.a" in text and patient.mrn in text
