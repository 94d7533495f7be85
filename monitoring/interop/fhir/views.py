"""FHIR R4 under /fhir/: the API's authentication (token or session), clinic scoping (a
patient outside the user's clinics is 404, as if absent), roles (403) and access log.

Errors answer an OperationOutcome with the HTTP status, never a 500 for bad input.
"""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring import access
from monitoring.interop.fhir import resources
from monitoring.interop.fhir.ingest import FhirInvalid, observations_ingest, parse_body
from monitoring.models import ResponseAssessment
from patients import audit, parsing
from patients import lab_catalogue as catalogue
from patients.models import LabResult
from therapy import selectors as therapy_selectors

FHIR_JSON = "application/fhir+json"
MAX_COUNT = 1000


class FhirRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"


class FhirJsonRenderer(JSONRenderer):
    """Plain application/json for clients that ask for it."""


class FhirParser(JSONParser):
    media_type = FHIR_JSON


def _outcome(code: str, text: str, http: int, where: str | None = None) -> Response:
    return Response(resources.operation_outcome([(code, text, where)]), status=http)


class FhirView(APIView):
    # FHIR describes itself (GET /fhir/metadata); the OpenAPI schema is for /api/ only.
    schema = None
    renderer_classes = [FhirRenderer, FhirJsonRenderer]
    parser_classes = [FhirParser, JSONParser]

    def handle_exception(self, exc):
        if isinstance(exc, FhirInvalid):
            return Response(resources.operation_outcome(exc.issues), status=exc.status)
        if isinstance(exc, Http404 | exceptions.NotFound):
            return _outcome("not-found", "No such resource in your clinics.", 404)
        if isinstance(exc, PermissionDenied | exceptions.PermissionDenied):
            return _outcome("forbidden", "Your role does not allow this.", 403)
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            response = super().handle_exception(exc)
            response.data = resources.operation_outcome(
                [("login", "Authentication required.", None)]
            )
            return response
        if isinstance(exc, exceptions.APIException):
            response = super().handle_exception(exc)
            response.data = resources.operation_outcome([("invalid", str(exc.detail), None)])
            return response
        return super().handle_exception(exc)

    def base_url(self) -> str:
        return self.request.build_absolute_uri("/fhir/")

    def patient(self, reference: str | None, perm: str):
        """The patient of a reference ("Patient/<id>" or "<id>"), logged as accessed."""
        if not reference:
            raise FhirInvalid(
                [("required", "The patient search parameter is required.", "patient")], 400
            )
        public_id = reference.removeprefix("Patient/")
        try:
            patient = access.patient_for(self.request.user, public_id, perm=perm)
        except ValidationError:
            raise Http404 from None
        # One access-log row per patient per response, written by the API access-log
        # middleware after a 2xx (patients.audit).
        audit.note_read(self.request, [patient])
        return patient


def _note_written(request, saved) -> None:
    """One access-log row per patient written to (after the 2xx, by the API middleware)."""
    audit.note_read(request, list({r.patient_id: r.patient for r in saved}.values()))


class Metadata(FhirView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request):
        return Response(resources.capability_statement(self.base_url()))


class PatientRead(FhirView):
    def get(self, request, public_id):
        patient = self.patient(str(public_id), "patients.view_patient")
        return Response(resources.patient_resource(patient))


def _codes(param: str | None) -> tuple[set[str], bool]:
    """code=[system|]code,... -> (catalogue test codes, whether disease status was asked)."""
    if not param:
        return set(), True
    tests, status_asked = set(), False
    for token in param.split(","):
        system, _, code = token.rpartition("|")
        if code == "97509-4" and system in ("", resources.LOINC):
            status_asked = True
            continue
        try:
            test = catalogue.find_test(code)
        except catalogue.UnknownTestError:
            continue
        if system == resources.LOINC and code not in test.loinc_codes:
            continue
        tests.add(test.code)
    return tests, status_asked


class ObservationType(FhirView):
    def get(self, request):
        patient = self.patient(request.query_params.get("patient"), "patients.view_labresult")
        category = request.query_params.get("category", "").rpartition("|")[2]
        tests, status_asked = _codes(request.query_params.get("code"))
        count_text = request.query_params.get("_count", "100").strip()
        if not re.fullmatch(r"[0-9]{1,7}", count_text):
            raise FhirInvalid(
                [("value", f"_count must be a whole number from 0 to {MAX_COUNT}.", "_count")],
                400,
            )
        count = min(int(count_text), MAX_COUNT)
        found: list[dict] = []
        if category in ("", "laboratory") and (tests or not request.query_params.get("code")):
            results = (
                LabResult.objects.valid()
                .filter(patient=patient)
                .select_related("patient", "corrects")
                .order_by("-collected_at", "test_code")
            )
            if tests:
                results = results.filter(test_code__in=tests)
            found += [resources.observation_resource(r) for r in results[:count]]
        if category in ("", "survey") and status_asked:
            assessments = (
                ResponseAssessment.objects.valid()
                .filter(patient=patient)
                .select_related("patient")
                .order_by("-assessed_on")
            )
            found += [resources.disease_status_resource(a) for a in assessments[:count]]
        return Response(resources.searchset(found, self.base_url()))

    def post(self, request):
        data = parse_body(request.body)
        saved = observations_ingest(
            user=request.user, resources=[("Observation", data)], raw=request.body.decode()
        )
        _note_written(request, saved)
        body = resources.observation_resource(saved[0])
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Location"] = f"{self.base_url()}Observation/{body['id']}"
        return response


class ObservationRead(FhirView):
    """GET /fhir/Observation/lab-<id> (a lab result) or status-<id> (disease status)."""

    def get(self, request, resource_id: str):
        kind, _, pk = resource_id.partition("-")
        if kind not in ("lab", "status"):
            raise Http404
        try:
            number = parsing.parse_query_id(pk, name="Observation id")
        except parsing.QueryParamError as error:
            raise FhirInvalid([("not-found", error.message, "id")], 404) from None
        model = LabResult if kind == "lab" else ResponseAssessment
        row = model.objects.filter(pk=number).select_related("patient").first()
        if row is None:
            raise Http404
        perm = "patients.view_labresult" if kind == "lab" else "monitoring.view_responseassessment"
        self.patient(str(row.patient.public_id), perm)  # 404 outside the user's clinics
        if kind == "lab":
            return Response(resources.observation_resource(row))
        return Response(resources.disease_status_resource(row))


class MedicationRequestType(FhirView):
    def get(self, request):
        patient = self.patient(
            request.query_params.get("patient"), "therapy.view_maintenancecourse"
        )
        # Every course with a lenalidomide dose (lenalidomide alone or in a combination).
        courses = [
            c
            for c in therapy_selectors.courses_for(patient)
            if c.dose_mg is not None or c.start_dose_mg is not None
        ]
        found = [resources.medication_request_resource(c) for c in courses]
        return Response(resources.searchset(found, self.base_url()))


class ConditionType(FhirView):
    def get(self, request):
        patient = self.patient(request.query_params.get("patient"), "patients.view_diagnosis")
        diagnosis = getattr(patient, "diagnosis", None)
        found = [resources.condition_resource(diagnosis)] if diagnosis else []
        return Response(resources.searchset(found, self.base_url()))


class Transaction(FhirView):
    """POST /fhir/ with a transaction Bundle of Observation creates."""

    def post(self, request):
        bundle = parse_body(request.body)
        if bundle.get("resourceType") != "Bundle" or bundle.get("type") not in (
            "transaction",
            "batch",
        ):
            raise FhirInvalid([("invalid", "Expected a transaction Bundle.", "Bundle.type")], 400)
        entries = bundle.get("entry") or []
        if not isinstance(entries, list):
            raise FhirInvalid([("structure", "Bundle.entry must be a list.", "Bundle.entry")], 400)
        pairs = []
        for index, entry in enumerate(entries):
            where = f"Bundle.entry[{index}]"
            entry = entry if isinstance(entry, dict) else {}
            request_part = entry.get("request")
            request_part = request_part if isinstance(request_part, dict) else {}
            method = request_part.get("method")
            url = str(request_part.get("url") or "")
            if method != "POST" or url.rstrip("/") != "Observation":
                raise FhirInvalid(
                    [
                        (
                            "not-supported",
                            "Only POST Observation entries are supported.",
                            f"{where}.request",
                        )
                    ],
                    400,
                )
            pairs.append((f"{where}.resource", entry.get("resource")))
        saved = observations_ingest(user=request.user, resources=pairs, raw=request.body.decode())
        _note_written(request, saved)
        created = [r for r in saved if r.source != LabResult.Source.COMPUTED]
        return Response(
            {
                "resourceType": "Bundle",
                "type": "transaction-response",
                "entry": [
                    {
                        "response": {
                            "status": "201 Created",
                            "location": f"Observation/lab-{r.pk}",
                        },
                        "resource": resources.observation_resource(r),
                    }
                    for r in created
                ],
            },
            status=status.HTTP_200_OK,
        )
