"""When monitoring labs are due (clinical reference sec. 4).

A CBC is due one interval after the last CBC; the interval depends on the phase of the
course at that CBC: every 2 weeks in cycles 1-2, every 28 days from cycle 3, weekly while
the drug is held for a cytopenia. With no CBC yet, it is due at the course start. It is
overdue only once the grace period after the due date has passed: due + 3 days is not
overdue, due + 4 days is.

A CBC counts as collected only when every count of the complete set (WBC, ANC, platelets
and hemoglobin by default; each one a rule setting) comes from one draw: an ANC on its own
is not a CBC (reference sec. 4). The phase at the last CBC is read on the course's cycle
calendar with its holds (``therapy.cycles``), so a hold between that CBC and today does
not move it back into cycles 1-2.

Response labs (SPEP, free light chains, urine M-protein if measurable) follow the same
shape with a 90-day default interval (the clinic may choose up to 180 days).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from patients.rulebook import Finding, SourceStatus, Threshold, in_force
from therapy.cycles import CourseCalendar
from therapy.cycles import Hold as CalendarHold

EARLY = "early"  # cycles 1-2
STANDARD = "standard"  # cycle 3 onwards
HELD_CYTOPENIA = "held_cytopenia"  # drug held for a low count
PHASES = (EARLY, STANDARD, HELD_CYTOPENIA)

DueOutcome = Literal["ok", "due_soon", "overdue"]

DEFAULTS: tuple[Threshold, ...] = (
    Threshold(
        key="schedule.cbc.early_phase_last_cycle",
        value=Decimal(2),
        unit="cycle",
        status=SourceStatus.SEED,
        source="Clinical reference sec. 4: CBC every 2 weeks in cycles 1-2",
    ),
    Threshold(
        key="schedule.cbc.interval_early",
        value=Decimal(14),
        unit="days",
        status=SourceStatus.SEED,
        source="Seed guides: CBC every 2 weeks in cycles 1-2 (label variant: weekly)",
    ),
    Threshold(
        key="schedule.cbc.interval_standard",
        value=Decimal(28),
        unit="days",
        status=SourceStatus.SEED,
        source="Seed guides and label: CBC every 28 days from cycle 3",
    ),
    Threshold(
        key="schedule.cbc.interval_held_cytopenia",
        value=Decimal(7),
        unit="days",
        status=SourceStatus.LABEL,
        source="Label: CBC weekly while held for neutropenia or thrombocytopenia",
    ),
    Threshold(
        key="schedule.cbc.grace",
        value=Decimal(3),
        unit="days",
        status=SourceStatus.SEED,
        source="Clinical reference sec. 4: overdue after the due date plus a grace period",
    ),
    Threshold(
        key="schedule.response_labs.interval",
        value=Decimal(90),
        unit="days",
        status=SourceStatus.SEED,
        source="Seed guides: SPEP, free light chains, urine M-protein every 3 months (range 3-6)",
    ),
    Threshold(
        key="schedule.response_labs.grace",
        value=Decimal(3),
        unit="days",
        status=SourceStatus.SEED,
        source="Clinical reference sec. 4: same grace period as the CBC",
    ),
    Threshold(
        key="schedule.due_soon_window",
        value=Decimal(7),
        unit="days",
        status=SourceStatus.COMMON,
        source="Product default: show labs as due soon a week ahead",
    ),
)

# The counts a complete blood count is made of: 1 = required from the same draw, 0 = not.
CBC_COUNT_CODES = ("WBC", "ANC", "PLT", "HGB")
_COMPLETE_SOURCE = (
    "Clinical reference sec. 4: a CBC is WBC, ANC, platelets and hemoglobin from one draw; "
    "one count on its own is not a CBC (common practice)"
)
DEFAULTS += tuple(
    Threshold(
        key=f"schedule.cbc.complete_requires.{code}",
        value=Decimal(1),
        unit="1 = required in the same draw",
        status=SourceStatus.COMMON,
        source=_COMPLETE_SOURCE,
    )
    for code in CBC_COUNT_CODES
)

_INTERVAL_KEYS = {
    EARLY: "schedule.cbc.interval_early",
    STANDARD: "schedule.cbc.interval_standard",
    HELD_CYTOPENIA: "schedule.cbc.interval_held_cytopenia",
}


def _table(thresholds: Mapping[str, Threshold] | None) -> Mapping[str, Threshold]:
    return in_force(DEFAULTS, thresholds)


def _whole(threshold: Threshold) -> int:
    return int(threshold.value)


def phase_for_cycle(
    cycle_number: int,
    *,
    held_for_cytopenia: bool = False,
    thresholds: Mapping[str, Threshold] | None = None,
) -> str:
    """The monitoring phase of a course in a given cycle (a hold wins over the cycle)."""
    if cycle_number < 1:
        raise ValueError(f"Cycles are numbered from 1, got {cycle_number}.")
    if held_for_cytopenia:
        return HELD_CYTOPENIA
    last_early_cycle = _whole(_table(thresholds)["schedule.cbc.early_phase_last_cycle"])
    return EARLY if cycle_number <= last_early_cycle else STANDARD


def cbc_required_codes(thresholds: Mapping[str, Threshold] | None = None) -> tuple[str, ...]:
    """The counts one draw must hold to count as a CBC (rule settings, 1 = required)."""
    table = in_force(DEFAULTS, thresholds)
    required = tuple(
        code
        for code in CBC_COUNT_CODES
        if table[f"schedule.cbc.complete_requires.{code}"].value >= 1
    )
    # A clinic that switches every count off still needs something to call a CBC.
    return required or ("ANC",)


def is_complete_cbc(
    codes_in_draw: set[str] | frozenset[str], thresholds: Mapping[str, Threshold] | None = None
) -> bool:
    """Whether the counts of one draw make a CBC (every required count present)."""
    return set(cbc_required_codes(thresholds)) <= set(codes_in_draw)


def phase_on(
    on: date,
    *,
    calendar: CourseCalendar,
    held_for_cytopenia_now: bool = False,
    cytopenia_holds: Sequence[CalendarHold] = (),
    thresholds: Mapping[str, Threshold] | None = None,
) -> str:
    """The monitoring phase in force on a date (the last CBC), read on the cycle calendar.

    Cycle days do not advance while a hold lasts, so a CBC on cycle 3 day 1 after a
    17-day hold is a cycle 3 CBC (monthly interval), not a cycle 2 one. While a hold for
    a cytopenia lasts the interval is weekly (label): a CBC drawn during one (from its
    start up to the day before dosing resumes) is followed by another a week later, and
    a hold in force now makes CBCs weekly whenever the last one was drawn. A CBC before
    the course start counts as cycle 1.
    """
    if held_for_cytopenia_now or any(
        hold.start <= on and (hold.end is None or on < hold.end) for hold in cytopenia_holds
    ):
        return HELD_CYTOPENIA
    cycle = calendar.cycle_on(on) if on >= calendar.start else 1
    return phase_for_cycle(cycle, thresholds=thresholds)


def _interval_threshold(phase: str, thresholds: Mapping[str, Threshold] | None) -> Threshold:
    if phase not in _INTERVAL_KEYS:
        raise ValueError(f"Unknown monitoring phase {phase!r}; use one of: {', '.join(PHASES)}.")
    return _table(thresholds)[_INTERVAL_KEYS[phase]]


def cbc_interval_days(phase: str, thresholds: Mapping[str, Threshold] | None = None) -> int:
    return _whole(_interval_threshold(phase, thresholds))


def cbc_due_date(
    *,
    last_cbc_on: date | None,
    phase: str,
    course_start: date,
    thresholds: Mapping[str, Threshold] | None = None,
) -> date:
    """One interval (for the phase at the last CBC) after the last CBC; the course start if none."""
    if last_cbc_on is None:
        return course_start
    return last_cbc_on + timedelta(days=cbc_interval_days(phase, thresholds))


def cbc_status(
    *,
    last_cbc_on: date | None,
    phase: str,
    course_start: date,
    as_of: date,
    thresholds: Mapping[str, Threshold] | None = None,
) -> Finding:
    table = _table(thresholds)
    interval = _interval_threshold(phase, table)
    due_on = cbc_due_date(
        last_cbc_on=last_cbc_on, phase=phase, course_start=course_start, thresholds=table
    )
    return _due_status(
        rule_id="schedule.cbc_status",
        what="CBC",
        due_on=due_on,
        as_of=as_of,
        grace=table["schedule.cbc.grace"],
        window=table["schedule.due_soon_window"],
        interval=interval,
        extra_values={"last_cbc_on": last_cbc_on, "phase": phase},
    )


def response_labs_status(
    *,
    last_response_labs_on: date | None,
    course_start: date,
    as_of: date,
    thresholds: Mapping[str, Threshold] | None = None,
) -> Finding:
    table = _table(thresholds)
    interval = table["schedule.response_labs.interval"]
    if last_response_labs_on is None:
        due_on = course_start
    else:
        due_on = last_response_labs_on + timedelta(days=_whole(interval))
    return _due_status(
        rule_id="schedule.response_labs_status",
        what="Response labs (SPEP, free light chains, urine M-protein if measurable)",
        due_on=due_on,
        as_of=as_of,
        grace=table["schedule.response_labs.grace"],
        window=table["schedule.due_soon_window"],
        interval=interval,
        extra_values={"last_response_labs_on": last_response_labs_on},
    )


def _due_status(
    *,
    rule_id: str,
    what: str,
    due_on: date,
    as_of: date,
    grace: Threshold,
    window: Threshold,
    interval: Threshold,
    extra_values: dict[str, object],
) -> Finding:
    """ok before the due-soon window; due_soon from the window until the grace ends; then overdue."""
    overdue_after = due_on + timedelta(days=_whole(grace))
    days_past_due = (as_of - due_on).days
    outcome: DueOutcome
    if as_of > overdue_after:
        outcome = "overdue"
        message = f"{what} overdue by {days_past_due} days (due {due_on.isoformat()})."
    elif as_of >= due_on - timedelta(days=_whole(window)):
        outcome = "due_soon"
        if days_past_due > 0:
            message = (
                f"{what} was due {due_on.isoformat()}; overdue after {overdue_after.isoformat()}."
            )
        else:
            message = f"{what} due {due_on.isoformat()}."
    else:
        outcome = "ok"
        message = f"{what} next due {due_on.isoformat()}."
    return Finding(
        rule_id=rule_id,
        outcome=outcome,
        message=message,
        values={
            **extra_values,
            "due_on": due_on,
            "overdue_after": overdue_after,
            "overdue_by_days": days_past_due if outcome == "overdue" else 0,
            "interval_days": _whole(interval),
            "grace_days": _whole(grace),
            "as_of": as_of,
        },
        thresholds=(interval, grace, window),
        source=interval.source,
    )
