"""The dosing calendar projection (pure: no database): cycles follow holds, counts follow
the phase of the course on each test date, pregnancy tests follow the REMS schedule."""

from datetime import date
from decimal import Decimal

from monitoring.nursing import dosing_calendar as plan
from therapy.cycles import CourseCalendar, Hold, ScheduleChange

START = date(2026, 2, 2)


def _calendar(dosing_days=21, holds=()):
    return CourseCalendar(
        start=START, schedule=[ScheduleChange(START, dosing_days)], holds=list(holds)
    )


def test_period_runs_to_the_end_of_the_last_cycle_shown_and_a_hold_moves_it():
    assert plan.period(_calendar(), first=START, cycles=1) == (START, date(2026, 3, 1))
    held = _calendar(holds=[Hold(date(2026, 2, 16), date(2026, 2, 23))])  # 7 days
    assert plan.period(held, first=START, cycles=1) == (START, date(2026, 3, 8))


def test_an_open_hold_shows_four_weeks():
    held = _calendar(holds=[Hold(date(2026, 2, 16))])
    assert plan.period(held, first=date(2026, 3, 2), cycles=3) == (
        date(2026, 3, 2),
        date(2026, 3, 29),
    )


def test_cycle_spans_start_mid_cycle_on_the_first_day_shown():
    spans = plan.cycle_spans(_calendar(), first=date(2026, 2, 20), last=date(2026, 3, 29))
    assert [(s.number, s.first, s.last) for s in spans] == [
        (1, date(2026, 2, 20), date(2026, 3, 1)),
        (2, date(2026, 3, 2), date(2026, 3, 29)),
    ]


def test_counts_every_14_days_in_cycles_1_and_2_then_every_28_days():
    dates = plan.cbc_dates(
        _calendar(),
        next_due=START,
        first=START,
        last=date(2026, 5, 31),
        held_for_cytopenia=lambda on: False,
    )
    # Cycle 3 starts 2026-03-30: the count on 2026-03-30 is in cycle 3, so 28 days follow.
    assert dates == [
        date(2026, 2, 2),
        date(2026, 2, 16),
        date(2026, 3, 2),
        date(2026, 3, 16),
        date(2026, 3, 30),
        date(2026, 4, 27),
        date(2026, 5, 25),
    ]


def test_an_overdue_count_is_shown_on_the_first_day():
    dates = plan.cbc_dates(
        _calendar(),
        next_due=date(2026, 2, 10),
        first=date(2026, 2, 20),
        last=date(2026, 2, 28),
        held_for_cytopenia=lambda on: False,
    )
    assert dates == [date(2026, 2, 20)]


def test_pregnancy_tests_weekly_for_4_weeks_then_every_4_weeks_with_regular_menses():
    dates = plan.pregnancy_test_dates(
        therapy_start=START,
        last_negative_test=date(2026, 2, 1),
        menses_regular=True,
        first=START,
        last=date(2026, 4, 30),
    )
    assert dates == [
        date(2026, 2, 8),
        date(2026, 2, 15),
        date(2026, 2, 22),
        date(2026, 3, 1),
        date(2026, 3, 8),  # 2026-03-01 is inside the first 28 days (ends 2026-03-02)
        date(2026, 4, 5),
    ]


def test_dose_words():
    assert plan.dose_text(
        Decimal("2.50"), takes_dose=True, on_hold=False, agent="Lenalidomide"
    ) == ("Take 1 capsule (2.5 mg)")
    assert plan.dose_text(Decimal("10"), takes_dose=False, on_hold=False, agent="x") == (
        "No capsule today"
    )
    assert plan.dose_text(Decimal("10"), takes_dose=False, on_hold=True, agent="x") == (
        "On hold: no capsule"
    )
    assert plan.dose_text(None, takes_dose=True, on_hold=False, agent="Ixazomib") == (
        "Ixazomib today"
    )
    assert plan.dose_text(None, takes_dose=False, on_hold=False, agent="Ixazomib") == (
        "No treatment today"
    )


def test_days_of_a_regimen_without_lenalidomide_follow_its_treatment_days():
    days = plan.days(
        _calendar(dosing_days=28),
        first=START,
        last=date(2026, 2, 9),
        dose_on=lambda on: None,
        treatment_days=frozenset({1, 8, 15}),
        agent="Ixazomib",
        cbc=set(),
        pregnancy=set(),
    )
    assert [d.on for d in days if d.takes_dose] == [date(2026, 2, 2), date(2026, 2, 9)]


def test_months_lay_days_out_monday_first():
    days = plan.days(
        _calendar(),
        first=date(2026, 2, 27),
        last=date(2026, 3, 2),
        dose_on=lambda on: Decimal(10),
        treatment_days=None,
        agent="Lenalidomide",
        cbc=set(),
        pregnancy=set(),
    )
    february, march = plan.months(days)
    assert [d.on.day if d else None for d in february.weeks[0]] == [
        None,
        None,
        None,
        None,
        27,
        28,
        None,
    ]
    assert [d.on.day if d else None for d in march.weeks[0]] == [
        None,
        None,
        None,
        None,
        None,
        None,
        1,
    ]
    assert march.weeks[1][0].on == date(2026, 3, 2)
