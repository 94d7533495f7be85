from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from therapy.cycles import CourseCalendar, CycleDay, Hold, ScheduleChange

START = date(2025, 1, 6)


def day_n(n: int) -> date:
    """The n-th calendar day of the course, counting the start as day 1."""
    return START + timedelta(days=n - 1)


def calendar(
    holds: list[Hold] | None = None, dosing_days: int = 21, changes: tuple[ScheduleChange, ...] = ()
) -> CourseCalendar:
    schedule = [ScheduleChange(START, dosing_days), *changes]
    return CourseCalendar(start=START, schedule=schedule, holds=holds or [])


# --- Examples ---------------------------------------------------------------------------


def test_course_start_is_cycle_1_day_1_and_a_dosing_day() -> None:
    assert calendar().day(START) == CycleDay(
        cycle=1, day=1, is_dosing_day=True, on_hold=False, next_cycle_start=day_n(29)
    )


@pytest.mark.parametrize(
    ("calendar_day", "cycle", "day", "dosing"),
    [
        (21, 1, 21, True),
        (22, 1, 22, False),
        (28, 1, 28, False),
        (29, 2, 1, True),
        (57, 3, 1, True),
    ],
)
def test_days_1_to_21_of_28_dose_only_on_the_first_21_days(
    calendar_day: int, cycle: int, day: int, dosing: bool
) -> None:
    result = calendar().day(day_n(calendar_day))
    assert (result.cycle, result.day, result.is_dosing_day) == (cycle, day, dosing)


def test_continuous_schedule_doses_every_day_of_the_cycle() -> None:
    assert calendar(dosing_days=28).day(day_n(28)).is_dosing_day


def test_a_hold_pauses_the_cycle_clock_and_day_n_continues_after_it() -> None:
    # Hold on calendar days 10-16 (7 days); dosing resumes on calendar day 17.
    cal = calendar([Hold(day_n(10), day_n(17))])
    assert cal.day(day_n(9)).day == 9
    on_hold = cal.day(day_n(12))
    assert on_hold.on_hold and on_hold.day is None and not on_hold.is_dosing_day
    assert on_hold.cycle == 1
    assert cal.day(day_n(17)).day == 10
    assert cal.cycle_start(2) == day_n(36)
    assert on_hold.next_cycle_start == day_n(36)


def test_hold_end_is_the_first_day_off_hold() -> None:
    cal = calendar([Hold(day_n(10), day_n(11))])
    assert cal.day(day_n(10)).on_hold
    assert not cal.day(day_n(11)).on_hold


def test_an_open_hold_has_no_next_cycle_start() -> None:
    cal = calendar([Hold(day_n(10))])
    assert cal.day(day_n(200)) == CycleDay(
        cycle=1, day=None, is_dosing_day=False, on_hold=True, next_cycle_start=None
    )
    assert cal.cycle_start(1) == START
    assert cal.cycle_start(2) is None
    assert cal.day(day_n(9)).next_cycle_start is None


def test_a_hold_between_cycles_belongs_to_the_cycle_it_delays_after() -> None:
    # Cycle 1 ends on calendar day 28; hold days 29-35; cycle 2 starts day 36.
    cal = calendar([Hold(day_n(29), day_n(36))])
    assert cal.day(day_n(29)).cycle == 1
    assert cal.day(day_n(36)) == CycleDay(
        cycle=2, day=1, is_dosing_day=True, on_hold=False, next_cycle_start=day_n(64)
    )


def test_a_hold_on_the_first_day_belongs_to_cycle_1() -> None:
    cal = calendar([Hold(START, day_n(4))])
    assert cal.day(START).cycle == 1
    assert cal.cycle_start(1) == day_n(4)
    assert cal.day(day_n(4)).day == 1


def test_adjacent_holds_are_allowed_and_pause_back_to_back() -> None:
    cal = calendar([Hold(day_n(5), day_n(8)), Hold(day_n(8), day_n(10))])
    assert cal.day(day_n(10)).day == 5


def test_schedule_change_applies_from_its_date_even_mid_cycle() -> None:
    cal = calendar(dosing_days=28, changes=(ScheduleChange(day_n(40), 21),))
    assert cal.day(day_n(28 + 11)).is_dosing_day  # cycle 2 day 11, before the change
    assert cal.day(day_n(28 + 22)).is_dosing_day is False  # cycle 2 day 22, after it
    assert cal.day(day_n(56 + 22)).is_dosing_day is False  # cycle 3 day 22
    assert cal.dosing_days_on(day_n(39)) == 28
    assert cal.dosing_days_on(day_n(40)) == 21


def test_cycle_on_is_a_shortcut_for_the_cycle_number() -> None:
    assert calendar().cycle_on(day_n(60)) == 3


def test_dates_before_the_course_start_are_rejected() -> None:
    with pytest.raises(ValueError, match="before the course start"):
        calendar().day(START - timedelta(days=1))


def test_cycle_numbers_start_at_1() -> None:
    with pytest.raises(ValueError, match=r"^cycles are numbered from 1$"):
        calendar().cycle_start(0)


@pytest.mark.parametrize(
    ("holds", "message"),
    [
        ([Hold(START - timedelta(days=1), day_n(3))], "before the course start"),
        ([Hold(day_n(5), day_n(5))], "must end after it starts"),
        ([Hold(day_n(5), day_n(10)), Hold(day_n(9), day_n(12))], "overlap"),
        ([Hold(day_n(5)), Hold(day_n(20), day_n(22))], "overlap"),
    ],
)
def test_invalid_holds_are_rejected_with_a_clear_message(holds: list[Hold], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calendar(holds)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ([], "^the first schedule change must take effect on the course start$"),
        ([ScheduleChange(day_n(2), 21)], "^the first schedule change must take effect on the"),
        ([ScheduleChange(START - timedelta(days=1), 21)], "^the first schedule change must"),
        ([ScheduleChange(START, 21), ScheduleChange(START, 28)], "two schedule changes"),
        ([ScheduleChange(START, 0)], "dosing_days"),
        ([ScheduleChange(START, 29)], "dosing_days"),
    ],
)
def test_invalid_schedules_are_rejected(schedule: list[ScheduleChange], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CourseCalendar(start=START, schedule=schedule)


@pytest.mark.parametrize("cycle_days", [0, -1])
def test_a_cycle_must_last_at_least_one_day(cycle_days: int) -> None:
    with pytest.raises(ValueError, match=r"^cycle_days must be at least 1$"):
        CourseCalendar(start=START, schedule=[ScheduleChange(START, 1)], cycle_days=cycle_days)


def test_a_one_day_cycle_is_allowed_and_every_day_starts_a_cycle() -> None:
    cal = CourseCalendar(start=START, schedule=[ScheduleChange(START, 1)], cycle_days=1)
    assert (cal.day(day_n(3)).cycle, cal.day(day_n(3)).day) == (3, 1)


# --- Properties -------------------------------------------------------------------------


@st.composite
def holds_strategy(draw: st.DrawFn, allow_open: bool = True) -> list[Hold]:
    """Non-overlapping holds from the course start, possibly back to back, maybe open last."""
    holds = []
    cursor = START
    for _ in range(draw(st.integers(0, 5))):
        cursor += timedelta(days=draw(st.integers(0, 60)))
        end = cursor + timedelta(days=draw(st.integers(1, 45)))
        holds.append(Hold(cursor, end))
        cursor = end
    if allow_open and draw(st.booleans()):
        holds.append(Hold(cursor + timedelta(days=draw(st.integers(0, 60)))))
    return holds


def calendar_of(holds: list[Hold], dosing_days: int = 21) -> CourseCalendar:
    return CourseCalendar(start=START, schedule=[ScheduleChange(START, dosing_days)], holds=holds)


def simulate(holds: list[Hold], days: int) -> list[tuple[int, int | None]]:
    """Day-by-day reference: walk the calendar and count days off hold."""
    result = []
    counted = 0
    for offset in range(days):
        on = START + timedelta(days=offset)
        held = any(h.start <= on and (h.end is None or on < h.end) for h in holds)
        if held:
            result.append((max(counted - 1, 0) // 28 + 1, None))
        else:
            result.append((counted // 28 + 1, counted % 28 + 1))
            counted += 1
    return result


HORIZON = 400


@settings(max_examples=150, deadline=None)
@given(holds=holds_strategy())
def test_every_date_maps_to_exactly_one_cycle_day_or_a_hold(holds: list[Hold]) -> None:
    cal = calendar_of(holds)
    expected = simulate(holds, HORIZON)
    for offset, (cycle, day) in enumerate(expected):
        result = cal.day(START + timedelta(days=offset))
        assert (result.cycle, result.day) == (cycle, day)
        assert result.on_hold is (day is None)
        assert result.is_dosing_day is (day is not None and day <= 21)


@settings(max_examples=150, deadline=None)
@given(holds=holds_strategy())
def test_cycle_days_are_consecutive_across_calendar_days(holds: list[Hold]) -> None:
    cal = calendar_of(holds)
    previous = None
    for offset in range(HORIZON):
        result = cal.day(START + timedelta(days=offset))
        if result.on_hold:
            continue
        if previous is None:
            assert (result.cycle, result.day) == (1, 1)
        elif previous.day == 28:
            assert (result.cycle, result.day) == (previous.cycle + 1, 1)
        else:
            assert (result.cycle, result.day) == (previous.cycle, previous.day + 1)
        previous = result


@settings(max_examples=150, deadline=None)
@given(holds=holds_strategy())
def test_holds_never_shorten_a_cycle(holds: list[Hold]) -> None:
    cal = calendar_of(holds)
    for n in range(1, 15):
        this_start, next_start = cal.cycle_start(n), cal.cycle_start(n + 1)
        if next_start is None:
            break
        assert this_start is not None
        assert (next_start - this_start).days >= 28
        days_off_hold = sum(
            not cal.day(this_start + timedelta(days=i)).on_hold
            for i in range((next_start - this_start).days)
        )
        assert days_off_hold == 28
        assert cal.day(this_start).day == 1
        assert cal.day(this_start).cycle == n


@settings(max_examples=150, deadline=None)
@given(
    holds=holds_strategy(allow_open=False),
    gap=st.integers(0, 60),
    length=st.integers(1, 45),
)
def test_adding_a_hold_shifts_later_cycle_starts_by_its_length(
    holds: list[Hold], gap: int, length: int
) -> None:
    last_end = holds[-1].end if holds else START
    assert last_end is not None
    new_hold = Hold(last_end + timedelta(days=gap), last_end + timedelta(days=gap + length))
    before = calendar_of(holds)
    after = calendar_of([*holds, new_hold])
    for n in range(1, 20):
        old_start = before.cycle_start(n)
        assert old_start is not None
        shift = timedelta(days=length) if old_start >= new_hold.start else timedelta(0)
        assert after.cycle_start(n) == old_start + shift


@settings(max_examples=100, deadline=None)
@given(holds=holds_strategy(), offset=st.integers(0, HORIZON))
def test_next_cycle_start_is_the_start_of_the_following_cycle(
    holds: list[Hold], offset: int
) -> None:
    cal = calendar_of(holds)
    result = cal.day(START + timedelta(days=offset))
    assert result.next_cycle_start == cal.cycle_start(result.cycle + 1)
