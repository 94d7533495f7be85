"""Follow-up calls after a course starts: 48-72 hours, 1 week, 1 month (clinical reference
sec. 10), each a versioned rule setting."""

from datetime import date
from decimal import Decimal

from patients.nursing.rules import DEFAULTS, EARLY, MONTH, WEEK, calls_after_start
from patients.rulebook import Threshold, thresholds_by_key

START = date(2026, 3, 2)


def test_default_calls_are_48_to_72_hours_one_week_and_one_month_after_the_start():
    calls = {call.kind: call for call in calls_after_start(START)}
    # 48 hours after a start on 2026-03-02 is 2026-03-04; 72 hours is 2026-03-05.
    assert (calls[EARLY].due_from, calls[EARLY].due_by) == (date(2026, 3, 4), date(2026, 3, 5))
    # One week: 2026-03-09; may be made up to 2 days late.
    assert (calls[WEEK].due_from, calls[WEEK].due_by) == (date(2026, 3, 9), date(2026, 3, 11))
    # One month (30 days): 2026-04-01.
    assert (calls[MONTH].due_from, calls[MONTH].due_by) == (date(2026, 4, 1), date(2026, 4, 3))


def test_each_call_cites_the_rule_settings_it_used():
    early = calls_after_start(START)[0]
    assert early.rule == (
        "followup.after_start.first_call_from_hours v1; followup.after_start.first_call_by_hours v1"
    )
    assert all(t.source for t in DEFAULTS)


def test_a_clinic_setting_changes_the_dates():
    table = thresholds_by_key(DEFAULTS)
    changed = Threshold(
        key="followup.after_start.week_call_days",
        value=Decimal(10),
        unit="days",
        status="common",
        source="Clinic protocol",
        version=2,
    )
    week = calls_after_start(START, {**table, changed.key: changed})[1]
    assert week.due_from == date(2026, 3, 12)
    assert "followup.after_start.week_call_days v2" in week.rule


def test_hours_round_down_to_whole_days_below_at_and_above_a_day_boundary():
    table = thresholds_by_key(DEFAULTS)

    def first_from(hours: int) -> date:
        threshold = Threshold(
            "followup.after_start.first_call_from_hours", Decimal(hours), "hours", "common", "t"
        )
        return calls_after_start(START, {**table, threshold.key: threshold})[0].due_from

    assert first_from(47) == date(2026, 3, 3)
    assert first_from(48) == date(2026, 3, 4)
    assert first_from(49) == date(2026, 3, 4)
