"""The cycle calendar of a maintenance course: which cycle and day a date falls on.

Pure arithmetic on dates (no clock, no ORM). The rules, in clinical words:

- A course starts on ``start``: cycle 1, day 1. Cycles are ``cycle_days`` long (28 for
  lenalidomide maintenance; it is a property of the regimen, passed in).
- A hold PAUSES the cycle clock. A day on hold has no cycle day; the day after the hold
  continues with the next cycle day. So a hold never shortens a cycle: every cycle has
  exactly ``cycle_days`` days off hold, and every later cycle start moves by the length
  of the hold.
- ``Hold.end`` is the first day dosing resumes (the hold covers ``start`` to ``end - 1``);
  ``end=None`` means still on hold, so the next cycle start is unknown (None).
- A hold day belongs to the cycle it interrupts or delays: the cycle of the last day off
  hold before it (cycle 1 if the course begins on hold). A cycle therefore spans from its
  day 1 to the day before the next cycle's day 1, holds included.
- A dosing day is a day off hold whose cycle day is at most the ``dosing_days`` of the
  schedule in force on that date (e.g. 21 for days 1-21 of 28). A schedule change applies
  from its date, even mid-cycle.
- Dates before the course start raise ``ValueError``: there is no cycle to report.

Each lookup walks the holds once: O(number of holds), independent of the course length.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from patients.rulebook import Threshold

# Cycle length is a property of the regimen (``dosing.DoseLevel.cycle_days``), not a
# rule setting, so this module has no configurable thresholds.
DEFAULTS: tuple[Threshold, ...] = ()


@dataclass(frozen=True)
class ScheduleChange:
    """From ``effective_from`` on, dose on cycle days 1..dosing_days."""

    effective_from: date
    dosing_days: int


@dataclass(frozen=True)
class Hold:
    """An interruption: no dosing from ``start`` up to the day before ``end``."""

    start: date
    end: date | None = None

    @property
    def length_days(self) -> int | None:
        return None if self.end is None else (self.end - self.start).days


@dataclass(frozen=True)
class CycleDay:
    cycle: int
    day: int | None  # None while on hold: the cycle clock is paused
    is_dosing_day: bool
    on_hold: bool
    next_cycle_start: date | None  # None while on an open hold


class CourseCalendar:
    def __init__(
        self,
        *,
        start: date,
        schedule: Sequence[ScheduleChange],
        holds: Sequence[Hold] = (),
        cycle_days: int = 28,
    ) -> None:
        if cycle_days < 1:
            raise ValueError("cycle_days must be at least 1")
        self.start = start
        self.cycle_days = cycle_days
        self.schedule = _checked_schedule(start, schedule, cycle_days)
        self.holds = _checked_holds(start, holds)
        self._schedule_dates = [change.effective_from for change in self.schedule]

    def day(self, on: date) -> CycleDay:
        """Cycle, cycle day and dosing status on a date (on or after the course start)."""
        if on < self.start:
            raise ValueError(f"{on} is before the course start {self.start}")
        paused_days = 0
        for hold in self.holds:
            if hold.start > on:
                break
            if hold.end is None or on < hold.end:
                paused_days += (on - hold.start).days
                return self._hold_day(on, hold, paused_days)
            paused_days += (hold.end - hold.start).days
        counted_before = (on - self.start).days - paused_days
        cycle = counted_before // self.cycle_days + 1
        day = counted_before % self.cycle_days + 1
        return CycleDay(
            cycle=cycle,
            day=day,
            is_dosing_day=day <= self.dosing_days_on(on),
            on_hold=False,
            next_cycle_start=self.cycle_start(cycle + 1),
        )

    def _hold_day(self, on: date, hold: Hold, paused_days: int) -> CycleDay:
        counted_before = (on - self.start).days - paused_days
        # The hold belongs to the cycle of the last day off hold (cycle 1 if none yet).
        cycle = (counted_before - 1) // self.cycle_days + 1 if counted_before else 1
        return CycleDay(
            cycle=cycle,
            day=None,
            is_dosing_day=False,
            on_hold=True,
            next_cycle_start=None if hold.end is None else self.cycle_start(cycle + 1),
        )

    def cycle_start(self, n: int) -> date | None:
        """Day 1 of cycle n, or None when an open hold comes before it."""
        if n < 1:
            raise ValueError("cycles are numbered from 1")
        candidate = self.start + timedelta(days=(n - 1) * self.cycle_days)
        for hold in self.holds:
            if hold.start > candidate:
                break
            if hold.end is None:
                return None
            # Every hold day on or before the candidate pushes day 1 back by one day.
            candidate += hold.end - hold.start
        return candidate

    def cycle_on(self, on: date) -> int:
        return self.day(on).cycle

    def dosing_days_on(self, on: date) -> int:
        """The dosing days of the schedule in force on a date."""
        position = bisect_right(self._schedule_dates, on) - 1
        return self.schedule[max(position, 0)].dosing_days


def _checked_schedule(
    start: date, schedule: Sequence[ScheduleChange], cycle_days: int
) -> tuple[ScheduleChange, ...]:
    ordered = tuple(sorted(schedule, key=lambda change: change.effective_from))
    if not ordered or ordered[0].effective_from != start:
        raise ValueError("the first schedule change must take effect on the course start")
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.effective_from == later.effective_from:
            raise ValueError(f"two schedule changes take effect on {later.effective_from}")
    for change in ordered:
        if not 1 <= change.dosing_days <= cycle_days:
            raise ValueError(f"dosing_days must be between 1 and {cycle_days}")
    return ordered


def _checked_holds(start: date, holds: Sequence[Hold]) -> tuple[Hold, ...]:
    ordered = tuple(sorted(holds, key=lambda hold: hold.start))
    for hold in ordered:
        if hold.start < start:
            raise ValueError(f"hold starting {hold.start} starts before the course start {start}")
        if hold.end is not None and hold.end <= hold.start:
            raise ValueError(f"hold starting {hold.start} must end after it starts")
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        # ``end`` is the first day off hold, so a hold may start on the previous end.
        if earlier.end is None or later.start < earlier.end:
            raise ValueError(f"holds starting {earlier.start} and {later.start} overlap")
    return ordered
