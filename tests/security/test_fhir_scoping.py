"""/fhir/ clinic scoping for every persona: the permission matrix of the FHIR searches and
reads with a patient, and of lab ingest (a patient of another clinic is 404, as if absent)."""

import pytest

from patients.models import LabResult, PatientAccess
from tests.security.matrix_table import FORBIDDEN, NOT_FOUND, OK, PERSONAS

CREATED = 201
READS = {
    # endpoint: nurse, physician, rems (superuser and outsider: 404, no clinic)
    "Patient/{id}": (OK, OK, OK),
    "Observation?patient={id}": (OK, OK, OK),
    "Observation?patient=Patient/{id}&category=laboratory&code=http://loinc.org|751-8": (
        OK,
        OK,
        OK,
    ),
    "MedicationRequest?patient={id}": (OK, OK, OK),
    "Condition?patient={id}": (OK, OK, OK),
}


def _expected(row, persona):
    if persona in ("superuser", "outsider"):
        return NOT_FOUND
    return dict(zip(("nurse", "physician", "rems"), row, strict=True))[persona]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", READS)
def test_fhir_read_scoping(endpoint, persona, matrix_world, client):
    patient = matrix_world["patient"]
    user = matrix_world["users"].get(persona)
    if user is not None:
        client.force_login(user)
    response = client.get("/fhir/" + endpoint.format(id=patient.public_id))

    if persona == "anonymous":
        assert response.status_code in (401, 403)
        return
    expected = _expected(READS[endpoint], persona)
    assert response.status_code == expected, (endpoint, persona, response.status_code)
    logged = PatientAccess.objects.filter(user=user, patient=patient)
    # Exactly one access-log row for each response that carried the patient's data.
    assert logged.count() == (1 if expected == OK else 0)
    if expected == OK:
        assert logged.get().path.startswith("/fhir/")
    if expected != OK:
        assert response.json()["resourceType"] == "OperationOutcome"
        assert str(patient.public_id) not in response.content.decode()


POST_EXPECTED = {
    "nurse": CREATED,
    "physician": CREATED,
    "rems": FORBIDDEN,
    "superuser": NOT_FOUND,
    "outsider": NOT_FOUND,
}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_fhir_observation_post_scoping(persona, matrix_world, client):
    patient = matrix_world["patient"]
    user = matrix_world["users"].get(persona)
    if user is not None:
        client.force_login(user)
    before = LabResult.objects.count()
    body = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "777-3"}]},
        "subject": {"reference": f"Patient/{patient.public_id}"},
        "effectiveDateTime": "2025-02-03T08:30:00-05:00",
        "valueQuantity": {"value": 180, "system": "http://unitsofmeasure.org", "code": "10*9/L"},
    }
    response = client.post("/fhir/Observation", body, content_type="application/fhir+json")

    if persona == "anonymous":
        assert response.status_code in (401, 403)
        return
    assert response.status_code == POST_EXPECTED[persona], (persona, response.content)
    assert LabResult.objects.count() == before + (1 if response.status_code == CREATED else 0)
