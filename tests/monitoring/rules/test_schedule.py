from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitoring.rules import schedule
from monitoring.rules.schedule import (
    EARLY,
    HELD_CYTOPENIA,
    PHASES,
    STANDARD,
    cbc_due_date,
    cbc_interval_days,
    cbc_status,
    phase_for_cycle,
    response_labs_status,
)
from patients.rulebook import Threshold, thresholds_by_key

COURSE_START = date(2025, 3, 3)


@pytest.mark.parametrize(("phase", "days"), [(EARLY, 14), (STANDARD, 28), (HELD_CYTOPENIA, 7)])
def test_cbc_interval_follows_the_phase(phase, days):
    assert cbc_interval_days(phase) == days


@pytest.mark.parametrize(
    ("cycle", "held", "phase"),
    [
        (1, False, EARLY),
        (2, False, EARLY),
        (3, False, STANDARD),
        (12, False, STANDARD),
        (1, True, HELD_CYTOPENIA),
        (7, True, HELD_CYTOPENIA),
    ],
)
def test_phase_follows_the_cycle_and_a_hold_wins(cycle, held, phase):
    assert phase_for_cycle(cycle, held_for_cytopenia=held) == phase


def test_cycle_numbers_start_at_one():
    with pytest.raises(ValueError, match="from 1"):
        phase_for_cycle(0)


def test_moving_from_cycle_2_to_cycle_3_stretches_the_interval_from_14_to_28_days():
    cbc_in_cycle_2 = COURSE_START + timedelta(days=40)
    cbc_in_cycle_3 = COURSE_START + timedelta(days=60)
    due_after_cycle_2 = cbc_due_date(
        last_cbc_on=cbc_in_cycle_2, phase=phase_for_cycle(2), course_start=COURSE_START
    )
    due_after_cycle_3 = cbc_due_date(
        last_cbc_on=cbc_in_cycle_3, phase=phase_for_cycle(3), course_start=COURSE_START
    )
    assert due_after_cycle_2 - cbc_in_cycle_2 == timedelta(days=14)
    assert due_after_cycle_3 - cbc_in_cycle_3 == timedelta(days=28)


def test_a_hold_for_cytopenia_makes_the_cbc_weekly():
    last = date(2025, 6, 2)
    due = cbc_due_date(last_cbc_on=last, phase=HELD_CYTOPENIA, course_start=COURSE_START)
    assert due == date(2025, 6, 9)


def test_without_any_cbc_the_first_is_due_at_the_course_start():
    assert cbc_due_date(last_cbc_on=None, phase=EARLY, course_start=COURSE_START) == COURSE_START


@pytest.mark.parametrize(
    ("days_after_due", "outcome", "overdue_by"),
    [
        (-8, "ok", 0),
        (-7, "due_soon", 0),
        (0, "due_soon", 0),
        (3, "due_soon", 0),
        (4, "overdue", 4),
        (10, "overdue", 10),
    ],
)
def test_cbc_is_overdue_only_after_the_3_day_grace(days_after_due, outcome, overdue_by):
    last = date(2025, 5, 1)
    due = last + timedelta(days=28)
    finding = cbc_status(
        last_cbc_on=last,
        phase=STANDARD,
        course_start=COURSE_START,
        as_of=due + timedelta(days=days_after_due),
    )
    assert finding.outcome == outcome
    assert finding.values["overdue_by_days"] == overdue_by
    assert finding.values["due_on"] == due


def test_cbc_status_shows_the_due_date_interval_phase_and_source():
    finding = cbc_status(
        last_cbc_on=date(2025, 3, 10),
        phase=EARLY,
        course_start=COURSE_START,
        as_of=date(2025, 3, 30),
    )
    assert finding.rule_id == "schedule.cbc_status"
    assert finding.outcome == "overdue"
    assert finding.values["due_on"] == date(2025, 3, 24)
    assert finding.values["overdue_by_days"] == 6
    assert finding.values["interval_days"] == 14
    assert finding.values["phase"] == EARLY
    assert finding.message == "CBC overdue by 6 days (due 2025-03-24)."
    assert "schedule.cbc.interval_early = 14 days" in finding.basis


def test_no_cbc_before_the_course_start_is_due_soon_then_overdue():
    week_before = cbc_status(
        last_cbc_on=None,
        phase=EARLY,
        course_start=COURSE_START,
        as_of=COURSE_START - timedelta(days=7),
    )
    four_days_late = cbc_status(
        last_cbc_on=None,
        phase=EARLY,
        course_start=COURSE_START,
        as_of=COURSE_START + timedelta(days=4),
    )
    assert week_before.outcome == "due_soon"
    assert four_days_late.outcome == "overdue"


def test_unknown_phase_is_refused():
    with pytest.raises(ValueError, match="Unknown monitoring phase"):
        cbc_interval_days("maintenance")


@given(
    last=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    phase=st.sampled_from(PHASES),
    offset=st.integers(min_value=-60, max_value=60),
)
def test_overdue_exactly_when_more_than_grace_days_past_due(last, phase, offset):
    due = cbc_due_date(last_cbc_on=last, phase=phase, course_start=COURSE_START)
    finding = cbc_status(
        last_cbc_on=last,
        phase=phase,
        course_start=COURSE_START,
        as_of=due + timedelta(days=offset),
    )
    assert (due - last).days == cbc_interval_days(phase)
    assert (finding.outcome == "overdue") == (offset > 3)
    assert (finding.outcome == "ok") == (offset < -7)


@pytest.mark.parametrize(
    ("days_after_last", "outcome"),
    [(82, "ok"), (83, "due_soon"), (90, "due_soon"), (93, "due_soon"), (94, "overdue")],
)
def test_response_labs_are_due_every_90_days_with_grace(days_after_last, outcome):
    last = date(2025, 1, 15)
    finding = response_labs_status(
        last_response_labs_on=last,
        course_start=COURSE_START,
        as_of=last + timedelta(days=days_after_last),
    )
    assert finding.outcome == outcome
    assert finding.values["due_on"] == date(2025, 4, 15)


def test_first_response_labs_are_due_at_the_course_start():
    finding = response_labs_status(
        last_response_labs_on=None, course_start=COURSE_START, as_of=COURSE_START
    )
    assert finding.values["due_on"] == COURSE_START
    assert finding.outcome == "due_soon"


def test_a_clinic_may_space_response_labs_to_180_days():
    table = thresholds_by_key(schedule.DEFAULTS)
    old = table["schedule.response_labs.interval"]
    table[old.key] = Threshold(old.key, Decimal(180), old.unit, old.status, old.source, 2)
    finding = response_labs_status(
        last_response_labs_on=date(2025, 1, 1),
        course_start=COURSE_START,
        as_of=date(2025, 4, 15),
        thresholds=table,
    )
    assert finding.outcome == "ok"
    assert finding.values["interval_days"] == 180
    assert finding.values["due_on"] == date(2025, 6, 30)
