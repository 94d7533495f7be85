"""/fhir/ on bad input (issue 11 review): a 4xx OperationOutcome naming the problem,
never a 500, nothing stored; a POST is in the access log; final and amended results."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from rest_framework.test import APIClient

from patients.models import LabResult, PatientAccess
from tests.monitoring.interop.test_fhir import observation

pytestmark = pytest.mark.django_db


def fhir(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def refused(response, status: int, *words: str) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    OperationOutcome.model_validate(body)
    text = " ".join(i.get("diagnostics", "") for i in body["issue"])
    for word in words:
        assert word in text
    assert not LabResult.objects.exists()
    return text


def post(user, body) -> object:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return fhir(user).post("/fhir/Observation", data, content_type="application/fhir+json")


@pytest.mark.parametrize("count", ["-1", "²", "1e3", "abc"])
def test_bad_count_is_400(nurse, patient, count):
    response = fhir(nurse).get(f"/fhir/Observation?patient={patient.public_id}&_count={count}")
    refused(response, 400, "_count")


def test_count_zero_is_an_empty_page(nurse, patient):
    response = fhir(nurse).get(f"/fhir/Observation?patient={patient.public_id}&_count=0")
    assert response.status_code == 200


@pytest.mark.parametrize("resource_id", ["lab-²", "lab-٣", "lab-99999999999999999999999"])
def test_observation_read_with_a_non_ascii_or_huge_id_is_404(nurse, resource_id):
    refused(fhir(nurse).get(f"/fhir/Observation/{resource_id}"), 404, "Observation id")


def test_json_nested_5000_deep_is_400(nurse, patient):
    body = b'{"a":' * 5000 + b"1" + b"}" * 5000
    refused(post(nurse, body), 400, "nested deeper")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"code": "x"}, "code"),
        ({"valueQuantity": "x"}, "valueQuantity"),
        ({"code": {"coding": ["x"]}}, "coding[0]"),
        ({"code": {"coding": "x"}}, "coding"),
        ({"subject": "x"}, "subject"),
        ({"referenceRange": [{"appliesTo": ["x"]}]}, "appliesTo[0]"),
        ({"referenceRange": ["x"]}, "referenceRange[0]"),
        ({"referenceRange": "x"}, "referenceRange"),
        ({"referenceRange": [{"low": "x"}]}, "low"),
        ({"valueCodeableConcept": "x", "valueQuantity": None}, "valueCodeableConcept"),
    ],
)
def test_a_string_where_an_object_belongs_is_422(nurse, patient, change, where):
    body = observation(patient)
    body.update(change)
    if body.get("valueQuantity") is None:
        body.pop("valueQuantity")
    refused(post(nurse, body), 422, where)


@pytest.mark.parametrize(
    "when", ["2025-13-45T08:30:00-04:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]
)
def test_impossible_effective_time_is_422(nurse, patient, when):
    refused(post(nurse, observation(patient, when=when)), 422, "effectiveDateTime")


@pytest.mark.parametrize("low", [1e20, "1E+999999", 12345678901234567890, True, "NaN"])
def test_reference_range_limit_out_of_bounds_is_422(nurse, patient, low):
    body = observation(patient, referenceRange=[{"low": {"value": low, "code": "10*9/L"}}])
    refused(post(nurse, body), 422, "referenceRange[0].low")


def test_value_with_an_exponent_is_422(nurse, patient):
    refused(post(nurse, observation(patient, value=1e20)), 422, "valueQuantity.value")


def test_post_writes_exactly_one_access_row(nurse, patient):
    response = post(nurse, observation(patient))

    assert response.status_code == 201, response.content
    assert PatientAccess.objects.filter(user=nurse, patient=patient).count() == 1


def test_bundle_writes_one_access_row_per_patient(nurse, patient):
    entries = [
        {"request": {"method": "POST", "url": "Observation"}, "resource": observation(patient)},
        {
            "request": {"method": "POST", "url": "Observation"},
            "resource": observation(patient, code="718-7", value=13.1, unit="g/dL"),
        },
    ]
    response = fhir(nurse).post(
        "/fhir/", {"resourceType": "Bundle", "type": "transaction", "entry": entries}, format="json"
    )

    assert response.status_code == 200, response.content
    assert PatientAccess.objects.filter(user=nurse, patient=patient).count() == 1


def test_final_supersedes_the_preliminary(nurse, patient):
    assert post(nurse, observation(patient, value=88, status="preliminary")).status_code == 201
    preliminary = LabResult.objects.get()

    response = post(nurse, observation(patient, value=86))

    assert response.status_code == 201, response.content
    final = LabResult.objects.valid().get()
    assert final.result_status == "final" and final.canonical_value == Decimal("86")
    assert final.corrects_id == preliminary.pk
    preliminary.refresh_from_db()
    assert preliminary.result_status == "superseded" and preliminary.entered_in_error_at is None


@pytest.mark.parametrize("status", ["amended", "corrected"])
def test_amended_or_corrected_corrects_the_final_with_history(nurse, patient, status):
    assert post(nurse, observation(patient, value=88)).status_code == 201
    original = LabResult.objects.get()

    response = post(nurse, observation(patient, value=120, status=status))

    assert response.status_code == 201, response.content
    current = LabResult.objects.valid().get()
    assert current.canonical_value == Decimal("120") and current.corrects_id == original.pk
    original.refresh_from_db()
    assert original.entered_in_error_reason.startswith(f"Corrected: by the lab ({status}")
    assert original.history.count() == 2


def test_a_second_final_is_still_a_duplicate(nurse, patient):
    assert post(nurse, observation(patient, value=88)).status_code == 201

    response = post(nurse, observation(patient, value=86))

    assert response.status_code == 422
    assert LabResult.objects.count() == 1


def test_final_after_preliminary_reads_final_and_the_preliminary_reads_preliminary(nurse, patient):
    post(nurse, observation(patient, value=88, status="preliminary"))
    post(nurse, observation(patient, value=86))
    old = LabResult.objects.get(result_status="superseded")
    new = LabResult.objects.valid().get()

    read = fhir(nurse).get(f"/fhir/Observation/lab-{new.pk}").json()
    earlier = fhir(nurse).get(f"/fhir/Observation/lab-{old.pk}").json()
    found = fhir(nurse).get(f"/fhir/Observation?patient={patient.public_id}").json()

    assert read["status"] == "final" and earlier["status"] == "preliminary"
    assert [e["resource"]["status"] for e in found["entry"]] == ["final"]
