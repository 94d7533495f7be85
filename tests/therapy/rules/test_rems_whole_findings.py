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
