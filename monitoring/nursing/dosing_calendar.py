"""The patient's dosing calendar: each day's dose, blood test and pregnancy test dates.

Pure projection (no ORM, no clock): the cycle calendar (``therapy.cycles``, holds pause it)
says which days are dosing days; the monitoring schedule rules (``monitoring.rules.schedule``)
space the blood counts by the phase of the course on each test date, and the REMS rules
(``therapy.rems_rules``) space the pregnancy tests. Holds known today are followed; a
hold still open stops the projection of cycles, since nobody knows when dosing resumes.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from monitoring.rules import schedule
from patients.formatting import clinical_number
from patients.rulebook import Threshold
from therapy.cycles import CourseCalendar
from therapy.rems_rules import next_pregnancy_test_due

OPEN_HOLD_DAYS = 28  # with an open hold, show four weeks of "on hold" and the weekly counts


@dataclass(frozen=True)
class Day:
    on: date
    cycle: int | None
    cycle_day: int | None
    on_hold: bool
    takes_dose: bool
    dose_text: str
    cbc: bool = False
    pregnancy_test: bool = False


@dataclass(frozen=True)
class Month:
    first: date
    weeks: list[list[Day | None]]  # Monday first; None outside the calendar's range


@dataclass(frozen=True)
class CycleSpan:
    number: int
    first: date
    last: date


def period(calendar: CourseCalendar, *, first: date, cycles: int) -> tuple[date, date]:
    """From ``first`` to the last day of the ``cycles``-th cycle counted from the one
    ``first`` falls in; four weeks when an open hold makes later cycle starts unknown."""
    current = calendar.day(first).cycle
    after = calendar.cycle_start(current + cycles)
    if after is None:
        return first, first + timedelta(days=OPEN_HOLD_DAYS - 1)
    return first, after - timedelta(days=1)


def cycle_spans(calendar: CourseCalendar, *, first: date, last: date) -> list[CycleSpan]:
    spans = []
    number = calendar.day(first).cycle
    while True:
        start = calendar.cycle_start(number)
        if start is None or start > last:
            break
        after = calendar.cycle_start(number + 1)
        end = last if after is None else min(last, after - timedelta(days=1))
        spans.append(CycleSpan(number, max(start, first), end))
        number += 1
    return spans


def cbc_dates(
    calendar: CourseCalendar,
    *,
    next_due: date,
    first: date,
    last: date,
    held_for_cytopenia: Callable[[date], bool],
    thresholds: Mapping[str, Threshold] | None = None,
) -> list[date]:
    """Blood counts from the next due date (an overdue one on ``first``), each one interval
    later, the interval being the one in force on the previous test date (its cycle, or
    weekly while held for a low count)."""
    dates = []
    on = max(next_due, first)
    while on <= last:
        dates.append(on)
        phase = schedule.phase_for_cycle(
            calendar.day(on).cycle,
            held_for_cytopenia=held_for_cytopenia(on),
            thresholds=thresholds,
        )
        on += timedelta(days=schedule.cbc_interval_days(phase, thresholds))
    return dates


def pregnancy_test_dates(
    *,
    therapy_start: date,
    last_negative_test: date | None,
    menses_regular: bool,
    first: date,
    last: date,
    thresholds: Mapping[str, Threshold] | None = None,
) -> list[date]:
    """Pregnancy tests by the REMS schedule (interruptions do not pause it), assuming each
    is done on its day; an overdue one on ``first``."""
    dates: list[date] = []
    previous = last_negative_test
    while True:
        due = next_pregnancy_test_due(
            therapy_start=therapy_start,
            last_negative_test=previous,
            menses_regular=menses_regular,
            thresholds=thresholds,
        )
        due = max(due, first)
        if due > last or (dates and due <= dates[-1]):
            return dates
        dates.append(due)
        previous = due


def dose_text(dose_mg: Decimal | None, *, takes_dose: bool, on_hold: bool, agent: str) -> str:
    if on_hold:
        return "On hold: no capsule"
    if not takes_dose:
        return "No capsule today" if dose_mg is not None else "No treatment today"
    if dose_mg is None:
        return f"{agent} today"
    # One capsule per day: every level on the ladder is a capsule strength (2.5-25 mg, label).
    return f"Take 1 capsule ({clinical_number(dose_mg)} mg)"


def days(
    calendar: CourseCalendar,
    *,
    first: date,
    last: date,
    dose_on: Callable[[date], Decimal | None],
    treatment_days: frozenset[int] | None,
    agent: str,
    cbc: set[date],
    pregnancy: set[date],
) -> list[Day]:
    """Every day from ``first`` to ``last``. ``treatment_days``: the cycle days of a regimen
    without lenalidomide (None: the calendar's dosing days apply)."""
    found = []
    on = first
    while on <= last:
        cycle_day = calendar.day(on)
        if treatment_days is None:
            takes = cycle_day.is_dosing_day
        else:
            takes = not cycle_day.on_hold and cycle_day.day in treatment_days
        dose = dose_on(on)
        found.append(
            Day(
                on=on,
                cycle=cycle_day.cycle,
                cycle_day=cycle_day.day,
                on_hold=cycle_day.on_hold,
                takes_dose=takes,
                dose_text=dose_text(dose, takes_dose=takes, on_hold=cycle_day.on_hold, agent=agent),
                cbc=on in cbc,
                pregnancy_test=on in pregnancy,
            )
        )
        on += timedelta(days=1)
    return found


def months(found: list[Day]) -> list[Month]:
    """The days laid out as wall-calendar months, Monday first."""
    by_date = {day.on: day for day in found}
    if not found:
        return []
    result = []
    year, month = found[0].on.year, found[0].on.month
    while date(year, month, 1) <= found[-1].on:
        weeks = [
            [by_date.get(on) if on.month == month else None for on in week]
            for week in month_calendar.Calendar().monthdatescalendar(year, month)
        ]
        weeks = [week for week in weeks if any(week)]
        result.append(Month(date(year, month, 1), weeks))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result
