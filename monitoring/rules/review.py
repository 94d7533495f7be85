"""When a patient's flags can next change with nothing new recorded: ``next_review_on``.

The incremental sweep evaluates a patient whose inputs changed (a dirty mark) or whose
``next_review_on`` has come. This module gives that date: the earliest day after
``as_of`` on which a time-driven rule's output can change, enumerated rule by rule from
the same thresholds the rules use, with the rule that gives it (a test and a log can say
why). Each date is the first day of a new output; a rule whose output does not move with
the calendar gives no date.

With a course:

* CBC overdue (``schedule.cbc_status``): a flag opens the day after the grace period ends
  (due + grace + 1). Being "due soon" opens no flag and the status row stores dates, not
  the outcome, so the window's opening changes nothing and is not a date here.
* Overdue CBC urgent while dosing (``flags.cbc_overdue_severity``): the first day at least
  ``urgent_after_intervals`` CBC intervals have passed beyond the due date.
* Response labs (``schedule.response_labs_status``): the flag opens on the due date (it
  is raised from the due date, inside the due-soon window or overdue, with one wording).
* A flagged cytopenia's count turns stale (``flags.count_is_stale``): the first day its
  age is more than ``stale_after_intervals`` CBC intervals now in force.
* The CBC phase by cycle (``schedule.phase_on``): day 1 of the first cycle after the early
  phase, on the cycle calendar (holds push it back); it sets the interval with no CBC yet.
* The calendar's own dates: a hold starting or ending (dosing, weekly CBCs while held
  for low counts), a dosing schedule change.
* REMS (lenalidomide): the dates ``therapy.rems_rules.status_changes`` gives.

For everyone in scope: a recorded fact dated later starting to count (a planned course,
a dose change, a hold, a REMS record or a lab result dated after ``as_of``) and a rule
setting coming into force (thresholds change that day).

Each date assumes today's state; a date on which that state changes (a hold ending, the
phase changing, a setting coming into force) is itself a review date, where the next
one is worked out again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from monitoring.rules import flags as flag_rules
from monitoring.rules import schedule
from patients.rulebook import Threshold, in_force
from therapy.cycles import CourseCalendar


@dataclass(frozen=True)
class Review:
    """The next review date and the rule whose output can change that day."""

    on: date
    rule_id: str
    reason: str


@dataclass(frozen=True)
class CourseDates:
    """What the time-driven rules of a patient on a course read, as of today."""

    cbc_due_on: date  # schedule.cbc_due_date: one interval after the last complete CBC
    # The CBC interval in force (``_interval_now``): the phase at the last CBC, weekly while
    # held for low counts; the overdue severity and a count's staleness both use it.
    cbc_interval_days: int
    dosing: bool  # not on hold today
    held_for_cytopenia: bool
    response_labs_due_on: date
    # The counts that flag a cytopenia today: (test code, collected on).
    flagged_counts: tuple[tuple[str, date], ...] = ()
    calendar: CourseCalendar | None = None  # None: an older therapy contract without one
    # REMS dates (therapy.rems_rules.status_changes), only for a course with lenalidomide.
    rems_changes: tuple[tuple[date, str], ...] = ()


def next_review(
    *,
    as_of: date,
    thresholds: Mapping[str, Threshold],
    course: CourseDates | None = None,
    recorded_coming: tuple[date, str] | None = None,
    setting_coming: date | None = None,
) -> Review | None:
    """The earliest review date after ``as_of`` (None: only a change of input can change
    anything)."""
    candidates: list[Review] = []
    if course is not None:
        candidates += course_dates(course, as_of=as_of, thresholds=thresholds)
    if recorded_coming is not None:
        on, what = recorded_coming
        candidates.append(Review(on, "recorded.dated_later", f"{what} on {on}"))
    if setting_coming is not None:
        candidates.append(
            Review(
                setting_coming,
                "rule_settings.coming",
                f"a rule setting in force from {setting_coming}",
            )
        )
    return min(
        (c for c in candidates if c.on > as_of), key=lambda c: (c.on, c.rule_id), default=None
    )


def course_dates(
    course: CourseDates, *, as_of: date, thresholds: Mapping[str, Threshold]
) -> list[Review]:
    """Every date on which a course's time-driven rules change output (past ones included:
    ``next_review`` keeps those after ``as_of``)."""
    t = in_force(schedule.DEFAULTS + flag_rules.DEFAULTS, thresholds)
    due = course.cbc_due_on
    grace = int(t["schedule.cbc.grace"].value)
    dates = [
        Review(
            due + timedelta(days=grace + 1),
            "schedule.cbc_status",
            f"CBC due {due} is overdue after a {grace}-day grace",
        ),
        Review(
            course.response_labs_due_on,
            "schedule.response_labs_status",
            f"response labs due {course.response_labs_due_on}",
        ),
    ]
    if course.dosing and not course.held_for_cytopenia:
        factor = t["flags.cbc_overdue.urgent_after_intervals"].value
        days = math.ceil(factor * course.cbc_interval_days)
        dates.append(
            Review(
                due + timedelta(days=days),
                "flags.cbc_overdue_severity",
                f"overdue CBC urgent {days} days past its due date {due}",
            )
        )
    # The interval in force now is the schedule's (weekly while held for low counts).
    factor = t["flags.cytopenia.stale_after_intervals"].value
    for code, collected_on in course.flagged_counts:
        days = math.floor(factor * course.cbc_interval_days) + 1
        dates.append(
            Review(
                collected_on + timedelta(days=days),
                "flags.count_is_stale",
                f"{code} of {collected_on} stale at {days} days old",
            )
        )
    dates += _calendar_dates(course.calendar, as_of, t)
    dates += [Review(on, "rems.status", what) for on, what in course.rems_changes]
    return dates


def _calendar_dates(
    calendar: CourseCalendar | None, as_of: date, t: Mapping[str, Threshold]
) -> Iterable[Review]:
    if calendar is None:
        # No calendar to read the cycle from: the phase may change any day.
        yield Review(as_of + timedelta(days=1), "schedule.phase_on", "no cycle calendar")
        return
    first_standard = int(t["schedule.cbc.early_phase_last_cycle"].value) + 1
    starts = calendar.cycle_start(first_standard)
    if starts is not None:
        yield Review(starts, "schedule.phase_on", f"cycle {first_standard} day 1")
    for hold in calendar.holds:
        yield Review(hold.start, "therapy.hold", f"hold starts {hold.start}")
        if hold.end is not None:
            yield Review(hold.end, "therapy.hold", f"dosing resumes {hold.end}")
    for change in calendar.schedule[1:]:
        yield Review(
            change.effective_from,
            "therapy.schedule_change",
            f"dosing days {change.dosing_days} from {change.effective_from}",
        )
