"""Flag policy at every boundary (mutation testing, issue 13).

Expectations are typed here: flags from CTCAE grade 2, email from grade 3 (product defaults,
as their rule settings state); an overdue CBC while dosing is urgent once a whole CBC interval has passed
beyond the due date, and a cytopenia count is stale once older than the CBC interval
(clinical reference sec. 10). Never read from the module's DEFAULTS.
"""

from decimal import Decimal

import pytest

from monitoring.rules.flags import (
    cbc_overdue_severity,
    count_is_stale,
    cytopenia_flagged,
    cytopenia_severity,
    notify_for_grade,
)
from patients.rulebook import Threshold

ROUTINE, ATTENTION, URGENT, CRITICAL = 1, 2, 3, 4  # the severities the worklist sorts by


def _setting(key: str, value: int) -> dict[str, Threshold]:
    return {key: Threshold(key=key, value=Decimal(value), unit="", status="local", source="t")}


@pytest.mark.parametrize(("grade", "expected"), [(None, False), (1, False), (2, True), (3, True)])
def test_cytopenia_flag_from_grade_2(grade, expected):
    assert cytopenia_flagged(grade) is expected


def test_cytopenia_flag_follows_a_clinic_setting():
    setting = _setting("flags.cytopenia.min_grade", 3)
    assert cytopenia_flagged(2, setting) is False
    assert cytopenia_flagged(3, setting) is True
    assert cytopenia_flagged(None, setting) is False


@pytest.mark.parametrize(
    ("grade", "expected"), [(1, ROUTINE), (2, ATTENTION), (3, URGENT), (4, CRITICAL)]
)
def test_cytopenia_severity_per_grade(grade, expected):
    assert cytopenia_severity(grade) == expected


@pytest.mark.parametrize(
    ("grade", "expected"), [(None, False), (1, False), (2, False), (3, True), (4, True)]
)
def test_team_emailed_from_grade_3(grade, expected):
    assert notify_for_grade(grade) is expected


def test_team_email_follows_a_clinic_setting():
    setting = _setting("flags.notify.min_grade", 2)
    assert notify_for_grade(1, setting) is False
    assert notify_for_grade(2, setting) is True
    assert notify_for_grade(None, setting) is False


@pytest.mark.parametrize(
    ("days_past_due", "expected"), [(0, ATTENTION), (27, ATTENTION), (28, URGENT), (29, URGENT)]
)
def test_overdue_cbc_while_dosing_urgent_after_one_whole_interval(days_past_due, expected):
    assert (
        cbc_overdue_severity(
            days_past_due=days_past_due, interval_days=28, dosing=True, held_for_cytopenia=False
        )
        == expected
    )


@pytest.mark.parametrize("days_past_due", [0, 28, 29, 400])
def test_overdue_cbc_not_dosing_stays_attention(days_past_due):
    assert (
        cbc_overdue_severity(
            days_past_due=days_past_due, interval_days=28, dosing=False, held_for_cytopenia=False
        )
        == ATTENTION
    )


@pytest.mark.parametrize("dosing", [True, False])
def test_overdue_cbc_held_for_cytopenia_is_urgent_at_once(dosing):
    assert (
        cbc_overdue_severity(
            days_past_due=0, interval_days=7, dosing=dosing, held_for_cytopenia=True
        )
        == URGENT
    )


def test_overdue_cbc_follows_a_clinic_setting():
    setting = _setting("flags.cbc_overdue.urgent_after_intervals", 2)
    kwargs = {"interval_days": 14, "dosing": True, "held_for_cytopenia": False}
    assert cbc_overdue_severity(days_past_due=27, thresholds=setting, **kwargs) == ATTENTION
    assert cbc_overdue_severity(days_past_due=28, thresholds=setting, **kwargs) == URGENT


@pytest.mark.parametrize(("age", "expected"), [(27, False), (28, False), (29, True)])
def test_count_stale_once_older_than_the_interval(age, expected):
    assert count_is_stale(count_age_days=age, interval_days=28) is expected


def test_no_interval_nothing_is_stale():
    assert count_is_stale(count_age_days=10_000, interval_days=None) is False


def test_staleness_follows_a_clinic_setting():
    setting = _setting("flags.cytopenia.stale_after_intervals", 2)
    assert count_is_stale(count_age_days=14, interval_days=7, thresholds=setting) is False
    assert count_is_stale(count_age_days=15, interval_days=7, thresholds=setting) is True
