"""Issue 14, items 3-5: the renal dose below 30 mL/min, a recorded surgery deciding the REMS
category, and the checklist items for time since transplant and baseline labs.

Every expected value below is copied from the shared clinical reference (sections 1, 3
and 5), not read from the rule modules.
"""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from patients.rulebook import SourceStatus, Threshold
from therapy.dosing import renal_band
from therapy.eligibility import EligibilityInputs, eligibility_checklist
from therapy.rems_rules import suggest_risk_category

D = Decimal
RX_AT = datetime(2025, 9, 1, 9, 0, tzinfo=UTC)
RX_DAY = RX_AT.date()
LAB_DAY = date(2025, 8, 28)
ALL_BASELINE = ("WBC", "ANC", "HGB", "PLT", "CREAT", "SPEP_M", "FLC_KAPPA", "FLC_LAMBDA")


def inputs(**changes: object) -> EligibilityInputs:
    base = EligibilityInputs(
        best_response="VGPR",
        crcl_ml_min=D("85"),
        crcl_on=LAB_DAY,
        anc=D("2.1"),
        anc_on=LAB_DAY,
        platelets=D("180"),
        platelets_on=LAB_DAY,
        rems_enrollment_active=True,
        can_become_pregnant=False,
        planned_prescription_at=RX_AT,
        transplant_on=RX_DAY - timedelta(days=100),
        baseline_labs=dict.fromkeys(ALL_BASELINE, LAB_DAY),
    )
    return replace(base, **changes)


def item(item_id: str, thresholds=None, **changes: object):
    items = eligibility_checklist(inputs(**changes), thresholds)
    return next(i for i in items if i.item_id == item_id)


# --- Renal starting dose (reference sec. 3) ---------------------------------------------
# >= 60 no change; 30 to < 60: 5 mg once daily; < 30 not on dialysis: 2.5 mg once daily;
# on dialysis: 2.5 mg once daily after dialysis on dialysis days; < 11 (no dialysis) or
# < 7 (dialysis) not studied.


@pytest.mark.parametrize(
    ("crcl", "status", "dose_words"),
    [
        ("60", "pass", None),
        ("59.9", "warn", "5 mg once daily"),
        ("30.1", "warn", "5 mg once daily"),
        ("30", "warn", "5 mg once daily"),
        ("29.9", "warn", "2.5 mg once daily"),
        ("22.7", "warn", "2.5 mg once daily"),  # the issue's case
        ("11.1", "warn", "2.5 mg once daily"),
        ("11", "warn", "2.5 mg once daily"),
        ("10.9", "fail", None),
    ],
)
def test_checklist_names_the_renal_dose_without_dialysis(crcl, status, dose_words):
    crcl_item = item("crcl", crcl_ml_min=crcl)
    assert crcl_item.status == status
    if dose_words:
        assert dose_words in crcl_item.value_text
        assert "after dialysis" not in crcl_item.value_text
    if status == "fail":
        assert "not studied" in crcl_item.value_text
        assert "mg once daily" not in crcl_item.value_text


@pytest.mark.parametrize(
    ("crcl", "status"),
    [("13.6", "warn"), ("7.1", "warn"), ("7", "warn"), ("6.9", "fail"), ("75", "warn")],
)
def test_checklist_names_the_dialysis_dose_and_the_unstudied_range(crcl, status):
    crcl_item = item("crcl", crcl_ml_min=crcl, on_dialysis=True)
    assert crcl_item.status == status
    if status == "warn":
        assert "2.5 mg once daily" in crcl_item.value_text
        assert "given after dialysis on dialysis days" in crcl_item.value_text
    else:
        assert "below 7 mL/min the dose was not studied" in crcl_item.value_text


def test_renal_dose_finding_carries_rule_values_and_source():
    finding = renal_band("22.7", on_dialysis=False)
    assert finding.rule_id == "dosing.renal_band"
    assert finding.values["crcl_ml_min"] == D("22.7")
    assert finding.values["suggested_level"].dose_mg == D("2.5")
    assert "renal impairment" in finding.source
    keys = {t.key for t in finding.thresholds}
    assert {"dosing.renal.not_studied_below_crcl", "dosing.renal.severe_dose_mg"} <= keys


def test_renal_numbers_read_from_stored_settings_are_shown_trimmed():
    # Rule settings come back from the database with four decimal places.
    stored = {
        key: Threshold(key, D(value), "mL/min", SourceStatus.LABEL, "PI", 2)
        for key, value in (
            ("eligibility.crcl.standard_dosing_above", "30.0000"),
            ("dosing.renal.severe_below_crcl", "30.0000"),
            ("dosing.renal.normal_min_crcl", "60.0000"),
            ("dosing.renal.not_studied_below_crcl", "11.0000"),
        )
    }
    severe = item("crcl", stored, crcl_ml_min="22.7")
    assert "at or below 30 mL/min" in severe.value_text
    unstudied = item("crcl", stored, crcl_ml_min="10.9")
    assert "below 11 mL/min" in unstudied.value_text
    for text in (severe.value_text, unstudied.value_text):
        assert ".0000" not in text


def test_count_thresholds_from_stored_settings_are_shown_trimmed():
    stored = {
        "dosing.start.label_min_platelets": Threshold(
            "dosing.start.label_min_platelets", D("75.0000"), "10^9/L", SourceStatus.LABEL, "PI"
        )
    }
    assert item("platelets", stored, platelets=D("60.0")).value_text == (
        "60 x10^9/L is below the label minimum of 75"
    )


# --- Time since transplant (reference sec. 1: usually day 90-110 after ASCT) ----------------


@pytest.mark.parametrize(
    ("days", "status"),
    [
        (40, "warn"),
        (89, "warn"),
        (90, "pass"),
        (91, "pass"),
        (109, "pass"),
        (110, "pass"),
        (111, "warn"),
    ],
)
def test_time_since_transplant_warns_outside_day_90_to_110(days, status):
    transplanted = RX_DAY - timedelta(days=days)
    transplant_item = item("transplant", transplant_on=transplanted)
    assert transplant_item.status == status
    assert f"day {days}" in transplant_item.value_text
    assert str(transplanted) in transplant_item.value_text
    assert transplant_item.observed_on == transplanted


def test_the_issues_case_transplant_40_days_ago_warns_early():
    transplant_item = item("transplant", transplant_on=RX_DAY - timedelta(days=40))
    assert transplant_item.value_text == (
        "Autologous transplant on 2025-07-23: day 40 at the planned prescription "
        "(usual window day 90-110): earlier than usual, check hematologic recovery"
    )


def test_no_transplant_on_record_is_a_warning_not_a_failure():
    transplant_item = item("transplant", transplant_on=None)
    assert transplant_item.status == "warn"
    assert "No transplant on record" in transplant_item.value_text


# --- Baseline labs (reference sec. 1) -----------------------------------------------------


def test_baseline_labs_all_recent_pass():
    assert item("baseline_labs").status == "pass"


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("WBC", "white cells"),
        ("HGB", "hemoglobin"),
        ("CREAT", "creatinine"),
        ("SPEP_M", "serum M-protein"),
        ("FLC_KAPPA", "free kappa"),
        ("FLC_LAMBDA", "free lambda"),
    ],
)
def test_a_missing_baseline_lab_is_named(code, name):
    labs = dict.fromkeys(ALL_BASELINE, LAB_DAY)
    del labs[code]
    baseline = item("baseline_labs", baseline_labs=labs)
    assert baseline.status == "warn"
    assert f"missing: {name}" in baseline.value_text


@pytest.mark.parametrize(
    ("code", "days", "status"),
    [
        ("WBC", 29, "pass"),
        ("WBC", 30, "pass"),
        ("WBC", 31, "warn"),
        ("FLC_KAPPA", 89, "pass"),
        ("FLC_KAPPA", 90, "pass"),
        ("FLC_KAPPA", 91, "warn"),
    ],
)
def test_baseline_labs_must_be_recent(code, days, status):
    # CBC within the 30-day lab age of the checklist; response labs within 3 months.
    labs = {**dict.fromkeys(ALL_BASELINE, LAB_DAY), code: RX_DAY - timedelta(days=days)}
    assert item("baseline_labs", baseline_labs=labs).status == status


# --- A recorded surgery decides the REMS category (reference sec. 5) -----------------------


@pytest.mark.parametrize(
    ("hysterectomy", "oophorectomy", "category"),
    [
        (False, True, "fncbp_adult"),  # the issue's case: 44-year-old, oophorectomy
        (True, False, "fncbp_adult"),
        (True, True, "fncbp_adult"),
        (False, False, "fcbp_adult"),  # nothing recorded: protective default
    ],
)
def test_recorded_surgery_decides_cannot_become_pregnant(hysterectomy, oophorectomy, category):
    finding = suggest_risk_category(
        sex_at_birth="female",
        age_years=44,
        can_become_pregnant=None,
        hysterectomy=hysterectomy,
        bilateral_oophorectomy=oophorectomy,
    )
    assert finding.outcome == category
    if category == "fncbp_adult":
        assert "protective default" not in finding.message
        assert "physician confirms" in finding.message
        assert "8.3 Females of reproductive potential" in finding.source
    else:
        assert "protective default" in finding.message


def test_surgery_names_which_operation_was_recorded():
    finding = suggest_risk_category(
        sex_at_birth="female", age_years=44, can_become_pregnant=None, bilateral_oophorectomy=True
    )
    assert "recorded bilateral oophorectomy" in finding.message


def test_an_assessment_of_can_become_pregnant_is_not_overridden_by_software():
    finding = suggest_risk_category(
        sex_at_birth="female", age_years=44, can_become_pregnant=True, hysterectomy=True
    )
    assert finding.outcome == "fcbp_adult"
    assert "physician reviews" in finding.message


# --- Checklist details pinned for mutation testing -----------------------------------------

from therapy.rems_rules import PregnancyTest  # noqa: E402


def test_at_30_the_checklist_says_renal_dose_of_5_mg():
    # Sec. 1: standard dosing needs CrCl > 30; sec. 3: 30 to < 60 starts at 5 mg.
    text = item("crcl", crcl_ml_min="30").value_text
    assert "at or below 30 mL/min, renal dose 5 mg once daily" in text


def test_every_item_finding_cites_the_items_source():
    for checklist_item in eligibility_checklist(
        inputs(crcl_ml_min="22.7", can_become_pregnant=True)
    ):
        assert checklist_item.finding.source == checklist_item.source


def test_renal_item_follows_the_clinics_not_studied_limit():
    clinic = {
        "dosing.renal.not_studied_below_crcl": Threshold(
            "dosing.renal.not_studied_below_crcl", D("15"), "mL/min", SourceStatus.COMMON, "clinic"
        )
    }
    assert item("crcl", clinic, crcl_ml_min="12").status == "fail"
    assert item("crcl", crcl_ml_min="12").status == "warn"


def _negative(hours_before, sensitivity="25"):
    at = RX_AT - timedelta(hours=hours_before)
    return PregnancyTest(at.date(), "negative", D(sensitivity), at)


def test_pregnancy_item_follows_the_clinics_sensitivity_and_shows_the_latest_test_date():
    tests = (_negative(12 * 24), _negative(3))
    both = item("pregnancy_tests", can_become_pregnant=True, pregnancy_tests=tests)
    assert both.status == "pass"
    assert both.observed_on == RX_DAY
    strict = {
        "rems.pregnancy_test.max_detection_limit": Threshold(
            "rems.pregnancy_test.max_detection_limit",
            D("20"),
            "mIU/mL",
            SourceStatus.COMMON,
            "clinic",
        )
    }
    assert (
        item("pregnancy_tests", strict, can_become_pregnant=True, pregnancy_tests=tests).status
        == "fail"
    )


def test_inputs_name_bad_values_and_keep_tests_as_a_tuple():
    with pytest.raises(ValueError, match=r"^anc must be a number, got 'x'$"):
        inputs(anc="x")
    with pytest.raises(
        ValueError, match=r"^best_response must be one of sCR, CR, VGPR, PR, MR, SD, PD$"
    ):
        inputs(best_response="nCR")
    assert isinstance(inputs(pregnancy_tests=[_negative(3)]).pregnancy_tests, tuple)


def test_several_old_baseline_labs_are_listed():
    labs = {
        **dict.fromkeys(ALL_BASELINE, LAB_DAY),
        "WBC": date(2025, 7, 1),
        "HGB": date(2025, 7, 2),
    }
    text = item("baseline_labs", baseline_labs=labs).value_text
    assert text.endswith("too old: white cells 2025-07-01, hemoglobin 2025-07-02")
