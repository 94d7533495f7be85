"""next_review_on (monitoring/rules/review.py), mutation round: every date the module
enumerates comes with the rule that gives it and a reason a log or a test can read; a
dosing schedule change is a review date; on a tie the rule id orders the candidates.
Dates worked out by hand from the clinical reference sec. 4 and 10 (CBC every 28 days from
cycle 3, overdue after a 3-day grace, urgent one whole interval past due, a count stale when
older than one interval)."""

from dataclasses import replace
from datetime import date

from monitoring.rules import flags as flag_rules
from monitoring.rules import schedule
from monitoring.rules.review import CourseDates, Review, course_dates, next_review
from patients.rulebook import thresholds_by_key
from therapy.cycles import CourseCalendar, Hold, ScheduleChange

T = thresholds_by_key(schedule.DEFAULTS + flag_rules.DEFAULTS)
START = date(2025, 1, 6)  # 28-day cycles: cycle 3 day 1 on 3 March

COURSE = CourseDates(
    cbc_due_on=date(2025, 4, 7),
    cbc_interval_days=28,
    dosing=True,
    held_for_cytopenia=False,
    response_labs_due_on=date(2025, 9, 1),
    flagged_counts=(("ANC", date(2025, 3, 9)),),
    calendar=CourseCalendar(
        start=START,
        schedule=[ScheduleChange(START, 21), ScheduleChange(date(2025, 3, 31), 14)],
        holds=[Hold(date(2025, 2, 10), date(2025, 2, 20))],
    ),
)


def test_every_date_of_a_course_has_its_rule_and_reason():
    found = set(course_dates(COURSE, as_of=date(2025, 1, 6), thresholds=T))
    assert found == {
        Review(
            date(2025, 4, 11),
            "schedule.cbc_status",
            "CBC due 2025-04-07 is overdue after a 3-day grace",
        ),
        Review(date(2025, 9, 1), "schedule.response_labs_status", "response labs due 2025-09-01"),
        Review(
            date(2025, 5, 5),
            "flags.cbc_overdue_severity",
            "overdue CBC urgent 28 days past its due date 2025-04-07",
        ),
        Review(date(2025, 4, 7), "flags.count_is_stale", "ANC of 2025-03-09 stale at 29 days old"),
        # The 10-day hold in cycle 2 moves cycle 3 day 1 from 3 to 13 March.
        Review(date(2025, 3, 13), "schedule.phase_on", "cycle 3 day 1"),
        Review(date(2025, 2, 10), "therapy.hold", "hold starts 2025-02-10"),
        Review(date(2025, 2, 20), "therapy.hold", "dosing resumes 2025-02-20"),
        Review(
            date(2025, 3, 31),
            "therapy.schedule_change",
            "dosing days 14 from 2025-03-31",
        ),
    }


def test_a_dosing_schedule_change_is_a_review_date_the_day_before_on_and_after():
    def on(as_of):
        return next_review(as_of=as_of, thresholds=T, course=COURSE).on

    assert on(date(2025, 3, 30)) == date(2025, 3, 31)
    assert on(date(2025, 3, 31)) == date(2025, 4, 7)  # the ANC of 9 March turns stale next


def test_without_a_calendar_the_reason_says_so():
    course = replace(COURSE, calendar=None, flagged_counts=())
    found = next_review(as_of=date(2025, 3, 20), thresholds=T, course=course)
    assert found == Review(date(2025, 3, 21), "schedule.phase_on", "no cycle calendar")


def test_a_setting_coming_gives_its_reason_and_on_a_tie_the_rule_id_decides():
    found = next_review(as_of=date(2025, 3, 20), thresholds=T, setting_coming=date(2025, 3, 26))
    assert found.reason == "a rule setting in force from 2025-03-26"
    found = next_review(
        as_of=date(2025, 3, 20),
        thresholds=T,
        recorded_coming=(date(2025, 3, 26), "a result collected"),
        setting_coming=date(2025, 3, 26),
    )
    assert found == Review(
        date(2025, 3, 26), "recorded.dated_later", "a result collected on 2025-03-26"
    )
    rems = replace(COURSE, rems_changes=((date(2025, 3, 26), "authorization expiring"),))
    found = next_review(
        as_of=date(2025, 3, 20),
        thresholds=T,
        course=rems,
        recorded_coming=(date(2025, 3, 26), "a result collected"),
        setting_coming=date(2025, 3, 26),
    )
    assert found.rule_id == "recorded.dated_later"  # before "rems.status" and "rule_settings"
