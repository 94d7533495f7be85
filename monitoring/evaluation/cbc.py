"""The CBC schedule and response labs: CBC overdue and response labs due, raised, worded
and resolved here."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import TYPE_CHECKING

from monitoring.evaluation.common import Desired, K, _evidence, _last_cbc
from monitoring.rules import flags as flag_rules
from monitoring.rules import schedule

if TYPE_CHECKING:
    from monitoring.evaluation.gather import _Batch


def _phase_at(snap, on: date, as_of: date, t) -> str:
    """The course phase on the day of the last CBC, read on the cycle calendar with its
    holds (``schedule.phase_on``). A hold for a cytopenia switches to weekly CBCs whenever
    the last CBC was drawn.
    """
    calendar = getattr(snap, "calendar", None)
    if calendar is not None:
        return schedule.phase_on(
            on,
            calendar=calendar,
            held_for_cytopenia_now=snap.held_for_cytopenia,
            cytopenia_holds=getattr(snap, "cytopenia_holds", ()),
            thresholds=t,
        )
    if snap.held_for_cytopenia:
        return schedule.HELD_CYTOPENIA
    # Without a calendar (an older therapy contract): count back from today's cycle/day.
    cycle_days = snap.current_level.cycle_days if snap.current_level else 28
    day = snap.day or 1  # None while held for another reason: count from the cycle start
    position = (snap.cycle - 1) * cycle_days + (day - 1) - (as_of - on).days
    cycle = max(1, position // cycle_days + 1)
    return schedule.phase_for_cycle(cycle, thresholds=t)


def _interval_now(batch: _Batch, pid: int, snap, t) -> int | None:
    """The CBC interval in force for this patient (None without an active course): the one
    the CBC schedule uses, so a count is never called stale against another interval than
    the one the overdue message names. Worked out once per patient and batch (the
    cytopenia flags and the next review date both read it)."""
    if snap is None:
        return None
    if pid not in batch.intervals:
        batch.intervals[pid] = _interval_of(batch, pid, snap, t)
    return batch.intervals[pid]


def _interval_of(batch: _Batch, pid: int, snap, t) -> int:
    draw = _last_cbc(batch, pid)
    if draw:
        phase = _phase_at(snap, draw[0].collected_on, batch.as_of, t)
    else:
        phase = schedule.phase_for_cycle(
            max(snap.cycle, 1), held_for_cytopenia=snap.held_for_cytopenia, thresholds=t
        )
    return schedule.cbc_interval_days(phase, t)


def _schedule(batch: _Batch, pid: int, snap, t) -> tuple[dict[str, Desired], dict]:
    desired: dict[str, Desired] = {}
    draw = _last_cbc(batch, pid)
    last_on = draw[0].collected_on if draw else None
    phase = (
        _phase_at(snap, last_on, batch.as_of, t)
        if last_on
        else (
            schedule.HELD_CYTOPENIA
            if snap.held_for_cytopenia
            else schedule.phase_for_cycle(max(snap.cycle, 1), thresholds=t)
        )
    )
    status = schedule.cbc_status(
        last_cbc_on=last_on,
        phase=phase,
        course_start=snap.start_date,
        as_of=batch.as_of,
        thresholds=t,
    )
    due_on = status.values["due_on"]
    if status.outcome == "overdue":
        interval = status.values["interval_days"]
        why = {
            schedule.EARLY: f"every {interval} days in cycles 1-2",
            schedule.STANDARD: f"every {interval} days from cycle 3",
            schedule.HELD_CYTOPENIA: "weekly while lenalidomide is held for low counts"
            if snap.held_for_cytopenia
            else "a week after a CBC drawn while lenalidomide was held for low counts",
        }[phase]
        since = (
            f"last complete CBC {last_on}"
            if last_on
            else "no complete CBC since the course started"
        )
        severity = flag_rules.cbc_overdue_severity(
            days_past_due=status.values["overdue_by_days"],
            interval_days=interval,
            dosing=not snap.on_hold,
            held_for_cytopenia=snap.held_for_cytopenia,
            thresholds=t,
        )
        late = ""
        if severity == flag_rules.URGENT and phase != schedule.HELD_CYTOPENIA:
            late = " More than a whole CBC interval has passed beyond the due date while dosing."
            status = dataclasses.replace(
                status,
                thresholds=(*status.thresholds, t["flags.cbc_overdue.urgent_after_intervals"]),
            )
        desired[K.CBC_OVERDUE] = Desired(
            kind=K.CBC_OVERDUE,
            severity=severity,
            message=(
                f"CBC overdue: it was due {due_on} ({since}; {why}).{late} Arrange a blood draw."
            ),
            finding=status,
            evidence=[_evidence(r) for r in draw],
            due_on=due_on,
        )

    markers = batch.markers.get(pid, [])
    last_response = markers[-1].collected_on if markers else None
    response = schedule.response_labs_status(
        last_response_labs_on=last_response,
        course_start=snap.start_date,
        as_of=batch.as_of,
        thresholds=t,
    )
    response_due = response.values["due_on"]
    if response.outcome == "overdue" or (
        response.outcome == "due_soon" and batch.as_of >= response_due
    ):
        since = f"last on {last_response}" if last_response else "none since the course started"
        desired[K.RESPONSE_LABS_DUE] = Desired(
            kind=K.RESPONSE_LABS_DUE,
            severity=flag_rules.ROUTINE,
            message=(
                f"Response labs due {response_due} (SPEP, free light chains, urine M-protein if "
                f"measurable; {since}; every {response.values['interval_days']} days)."
            ),
            finding=response,
            evidence=[_evidence(markers[-1])] if markers else [],
            due_on=response_due,
        )
    status_row = {
        "on_course": True,
        "cbc_phase": phase,
        "last_cbc_on": last_on,
        "cbc_due_on": due_on,
        "cbc_overdue_after": status.values["overdue_after"],
        "response_labs_due_on": response_due,
    }
    return desired, status_row


def _cbc_overdue_resolution(kind: str, batch: _Batch, pid: int):
    draw = _last_cbc(batch, pid)
    if draw:
        return f"Complete CBC collected {draw[0].collected_on}.", [_evidence(r) for r in draw]
    return "No active maintenance course: no CBC schedule.", []


def _response_labs_resolution(kind: str, batch: _Batch, pid: int):
    markers = batch.markers.get(pid, [])
    if markers:
        return f"Response labs collected {markers[-1].collected_on}.", [_evidence(markers[-1])]
    return "No active maintenance course.", []
