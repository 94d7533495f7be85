"""FHIR Observations in (POST /fhir/Observation, transaction Bundle): the lab entry service.

All or nothing for the whole request: every Observation is checked, then each collection
(patient, effective time) is stored through ``monitoring.services.lab_results_record``
inside one transaction. Each request is logged as an ``InterfaceMessage`` (channel fhir).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from monitoring import access, ingest, services
from monitoring.interop import units
from monitoring.interop.fhir.resources import LOCAL_TEST, LOINC
from monitoring.interop.models import InterfaceMessage
from patients import lab_catalogue as catalogue
from patients import parsing
from patients.api_fields import json_depth
from patients.models import LabResult

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
    status: str = "final"  # as sent: final, amended, corrected or preliminary


def _object(value, where: str) -> dict:
    """A JSON object where FHIR has one (a string or number there is a 422, not a 500)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FhirInvalid([("structure", f"{where} must be a JSON object.", where)])
    return value


def _array(value, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FhirInvalid([("structure", f"{where} must be a JSON array.", where)])
    return value


def _codings(concept, where: str) -> list[dict]:
    concept = _object(concept, where)
    return [
        _object(coding, f"{where}.coding[{i}]")
        for i, coding in enumerate(_array(concept.get("coding"), f"{where}.coding"))
    ]


def _test_of(code: dict, where: str):
    for coding in _codings(code, f"{where}.code"):
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
    quantity = _object(quantity, where)
    spelling = str(quantity.get("code") or quantity.get("unit") or "")
    unit = units.catalogue_unit(spelling)
    if unit is None:
        raise FhirInvalid(
            [("code-invalid", f"Unit {spelling!r} is not a known UCUM code or spelling.", where)]
        )
    return unit


def _decimal(value, where: str) -> Decimal:
    """A number within the clinical parser's limits (no exponent, no 1e20, no NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise FhirInvalid([("value", f"{where}: {value!r} is not a number.", where)])
    text = (
        value
        if isinstance(value, str)
        else (repr(value) if isinstance(value, float) else str(value))
    )
    try:
        return parsing.parse_clinical_number(text, label=where)
    except parsing.ParseError as error:
        raise FhirInvalid([("value", error.message, where)]) from None


# SNOMED CT codes a referenceRange.appliesTo uses for the sex it is meant for.
_SEX_CODES = {"248152002": "female", "248153007": "male", "female": "female", "male": "male"}


def _range_for(ranges: list, sex: str) -> int | None:
    """The referenceRange for the patient's sex when the lab gave sex-specific ranges; else
    the first one that applies to everyone (clinical reference: sex-specific where given)."""
    general = None
    for index, candidate in enumerate(ranges):
        where = f"referenceRange[{index}]"
        candidate = _object(candidate, where)
        applies = [
            _SEX_CODES.get(str(coding.get("code", "")).lower())
            for i, concept in enumerate(_array(candidate.get("appliesTo"), f"{where}.appliesTo"))
            for coding in _codings(concept, f"{where}.appliesTo[{i}]")
        ]
        if sex in applies:
            return index
        if not any(applies) and general is None:
            general = index
    return general


def _check_shape(user, resource, where: str) -> _Checked:
    """``_check``, with any shape it did not foresee answered as a 422, never a 500."""
    try:
        return _check(user, resource, where)
    except (AttributeError, TypeError, KeyError):
        raise FhirInvalid(
            [("structure", f"{where} is not shaped as a FHIR Observation.", where)]
        ) from None


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
    reference = str(_object(resource.get("subject"), f"{where}.subject").get("reference") or "")
    if not reference.startswith("Patient/"):
        raise FhirInvalid([("required", "subject must reference a Patient.", f"{where}.subject")])
    try:
        patient = access.patient_for(
            user, reference.removeprefix("Patient/"), perm="patients.add_labresult"
        )
    except (Http404, ValidationError, ValueError):
        raise FhirInvalid(
            [("not-found", f"{reference} is not a patient of your clinics.", f"{where}.subject")],
            status=404,
        ) from None
    test = _test_of(resource.get("code"), where)
    try:
        when = parse_datetime(str(resource.get("effectiveDateTime") or ""))
        if when is not None:
            parsing.check_time_range(when, name="effectiveDateTime")
    except (ValueError, OverflowError, parsing.ParseError) as error:
        text = getattr(error, "message", "") or (
            f"effectiveDateTime {str(resource.get('effectiveDateTime'))[:40]!r} is not a "
            "valid date and time."
        )
        raise FhirInvalid([("value", text, f"{where}.effectiveDateTime")]) from None
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
        quantity = _object(resource["valueQuantity"], f"{where}.valueQuantity")
        value = parsing.format_plain(
            _decimal(quantity.get("value"), f"{where}.valueQuantity.value")
        )
        unit = _unit_of(quantity, f"{where}.valueQuantity.code")
        ranges = _array(resource.get("referenceRange"), f"{where}.referenceRange")
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
        codes = [
            str(c.get("code"))
            for c in _codings(resource["valueCodeableConcept"], f"{where}.valueCodeableConcept")
        ]
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
    return _Checked(where, patient, when, entry, resource.get("status"))


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
    checked = [_check_shape(user, resource, where) for where, resource in resources]
    if not checked:
        raise FhirInvalid([("required", "No Observation to store.", None)], status=400)
    log.patient = checked[0].patient
    log.clinic = checked[0].patient.clinic
    log._change_reason = "Received (FHIR)"
    log.save()
    groups: dict[tuple[int, datetime], list[_Checked]] = {}
    for item in checked:
        item.entry.details["interface_message_id"] = log.pk
        groups.setdefault((item.patient.pk, item.collected_at), []).append(item)
    saved: list[LabResult] = []
    issues = []
    replaced: dict[int, dict[tuple[str, datetime], LabResult]] = {}
    for items in groups.values():
        replaced.setdefault(items[0].patient.pk, {}).update(_replace_on_record(items, log, user))
    # Every draw of the request in one call of the batch ingest service (one evaluation
    # queued per patient); the request is stored all or nothing, so any refused draw
    # refuses it (FhirInvalid rolls the others back with the transaction).
    outcome = ingest.lab_collections_record(
        collections=[
            ingest.Collection(
                patient=items[0].patient,
                collected_at=items[0].collected_at,
                entries=[i.entry for i in items],
            )
            for items in groups.values()
        ],
        user=user,
        source=LabResult.Source.FHIR,
    )
    for items, done in zip(groups.values(), outcome.collections, strict=True):
        if done.problems:
            by_code = {catalogue.find_test(i.entry.test).code: i.where for i in items}
            issues += [
                ("business-rule", p.message, by_code.get(p.test_code, items[0].where))
                for p in done.problems
            ]
        elif not done.stored:
            issues.append(("business-rule", done.message, f"{items[0].where}.effectiveDateTime"))
    if issues:
        raise FhirInvalid(issues)
    saved = outcome.results
    new_ids = {(r.patient_id, r.test_code, r.collected_at): r.pk for r in saved}
    for items in groups.values():
        patient = items[0].patient
        services.lab_results_evidence_repoint(
            patient=patient,
            replaced={
                old.pk: new_ids[(patient.pk, *key)]
                for key, old in replaced.get(patient.pk, {}).items()
                if (patient.pk, *key) in new_ids
            },
        )
    log.result_ids = [r.pk for r in saved]
    log.save(update_fields=["result_ids", "updated_at"])
    return saved


def _replace_on_record(items: list[_Checked], log, user) -> dict[tuple[str, datetime], LabResult]:
    """What the lab's newer results replace at this collection time (issue 11, as HL7):
    a final (or newer preliminary) result supersedes a preliminary one; an amended or
    corrected one corrects what is on record (entered-in-error, with history). Anything
    else already on record is a duplicate (refused by the lab entry service)."""
    codes = {catalogue.find_test(i.entry.test).code: i for i in items}
    on_record = LabResult.objects.valid().filter(
        patient=items[0].patient, test_code__in=codes, collected_at=items[0].collected_at
    )
    superseded = {}
    for existing in on_record:
        item = codes[existing.test_code]
        label = f"FHIR {item.where}, request {log.pk}"
        if item.status in ("amended", "corrected"):
            # A correction with history, as a nurse's (no evaluation in between: a
            # finding that still stands keeps its flag).
            services.lab_result_retire_for_correction(
                result=existing, user=user, reason=f"by the lab ({item.status}; {label})"
            )
        elif existing.result_status == LabResult.ResultStatus.PRELIMINARY:
            services.lab_result_supersede(
                result=existing, reason=f"the lab's newer result ({label})"
            )
            superseded[(existing.test_code, existing.collected_at)] = existing
        else:
            continue
        item.entry = replace(item.entry, details={**item.entry.details, "corrects": existing})
    return superseded


def parse_body(body: bytes) -> dict:
    """The JSON body with the API's limits: nesting depth checked before parsing."""
    limit = settings.API_MAX_JSON_DEPTH
    if json_depth(body) > limit:
        raise FhirInvalid(
            [("too-costly", f"The JSON is nested deeper than {limit} levels.", None)], 400
        )
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FhirInvalid([("structure", "The body is not JSON.", None)], status=400) from None
    if not isinstance(data, dict):
        raise FhirInvalid([("structure", "The body must be a FHIR resource.", None)], status=400)
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")
