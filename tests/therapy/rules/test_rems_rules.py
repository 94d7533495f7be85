from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from patients.rulebook import Finding, SourceStatus, Threshold
from therapy.rems_rules import (
    ACTIONS,
    DEFAULTS,
    PregnancyTest,
    RemsSnapshot,
    RiskCategory,
    authorization_expiry,
    can_become_pregnant,
    next_pregnancy_test_due,
    pre_start_pregnancy_tests,
    pregnancy_test_status,
    rems_status,
    suggest_risk_category,
    validate_days_supply,
)

D = Decimal


def test_every_default_is_namespaced_unique_and_sourced() -> None:
    keys = [t.key for t in DEFAULTS]
    assert len(keys) == len(set(keys))
    for threshold in DEFAULTS:
        assert threshold.key.startswith("rems.")
        assert threshold.unit and threshold.source
        assert threshold.status in dict(SourceStatus.CHOICES)


# --- Who can become pregnant -------------------------------------------------------------


@pytest.mark.parametrize(
    ("sex", "menses", "hysterectomy", "oophorectomy", "outcome"),
    [
        ("female", True, False, False, "yes"),
        ("female", False, False, False, "no"),
        ("female", None, False, False, "unknown"),
        ("female", True, True, False, "no"),
        ("female", True, False, True, "no"),
        ("female", None, True, False, "no"),
        ("male", None, False, False, "no"),
    ],
)
def test_can_become_pregnant_follows_the_label_definition(
    sex: str, menses: bool | None, hysterectomy: bool, oophorectomy: bool, outcome: str
) -> None:
    finding = can_become_pregnant(
        sex_at_birth=sex,
        menses_in_past_24_months=menses,
        hysterectomy=hysterectomy,
        bilateral_oophorectomy=oophorectomy,
    )
    assert finding.rule_id == "rems.can_become_pregnant"
    assert finding.outcome == outcome
    assert finding.thresholds[0].key == "rems.fcbp.menses_lookback_months"


def test_amenorrhea_after_cancer_therapy_does_not_rule_out_pregnancy() -> None:
    finding = can_become_pregnant(
        sex_at_birth="female",
        menses_in_past_24_months=False,
        hysterectomy=False,
        bilateral_oophorectomy=False,
        amenorrhea_after_cancer_therapy=True,
    )
    assert finding.outcome == "yes"


def test_unknown_sex_at_birth_is_rejected() -> None:
    with pytest.raises(ValueError, match="sex_at_birth"):
        can_become_pregnant(
            sex_at_birth="unknown",
            menses_in_past_24_months=None,
            hysterectomy=False,
            bilateral_oophorectomy=False,
        )


# --- Risk categories ---------------------------------------------------------------------


def test_every_risk_category_has_a_display_label() -> None:
    assert set(RiskCategory.LABELS) == {
        "fcbp_adult",
        "fcbp_child",
        "fncbp_adult",
        "fncbp_child",
        "male_adult",
        "male_child",
    }
    assert RiskCategory.LABELS["fcbp_adult"] == "Adult female who can become pregnant"


@pytest.mark.parametrize(
    ("sex", "age", "can", "category"),
    [
        ("female", 18, True, "fcbp_adult"),
        ("female", "17.9", True, "fcbp_child"),
        ("female", 19, True, "fcbp_adult"),
        ("female", 60, False, "fncbp_adult"),
        ("female", 12, False, "fncbp_child"),
        ("male", 18, False, "male_adult"),
        ("male", 17, False, "male_child"),
        ("female", 40, None, "fcbp_adult"),
    ],
)
def test_risk_category_suggestion_splits_adults_at_18(
    sex: str, age: object, can: bool | None, category: str
) -> None:
    finding = suggest_risk_category(sex_at_birth=sex, age_years=age, can_become_pregnant=can)
    assert finding.outcome == category


def test_undocumented_childbearing_potential_gets_the_protective_category() -> None:
    finding = suggest_risk_category(sex_at_birth="female", age_years=40, can_become_pregnant=None)
    assert "protective default" in finding.message


# --- Pregnancy tests before the first prescription -------------------------------------

RX_AT = datetime(2025, 3, 20, 10, 0, tzinfo=UTC)
RX_DAY = RX_AT.date()


def negative(
    days_before: int, hours_before: int | None = None, sensitivity: str = "25"
) -> PregnancyTest:
    collected_at = None if hours_before is None else RX_AT - timedelta(hours=hours_before)
    collected_on = collected_at.date() if collected_at else RX_DAY - timedelta(days=days_before)
    return PregnancyTest(collected_on, "negative", D(sensitivity), collected_at)


def pre_start(*tests: PregnancyTest) -> Finding:
    return pre_start_pregnancy_tests(tests=list(tests), prescription_at=RX_AT)


def test_two_negative_tests_in_the_windows_meet_the_requirement() -> None:
    finding = pre_start(negative(12), negative(0, hours_before=2))
    assert finding.outcome == "met"
    assert finding.values["missing"] == []
    assert finding.values["early_test_on"] == RX_DAY - timedelta(days=12)


@pytest.mark.parametrize(
    ("days_before", "counts"),
    [(9, False), (10, True), (11, True), (13, True), (14, True), (15, False)],
)
def test_first_test_must_be_10_to_14_days_before(days_before: int, counts: bool) -> None:
    finding = pre_start(negative(days_before), negative(0, hours_before=2))
    assert ("test_10_14_days_before" not in finding.values["missing"]) is counts


@pytest.mark.parametrize(
    ("hours_before", "counts"), [(23, True), (24, True), (25, False), (0, True)]
)
def test_second_test_must_be_within_24_hours_before(hours_before: int, counts: bool) -> None:
    finding = pre_start(negative(12), negative(0, hours_before=hours_before))
    assert (finding.outcome == "met") is counts


def test_a_test_after_the_prescription_does_not_count() -> None:
    after = PregnancyTest(RX_DAY, "negative", D("25"), RX_AT + timedelta(minutes=5))
    assert pre_start(negative(12), after).outcome == "not_met"


@pytest.mark.parametrize(("sensitivity", "counts"), [("49", True), ("50", True), ("51", False)])
def test_tests_must_detect_hcg_at_50_miu_ml_or_lower(sensitivity: str, counts: bool) -> None:
    finding = pre_start(negative(12), negative(0, hours_before=2, sensitivity=sensitivity))
    assert (finding.outcome == "met") is counts


def test_a_test_of_unknown_sensitivity_is_counted_as_unverified() -> None:
    unknown = PregnancyTest(RX_DAY - timedelta(days=12), "negative", None)
    finding = pre_start(unknown, negative(0, hours_before=2))
    assert finding.outcome == "not_met"
    assert finding.values["unverified"] == 1


def test_a_date_only_test_cannot_fill_the_24_hour_window() -> None:
    finding = pre_start(negative(12), negative(0))
    assert finding.values["missing"] == ["test_within_24_hours_before"]


def test_one_test_cannot_fill_both_windows() -> None:
    assert pre_start(negative(0, hours_before=1)).values["missing"] == ["test_10_14_days_before"]


def test_a_positive_test_means_do_not_prescribe() -> None:
    positive = PregnancyTest(RX_DAY - timedelta(days=3), "positive", D("25"))
    finding = pre_start(negative(12), positive, negative(0, hours_before=2))
    assert finding.outcome == "positive"
    assert "do not prescribe" in finding.message


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        pre_start_pregnancy_tests(tests=[], prescription_at=datetime(2025, 3, 20, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        PregnancyTest(RX_DAY, "negative", D("25"), datetime(2025, 3, 20, 9))


def test_invalid_results_are_rejected() -> None:
    with pytest.raises(ValueError, match="result"):
        PregnancyTest(RX_DAY, "equivocal", D("25"))


# --- Pregnancy tests during therapy ----------------------------------------------------

START = date(2025, 4, 1)


@pytest.mark.parametrize(
    ("last_test_day", "regular", "due_day"),
    [
        (0, True, 7),
        (21, True, 28),
        (27, True, 34),
        (27, False, 34),
        (28, True, 56),
        (28, False, 42),
        (29, True, 57),
        (-1, True, 6),
    ],
)
def test_pregnancy_tests_are_weekly_for_4_weeks_then_every_4_or_2_weeks(
    last_test_day: int, regular: bool, due_day: int
) -> None:
    due = next_pregnancy_test_due(
        therapy_start=START,
        last_negative_test=START + timedelta(days=last_test_day),
        menses_regular=regular,
    )
    assert due == START + timedelta(days=due_day)


def test_without_a_test_on_record_one_is_due_at_therapy_start() -> None:
    due = next_pregnancy_test_due(therapy_start=START, last_negative_test=None, menses_regular=True)
    assert due == START


@pytest.mark.parametrize(
    ("days_until_due", "outcome"),
    [(4, "ok"), (3, "due_soon"), (2, "due_soon"), (0, "due_soon"), (-1, "overdue")],
)
def test_pregnancy_test_status_around_due_soon_and_overdue(
    days_until_due: int, outcome: str
) -> None:
    last = START + timedelta(days=60)
    due = last + timedelta(days=28)
    finding = pregnancy_test_status(
        therapy_start=START,
        last_negative_test=last,
        menses_regular=True,
        as_of=due - timedelta(days=days_until_due),
    )
    assert finding.outcome == outcome
    assert finding.values["due_on"] == due


# --- Authorizations and prescriptions ------------------------------------------------


@pytest.mark.parametrize(
    ("category", "last_valid_day"),
    [
        ("fcbp_adult", 6),
        ("fcbp_child", 6),
        ("fncbp_adult", 29),
        ("fncbp_child", 29),
        ("male_adult", 29),
        ("male_child", 29),
    ],
)
def test_authorization_is_valid_7_days_for_fcbp_and_30_days_otherwise(
    category: str, last_valid_day: int
) -> None:
    obtained = date(2025, 5, 5)
    expires = authorization_expiry(obtained_on=obtained, risk_category=category)
    assert expires == obtained + timedelta(days=last_valid_day)


def test_unknown_risk_category_is_rejected() -> None:
    with pytest.raises(ValueError, match="risk category"):
        authorization_expiry(obtained_on=START, risk_category="adult")


@pytest.mark.parametrize(("days", "outcome"), [(27, "ok"), (28, "ok"), (29, "too_long")])
def test_days_supply_is_at_most_28(days: int, outcome: str) -> None:
    assert validate_days_supply(days).outcome == outcome


def test_days_supply_must_be_positive() -> None:
    with pytest.raises(ValueError):
        validate_days_supply(0)


# --- REMS status -----------------------------------------------------------------------

AS_OF = date(2025, 6, 15)


def snapshot(category: str, **changes: object) -> RemsSnapshot:
    """A fully compliant patient of the category on AS_OF, adjusted by ``changes``."""
    fcbp = category.startswith("fcbp")
    base = RemsSnapshot(
        risk_category=category,
        enrolled_on=date(2025, 1, 1),
        agreement_signed=True,
        authorization_obtained_on=AS_OF - timedelta(days=1 if fcbp else 10),
        last_survey_on=AS_OF - timedelta(days=2 if fcbp else 10),
        prescriber_certification_expires_on=date(2026, 1, 1),
        therapy_start=date(2025, 1, 10) if fcbp else None,
        last_negative_pregnancy_test=AS_OF - timedelta(days=2) if fcbp else None,
        menses_regular=True,
    )
    return replace(base, **changes)


@pytest.mark.parametrize("category", list(RiskCategory.LABELS))
def test_a_compliant_patient_of_each_category_needs_no_action(category: str) -> None:
    finding = rems_status(snapshot(category), as_of=AS_OF)
    assert finding.outcome == "compliant"
    assert finding.values["actions"] == []
    assert finding.rule_id == "rems.status"


@pytest.mark.parametrize("category", list(RiskCategory.LABELS))
@pytest.mark.parametrize(
    ("changes", "action"),
    [
        ({"enrolled_on": None}, "enrollment_missing"),
        ({"agreement_signed": False}, "enrollment_missing"),
        ({"prescriber_certification_expires_on": None}, "prescriber_certification_expired"),
        (
            {"prescriber_certification_expires_on": AS_OF - timedelta(days=1)},
            "prescriber_certification_expired",
        ),
        ({"prescriber_certification_expires_on": AS_OF}, "prescriber_certification_expiring"),
        (
            {"prescriber_certification_expires_on": AS_OF + timedelta(days=30)},
            "prescriber_certification_expiring",
        ),
        ({"authorization_obtained_on": None, "last_survey_on": AS_OF}, "no_authorization"),
        ({"authorization_expires_on": AS_OF - timedelta(days=1)}, "authorization_expired"),
        ({"authorization_expires_on": AS_OF}, "authorization_expiring"),
        ({"authorization_expires_on": AS_OF + timedelta(days=3)}, "authorization_expiring"),
    ],
)
def test_each_category_reports_enrollment_certification_and_authorization_actions(
    category: str, changes: dict[str, object], action: str
) -> None:
    finding = rems_status(snapshot(category, **changes), as_of=AS_OF)
    assert finding.outcome == "action_needed"
    assert action in finding.values["actions"]


@pytest.mark.parametrize("category", list(RiskCategory.LABELS))
@pytest.mark.parametrize(
    "changes",
    [
        {"prescriber_certification_expires_on": AS_OF + timedelta(days=31)},
        {"authorization_expires_on": AS_OF + timedelta(days=4)},
    ],
)
def test_expiry_just_outside_the_window_is_not_flagged(
    category: str, changes: dict[str, object]
) -> None:
    assert rems_status(snapshot(category, **changes), as_of=AS_OF).outcome == "compliant"


@pytest.mark.parametrize("category", ["fncbp_adult", "fncbp_child", "male_adult", "male_child"])
@pytest.mark.parametrize(("days_since_survey", "due"), [(29, False), (30, True), (31, True)])
def test_other_categories_take_a_survey_every_30_days(
    category: str, days_since_survey: int, due: bool
) -> None:
    state = snapshot(category, last_survey_on=AS_OF - timedelta(days=days_since_survey))
    assert ("survey_due" in rems_status(state, as_of=AS_OF).values["actions"]) is due


@pytest.mark.parametrize("category", ["fcbp_adult", "fcbp_child"])
def test_fcbp_survey_is_due_before_the_next_prescription(category: str) -> None:
    # Authorization obtained 5 days ago expires in 1 day: the next prescription is near
    # and the last survey belongs to the current authorization.
    obtained = AS_OF - timedelta(days=5)
    state = snapshot(category, authorization_obtained_on=obtained, last_survey_on=obtained)
    actions = rems_status(state, as_of=AS_OF).values["actions"]
    assert actions == ["authorization_expiring", "survey_due"]


@pytest.mark.parametrize("category", ["fcbp_adult", "fcbp_child"])
def test_fcbp_survey_done_after_the_last_authorization_is_not_due(category: str) -> None:
    obtained = AS_OF - timedelta(days=5)
    state = snapshot(category, authorization_obtained_on=obtained, last_survey_on=AS_OF)
    assert rems_status(state, as_of=AS_OF).values["actions"] == ["authorization_expiring"]


@pytest.mark.parametrize("category", list(RiskCategory.LABELS))
def test_no_survey_on_record_is_due(category: str) -> None:
    state = snapshot(category, last_survey_on=None)
    assert "survey_due" in rems_status(state, as_of=AS_OF).values["actions"]


@pytest.mark.parametrize("category", ["fcbp_adult", "fcbp_child"])
@pytest.mark.parametrize(
    ("days_since_test", "action"),
    [
        (24, None),
        (25, "pregnancy_test_due"),
        (28, "pregnancy_test_due"),
        (29, "pregnancy_test_overdue"),
    ],
)
def test_fcbp_pregnancy_tests_are_tracked_in_rems_status(
    category: str, days_since_test: int, action: str | None
) -> None:
    state = snapshot(category, last_negative_pregnancy_test=AS_OF - timedelta(days=days_since_test))
    actions = rems_status(state, as_of=AS_OF).values["actions"]
    assert actions == ([action] if action else [])


@pytest.mark.parametrize("category", ["fncbp_adult", "fncbp_child", "male_adult", "male_child"])
def test_other_categories_never_need_pregnancy_tests(category: str) -> None:
    state = snapshot(category, therapy_start=date(2025, 1, 10), last_negative_pregnancy_test=None)
    assert rems_status(state, as_of=AS_OF).outcome == "compliant"


def test_actions_come_in_a_stable_order_from_the_known_codes() -> None:
    state = snapshot(
        "fcbp_adult",
        enrolled_on=None,
        prescriber_certification_expires_on=None,
        authorization_obtained_on=None,
        last_survey_on=None,
        last_negative_pregnancy_test=None,
    )
    actions = rems_status(state, as_of=AS_OF).values["actions"]
    assert actions == [
        "enrollment_missing",
        "prescriber_certification_expired",
        "no_authorization",
        "survey_due",
        "pregnancy_test_overdue",
    ]
    assert set(actions) <= set(ACTIONS)


def test_rems_windows_follow_clinic_settings() -> None:
    wider = Threshold(
        "rems.authorization.expiring_within_days", D("5"), "days", SourceStatus.COMMON, "clinic"
    )
    state = snapshot("male_adult", authorization_expires_on=AS_OF + timedelta(days=5))
    finding = rems_status(
        state, as_of=AS_OF, thresholds={"rems.authorization.expiring_within_days": wider}
    )
    assert finding.values["actions"] == ["authorization_expiring"]
    assert wider in finding.thresholds


@pytest.mark.parametrize(
    ("menses", "words"),
    [(True, "Menses in the past 24 months"), (False, "No menses for 24 consecutive months")],
)
def test_the_menses_look_back_in_force_is_24_months(menses, words):
    # Label (reference sec. 5): "menses in the past 24 consecutive months".
    from therapy.rems_rules import can_become_pregnant

    finding = can_become_pregnant(
        sex_at_birth="female",
        menses_in_past_24_months=menses,
        hysterectomy=False,
        bilateral_oophorectomy=False,
    )
    assert finding.message == words
    assert finding.thresholds[0].value == Decimal("24")
    assert finding.thresholds[0].unit == "months"
