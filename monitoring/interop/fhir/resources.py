"""Records -> FHIR R4 (4.0.1) resources, as plain dicts (validated in tests with
``fhir.resources.R4B``). Resource ids: Patient = the patient's public id; Observation
"lab-<id>" (a lab result) or "status-<id>" (a confirmed response assessment, mCODE
CancerDiseaseStatus); MedicationRequest = the course's public id; Condition "dx-<patient>".
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from monitoring.interop.units import UCUM, UCUM_SYSTEM
from patients import lab_catalogue as catalogue
from patients.models import LabResult

FHIR_VERSION = "4.0.1"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
LOCAL_TEST = "urn:mmm:lab-test"
MRN_SYSTEM = "urn:mmm:mrn:"  # + clinic code
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
REFERENCE_RANGE_TYPE = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
TUMOR_MARKER_CODES = {"SPEP_M", "UPEP_M24", "FLC_KAPPA", "FLC_LAMBDA", "FLC_RATIO"}
LENALIDOMIDE_RXNORM = "342369"

_QUALITATIVE = {
    "negative": (SNOMED, "260385009", "Negative"),
    "positive": (SNOMED, "10828004", "Positive"),
}
# IMWG response -> mCODE CancerDiseaseStatus value (SNOMED "patient's condition ...").
_DISEASE_STATUS = {
    "sCR": ("268910001", "Patient's condition improved (finding)"),
    "CR": ("268910001", "Patient's condition improved (finding)"),
    "VGPR": ("268910001", "Patient's condition improved (finding)"),
    "PR": ("268910001", "Patient's condition improved (finding)"),
    "MR": ("268910001", "Patient's condition improved (finding)"),
    "SD": ("359746009", "Patient's condition stable (finding)"),
    "PD": ("271299001", "Patient's condition worse (finding)"),
}


def number(value: Decimal) -> Decimal:
    """A decimal without trailing zeros beyond what was measured (JSON number on output)."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral() else normal


def _dt(moment) -> str:
    return timezone.localtime(moment).isoformat()


def patient_reference(patient) -> dict:
    return {"reference": f"Patient/{patient.public_id}", "display": patient.full_name}


def patient_resource(patient) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": str(patient.public_id),
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                        }
                    ]
                },
                "system": f"{MRN_SYSTEM}{patient.clinic.code}",
                "value": patient.mrn,
                "assigner": {"display": patient.clinic.name},
            }
        ],
        "active": patient.entered_in_error_at is None,
        "name": [{"family": patient.family_name, "given": [patient.given_name]}],
        "gender": patient.sex_at_birth if patient.sex_at_birth in ("male", "female") else "unknown",
        "birthDate": patient.date_of_birth.isoformat(),
    }
    if patient.date_of_death:
        resource["deceasedDateTime"] = patient.date_of_death.isoformat()
    return resource


def _quantity(value: Decimal, unit: str) -> dict:
    quantity = {"value": number(value), "unit": unit}
    if unit in UCUM:
        quantity.update(system=UCUM_SYSTEM, code=UCUM[unit])
    return quantity


def _status(result: LabResult) -> str:
    if result.entered_in_error_at is not None:
        return "entered-in-error"
    if result.result_status in (
        LabResult.ResultStatus.PRELIMINARY,
        LabResult.ResultStatus.SUPERSEDED,  # a preliminary the final replaced
    ):
        return "preliminary"
    if result.corrects_id is None:
        return "final"
    # A final that superseded a preliminary is "final"; one that corrected a result is not.
    superseded = result.corrects.result_status == LabResult.ResultStatus.SUPERSEDED
    return "final" if superseded else "corrected"


def observation_resource(result: LabResult) -> dict:
    test = catalogue.find_test(result.test_code)
    coding = [{"system": LOINC, "code": c, "display": test.name} for c in test.loinc_codes[:1]]
    coding.append({"system": LOCAL_TEST, "code": test.code, "display": test.name})
    resource: dict = {
        "resourceType": "Observation",
        "id": f"lab-{result.pk}",
        "status": _status(result),
        "category": [
            {"coding": [{"system": CATEGORY, "code": "laboratory", "display": "Laboratory"}]}
        ],
        "code": {"coding": coding, "text": test.name},
        "subject": patient_reference(result.patient),
        "effectiveDateTime": _dt(result.collected_at),
        "issued": _dt(result.entered_at),
    }
    if result.test_code in TUMOR_MARKER_CODES:
        resource["meta"] = {"profile": [f"{MCODE}mcode-tumor-marker-test"]}
    if result.canonical_value is not None:
        resource["valueQuantity"] = _quantity(result.canonical_value, result.canonical_unit)
    elif result.qualitative in _QUALITATIVE:
        system, code, display = _QUALITATIVE[result.qualitative]
        resource["valueCodeableConcept"] = {
            "coding": [{"system": system, "code": code, "display": display}],
            "text": display,
        }
    else:
        resource["dataAbsentReason"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                    "code": "not-performed",
                }
            ]
        }
    if result.canonical_value is not None:
        flag = {"low": ("L", "Low"), "high": ("H", "High")}.get(
            result.out_of_range, ("N", "Normal")
        )
        if result.ref_low is not None or result.ref_high is not None:
            resource["interpretation"] = [
                {"coding": [{"system": INTERPRETATION, "code": flag[0], "display": flag[1]}]}
            ]
            ref: dict = {
                "type": {"coding": [{"system": REFERENCE_RANGE_TYPE, "code": "normal"}]},
                "text": "reported by the laboratory"
                if result.ref_from_lab
                else "catalogue default (the laboratory sent none)",
            }
            if result.ref_low is not None:
                ref["low"] = _quantity(result.ref_low, result.canonical_unit)
            if result.ref_high is not None:
                ref["high"] = _quantity(result.ref_high, result.canonical_unit)
            resource["referenceRange"] = [ref]
    notes = []
    if result.lab_abnormal_flags:
        notes.append(
            f"Laboratory abnormal flag {result.lab_abnormal_flags} (as reported; the "
            "interpretation above is computed from the range)."
        )
    if result.ctcae_grade is not None and result.ctcae_version:
        notes.append(f"CTCAE v{result.ctcae_version}: {result.ctcae_label}.")
    if notes:
        resource["note"] = [{"text": text} for text in notes]
    return resource


def condition_resource(diagnosis) -> dict:
    patient = diagnosis.patient
    stage = [
        {"summary": {"text": f"{label} stage {value}"}}
        for label, value in (("ISS", diagnosis.iss_stage), ("R-ISS", diagnosis.riss_stage))
        if value
    ]
    resource = {
        "resourceType": "Condition",
        "id": f"dx-{patient.public_id}",
        "meta": {"profile": [f"{MCODE}mcode-primary-cancer-condition"]},
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "problem-list-item",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {"system": SNOMED, "code": "109989006", "display": "Multiple myeloma (disorder)"},
                {"system": ICD10, "code": "C90.0", "display": "Multiple myeloma"},
            ],
            "text": f"Multiple myeloma, {diagnosis.isotype}",
        },
        "subject": patient_reference(patient),
        "onsetDateTime": diagnosis.diagnosed_on.isoformat(),
    }
    if stage:
        resource["stage"] = stage
    return resource


def disease_status_resource(assessment) -> dict:
    """mCODE CancerDiseaseStatus from a physician-confirmed IMWG response assessment."""
    code, display = _DISEASE_STATUS[assessment.category]
    patient = assessment.patient
    return {
        "resourceType": "Observation",
        "id": f"status-{assessment.pk}",
        "meta": {"profile": [f"{MCODE}mcode-cancer-disease-status"]},
        "status": "entered-in-error" if assessment.entered_in_error_at else "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "survey"}]}],
        "code": {
            "coding": [{"system": LOINC, "code": "97509-4", "display": "Cancer disease status"}]
        },
        "subject": patient_reference(patient),
        "focus": [{"reference": f"Condition/dx-{patient.public_id}"}],
        "effectiveDateTime": assessment.assessed_on.isoformat(),
        "valueCodeableConcept": {
            "coding": [{"system": SNOMED, "code": code, "display": display}],
            "text": f"IMWG {assessment.get_category_display()}",
        },
    }


def _dosage(sequence: int, dose_mg: Decimal, dosing_days: int, cycle_days: int, start, end):
    every_day = dosing_days >= cycle_days
    schedule = (
        f"continuously (days 1-{cycle_days} of each {cycle_days}-day cycle)"
        if every_day
        else f"on days 1-{dosing_days} of each {cycle_days}-day cycle"
    )
    period = {"start": start.isoformat()}
    if end is not None:
        period["end"] = end.isoformat()
    return {
        "sequence": sequence,
        "text": f"Lenalidomide {number(dose_mg)} mg by mouth once daily {schedule}",
        "timing": {
            "repeat": {"boundsPeriod": period, "frequency": 1, "period": 1, "periodUnit": "d"},
            "code": {"text": f"{dosing_days}/{cycle_days}"},
        },
        "route": {"coding": [{"system": SNOMED, "code": "26643006", "display": "Oral route"}]},
        "doseAndRate": [
            {
                "doseQuantity": {
                    "value": number(dose_mg),
                    "unit": "mg",
                    "system": UCUM_SYSTEM,
                    "code": "mg",
                }
            }
        ],
    }


def medication_request_resource(course) -> dict:
    """The course: one dosage per period, the start dose and then each dose change."""
    from datetime import timedelta

    changes = list(course.dose_changes.all())
    periods = [
        (
            course.start_date,
            course.start_dose_mg or course.dose_mg,
            course.start_dosing_days or course.dosing_days,
        )
    ]
    periods += [(c.effective_from, c.to_dose_mg, c.to_dosing_days) for c in changes]
    dosages = []
    for index, (start, dose_mg, days) in enumerate(periods):
        if dose_mg is None or not days:
            continue
        following = periods[index + 1][0] if index + 1 < len(periods) else course.discontinued_on
        end = following - timedelta(days=1) if following and index + 1 < len(periods) else following
        dosages.append(_dosage(len(dosages) + 1, dose_mg, days, course.cycle_days, start, end))
    status = (
        "entered-in-error"
        if course.entered_in_error_at
        else ("active" if course.status == "active" else "stopped")
    )
    resource = {
        "resourceType": "MedicationRequest",
        "id": str(course.public_id),
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": LENALIDOMIDE_RXNORM, "display": "lenalidomide"}],
            "text": course.regimen.name,
        },
        "subject": patient_reference(course.patient),
        "authoredOn": course.start_date.isoformat(),
        "reasonReference": [{"reference": f"Condition/dx-{course.patient.public_id}"}],
        "dosageInstruction": dosages,
    }
    if course.status != "active" and course.discontinued_on:
        resource["statusReason"] = {
            "text": course.get_discontinuation_reason_display() or "Discontinued"
        }
    return resource


def capability_statement(base_url: str) -> dict:
    def search(name: str, kind: str) -> dict:
        return {"name": name, "type": kind}

    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-30",
        "kind": "instance",
        "software": {"name": "Myeloma Maintenance Monitor"},
        "implementation": {"description": "Myeloma Maintenance Monitor FHIR API", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Token (Authorization: Token <key>) or session; "
                    "results are limited to the user's clinics."
                },
                "resource": [
                    {"type": "Patient", "interaction": [{"code": "read"}]},
                    {
                        "type": "Observation",
                        "interaction": [
                            {"code": "read"},
                            {"code": "search-type"},
                            {"code": "create"},
                        ],
                        "searchParam": [
                            search("patient", "reference"),
                            search("category", "token"),
                            search("code", "token"),
                        ],
                    },
                    {
                        "type": "MedicationRequest",
                        "interaction": [{"code": "search-type"}],
                        "searchParam": [search("patient", "reference")],
                    },
                    {
                        "type": "Condition",
                        "interaction": [{"code": "search-type"}],
                        "searchParam": [search("patient", "reference")],
                    },
                ],
                "interaction": [{"code": "transaction"}],
            }
        ],
    }


def searchset(resources: list[dict], base_url: str) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"{base_url}{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def operation_outcome(issues: list[tuple[str, str, str | None]]) -> dict:
    """[(code, diagnostics, expression)] -> OperationOutcome (severity error)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": code,
                "diagnostics": text,
                **({"expression": [where]} if where else {}),
            }
            for code, text, where in issues
        ],
    }
