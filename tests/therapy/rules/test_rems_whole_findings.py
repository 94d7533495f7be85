"""Whole REMS findings (reference sec. 5): every word, value, threshold and source a REMS
administrator or physician reads, for each branch, so none can change unnoticed."""

from decimal import Decimal

import pytest

from patients.rulebook import SourceStatus, Threshold
from therapy.rems_rules import (
    can_become_pregnant,
    suggest_risk_category,
    surgery_rules_out_pregnancy,
    validate_days_supply,
)

D = Decimal
PI = "Lenalidomide US PI, 5.1 Embryo-fetal toxicity and 8.3 Females of reproductive potential"
REMS = "Lenalidomide REMS program (shared by Revlimid and generics)"


def _facts(**changes):
    facts = {
        "sex_at_birth": "female",
        "menses_in_past_24_months": None,
        "hysterectomy": False,
        "bilateral_oophorectomy": False,
        "amenorrhea_after_cancer_therapy": False,
    }
    return {**facts, **changes}


@pytest.mark.parametrize(
    ("changes", "outcome", "message"),
    [
        ({"sex_at_birth": "male"}, "no", "Male: cannot become pregnant"),
        ({"hysterectomy": True}, "no", "Hysterectomy or bilateral oophorectomy"),
        ({"bilateral_oophorectomy": True}, "no", "Hysterectomy or bilateral oophorectomy"),
        (
            {"amenorrhea_after_cancer_therapy": True, "menses_in_past_24_months": False},
            "yes",
            "Amenorrhea after cancer therapy does not rule out pregnancy",
        ),
        (
            {},
            "unknown",
            "Menses in the past 24 months not recorded: treat as able to become pregnant",
        ),
        ({"menses_in_past_24_months": True}, "yes", "Menses in the past 24 months"),
        ({"menses_in_past_24_months": False}, "no", "No menses for 24 consecutive months"),
    ],
)
def test_can_become_pregnant_in_full(changes, outcome, message):
    facts = _facts(**changes)
    finding = can_become_pregnant(**facts)
    assert (finding.rule_id, finding.outcome, finding.message) == (
        "rems.can_become_pregnant",
        outcome,
        message,
    )
    assert finding.values == facts
    assert [t.key for t in finding.thresholds] == ["rems.fcbp.menses_lookback_months"]
    assert finding.source == PI


def test_can_become_pregnant_follows_the_clinics_look_back():
    twelve = Threshold(
        "rems.fcbp.menses_lookback_months", D("12"), "months", SourceStatus.COMMON, "clinic"
    )
    finding = can_become_pregnant(
        **_facts(menses_in_past_24_months=True),
        thresholds={"rems.fcbp.menses_lookback_months": twelve},
    )
    assert finding.message == "Menses in the past 12 months"


@pytest.mark.parametrize(
    ("hysterectomy", "oophorectomy", "words"),
    [
        (False, False, ""),
        (True, False, "hysterectomy"),
        (False, True, "bilateral oophorectomy"),
        (True, True, "hysterectomy and bilateral oophorectomy"),
    ],
)
def test_surgery_named_in_words(hysterectomy, oophorectomy, words):
    assert (
        surgery_rules_out_pregnancy(hysterectomy=hysterectomy, bilateral_oophorectomy=oophorectomy)
        == words
    )


@pytest.mark.parametrize(
    ("sex", "can", "surgery", "outcome", "message", "source"),
    [
        ("male", None, {}, "male_adult", "Adult male", REMS),
        ("female", False, {}, "fncbp_adult", "Adult female who cannot become pregnant", REMS),
        ("female", True, {}, "fcbp_adult", "Adult female who can become pregnant", REMS),
        (
            "female",
            None,
            {},
            "fcbp_adult",
            "Adult female who can become pregnant (childbearing potential not documented: "
            "protective default)",
            REMS,
        ),
        (
            "female",
            None,
            {"hysterectomy": True},
            "fncbp_adult",
            "Adult female who cannot become pregnant (recorded hysterectomy: cannot become "
            "pregnant by the label's definition; the physician confirms at enrollment)",
            f"{REMS}; {PI}",
        ),
        (
            "female",
            True,
            {"bilateral_oophorectomy": True},
            "fcbp_adult",
            "Adult female who can become pregnant (assessed as able to become pregnant, but a "
            "bilateral oophorectomy is recorded: the physician reviews the record)",
            REMS,
        ),
        (
            "female",
            False,
            {"hysterectomy": True},
            "fncbp_adult",
            "Adult female who cannot become pregnant",
            REMS,
        ),
        ("male", None, {"hysterectomy": True}, "male_adult", "Adult male", REMS),
    ],
)
def test_suggested_category_in_full(sex, can, surgery, outcome, message, source):
    finding = suggest_risk_category(
        sex_at_birth=sex, age_years=44, can_become_pregnant=can, **surgery
    )
    assert (finding.rule_id, finding.outcome, finding.message, finding.source) == (
        "rems.suggest_risk_category",
        outcome,
        message,
        source,
    )
    assert finding.values == {
        "sex_at_birth": sex,
        "age_years": D("44"),
        "can_become_pregnant": can,
        "hysterectomy": surgery.get("hysterectomy", False),
        "bilateral_oophorectomy": surgery.get("bilateral_oophorectomy", False),
    }
    assert [t.key for t in finding.thresholds] == ["rems.adult_age_years"]


@pytest.mark.parametrize(("age", "group"), [("17", "child"), ("18", "adult"), ("19", "adult")])
def test_adult_from_18_and_the_clinics_age_applies(age, group):
    # REMS categories (sec. 5): adult or child; 18 years (common).
    assert (
        suggest_risk_category(sex_at_birth="male", age_years=age, can_become_pregnant=False).outcome
        == f"male_{group}"
    )
    twenty = Threshold("rems.adult_age_years", D("20"), "years", SourceStatus.COMMON, "clinic")
    assert (
        suggest_risk_category(
            sex_at_birth="male",
            age_years=age,
            can_become_pregnant=False,
            thresholds={"rems.adult_age_years": twenty},
        ).outcome
        == "male_child"
    )


def test_an_age_that_is_not_a_number_is_named():
    with pytest.raises(ValueError, match=r"^age_years must be a number, got 'old'$"):
        suggest_risk_category(sex_at_birth="male", age_years="old", can_become_pregnant=False)


@pytest.mark.parametrize(
    ("days", "outcome", "message"),
    [
        (1, "ok", "1-day supply is within the 28-day maximum"),
        (2, "ok", "2-day supply is within the 28-day maximum"),
        (27, "ok", "27-day supply is within the 28-day maximum"),
        (28, "ok", "28-day supply is within the 28-day maximum"),
        (29, "too_long", "29-day supply exceeds the 28-day maximum"),
    ],
)
def test_days_supply_in_full(days, outcome, message):
    # Sec. 5: at most a 28-day supply.
    finding = validate_days_supply(days)
    assert (finding.rule_id, finding.outcome, finding.message, finding.source) == (
        "rems.validate_days_supply",
        outcome,
        message,
        REMS,
    )
    assert finding.values == {"days_supply": days}
    assert [t.key for t in finding.thresholds] == ["rems.prescription.max_days_supply"]


@pytest.mark.parametrize("days", [0, -1])
def test_a_supply_below_one_day_is_refused(days):
    with pytest.raises(ValueError, match=r"^days_supply must be at least 1$"):
        validate_days_supply(days)


# --- Pregnancy tests on therapy, authorizations and the overall status --------------------

from datetime import date, timedelta  # noqa: E402

from therapy.rems_rules import (  # noqa: E402
    RemsSnapshot,
    authorization_expiry,
    next_pregnancy_test_due,
    pregnancy_test_status,
    rems_status,
)

START = date(2026, 1, 5)


def _clinic(key, value, unit="days"):
    return {key: Threshold(key, D(value), unit, SourceStatus.COMMON, "clinic policy")}


def test_next_test_follows_the_clinics_interval():
    # Regular menses: every 4 weeks by the label; a clinic testing every 21 days is obeyed.
    clinic = _clinic("rems.pregnancy_test.regular_interval_days", "21")
    last = START + timedelta(days=40)
    due = next_pregnancy_test_due(
        therapy_start=START, last_negative_test=last, menses_regular=True, thresholds=clinic
    )
    assert due == last + timedelta(days=21)


@pytest.mark.parametrize(
    ("as_of_offset", "outcome", "message"),
    [
        (0, "ok", "Next pregnancy test due on 2026-03-12"),  # 28 days after 2026-02-12
        (24, "ok", "Next pregnancy test due on 2026-03-12"),  # 4 days before: not yet soon
        (25, "due_soon", "Pregnancy test due on 2026-03-12"),  # 3 days before
        (28, "due_soon", "Pregnancy test due on 2026-03-12"),  # the due day itself
        (29, "overdue", "Pregnancy test overdue since 2026-03-12"),
    ],
)
def test_pregnancy_test_status_in_full(as_of_offset, outcome, message):
    last = date(2026, 2, 12)  # after the weekly first 4 weeks: every 28 days (regular)
    as_of = last + timedelta(days=as_of_offset)
    finding = pregnancy_test_status(
        therapy_start=START, last_negative_test=last, menses_regular=True, as_of=as_of
    )
    assert (finding.rule_id, finding.outcome, finding.message, finding.source) == (
        "rems.pregnancy_test_status",
        outcome,
        message,
        PI,
    )
    assert finding.values == {
        "therapy_start": START,
        "last_negative_test": last,
        "menses_regular": True,
        "due_on": date(2026, 3, 12),
        "days_until_due": 28 - as_of_offset,
        "as_of": as_of,
    }
    assert [t.key for t in finding.thresholds] == [
        "rems.pregnancy_test.weekly_phase_days",
        "rems.pregnancy_test.weekly_interval_days",
        "rems.pregnancy_test.regular_interval_days",
        "rems.pregnancy_test.irregular_interval_days",
        "rems.pregnancy_test.due_soon_days",
    ]


def test_pregnancy_test_status_follows_the_clinics_settings():
    last = date(2026, 2, 12)
    clinic = {
        **_clinic("rems.pregnancy_test.regular_interval_days", "21"),
        **_clinic("rems.pregnancy_test.due_soon_days", "5"),
    }
    finding = pregnancy_test_status(
        therapy_start=START,
        last_negative_test=last,
        menses_regular=True,
        as_of=last + timedelta(days=16),
        thresholds=clinic,
    )
    assert (finding.outcome, finding.values["due_on"]) == ("due_soon", date(2026, 3, 5))
    assert finding.thresholds[-1].value == D("5")


def test_authorization_expiry_follows_the_clinics_validity():
    clinic = _clinic("rems.authorization.fcbp_valid_days", "5")
    expires = authorization_expiry(obtained_on=START, risk_category="fcbp_adult", thresholds=clinic)
    assert expires == START + timedelta(days=4)


def _snapshot(**changes):
    snapshot = {
        "risk_category": "fcbp_adult",
        "enrolled_on": date(2025, 12, 1),
        "agreement_signed": True,
        "authorization_obtained_on": date(2026, 3, 1),
        "last_survey_on": date(2026, 3, 1),
        "prescriber_certification_expires_on": date(2027, 1, 1),
        "therapy_start": START,
        "last_negative_pregnancy_test": date(2026, 2, 26),
        "menses_regular": True,
    }
    return RemsSnapshot(**{**snapshot, **changes})


def test_rems_status_compliant_in_full():
    finding = rems_status(_snapshot(), as_of=date(2026, 3, 2))
    assert (finding.rule_id, finding.outcome, finding.message, finding.source) == (
        "rems.status",
        "compliant",
        "REMS up to date",
        REMS,
    )
    assert finding.values == {
        "actions": [],
        "risk_category": "fcbp_adult",
        "authorization_expires_on": date(2026, 3, 7),  # 7 days, the day obtained is day 1
        "as_of": date(2026, 3, 2),
    }
    assert [t.key for t in finding.thresholds] == [
        "rems.authorization.fcbp_valid_days",
        "rems.authorization.expiring_within_days",
        "rems.prescriber_certification.expiring_within_days",
        "rems.pregnancy_test.due_soon_days",
    ]


def test_rems_status_actions_in_words():
    finding = rems_status(
        _snapshot(authorization_obtained_on=None, last_negative_pregnancy_test=date(2026, 1, 30)),
        as_of=date(2026, 3, 2),
    )
    assert finding.outcome == "action_needed"
    assert finding.message == "no authorization; pregnancy test overdue"
    assert finding.values["actions"] == ["no_authorization", "pregnancy_test_overdue"]


def test_rems_status_uses_the_clinics_settings_for_expiry_and_tests():
    clinic = {
        **_clinic("rems.authorization.fcbp_valid_days", "3"),
        **_clinic("rems.pregnancy_test.regular_interval_days", "4"),
    }
    finding = rems_status(_snapshot(), as_of=date(2026, 3, 2), thresholds=clinic)
    assert finding.values["authorization_expires_on"] == date(2026, 3, 3)
    assert "pregnancy_test_due" in finding.values["actions"]
    assert "authorization_expiring" in finding.values["actions"]


def test_male_status_cites_the_survey_interval():
    finding = rems_status(_snapshot(risk_category="male_adult"), as_of=date(2026, 3, 2))
    assert [t.key for t in finding.thresholds] == [
        "rems.authorization.other_valid_days",
        "rems.authorization.expiring_within_days",
        "rems.prescriber_certification.expiring_within_days",
        "rems.survey.other_interval_days",
    ]


def test_an_unknown_sex_is_refused_in_words():
    with pytest.raises(ValueError, match=r"^sex_at_birth must be 'female' or 'male'$"):
        suggest_risk_category(sex_at_birth="x", age_years=40, can_become_pregnant=None)


from datetime import datetime, tzinfo  # noqa: E402

from therapy.rems_rules import PregnancyTest  # noqa: E402


class _NoOffset(tzinfo):
    """A time zone that does not know its offset: not usable for a 24-hour window."""

    def utcoffset(self, dt):
        return None


def test_pregnancy_test_refuses_an_unknown_result_in_words():
    with pytest.raises(ValueError, match=r"^result must be 'negative' or 'positive'$"):
        PregnancyTest(date(2026, 1, 1), "unclear", D("25"))


@pytest.mark.parametrize(
    "moment", [datetime(2026, 1, 1, 9), datetime(2026, 1, 1, 9, tzinfo=_NoOffset())]
)
def test_pregnancy_test_time_must_know_its_offset(moment):
    with pytest.raises(ValueError, match=r"^collected_at must be timezone-aware$"):
        PregnancyTest(date(2026, 1, 1), "negative", D("25"), moment)


def test_pregnancy_test_sensitivity_is_a_decimal_or_refused_in_words():
    test = PregnancyTest(date(2026, 1, 1), "negative", "25")
    assert test.sensitivity_miu_ml == D("25") and isinstance(test.sensitivity_miu_ml, Decimal)
    with pytest.raises(ValueError, match=r"^sensitivity_miu_ml must be a number, got 'high'$"):
        PregnancyTest(date(2026, 1, 1), "negative", "high")


def test_days_supply_follows_the_clinics_maximum():
    clinic = _clinic("rems.prescription.max_days_supply", "30")
    assert validate_days_supply(29, clinic).outcome == "ok"


from datetime import UTC  # noqa: E402

from therapy.rems_rules import pre_start_pregnancy_tests  # noqa: E402

RX = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


def _test(hours_before, result="negative", sensitivity="25"):
    at = RX - timedelta(hours=hours_before)
    return PregnancyTest(at.date(), result, D(sensitivity), at)


@pytest.mark.parametrize(
    ("tests", "outcome", "message"),
    [
        (
            (_test(12 * 24), _test(3)),
            "met",
            "Two negative pregnancy tests in the required windows",
        ),
        (
            (_test(12 * 24), _test(3, "positive")),
            "positive",
            "Positive pregnancy test before the first prescription: do not prescribe",
        ),
        (
            (_test(12 * 24),),
            "not_met",
            "Pregnancy tests still needed: a negative test within 24 hours before the prescription",
        ),
    ],
)
def test_pre_start_tests_in_words(tests, outcome, message):
    # Sec. 5: 10-14 days before and within 24 hours before; sensitivity >= 50 mIU/mL.
    finding = pre_start_pregnancy_tests(tests=tests, prescription_at=RX)
    assert (finding.outcome, finding.message) == (outcome, message)


def test_pre_start_tests_follow_the_clinics_sensitivity():
    strict = _clinic("rems.pregnancy_test.max_detection_limit", "20", "mIU/mL")
    finding = pre_start_pregnancy_tests(
        tests=(_test(12 * 24), _test(3)), prescription_at=RX, thresholds=strict
    )
    assert finding.outcome == "not_met"
    assert finding.values["unverified"] == 2


def test_pre_start_needs_an_aware_prescription_time():
    with pytest.raises(ValueError, match=r"^prescription_at must be timezone-aware$"):
        pre_start_pregnancy_tests(tests=(), prescription_at=datetime(2026, 3, 16, 9))
