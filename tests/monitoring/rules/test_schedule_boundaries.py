"""Lab schedule at every boundary, with a clinic's own settings, and what it shows
(mutation testing, issue 13).

Expected numbers are typed from the clinical reference sec. 4: CBC every 14 days in cycles
1-2, every 28 days from cycle 3, weekly while held for a cytopenia, overdue after a 3-day
grace; response labs every 90 days. A clinic's settings (a different number) must reach
every function: the tests give one and check that it, not the default, is applied.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from monitoring.rules import schedule
from patients.rulebook import Threshold, thresholds_by_key
from therapy.cycles import CourseCalendar, ScheduleChange

START = date(2025, 1, 6)
CALENDAR = CourseCalendar(start=START, schedule=[ScheduleChange(START, 21)])


def _clinic(**values: int) -> dict[str, Threshold]:
    """The whole settings table with some values changed (as the engine passes it)."""
    table = dict(thresholds_by_key(schedule.DEFAULTS))
    for name, value in values.items():
        key = "schedule." + name.replace("__", ".")
        table[key] = Threshold(
            key=key, value=Decimal(value), unit="days", status="local", source=f"Clinic {name}"
        )
    return table


# A clinic whose fortnightly CBCs end with cycle 1.
ONE_EARLY_CYCLE = _clinic(cbc__early_phase_last_cycle=1)


def test_a_clinic_may_end_the_early_phase_after_cycle_1():
    assert schedule.phase_for_cycle(1, thresholds=ONE_EARLY_CYCLE) == schedule.EARLY
    assert schedule.phase_for_cycle(2, thresholds=ONE_EARLY_CYCLE) == schedule.STANDARD


def test_phase_on_the_calendar_uses_the_clinic_setting():
    cycle_2_day_1 = START + timedelta(days=28)
    assert (
        schedule.phase_on(cycle_2_day_1, calendar=CALENDAR, thresholds=ONE_EARLY_CYCLE)
        == schedule.STANDARD
    )
    assert schedule.phase_on(cycle_2_day_1 - timedelta(days=1), calendar=CALENDAR) == schedule.EARLY


def test_a_cbc_before_the_course_start_counts_as_cycle_1():
    before = START - timedelta(days=1)
    assert (
        schedule.phase_on(before, calendar=CALENDAR, thresholds=ONE_EARLY_CYCLE) == schedule.EARLY
    )


def test_switching_every_count_off_still_needs_an_anc():
    table = _clinic(
        **{f"cbc__complete_requires__{code}": 0 for code in ("WBC", "ANC", "PLT", "HGB")}
    )
    assert schedule.cbc_required_codes(table) == ("ANC",)
    assert schedule.is_complete_cbc({"ANC"}, table)
    assert not schedule.is_complete_cbc({"WBC", "PLT", "HGB"}, table)


def test_an_unknown_phase_names_the_phases_there_are():
    with pytest.raises(ValueError, match="use one of: early, standard, held_cytopenia"):
        schedule.cbc_interval_days("monthly")


WEEKLY_STANDARD = _clinic(cbc__interval_standard=21, cbc__grace=1, due_soon_window=2)


def test_a_clinic_interval_reaches_the_interval_and_the_due_date():
    assert schedule.cbc_interval_days(schedule.STANDARD, WEEKLY_STANDARD) == 21
    assert schedule.cbc_interval_days(schedule.STANDARD) == 28
    last = date(2025, 3, 3)
    assert schedule.cbc_due_date(
        last_cbc_on=last, phase=schedule.STANDARD, course_start=START, thresholds=WEEKLY_STANDARD
    ) == last + timedelta(days=21)


@pytest.mark.parametrize(
    ("days_after_last", "outcome"),
    [(18, "ok"), (19, "due_soon"), (22, "due_soon"), (23, "overdue")],
)
def test_cbc_status_with_a_clinic_interval_grace_and_window(days_after_last, outcome):
    last = date(2025, 3, 3)
    finding = schedule.cbc_status(
        last_cbc_on=last,
        phase=schedule.STANDARD,
        course_start=START,
        as_of=last + timedelta(days=days_after_last),
        thresholds=WEEKLY_STANDARD,
    )
    assert finding.outcome == outcome
    assert finding.values["interval_days"] == 21
    assert finding.values["grace_days"] == 1
    assert finding.source == "Clinic cbc__interval_standard"


def test_cbc_status_shows_what_it_was_computed_from():
    last = date(2025, 3, 3)
    as_of = date(2025, 4, 8)  # due 2025-03-31, overdue after 2025-04-03
    finding = schedule.cbc_status(
        last_cbc_on=last, phase=schedule.STANDARD, course_start=START, as_of=as_of
    )
    assert finding.rule_id == "schedule.cbc_status"
    assert finding.message == "CBC overdue by 8 days (due 2025-03-31)."
    assert finding.values == {
        "last_cbc_on": last,
        "phase": schedule.STANDARD,
        "due_on": date(2025, 3, 31),
        "overdue_after": date(2025, 4, 3),
        "overdue_by_days": 8,
        "interval_days": 28,
        "grace_days": 3,
        "as_of": as_of,
    }
    assert finding.source.startswith("Seed guides and label: CBC every 28 days")


@pytest.mark.parametrize(
    ("as_of", "outcome", "message"),
    [
        (date(2025, 3, 23), "ok", "CBC next due 2025-03-31."),
        (date(2025, 3, 24), "due_soon", "CBC due 2025-03-31."),
        (date(2025, 3, 31), "due_soon", "CBC due 2025-03-31."),
        (
            date(2025, 4, 1),
            "due_soon",
            "CBC was due 2025-03-31; overdue after 2025-04-03.",
        ),
        (
            date(2025, 4, 2),
            "due_soon",
            "CBC was due 2025-03-31; overdue after 2025-04-03.",
        ),
        (date(2025, 4, 4), "overdue", "CBC overdue by 4 days (due 2025-03-31)."),
    ],
)
def test_cbc_message_around_the_due_date(as_of, outcome, message):
    finding = schedule.cbc_status(
        last_cbc_on=date(2025, 3, 3), phase=schedule.STANDARD, course_start=START, as_of=as_of
    )
    assert (finding.outcome, finding.message) == (outcome, message)


def test_response_labs_status_shows_what_it_was_computed_from():
    last = date(2025, 1, 6)
    as_of = date(2025, 4, 6)  # 90 days later: due today
    finding = schedule.response_labs_status(
        last_response_labs_on=last, course_start=START, as_of=as_of
    )
    assert finding.rule_id == "schedule.response_labs_status"
    assert finding.outcome == "due_soon"
    assert finding.message == (
        "Response labs (SPEP, free light chains, urine M-protein if measurable) due 2025-04-06."
    )
    assert finding.values == {
        "last_response_labs_on": last,
        "due_on": date(2025, 4, 6),
        "overdue_after": date(2025, 4, 9),
        "overdue_by_days": 0,
        "interval_days": 90,
        "grace_days": 3,
        "as_of": as_of,
    }
