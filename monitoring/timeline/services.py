"""Recording a physician's confirmed response assessment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from monitoring.timeline.models import ResponseAssessment
from patients.errors import DomainError
from patients.models import Patient
from patients.rulebook import Finding
from patients.services import record_save

ASSESSMENT_IN_FUTURE = (
    "Assessment date {value} is in the future. Record an assessment on or before today."
)
ASSESSMENT_BEFORE_DIAGNOSIS = (
    "Assessment date {value} is before the myeloma diagnosis ({diagnosed}). Check the date."
)
CR_NEEDS_IFE_AND_MARROW = (
    "{category} needs negative serum and urine immunofixation and fewer than 5% plasma cells in the "
    "marrow (IMWG 2016). Enter those results, or record VGPR."
)
SCR_NEEDS_CLONALITY = "sCR also needs no clonal plasma cells in the marrow (IMWG 2016). Record the marrow clonality, or record CR."
FIELDS = (
    "assessed_on",
    "category",
    "basis",
    "serum_immunofixation",
    "urine_immunofixation",
    "marrow_plasma_cell_pct",
    "marrow_clonal_cells",
    "imaging",
    "imaging_note",
)


def _check(assessment: ResponseAssessment, patient: Patient, *, today: date) -> None:
    if assessment.assessed_on > today:
        raise DomainError(
            ASSESSMENT_IN_FUTURE.format(value=assessment.assessed_on), field="assessed_on"
        )
    diagnosis = getattr(patient, "diagnosis", None)
    if diagnosis is not None and assessment.assessed_on < diagnosis.diagnosed_on:
        raise DomainError(
            ASSESSMENT_BEFORE_DIAGNOSIS.format(
                value=assessment.assessed_on, diagnosed=diagnosis.diagnosed_on
            ),
            field="assessed_on",
        )
    if assessment.category in ("CR", "sCR"):
        negative = ResponseAssessment.Finding.NEGATIVE
        marrow_ok = (
            assessment.marrow_plasma_cell_pct is not None
            and assessment.marrow_plasma_cell_pct < Decimal("5")
        )
        if not (
            assessment.serum_immunofixation == negative
            and assessment.urine_immunofixation == negative
            and marrow_ok
        ):
            raise DomainError(
                CR_NEEDS_IFE_AND_MARROW.format(category=assessment.category), field="category"
            )
    if (
        assessment.category == "sCR"
        and assessment.marrow_clonal_cells != ResponseAssessment.Finding.NEGATIVE
    ):
        raise DomainError(SCR_NEEDS_CLONALITY, field="marrow_clonal_cells")


@transaction.atomic
def response_assessment_record(
    *, patient: Patient, user, data: dict[str, Any], suggestion: Finding | None, today: date
) -> ResponseAssessment:
    """Steps: check the date and the IMWG evidence a CR/sCR needs; store the assessment with
    the suggestion the software showed at the time; one history row."""
    assessment = ResponseAssessment(
        patient=patient, assessed_by=user, **{k: data.get(k) for k in FIELDS if k in data}
    )
    for text_field in ("basis", "imaging_note"):
        setattr(assessment, text_field, getattr(assessment, text_field) or "")
    _check(assessment, patient, today=today)
    if suggestion is not None:
        assessment.suggested_category = suggestion.outcome
        assessment.suggestion = {
            "rule_id": suggestion.rule_id,
            "message": suggestion.message,
            "values": {k: str(v) for k, v in suggestion.values.items()},
            "thresholds": [t.cite() for t in suggestion.thresholds],
        }
    record_save(assessment, user=user)
    return assessment
