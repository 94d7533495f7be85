"""The API: patients, labs (all or nothing) and flags, with the pages' scoping and roles."""

from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from monitoring.models import Flag
from patients.models import LabResult
from tests.factories import PatientFactory
from tests.monitoring.conftest import evaluate, record

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def labs_url(patient):
    return f"/api/v1/patients/{patient.public_id}/labs/"


COLLECTION = {
    "collected_at": "2025-03-03T08:30:00-05:00",
    "results": [
        {"test": "751-8", "value": "450", "unit": "/uL"},
        {"test": "PLT", "value": "45", "unit": "10^3/uL"},
        {"test": "HGB", "value": "6.2", "unit": "mmol/L"},
    ],
}


def test_create_api_token_prints_a_token_that_authenticates(nurse, patient, capsys):
    call_command("create_api_token", "nurse.a")
    key = capsys.readouterr().out.strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(labs_url(patient)).status_code == 200
    assert APIClient().get(labs_url(patient)).status_code in (401, 403)


def test_posting_a_collection_stores_it_and_returns_canonical_values_and_grades(nurse, patient):
    response = api(nurse).post(labs_url(patient), COLLECTION, format="json")
    assert response.status_code == 201, response.json()
    by_test = {row["test"]: row for row in response.json()}
    assert by_test["ANC"]["value"] == "0.4500000000" and by_test["ANC"]["ctcae_grade"] == 4
    assert by_test["PLT"]["ctcae_grade"] == 3 and by_test["PLT"]["out_of_range"] == "low"
    assert by_test["HGB"]["value"].startswith("9.99") and by_test["HGB"]["ctcae_grade"] == 2
    assert (
        by_test["HGB"]["value_as_entered"] == "6.2"
        and by_test["HGB"]["unit_as_entered"] == "mmol/L"
    )
    assert LabResult.objects.filter(patient=patient, source="api").count() == 3


def test_one_bad_result_stores_none_and_names_the_problem_per_result(nurse, patient):
    bad = {
        **COLLECTION,
        "results": [
            *COLLECTION["results"],
            {"test": "CREAT", "value": "9000", "unit": "umol/L"},
            {"test": "XYZ", "value": "1"},
        ],
    }
    response = api(nurse).post(labs_url(patient), bad, format="json")
    assert response.status_code == 400
    rows = response.json()["results"]
    assert [bool(r["errors"]) for r in rows] == [False, False, False, True, True]
    assert "above the plausible maximum of 30 mg/dL" in rows[3]["errors"][0]
    assert "not a test in the lab catalogue" in rows[4]["errors"][0]
    assert not LabResult.objects.exists()


def test_duplicate_collection_is_refused_with_the_existing_result_id(nurse, patient):
    client = api(nurse)
    client.post(labs_url(patient), COLLECTION, format="json")
    response = client.post(labs_url(patient), COLLECTION, format="json")
    assert response.status_code == 400
    existing = LabResult.objects.get(test_code="ANC")
    assert response.json()["results"][0]["existing_result_id"] == existing.pk


def test_results_filter_by_test_and_dates(nurse, patient):
    record(patient, nurse, date(2025, 3, 1), ANC="2.0", PLT="210")
    record(patient, nurse, date(2025, 4, 1), ANC="2.2")
    client = api(nurse)
    rows = client.get(labs_url(patient), {"test": "751-8", "since": "2025-03-15"}).json()["results"]
    assert [(r["test"], r["value"]) for r in rows] == [("ANC", "2.2000000000")]
    rows = client.get(labs_url(patient), {"until": "2025-03-01"}).json()["results"]
    assert {r["test"] for r in rows} == {"ANC", "PLT"}
    assert client.get(labs_url(patient), {"test": "nope"}).status_code == 400


def test_flags_filter_and_acknowledge(nurse, patient):
    record(patient, nurse, date(2025, 3, 1), ANC="0.4", PLT="60")
    evaluate(patient, date(2025, 3, 1))
    client = api(nurse)
    url = f"/api/v1/patients/{patient.public_id}/flags/"
    kinds = {f["kind"] for f in client.get(url, {"status": "open"}).json()["results"]}
    assert kinds == {"neutropenia", "thrombocytopenia"}
    (flag,) = client.get(url, {"kind": "neutropenia"}).json()["results"]
    assert flag["rule_id"] == "ctcae.grade" and flag["evidence"][0]["code"] == "ANC"
    ack = client.post(f"{url}{flag['id']}/acknowledge/", {"note": "Called patient"}, format="json")
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    assert ack.json()["acknowledged_by"] == "nurse.a"
    again = client.post(f"{url}{flag['id']}/acknowledge/", {}, format="json")
    assert again.status_code == 409
    assert client.get(url, {"status": "bogus"}).status_code == 400


def test_outsider_gets_404_for_labs_and_flags_of_another_clinic(outsider, patient, nurse):
    record(patient, nurse, date(2025, 3, 1), ANC="0.4")
    evaluate(patient, date(2025, 3, 1))
    client = api(outsider)
    flag = Flag.objects.get()
    assert client.get(labs_url(patient)).status_code == 404
    assert client.post(labs_url(patient), COLLECTION, format="json").status_code == 404
    assert client.get(f"/api/v1/patients/{patient.public_id}/flags/").status_code == 404
    assert (
        client.post(
            f"/api/v1/patients/{patient.public_id}/flags/{flag.pk}/acknowledge/"
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/patients/{patient.public_id}/").status_code == 404


def test_rems_administrator_may_read_labs_but_not_post_them(rems_admin, patient):
    client = api(rems_admin)
    assert client.get(labs_url(patient)).status_code == 200
    assert client.post(labs_url(patient), COLLECTION, format="json").status_code == 403
    assert not LabResult.objects.exists()


def test_patients_list_detail_and_create(physician, clinic_a, patient):
    client = api(physician)
    listed = client.get("/api/v1/patients/").json()
    assert [p["mrn"] for p in listed["results"]] == ["A-1001"]
    assert client.get(f"/api/v1/patients/{patient.public_id}/").json()["clinic"] == "alpha"
    new = {
        "clinic": "alpha",
        "mrn": "A-2002",
        "given_name": "Grace",
        "family_name": "Hopper",
        "date_of_birth": "1956-12-09",
        "sex_at_birth": "female",
        "diagnosis": {"diagnosed_on": "2024-02-01", "heavy_chain": "IgA", "light_chain": "lambda"},
        "weight_kg": "61.5",
    }
    created = client.post("/api/v1/patients/", new, format="json")
    assert created.status_code == 201, created.json()
    assert (
        client.post("/api/v1/patients/", new, format="json")
        .json()["mrn"][0]
        .startswith("MRN A-2002 is already used")
    )
    assert (
        client.post(
            "/api/v1/patients/", {**new, "mrn": "A-3", "clinic": "beta"}, format="json"
        ).status_code
        == 400
    )


def test_nurse_may_not_create_patients_through_the_api(nurse):
    assert api(nurse).post("/api/v1/patients/", {}, format="json").status_code == 403


def add_flagged_patients(clinic, count, first=None):
    for index in range(count):
        other = first if (first is not None and index == 0) else PatientFactory(clinic=clinic)
        Flag.objects.create(
            patient=other,
            kind="anemia",
            severity=2,
            message="Hb low",
            rule_id="ctcae.grade",
            basis="b",
            opened_at="2025-03-01T00:00Z",
            opened_as_of=date(2025, 3, 1),
        )


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_patient_and_flag_lists_take_the_same_queries_for_5_and_50_rows(physician, clinic_a):
    patient = PatientFactory(clinic=clinic_a)
    client = api(physician)
    flags_url = f"/api/v1/patients/{patient.public_id}/flags/"
    add_flagged_patients(clinic_a, 5)
    for _index in range(5):
        Flag.objects.create(
            patient=patient,
            kind="anemia",
            status="resolved",
            resolved_at="2025-03-02T00:00Z",
            severity=2,
            message="m",
            rule_id="r",
            basis="b",
            opened_at="2025-03-01T00:00Z",
            opened_as_of=date(2025, 3, 1),
        )
    five = (queries(client, "/api/v1/patients/"), queries(client, flags_url))
    add_flagged_patients(clinic_a, 45)
    for _index in range(45):
        Flag.objects.create(
            patient=patient,
            kind="anemia",
            status="resolved",
            resolved_at="2025-03-02T00:00Z",
            severity=2,
            message="m",
            rule_id="r",
            basis="b",
            opened_at="2025-03-01T00:00Z",
            opened_as_of=date(2025, 3, 1),
        )
    fifty = (queries(client, "/api/v1/patients/"), queries(client, flags_url))
    # token, user perms, group perms, (patient lookup or count), page, then the access log:
    # one bulk insert for the list; the patient's id and one insert for the flags route.
    assert five == fifty == (6, 8)


def test_schema_validates_and_lists_the_monitoring_routes(client):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    assert "/api/v1/patients/{public_id}/labs/" in schema["paths"]
    assert "/api/v1/patients/{public_id}/flags/{flag_id}/acknowledge/" in schema["paths"]
    assert client.get("/api/schema/").status_code in (401, 403)
