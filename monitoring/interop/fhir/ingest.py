"""FHIR Observations in (POST /fhir/Observation, transaction Bundle): the lab entry service.

All or nothing for the whole request: every Observation is checked, then each collection
(patient, effective time) is stored through ``monitoring.services.lab_results_record``
inside one transaction. Each request is logged as an ``InterfaceMessage`` (channel fhir).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from monitoring import access, services
from monitoring.errors import LabEntryRejected
from monitoring.interop import units
from monitoring.interop.fhir.resources import LOCAL_TEST, LOINC
from monitoring.interop.models import InterfaceMessage
from monitoring.models import LabResult
from monitoring.rules import catalogue
from patients.errors import DomainError

_QUALITATIVE = {"260385009": "negative", "10828004": "positive"}
_STATUSES = {
    "final": "final",
    "amended": "final",
    "corrected": "final",
    "preliminary": "preliminary",
}


class FhirInvalid(Exception):  # noqa: N818
    """issues: [(code, diagnostics, expression)]; status: the HTTP status to answer."""

    def __init__(self, issues: list[tuple[str, str, str | None]], status: int = 422) -> None:
        super().__init__("; ".join(text for _, text, _ in issues))
        self.issues = issues
        self.status = status


@dataclass
class _Checked:
    where: str
    patient: object
    collected_at: datetime
    entry: services.LabEntry


def _test_of(code: dict, where: str):
    for coding in code.get("coding") or []:
        system, value = coding.get("system"), str(coding.get("code") or "")
        try:
            if system == LOINC:
                test = catalogue.find_test(value)
                if value in test.loinc_codes:
                    return test
            elif system == LOCAL_TEST:
                return catalogue.find_test(value)
        except catalogue.UnknownTestError:
            continue
    raise FhirInvalid(
        [("code-invalid", "No LOINC (or catalogue) code of a catalogue test.", f"{where}.code")]
    )


def _unit_of(quantity: dict, where: str) -> str:
    spelling = str(quantity.get("code") or quantity.get("unit") or "")
    unit = units.catalogue_unit(spelling)
    if unit is None:
        raise FhirInvalid(
            [("code-invalid", f"Unit {spelling!r} is not a known UCUM code or spelling.", where)]
        )
    return unit


def _decimal(value, where: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise FhirInvalid([("value", f"{value!r} is not a number.", where)]) from None
    if not number.is_finite():
        raise FhirInvalid([("value", f"{value!r} is not a number.", where)])
    return number


# SNOMED CT codes a referenceRange.appliesTo uses for the sex it is meant for.
_SEX_CODES = {"248152002": "female", "248153007": "male", "female": "female", "male": "male"}


def _range_for(ranges: list, sex: str) -> int | None:
    """The referenceRange for the patient's sex when the lab gave sex-specific ranges; else
    the first one that applies to everyone (clinical reference: sex-specific where given)."""
    general = None
    for index, candidate in enumerate(ranges):
        if not isinstance(candidate, dict):
            continue
        applies = [
            _SEX_CODES.get(str(coding.get("code", "")).lower())
            for concept in candidate.get("appliesTo") or []
            for coding in (concept.get("coding") or [])
        ]
        if sex in applies:
            return index
        if not any(applies) and general is None:
            general = index
    return general


def _check(user, resource, where: str) -> _Checked:
    if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
        raise FhirInvalid([("invalid", "Expected an Observation resource.", where)])
    status = _STATUSES.get(resource.get("status"))
    if status is None:
        raise FhirInvalid(
            [
                (
                    "value",
                    "status must be final, amended, corrected or preliminary.",
                    f"{where}.status",
                )
            ]
        )
    reference = str((resource.get("subject") or {}).get("reference") or "")
    if not reference.startswith("Patient/"):
        raise FhirInvalid([("required", "subject must reference a Patient.", f"{where}.subject")])
    try:
        patient = access.patient_for(
            user, reference.removeprefix("Patient/"), perm="monitoring.add_labresult"
        )
    except (Http404, ValidationError, ValueError):
        raise FhirInvalid(
            [("not-found", f"{reference} is not a patient of your clinics.", f"{where}.subject")],
            status=404,
        ) from None
    test = _test_of(resource.get("code") or {}, where)
    when = parse_datetime(str(resource.get("effectiveDateTime") or ""))
    if when is None:
        raise FhirInvalid(
            [
                (
                    "required",
                    "effectiveDateTime (a date and time) is required.",
                    f"{where}.effectiveDateTime",
                )
            ]
        )
    if timezone.is_naive(when):
        when = timezone.make_aware(when, timezone.get_default_timezone())
    low = high = None
    if "valueQuantity" in resource:
        quantity = resource["valueQuantity"] or {}
        value = str(_decimal(quantity.get("value"), f"{where}.valueQuantity.value"))
        unit = _unit_of(quantity, f"{where}.valueQuantity.code")
        ranges = resource.get("referenceRange") or []
        index = _range_for(ranges, patient.sex_at_birth)
        if index is not None:
            for name in ("low", "high"):
                limit = ranges[index].get(name)
                if limit is None:
                    continue
                path = f"{where}.referenceRange[{index}].{name}"
                if _unit_of(limit, path) != unit:
                    raise FhirInvalid(
                        [("value", "The reference range must be in the value's unit.", path)]
                    )
                if name == "low":
                    low = _decimal(limit.get("value"), path)
                else:
                    high = _decimal(limit.get("value"), path)
    elif "valueCodeableConcept" in resource:
        codes = [str(c.get("code")) for c in resource["valueCodeableConcept"].get("coding") or []]
        value = next((_QUALITATIVE[c] for c in codes if c in _QUALITATIVE), "")
        unit = ""
        if not value:
            raise FhirInvalid(
                [
                    (
                        "code-invalid",
                        "Use SNOMED 260385009 (negative) or 10828004 (positive).",
                        f"{where}.valueCodeableConcept",
                    )
                ]
            )
    else:
        raise FhirInvalid(
            [("required", "valueQuantity or valueCodeableConcept is required.", where)]
        )
    entry = services.LabEntry(
        test.code,
        value,
        unit,
        ref_low=low,
        ref_high=high,
        details={
            "result_status": LabResult.ResultStatus.PRELIMINARY
            if status == "preliminary"
            else LabResult.ResultStatus.FINAL
        },
    )
    return _Checked(where, patient, when, entry)


def observations_ingest(*, user, resources: list[tuple[str, dict]], raw: str) -> list[LabResult]:
    """Store FHIR lab Observations all or nothing; ``FhirInvalid`` says why not."""
    log = InterfaceMessage(
        channel=InterfaceMessage.Channel.FHIR,
        received_at=timezone.now(),
        raw=raw[:1_000_000],
        sending_facility=f"user:{user.get_username()}"[:180],
        message_type="Observation",
        status=InterfaceMessage.Status.ACCEPTED,
        ack_code="AA",
    )
    try:
        with transaction.atomic():
            saved = _store(user, resources, log)
    except FhirInvalid as invalid:
        log.status, log.ack_code = InterfaceMessage.Status.REFUSED, "AR"
        log.reason = str(invalid)[:2000]
        log.problems = [
            {"segment": "", "sequence": 0, "field": 0, "code": c, "problem": t, "expression": w}
            for c, t, w in invalid.issues
        ]
        log._change_reason = "Refused (FHIR)"
        log.save()
        raise
    return saved


def _store(user, resources, log) -> list[LabResult]:
    checked = [_check(user, resource, where) for where, resource in resources]
    if not checked:
        raise FhirInvalid([("required", "No Observation to store.", None)], status=400)
    log.patient = checked[0].patient
    log.clinic = checked[0].patient.clinic
    log._change_reason = "Received (FHIR)"
    log.save()
    groups: dict[tuple[int, datetime], list[_Checked]] = {}
    for item in checked:
        item.entry.details["interface_message"] = log
        groups.setdefault((item.patient.pk, item.collected_at), []).append(item)
    saved: list[LabResult] = []
    issues = []
    for items in groups.values():
        try:
            saved += services.lab_results_record(
                patient=items[0].patient,
                user=user,
                collected_at=items[0].collected_at,
                entries=[i.entry for i in items],
                source=LabResult.Source.FHIR,
            )
        except LabEntryRejected as rejected:
            by_code = {catalogue.find_test(i.entry.test).code: i.where for i in items}
            issues += [
                ("business-rule", p.message, by_code.get(p.test_code, items[0].where))
                for p in rejected.problems
            ]
        except DomainError as error:
            issues.append(("business-rule", error.message, f"{items[0].where}.effectiveDateTime"))
    if issues:
        raise FhirInvalid(issues)
    log.result_ids = [r.pk for r in saved]
    log.save(update_fields=["result_ids", "updated_at"])
    return saved


def parse_body(body: bytes) -> dict:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FhirInvalid([("structure", "The body is not JSON.", None)], status=400) from None
    if not isinstance(data, dict):
        raise FhirInvalid([("structure", "The body must be a FHIR resource.", None)], status=400)
    return data
