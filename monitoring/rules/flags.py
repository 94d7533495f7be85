"""Which findings become safety flags, how severe they are, and which ones page the team.

Pure policy over CTCAE grades and rule outcomes (no ORM, no clock). The numbers are
configurable rule settings like every other threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from patients.rulebook import SourceStatus, Threshold, thresholds_by_key

# Flag kind for each graded count.
CYTOPENIA_KIND_BY_CODE = {
    "ANC": "neutropenia",
    "PLT": "thrombocytopenia",
    "HGB": "anemia",
    "WBC": "leukopenia",
}

ROUTINE, ATTENTION, URGENT, CRITICAL = 1, 2, 3, 4

DEFAULTS: tuple[Threshold, ...] = (
    Threshold(
        key="flags.cytopenia.min_grade",
        value=Decimal(2),
        unit="CTCAE grade",
        status=SourceStatus.COMMON,
        source=(
            "Product default: flag cytopenias from CTCAE grade 2; grade 1 is shown on the "
            "result but is common on lenalidomide and would bury the worklist"
        ),
    ),
    Threshold(
        key="flags.notify.min_grade",
        value=Decimal(3),
        unit="CTCAE grade",
        status=SourceStatus.COMMON,
        source="Product default: email the care team for grade 3-4 cytopenias",
    ),
)


def _table(thresholds: Mapping[str, Threshold] | None) -> Mapping[str, Threshold]:
    return {**thresholds_by_key(DEFAULTS), **(thresholds or {})}


def cytopenia_flagged(grade: int | None, thresholds: Mapping[str, Threshold] | None = None) -> bool:
    """Whether a CTCAE grade opens (or keeps open) a cytopenia flag."""
    return grade is not None and grade >= int(_table(thresholds)["flags.cytopenia.min_grade"].value)


def cytopenia_severity(grade: int) -> int:
    """Grade 1 routine, 2 attention, 3 urgent, 4 critical."""
    return {1: ROUTINE, 2: ATTENTION, 3: URGENT}.get(grade, CRITICAL)


def notify_for_grade(grade: int | None, thresholds: Mapping[str, Threshold] | None = None) -> bool:
    """Whether a cytopenia of this grade is emailed to the care team."""
    return grade is not None and grade >= int(_table(thresholds)["flags.notify.min_grade"].value)
