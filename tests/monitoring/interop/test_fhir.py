"""/fhir/: R4 resources valid against the fhir.resources R4B models, scoping, and lab ingest."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from rest_framework.test import APIClient

from monitoring.interop.models import InterfaceMessage
from monitoring.models import ResponseAssessment
from patients.models import LabResult, PatientAccess
from tests.monitoring.interop.conftest import CBC, Res, oru, receive
from therapy import services as therapy_services
from therapy.dosing import DoseLevel

pytestmark = pytest.mark.django_db

MODELS = {
    "Bundle": Bundle,
    "CapabilityStatement": CapabilityStatement,
    "Condition": Condition,
    "MedicationRequest": MedicationRequest,
    "Observation": Observation,
    "OperationOutcome": OperationOutcome,
    "Patient": FhirPatient,
}


def valid(body: dict) -> dict:
    """Validate a resource (and each resource of a Bundle) against its R4B model."""
    MODELS[body["resourceType"]].model_validate(body)
    for entry in body.get("entry", []):
        if "resource" in entry:
            valid(entry["resource"])
    return body


def fhir(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_metadata_is_a_valid_capability_statement():
    response = fhir().get("/fhir/metadata")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    body = valid(response.json())
    assert body["fhirVersion"] == "4.0.1"


def test_patient_read_is_valid_and_logged(nurse, patient):
    response = fhir(nurse).get(f"/fhir/Patient/{patient.public_id}")

    assert response.status_code == 200
    body = valid(response.json())
    assert body["identifier"][0]["value"] == "A-1001" and body["birthDate"] == "1960-05-17"
    assert PatientAccess.objects.filter(user=nurse, patient=patient).exists()


def test_hl7_in_fhir_observation_out_round_trip(nurse, sender, patient):
    platelets = Res("777-3", "95", "10*9/L", "100-400", "L", "P", observed="20250602083000-0400")
    assert receive(oru([("20250602083000-0400", [*CBC[:4], platelets])])).ack_code == "AA"

    response = fhir(nurse).get(
        "/fhir/Observation",
        {"patient": f"Patient/{patient.public_id}", "code": "http://loinc.org|777-3"},
    )

    assert response.status_code == 200
    bundle = valid(response.json())
    assert bundle["total"] == 1
    obs = bundle["entry"][0]["resource"]
    assert obs["status"] == "preliminary"
    assert obs["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "777-3",
        "display": "Platelets",
    }
    assert obs["valueQuantity"] == {
        "value": 95,
        "unit": "10^9/L",
        "system": "http://unitsofmeasure.org",
        "code": "10*9/L",
    }
    assert obs["referenceRange"][0]["low"]["value"] == 100
    assert obs["referenceRange"][0]["text"] == "reported by the laboratory"
    assert obs["interpretation"][0]["coding"][0]["code"] == "L"
    assert obs["effectiveDateTime"].startswith("2025-06-02T08:30:00")


def test_observation_search_by_category_returns_all_labs(nurse, sender, patient):
    receive(oru([("20250602083000-0400", CBC)]))

    response = fhir(nurse).get(
        "/fhir/Observation", {"patient": str(patient.public_id), "category": "laboratory"}
    )

    assert valid(response.json())["total"] == 5


def test_spep_and_flc_are_mcode_tumour_markers(nurse, sender, patient):
    receive(
        oru(
            [("20250602083000-0400", [Res("33358-3", "0.4", "g/dL"), Res("36916-5", "30", "mg/L")])]
        )
    )

    bundle = valid(fhir(nurse).get("/fhir/Observation", {"patient": str(patient.public_id)}).json())

    profiles = {e["resource"]["meta"]["profile"][0] for e in bundle["entry"]}
    assert profiles == {"http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-tumor-marker-test"}


def test_confirmed_response_is_an_mcode_cancer_disease_status(nurse, physician, patient):
    ResponseAssessment.objects.create(
        patient=patient, assessed_on=date(2025, 5, 1), category="VGPR", assessed_by=physician
    )

    bundle = valid(
        fhir(nurse)
        .get("/fhir/Observation", {"patient": str(patient.public_id), "code": "97509-4"})
        .json()
    )

    obs = bundle["entry"][0]["resource"]
    assert obs["valueCodeableConcept"]["coding"][0]["code"] == "268910001"
    assert obs["focus"][0]["reference"] == f"Condition/dx-{patient.public_id}"


def test_condition_is_the_myeloma_diagnosis(nurse, patient):
    bundle = valid(fhir(nurse).get("/fhir/Condition", {"patient": str(patient.public_id)}).json())

    condition = bundle["entry"][0]["resource"]
    assert condition["code"]["coding"][0]["code"] == "109989006"


def test_medication_request_has_21_of_28_timing_and_the_dose_changes(
    nurse, physician, patient, course
):
    therapy_services.dose_change(
        course=course,
        user=physician,
        level=DoseLevel(Decimal("5"), 28),
        effective_from=date(2025, 3, 3),
        reason="hematologic_toxicity",
    )

    bundle = valid(
        fhir(nurse).get("/fhir/MedicationRequest", {"patient": str(patient.public_id)}).json()
    )

    request = bundle["entry"][0]["resource"]
    first, second = request["dosageInstruction"]
    assert first["timing"]["code"]["text"] == "21/28"
    assert first["doseAndRate"][0]["doseQuantity"]["value"] == 10
    assert first["timing"]["repeat"]["boundsPeriod"] == {"start": "2025-01-06", "end": "2025-03-02"}
    assert second["timing"]["code"]["text"] == "28/28"
    assert second["doseAndRate"][0]["doseQuantity"]["value"] == 5
    assert "continuously" in second["text"]
    assert request["medicationCodeableConcept"]["coding"][0]["code"] == "342369"


def observation(
    patient, code="777-3", value=88, unit="10*9/L", when="2025-06-02T08:30:00-04:00", **extra
):
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient.public_id}"},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
        **extra,
    }


def test_post_observation_stores_it_through_the_lab_service(nurse, patient):
    body = observation(
        patient,
        referenceRange=[
            {"low": {"value": 100, "code": "10*9/L"}, "high": {"value": 400, "code": "10*9/L"}}
        ],
    )
    valid(body)

    response = fhir(nurse).post("/fhir/Observation", body, format="json")

    assert response.status_code == 201, response.content
    created = valid(response.json())
    result = LabResult.objects.get()
    assert created["id"] == f"lab-{result.pk}" and response["Location"].endswith(created["id"])
    assert result.source == LabResult.Source.FHIR and result.ref_low == Decimal("100")
    assert result.ctcae_grade == 1 and result.entered_by == nurse
    assert InterfaceMessage.objects.get(channel="fhir").result_ids == [result.pk]


def test_post_implausible_observation_is_422_operation_outcome_and_nothing_saved(nurse, patient):
    response = fhir(nurse).post(
        "/fhir/Observation", observation(patient, value=99999), format="json"
    )

    assert response.status_code == 422
    outcome = valid(response.json())
    assert "plausible maximum" in outcome["issue"][0]["diagnostics"]
    assert not LabResult.objects.exists()
    assert InterfaceMessage.objects.get(channel="fhir").status == "refused"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[]", 400),
        (b'{"resourceType": "Patient"}', 422),
        (b'{"resourceType": "Observation", "status": "final"}', 422),
    ],
)
def test_bad_bodies_are_4xx_operation_outcomes(nurse, body, status):
    response = fhir(nurse).post("/fhir/Observation", body, content_type="application/fhir+json")

    assert response.status_code == status
    valid(response.json())


def test_transaction_bundle_is_stored_all_or_nothing(nurse, patient):
    def entry(resource):
        return {"resource": resource, "request": {"method": "POST", "url": "Observation"}}

    good = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [entry(observation(patient)), entry(observation(patient, "718-7", 12.1, "g/dL"))],
    }
    valid(good)
    bad = {**good, "entry": [*good["entry"], entry(observation(patient, "6690-2", 5, "furlongs"))]}

    refused = fhir(nurse).post("/fhir/", bad, format="json")
    assert refused.status_code == 422 and not LabResult.objects.exists()
    assert refused.json()["issue"][0]["expression"] == [
        "Bundle.entry[2].resource.valueQuantity.code"
    ]

    response = fhir(nurse).post("/fhir/", good, format="json")
    assert response.status_code == 200, response.content
    assert len(valid(response.json())["entry"]) == 2
    assert LabResult.objects.count() == 2


def test_outsider_gets_404_operation_outcome_for_another_clinics_patient(outsider, patient):
    response = fhir(outsider).get(f"/fhir/Patient/{patient.public_id}")

    assert response.status_code == 404
    assert valid(response.json())["issue"][0]["code"] == "not-found"
    assert not PatientAccess.objects.exists()


def test_outsider_cannot_post_an_observation_for_another_clinics_patient(outsider, patient):
    response = fhir(outsider).post("/fhir/Observation", observation(patient), format="json")

    assert response.status_code == 404 and not LabResult.objects.exists()


def test_rems_administrator_may_not_post_labs(rems_admin, patient):
    response = fhir(rems_admin).post("/fhir/Observation", observation(patient), format="json")

    assert response.status_code == 403


def test_anonymous_gets_401_or_403(patient):
    assert fhir().get(f"/fhir/Patient/{patient.public_id}").status_code in (401, 403)


def test_observation_search_without_patient_is_400(nurse):
    response = fhir(nurse).get("/fhir/Observation")
    assert response.status_code == 400 and valid(response.json())


def test_sex_specific_reference_range_is_chosen_for_the_patient(nurse, patient):
    # tests.factories.PatientFactory: sex at birth male.
    def applies(code):
        return [{"coding": [{"system": "http://snomed.info/sct", "code": code}]}]

    body = observation(
        patient,
        "718-7",
        13.0,
        "g/dL",
        referenceRange=[
            {"low": {"value": 12.0, "code": "g/dL"}, "appliesTo": applies("248152002")},
            {"low": {"value": 13.5, "code": "g/dL"}, "appliesTo": applies("248153007")},
        ],
    )
    valid(body)

    response = fhir(nurse).post("/fhir/Observation", body, format="json")

    assert response.status_code == 201, response.content
    result = LabResult.objects.get()
    assert result.ref_low == Decimal("13.5") and result.ctcae_grade == 1


def test_location_of_a_created_observation_can_be_read(nurse, outsider, patient):
    created = fhir(nurse).post("/fhir/Observation", observation(patient), format="json")
    location = created["Location"].removeprefix("http://testserver")

    response = fhir(nurse).get(location)

    assert response.status_code == 200 and valid(response.json())["id"] == created.json()["id"]
    assert fhir(outsider).get(location).status_code == 404
    assert fhir(nurse).get("/fhir/Observation/lab-999999").status_code == 404
    assert fhir(nurse).get("/fhir/Observation/nonsense").status_code == 404
