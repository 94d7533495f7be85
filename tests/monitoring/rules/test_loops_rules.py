"""Pure rules behind the daily loops: the complete CBC, the phase at the last CBC on the
cycle calendar, an overdue CBC growing urgent and a stale count (reference sec. 4, 10)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from monitoring.rules import flags, schedule
from patients.rulebook import Threshold
from therapy.cycles import CourseCalendar, Hold, ScheduleChange

START = date(2025, 1, 6)


def calendar(*holds: Hold) -> CourseCalendar:
    return CourseCalendar(start=START, schedule=[ScheduleChange(START, 21)], holds=holds)


@pytest.mark.parametrize(
    ("codes", "complete"),
    [
        ({"WBC", "ANC", "PLT", "HGB"}, True),
        ({"WBC", "ANC", "PLT", "HGB", "LYMPH"}, True),
        ({"ANC"}, False),  # an ANC on its own is not a CBC
        ({"ANC", "PLT", "HGB"}, False),
        ({"WBC", "PLT", "HGB"}, False),
        ({"WBC", "ANC", "HGB"}, False),
        ({"WBC", "ANC", "PLT"}, False),
    ],
)
def test_a_cbc_is_wbc_anc_platelets_and_hemoglobin_from_one_draw(codes, complete):
    assert schedule.is_complete_cbc(codes) is complete


def test_a_clinic_may_drop_a_count_from_the_complete_set():
    no_wbc = Threshold(
        key="schedule.cbc.complete_requires.WBC",
        value=Decimal(0),
        unit="1 = required in the same draw",
        status="common",
        source="local",
        version=2,
    )
    table = {no_wbc.key: no_wbc}
    assert schedule.cbc_required_codes(table) == ("ANC", "PLT", "HGB")
    assert schedule.is_complete_cbc({"ANC", "PLT", "HGB"}, table)


@pytest.mark.parametrize(
    ("on", "phase"),
    [
        (START + timedelta(days=55), schedule.EARLY),  # cycle 2 day 28
        (START + timedelta(days=56), schedule.STANDARD),  # cycle 3 day 1
        (START - timedelta(days=3), schedule.EARLY),  # before the start: cycle 1
    ],
)
def test_phase_on_reads_the_cycle_calendar(on, phase):
    assert schedule.phase_on(on, calendar=calendar()) == phase


def test_a_hold_before_the_cbc_moves_cycle_3_later_and_a_later_hold_does_not_matter():
    hold = Hold(START + timedelta(days=30), START + timedelta(days=47))  # 17 days in cycle 2
    cycle_3_day_1 = START + timedelta(days=56 + 17)
    assert schedule.phase_on(cycle_3_day_1 - timedelta(days=1), calendar=calendar(hold)) == (
        schedule.EARLY
    )
    assert schedule.phase_on(cycle_3_day_1, calendar=calendar(hold)) == schedule.STANDARD
    later = Hold(START + timedelta(days=63), START + timedelta(days=80))
    assert schedule.phase_on(START + timedelta(days=56), calendar=calendar(later)) == (
        schedule.STANDARD
    )


def test_a_hold_for_a_cytopenia_now_makes_cbcs_weekly_whenever_the_last_one_was():
    assert (
        schedule.phase_on(
            START + timedelta(days=80), calendar=calendar(), held_for_cytopenia_now=True
        )
        == schedule.HELD_CYTOPENIA
    )


@pytest.mark.parametrize(
    ("days_past_due", "severity"),
    [(27, flags.ATTENTION), (28, flags.URGENT), (29, flags.URGENT)],
)
def test_an_overdue_cbc_while_dosing_is_urgent_from_one_whole_interval_past_due(
    days_past_due, severity
):
    assert (
        flags.cbc_overdue_severity(
            days_past_due=days_past_due, interval_days=28, dosing=True, held_for_cytopenia=False
        )
        == severity
    )


@pytest.mark.parametrize(("days_past_due", "severity"), [(13, flags.ATTENTION), (14, flags.URGENT)])
def test_escalation_follows_the_interval_of_the_phase(days_past_due, severity):
    assert (
        flags.cbc_overdue_severity(
            days_past_due=days_past_due, interval_days=14, dosing=True, held_for_cytopenia=False
        )
        == severity
    )


def test_an_overdue_cbc_off_dosing_stays_attention_and_a_cytopenia_hold_is_urgent():
    assert (
        flags.cbc_overdue_severity(
            days_past_due=90, interval_days=28, dosing=False, held_for_cytopenia=False
        )
        == flags.ATTENTION
    )
    assert (
        flags.cbc_overdue_severity(
            days_past_due=4, interval_days=7, dosing=False, held_for_cytopenia=True
        )
        == flags.URGENT
    )


@pytest.mark.parametrize(("age", "stale"), [(27, False), (28, False), (29, True)])
def test_a_count_is_stale_only_when_older_than_the_cbc_interval(age, stale):
    assert flags.count_is_stale(count_age_days=age, interval_days=28) is stale


@pytest.mark.parametrize(("age", "stale"), [(7, False), (8, True)])
def test_staleness_follows_the_weekly_interval_of_a_cytopenia_hold(age, stale):
    assert flags.count_is_stale(count_age_days=age, interval_days=7) is stale


def test_without_a_course_no_count_is_stale():
    assert flags.count_is_stale(count_age_days=400, interval_days=None) is False


def test_the_new_settings_cite_their_source():
    keys = {t.key: t for t in flags.DEFAULTS + schedule.DEFAULTS}
    for key in (
        "flags.cbc_overdue.urgent_after_intervals",
        "flags.cytopenia.stale_after_intervals",
        "schedule.cbc.complete_requires.WBC",
        "schedule.cbc.complete_requires.ANC",
        "schedule.cbc.complete_requires.PLT",
        "schedule.cbc.complete_requires.HGB",
    ):
        assert "Clinical reference sec." in keys[key].source


@pytest.mark.parametrize(
    ("on", "phase"),
    [
        (START + timedelta(days=69), schedule.STANDARD),  # the day before the hold
        (START + timedelta(days=70), schedule.HELD_CYTOPENIA),  # the hold's first day
        (START + timedelta(days=79), schedule.HELD_CYTOPENIA),  # its last day
        (START + timedelta(days=80), schedule.STANDARD),  # dosing resumes
    ],
)
def test_a_cbc_drawn_during_a_cytopenia_hold_is_followed_weekly_even_after_it_ended(on, phase):
    hold = Hold(START + timedelta(days=70), START + timedelta(days=80))
    assert schedule.phase_on(on, calendar=calendar(hold), cytopenia_holds=[hold]) == phase


def test_a_cbc_during_a_hold_for_another_reason_keeps_the_cycle_interval():
    hold = Hold(START + timedelta(days=70), START + timedelta(days=80))
    assert schedule.phase_on(START + timedelta(days=75), calendar=calendar(hold)) == (
        schedule.STANDARD
    )
