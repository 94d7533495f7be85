"""When the nurses call a patient after an oral anticancer course starts (pure; no ORM, no clock).

Clinical reference sec. 10: follow-up calls 48-72 hours, 1 week and 1 month after an oral
anticancer drug starts (common practice of oral-chemotherapy programmes; the ASCO/ONS
safety standards require a documented plan for adherence and toxicity follow-up). Each
number is a versioned rule setting a clinic may change.

- The first call is due from ``first_call_from_hours`` to ``first_call_by_hours`` after the
  start. The start is a date (the first capsule is taken that day), so hours count from
  the start of that day and round down to whole days: 48-72 hours is day +2 to day +3.
- The one-week and one-month calls are due on their day and may be made up to
  ``call_window_days`` later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from patients.rulebook import SourceStatus, Threshold, in_force

SOURCE = (
    "Clinical reference sec. 10: follow-up calls 48-72 hours, 1 week and 1 month after an "
    "oral anticancer drug starts (oral-chemotherapy programmes; ASCO/ONS safety standards)"
)

EARLY = "after_start_early"
WEEK = "after_start_week"
MONTH = "after_start_month"

DEFAULTS: tuple[Threshold, ...] = (
    Threshold(
        key="followup.after_start.first_call_from_hours",
        value=Decimal(48),
        unit="hours",
        status=SourceStatus.COMMON,
        source=SOURCE,
    ),
    Threshold(
        key="followup.after_start.first_call_by_hours",
        value=Decimal(72),
        unit="hours",
        status=SourceStatus.COMMON,
        source=SOURCE,
    ),
    Threshold(
        key="followup.after_start.week_call_days",
        value=Decimal(7),
        unit="days",
        status=SourceStatus.COMMON,
        source=SOURCE,
    ),
    Threshold(
        key="followup.after_start.month_call_days",
        value=Decimal(30),
        unit="days",
        status=SourceStatus.COMMON,
        source=SOURCE,
    ),
    Threshold(
        key="followup.after_start.call_window_days",
        value=Decimal(2),
        unit="days",
        status=SourceStatus.COMMON,
        source="Product default: the 1-week and 1-month calls may be made up to 2 days late",
    ),
)


@dataclass(frozen=True)
class PlannedCall:
    kind: str
    due_from: date
    due_by: date
    thresholds: tuple[Threshold, ...]

    @property
    def rule(self) -> str:
        return "; ".join(f"{t.key} v{t.version}" for t in self.thresholds)


def _days(threshold: Threshold) -> int:
    return int(threshold.value)


def calls_after_start(
    start: date, thresholds: Mapping[str, Threshold] | None = None
) -> list[PlannedCall]:
    """The three calls owed after a course that starts on ``start``, earliest first."""
    t = in_force(DEFAULTS, thresholds)
    first_from = t["followup.after_start.first_call_from_hours"]
    first_by = t["followup.after_start.first_call_by_hours"]
    week = t["followup.after_start.week_call_days"]
    month = t["followup.after_start.month_call_days"]
    window = t["followup.after_start.call_window_days"]
    return [
        PlannedCall(
            EARLY,
            start + timedelta(days=int(first_from.value) // 24),
            start + timedelta(days=int(first_by.value) // 24),
            (first_from, first_by),
        ),
        PlannedCall(
            WEEK,
            start + timedelta(days=_days(week)),
            start + timedelta(days=_days(week) + _days(window)),
            (week, window),
        ),
        PlannedCall(
            MONTH,
            start + timedelta(days=_days(month)),
            start + timedelta(days=_days(month) + _days(window)),
            (month, window),
        ),
    ]
