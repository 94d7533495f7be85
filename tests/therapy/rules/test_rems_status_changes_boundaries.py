"""rems_rules.status_changes, mutation round: the dates follow the clinic's rule settings
(authorization validity, expiring window, pregnancy test interval and due-soon window), a
change on ``as_of`` itself is not a later date, and regular menses set the 4-week interval
after the weekly phase (reference sec. 5: weekly for 4 weeks, then every 4 weeks with
regular menses, every 2 with irregular). Dates worked out by hand."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

from therapy.rems_rules import DEFAULTS, RemsSnapshot, RiskCategory, rems_status, status_changes

BY_KEY = {t.key: t for t in DEFAULTS}


def clinic(**values):
    """Rule settings: ``name=days`` for ``rems.<name with dots>``."""
    table = {}
    for name, days in values.items():
        key = "rems." + name.replace("__", ".")
        table[key] = replace(BY_KEY[key], value=Decimal(days), status="common", source="clinic")
    return table


def fcbp(**changes) -> RemsSnapshot:
    values = {
        "risk_category": RiskCategory.FCBP_ADULT,
        "enrolled_on": date(2025, 1, 1),
        "agreement_signed": True,
        "authorization_obtained_on": date(2025, 3, 10),
        "last_survey_on": date(2025, 3, 9),
        "prescriber_certification_expires_on": date(2026, 1, 31),
        "therapy_start": date(2025, 3, 3),
        "last_negative_pregnancy_test": date(2025, 3, 9),
    }
    return RemsSnapshot(**{**values, **changes})


CLINIC = clinic(
    authorization__fcbp_valid_days=10,  # obtained 10 March: valid through the 19th
    authorization__expiring_within_days=2,  # expiring from the 17th
    pregnancy_test__weekly_interval_days=5,  # test of 9 March: next due the 14th
    pregnancy_test__due_soon_days=1,  # due soon from the 13th
)


def test_the_dates_follow_the_clinic_settings():
    assert status_changes(fcbp(), as_of=date(2025, 3, 10), thresholds=CLINIC) == (
        (date(2025, 3, 13), "pregnancy test due"),
        (date(2025, 3, 15), "pregnancy test overdue"),
        (date(2025, 3, 17), "authorization expiring"),
        (date(2025, 3, 20), "authorization expired"),
        (date(2026, 1, 1), "prescriber certification expiring"),
        (date(2026, 2, 1), "prescriber certification expired"),
    )


def test_the_status_under_the_clinic_settings_changes_on_those_dates():
    def actions(day):
        return rems_status(fcbp(), as_of=date(2025, 3, day), thresholds=CLINIC).values["actions"]

    assert "pregnancy_test_due" not in actions(12)
    assert "pregnancy_test_due" in actions(13)
    assert "pregnancy_test_overdue" not in actions(14)
    assert "pregnancy_test_overdue" in actions(15)
    assert "authorization_expiring" not in actions(16)
    assert "authorization_expiring" in actions(17)
    assert "authorization_expired" not in actions(19)
    assert "authorization_expired" in actions(20)


def test_a_change_on_as_of_is_not_a_later_date():
    # Defaults: the test due 16 March is due soon, and the authorization of 10 March
    # expiring, from the 13th.
    assert status_changes(fcbp(), as_of=date(2025, 3, 12))[0][0] == date(2025, 3, 13)
    assert status_changes(fcbp(), as_of=date(2025, 3, 13))[0] == (
        date(2025, 3, 17),
        "authorization expired",
    )


def test_after_the_weekly_phase_regular_menses_test_every_4_weeks_irregular_every_2():
    # Therapy from 6 January: the weekly phase ends 3 February; a test on 3 March.
    after = {
        "therapy_start": date(2025, 1, 6),
        "last_negative_pregnancy_test": date(2025, 3, 3),
        "authorization_obtained_on": None,
        "prescriber_certification_expires_on": None,
    }
    regular = status_changes(fcbp(**after, menses_regular=True), as_of=date(2025, 3, 3))
    assert regular == (
        (date(2025, 3, 28), "pregnancy test due"),  # due 31 March
        (date(2025, 4, 1), "pregnancy test overdue"),
    )
    irregular = status_changes(fcbp(**after, menses_regular=False), as_of=date(2025, 3, 3))
    assert irregular == (
        (date(2025, 3, 14), "pregnancy test due"),  # due 17 March
        (date(2025, 3, 18), "pregnancy test overdue"),
    )
