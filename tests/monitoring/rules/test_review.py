"""next_review_on (monitoring/rules/review.py): each time-driven rule gives the first day
its output changes, pinned the day before, on the day and after. Dates from the clinical
reference sec. 4 and 10: CBC every 14 days in cycles 1-2, every 28 from cycle 3, weekly
while held for low counts; overdue after a 3-day grace; an overdue CBC while dosing is
urgent a whole interval past due; a flagged count is stale when older than one interval;
response labs every 90 days."""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from monitoring.rules import flags as flag_rules
from monitoring.rules import schedule
from monitoring.rules.review import CourseDates, next_review
from patients.rulebook import thresholds_by_key
from therapy.cycles import CourseCalendar, Hold, ScheduleChange

T = thresholds_by_key(schedule.DEFAULTS + flag_rules.DEFAULTS)
START = date(2025, 1, 6)  # 28-day cycles: cycle 3 day 1 on 3 March


def calendar(*holds: Hold, start=START) -> CourseCalendar:
    return CourseCalendar(start=start, schedule=[ScheduleChange(start, 21)], holds=holds)


# A cycle 3 CBC on 10 March: next due 28 days later, 7 April. Response labs due far ahead.
COURSE = CourseDates(
    cbc_due_on=date(2025, 4, 7),
    cbc_interval_days=28,
    dosing=True,
    held_for_cytopenia=False,
    response_labs_due_on=date(2025, 9, 1),
    calendar=calendar(),
)


def review_on(as_of, course=COURSE, **kwargs):
    found = next_review(as_of=as_of, thresholds=T, course=course, **kwargs)
    return found.on if found else None


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2025, 3, 20), date(2025, 4, 11)),  # due 7 April: overdue from 7 + 3 + 1
        (date(2025, 4, 7), date(2025, 4, 11)),  # on the due day (due soon: no flag)
        (date(2025, 4, 10), date(2025, 4, 11)),  # last day of grace
        (date(2025, 4, 11), date(2025, 5, 5)),  # overdue now: urgent 28 days past due
        (date(2025, 5, 4), date(2025, 5, 5)),
        (date(2025, 5, 5), date(2025, 9, 1)),  # urgent now: response labs next
    ],
)
def test_a_cbc_due_on_7_april_is_reviewed_when_overdue_then_when_urgent(as_of, expected):
    assert review_on(as_of) == expected


def test_the_cbc_dates_are_the_days_the_rules_outputs_change():
    """Cross-check with the rules themselves: not overdue on 10 April, overdue on the 11th;
    attention on 4 May, urgent on the 5th."""

    def overdue(on):
        return (
            schedule.cbc_status(
                last_cbc_on=date(2025, 3, 10),
                phase=schedule.STANDARD,
                course_start=START,
                as_of=on,
                thresholds=T,
            ).outcome
            == "overdue"
        )

    def severity(on):
        return flag_rules.cbc_overdue_severity(
            days_past_due=(on - date(2025, 4, 7)).days,
            interval_days=28,
            dosing=True,
            held_for_cytopenia=False,
            thresholds=T,
        )

    assert (overdue(date(2025, 4, 10)), overdue(date(2025, 4, 11))) == (False, True)
    assert severity(date(2025, 5, 4)) < flag_rules.URGENT == severity(date(2025, 5, 5))


def test_no_urgent_date_while_held_for_low_counts_or_not_dosing():
    held = replace(COURSE, held_for_cytopenia=True, cbc_interval_days=7)
    assert review_on(date(2025, 4, 11), held) == date(2025, 9, 1)
    paused = replace(COURSE, dosing=False)
    assert review_on(date(2025, 4, 11), paused) == date(2025, 9, 1)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2025, 8, 24), date(2025, 9, 1)),  # due-soon window open (25 August): no flag
        (date(2025, 8, 31), date(2025, 9, 1)),
        (date(2025, 9, 1), None),  # flag raised on the due day; nothing moves after it
    ],
)
def test_response_labs_are_reviewed_on_their_due_day(as_of, expected):
    course = replace(COURSE, cbc_due_on=date(2025, 1, 1), dosing=False)  # CBC long overdue
    assert review_on(as_of, course) == expected


@pytest.mark.parametrize(
    ("interval", "as_of", "expected"),
    [
        (28, date(2025, 4, 6), date(2025, 4, 7)),  # ANC of 9 March: 28 days old, not stale
        (28, date(2025, 4, 7), date(2025, 4, 11)),  # 29 days old: stale now; CBC overdue next
        (7, date(2025, 3, 15), date(2025, 3, 17)),  # weekly while held: stale at 8 days old
        (7, date(2025, 3, 16), date(2025, 3, 17)),
    ],
)
def test_a_flagged_count_turns_stale_the_day_it_is_older_than_the_interval(
    interval, as_of, expected
):
    course = replace(
        COURSE,
        cbc_due_on=date(2025, 3, 10) + timedelta(days=interval),
        cbc_interval_days=interval,
        held_for_cytopenia=interval == 7,
        flagged_counts=(("ANC", date(2025, 3, 9)),),
    )
    assert review_on(as_of, course) == expected


def test_staleness_changes_on_the_day_after_one_whole_interval():
    """Cross-check with the rule: 28 days old is not stale, 29 days old is."""
    assert not flag_rules.count_is_stale(count_age_days=28, interval_days=28, thresholds=T)
    assert flag_rules.count_is_stale(count_age_days=29, interval_days=28, thresholds=T)
    assert (date(2025, 4, 7) - date(2025, 3, 9)).days == 29


def test_cycle_3_day_1_is_a_review_date_and_a_hold_pushes_it_back():
    early = replace(COURSE, cbc_due_on=date(2025, 3, 30), cbc_interval_days=14)
    assert review_on(date(2025, 2, 20), early) == date(2025, 3, 3)
    assert review_on(date(2025, 3, 2), early) == date(2025, 3, 3)
    # A 10-day hold in cycle 2 (ended): cycle 3 starts 10 days later.
    held = replace(early, calendar=calendar(Hold(date(2025, 2, 10), date(2025, 2, 20))))
    assert review_on(date(2025, 2, 21), held) == date(2025, 3, 13)


def test_a_hold_starting_or_ending_later_is_a_review_date():
    course = replace(COURSE, calendar=calendar(Hold(date(2025, 3, 24), date(2025, 3, 31))))
    assert review_on(date(2025, 3, 20), course) == date(2025, 3, 24)
    assert review_on(date(2025, 3, 24), course) == date(2025, 3, 31)
    assert review_on(date(2025, 3, 31), course) == date(2025, 4, 11)


def test_rems_dates_recorded_facts_and_settings_coming_count_and_the_earliest_wins():
    rems = replace(COURSE, rems_changes=((date(2025, 3, 27), "authorization expiring"),))
    found = next_review(as_of=date(2025, 3, 20), thresholds=T, course=rems)
    assert (found.on, found.rule_id, found.reason) == (
        date(2025, 3, 27),
        "rems.status",
        "authorization expiring",
    )
    found = next_review(
        as_of=date(2025, 3, 20),
        thresholds=T,
        course=rems,
        recorded_coming=(date(2025, 3, 25), "a result collected"),
        setting_coming=date(2025, 3, 26),
    )
    assert (found.on, found.rule_id) == (date(2025, 3, 25), "recorded.dated_later")
    found = next_review(as_of=date(2025, 3, 20), thresholds=T, setting_coming=date(2025, 3, 26))
    assert (found.on, found.rule_id) == (date(2025, 3, 26), "rule_settings.coming")


def test_without_a_course_or_anything_coming_only_a_new_input_brings_a_review():
    assert next_review(as_of=date(2025, 3, 20), thresholds=T) is None


def test_without_a_cycle_calendar_the_course_is_reviewed_daily():
    course = replace(COURSE, calendar=None)
    assert review_on(date(2025, 3, 20), course) == date(2025, 3, 21)


def test_review_dates_follow_the_clinic_settings():
    grace = thresholds_by_key(
        (replace(T["schedule.cbc.grace"], value=T["schedule.cbc.grace"].value + 2),)
    )
    found = next_review(as_of=date(2025, 3, 20), thresholds={**T, **grace}, course=COURSE)
    assert found.on == date(2025, 4, 13)  # 5-day grace: overdue from 7 + 5 + 1
