"""Which findings become safety flags, how severe they are, and which ones page the team.

Pure policy over CTCAE grades and rule outcomes (no ORM, no clock). The numbers are
configurable rule settings like every other threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from patients.rulebook import SourceStatus, Threshold, in_force

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
    Threshold(
        key="flags.cbc_overdue.urgent_after_intervals",
        value=Decimal(1),
        unit="CBC intervals",
        status=SourceStatus.COMMON,
        source=(
            "Clinical reference sec. 10 (local policy, configurable): an overdue CBC while "
            "dosing becomes urgent when a whole interval has passed beyond the due date"
        ),
    ),
    Threshold(
        key="flags.cytopenia.stale_after_intervals",
        value=Decimal(1),
        unit="CBC intervals",
        status=SourceStatus.COMMON,
        source=(
            "Clinical reference sec. 10 (local policy, configurable): a cytopenia flag is "
            "shown as stale when its count is older than the CBC interval now in force"
        ),
    ),
)


def _table(thresholds: Mapping[str, Threshold] | None) -> Mapping[str, Threshold]:
    return in_force(DEFAULTS, thresholds)


def cytopenia_flagged(grade: int | None, thresholds: Mapping[str, Threshold] | None = None) -> bool:
    """Whether a CTCAE grade opens (or keeps open) a cytopenia flag."""
    return grade is not None and grade >= int(_table(thresholds)["flags.cytopenia.min_grade"].value)


def cytopenia_severity(grade: int) -> int:
    """Grade 1 routine, 2 attention, 3 urgent, 4 critical."""
    return {1: ROUTINE, 2: ATTENTION, 3: URGENT}.get(grade, CRITICAL)


def notify_for_grade(grade: int | None, thresholds: Mapping[str, Threshold] | None = None) -> bool:
    """Whether a cytopenia of this grade is emailed to the care team."""
    return grade is not None and grade >= int(_table(thresholds)["flags.notify.min_grade"].value)


def cbc_overdue_severity(
    *,
    days_past_due: int,
    interval_days: int,
    dosing: bool,
    held_for_cytopenia: bool,
    thresholds: Mapping[str, Threshold] | None = None,
) -> int:
    """Severity of an overdue CBC: it grows with time while the patient is dosing.

    Held for a cytopenia: urgent (weekly counts decide the restart). Dosing: attention,
    urgent once ``urgent_after_intervals`` whole CBC intervals have passed beyond the
    due date (at exactly one interval it is urgent). Not dosing: attention.
    """
    if held_for_cytopenia:
        return URGENT
    factor = _table(thresholds)["flags.cbc_overdue.urgent_after_intervals"].value
    if dosing and days_past_due >= factor * interval_days:
        return URGENT
    return ATTENTION


def count_is_stale(
    *,
    count_age_days: int,
    interval_days: int | None,
    thresholds: Mapping[str, Threshold] | None = None,
) -> bool:
    """A cytopenia's count is stale when it is older than the CBC interval in force
    (times ``stale_after_intervals``): at exactly one interval it is not stale yet.
    Without a CBC schedule (no course) there is no interval, so nothing is stale."""
    if interval_days is None:
        return False
    factor = _table(thresholds)["flags.cytopenia.stale_after_intervals"].value
    return count_age_days > factor * interval_days
