from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from patients.rulebook import SourceStatus, Threshold
from therapy.eligibility import (
    DEFAULTS,
    ChecklistItem,
    EligibilityInputs,
    eligibility_checklist,
    overall,
)
from therapy.rems_rules import PregnancyTest

D = Decimal
RX_AT = datetime(2025, 9, 1, 9, 0, tzinfo=UTC)
LAB_DAY = date(2025, 8, 28)
ASCT_DAY_100 = date(2025, 5, 24)  # 2025-09-01 is day 100 after it
BASELINE_CODES = ("WBC", "ANC", "HGB", "PLT", "CREAT", "SPEP_M", "FLC_KAPPA", "FLC_LAMBDA")


def inputs(**changes: object) -> EligibilityInputs:
    """A patient who meets every item (male, VGPR, normal kidneys and counts)."""
    base = EligibilityInputs(
        best_response="VGPR",
        crcl_ml_min=D("85"),
        crcl_on=LAB_DAY,
        crcl_basis="creatinine 0.9 mg/dL on 2025-08-28, weight 78 kg on 2025-08-28",
        anc=D("2.1"),
        anc_on=LAB_DAY,
        platelets=D("180"),
        platelets_on=LAB_DAY,
        rems_enrollment_active=True,
        can_become_pregnant=False,
        planned_prescription_at=RX_AT,
        transplant_on=ASCT_DAY_100,
        baseline_labs=dict.fromkeys(BASELINE_CODES, LAB_DAY),
    )
    return replace(base, **changes)


def items_by_id(data: EligibilityInputs) -> dict[str, ChecklistItem]:
    return {item.item_id: item for item in eligibility_checklist(data)}


def status_of(item_id: str, **changes: object) -> str:
    return items_by_id(inputs(**changes))[item_id].status


def test_defaults_are_namespaced_and_sourced() -> None:
    assert [t.key for t in DEFAULTS] == [
        "eligibility.crcl.standard_dosing_above",
        "eligibility.labs.max_age_days",
        "eligibility.transplant.window_first_day",
        "eligibility.transplant.window_last_day",
        "eligibility.response_labs.max_age_days",
    ]
    assert all(t.source and t.unit for t in DEFAULTS)


def test_checklist_has_the_eight_items_in_order() -> None:
    assert [item.item_id for item in eligibility_checklist(inputs())] == [
        "response",
        "crcl",
        "anc",
        "platelets",
        "rems_enrollment",
        "pregnancy_tests",
        "transplant",
        "baseline_labs",
    ]


def test_every_item_carries_its_value_date_source_and_finding() -> None:
    for item in eligibility_checklist(inputs()):
        assert item.label and item.value_text and item.source
        assert item.finding.outcome in {"pass", "met"}
    by_id = items_by_id(inputs())
    assert by_id["anc"].observed_on == LAB_DAY
    assert by_id["anc"].finding.rule_id == "eligibility.anc"
    assert "10^9/L" in {t.unit for t in by_id["anc"].finding.thresholds}


# --- Boundary tables --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "status"),
    [
        ("sCR", "pass"),
        ("CR", "pass"),
        ("VGPR", "pass"),
        ("PR", "pass"),
        ("MR", "fail"),
        ("SD", "fail"),
        ("PD", "fail"),
        (None, "unknown"),
    ],
)
def test_response_must_be_partial_response_or_better(response: str | None, status: str) -> None:
    assert status_of("response", best_response=response) == status


def test_unknown_response_codes_are_rejected() -> None:
    with pytest.raises(ValueError, match="best_response"):
        inputs(best_response="nCR")


@pytest.mark.parametrize(
    ("crcl", "status"),
    [
        ("10.9", "fail"),
        ("11", "warn"),
        ("29.9", "warn"),
        ("30", "warn"),
        ("30.1", "warn"),
        ("59.9", "warn"),
        ("60", "pass"),
        ("60.1", "pass"),
        (None, "unknown"),
    ],
)
def test_crcl_below_60_names_a_reduced_dose_and_below_11_was_not_studied(
    crcl: str | None, status: str
) -> None:
    assert status_of("crcl", crcl_ml_min=crcl) == status


def test_reduced_renal_dose_is_named_and_basis_shown() -> None:
    item = items_by_id(inputs(crcl_ml_min="45"))["crcl"]
    assert "5 mg days 1-28 of 28" in item.value_text
    assert "weight 78 kg" in item.value_text


@pytest.mark.parametrize(
    ("anc", "status"),
    [
        ("0.99", "fail"),
        ("1.0", "warn"),
        ("1.01", "warn"),
        ("1.49", "warn"),
        ("1.5", "warn"),
        ("1.51", "pass"),
        (None, "unknown"),
    ],
)
def test_anc_fails_below_label_minimum_and_warns_up_to_recommended(
    anc: str | None, status: str
) -> None:
    assert status_of("anc", anc=anc) == status


@pytest.mark.parametrize(
    ("platelets", "status"),
    [
        ("74", "fail"),
        ("75", "warn"),
        ("76", "warn"),
        ("99", "warn"),
        ("100", "warn"),
        ("101", "pass"),
        (None, "unknown"),
    ],
)
def test_platelets_fail_below_75_and_warn_from_75_to_100_inclusive(
    platelets: str | None, status: str
) -> None:
    assert status_of("platelets", platelets=platelets) == status


@pytest.mark.parametrize(("active", "status"), [(True, "pass"), (False, "fail"), (None, "unknown")])
def test_rems_enrollment_must_be_active(active: bool | None, status: str) -> None:
    assert status_of("rems_enrollment", rems_enrollment_active=active) == status


def test_count_thresholds_follow_clinic_settings() -> None:
    stricter = Threshold(
        "dosing.start.label_min_anc", D("1.2"), "10^9/L", SourceStatus.COMMON, "clinic"
    )
    items = eligibility_checklist(inputs(anc="1.1"), {"dosing.start.label_min_anc": stricter})
    assert {item.item_id: item.status for item in items}["anc"] == "fail"


# --- Pregnancy tests --------------------------------------------------------------------


def negative_test(hours_before: int) -> PregnancyTest:
    collected_at = RX_AT - timedelta(hours=hours_before)
    return PregnancyTest(collected_at.date(), "negative", D("25"), collected_at)


BOTH_TESTS = (negative_test(12 * 24), negative_test(3))


@pytest.mark.parametrize(
    ("can", "tests", "status"),
    [
        (False, (), "pass"),
        (None, (), "unknown"),
        (True, (), "unknown"),
        (True, BOTH_TESTS[:1], "fail"),
        (True, BOTH_TESTS, "pass"),
    ],
)
def test_pregnancy_tests_apply_only_to_patients_who_can_become_pregnant(
    can: bool | None, tests: tuple[PregnancyTest, ...], status: str
) -> None:
    assert status_of("pregnancy_tests", can_become_pregnant=can, pregnancy_tests=tests) == status


def test_pregnancy_item_says_not_applicable_for_patients_who_cannot_become_pregnant() -> None:
    assert "Not applicable" in items_by_id(inputs())["pregnancy_tests"].value_text


def test_positive_pregnancy_test_fails_the_checklist() -> None:
    positive = PregnancyTest(RX_AT.date(), "positive", D("25"), RX_AT - timedelta(hours=2))
    item = items_by_id(inputs(can_become_pregnant=True, pregnancy_tests=(BOTH_TESTS[0], positive)))[
        "pregnancy_tests"
    ]
    assert item.status == "fail"
    assert "do not prescribe" in item.value_text


# --- overall() --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "worst"),
    [
        (["pass", "pass"], "pass"),
        (["pass", "warn"], "warn"),
        (["warn", "unknown", "pass"], "unknown"),
        (["unknown", "fail", "warn"], "fail"),
        ([], "pass"),
    ],
)
def test_overall_is_the_worst_status(statuses: list[str], worst: str) -> None:
    template = eligibility_checklist(inputs())[0]
    assert overall([replace(template, status=s) for s in statuses]) == worst


# --- Vignettes (clinical reference, sec. 1) ---------------------------------------------


def test_vignette_vgpr_after_asct_with_full_recovery_is_eligible() -> None:
    # Day 100 after ASCT, VGPR, CrCl 85, ANC 2.1, platelets 180, male, REMS enrolled.
    assert overall(eligibility_checklist(inputs())) == "pass"


def test_vignette_pr_with_slow_count_recovery_meets_label_but_not_recommended_counts() -> None:
    data = inputs(best_response="PR", anc="1.2", platelets="90")
    items = items_by_id(data)
    assert (items["anc"].status, items["platelets"].status) == ("warn", "warn")
    assert overall(items.values()) == "warn"


def test_vignette_moderate_renal_impairment_starts_at_5_mg_daily() -> None:
    items = items_by_id(inputs(best_response="CR", crcl_ml_min="42.5"))
    assert items["crcl"].status == "warn"
    assert overall(items.values()) == "warn"


def test_vignette_severe_renal_impairment_starts_at_2_5_mg_daily() -> None:
    items = items_by_id(inputs(crcl_ml_min="24"))
    assert items["crcl"].status == "warn"
    assert "2.5 mg once daily" in items["crcl"].value_text
    assert overall(items.values()) == "warn"


def test_vignette_minimal_response_is_not_a_maintenance_candidate() -> None:
    items = items_by_id(inputs(best_response="MR"))
    assert items["response"].status == "fail"
    assert "PR or better" in items["response"].value_text


def test_vignette_platelets_below_label_minimum_fail_even_with_good_anc() -> None:
    assert overall(eligibility_checklist(inputs(anc="3.0", platelets="60"))) == "fail"


def test_vignette_woman_who_can_become_pregnant_with_both_tests_is_eligible() -> None:
    data = inputs(can_become_pregnant=True, pregnancy_tests=BOTH_TESTS)
    assert overall(eligibility_checklist(data)) == "pass"


def test_vignette_woman_who_can_become_pregnant_without_tests_is_not_yet_confirmed() -> None:
    data = inputs(can_become_pregnant=True)
    assert overall(eligibility_checklist(data)) == "unknown"


def test_vignette_missing_labs_make_the_checklist_unknown() -> None:
    data = inputs(anc=None, anc_on=None, crcl_ml_min=None, crcl_on=None)
    items = items_by_id(data)
    assert items["anc"].observed_on is None
    assert overall(items.values()) == "unknown"


@pytest.mark.parametrize(
    ("days_before", "status"),
    [(29, "pass"), (30, "pass"), (31, "unknown"), (365, "unknown")],
)
@pytest.mark.parametrize("item_id", ["anc", "platelets", "crcl"])
def test_a_lab_older_than_the_maximum_age_cannot_pass(
    item_id: str, days_before: int, status: str
) -> None:
    on = RX_AT.date() - timedelta(days=days_before)
    field = {"anc": "anc_on", "platelets": "platelets_on", "crcl": "crcl_on"}[item_id]
    item = items_by_id(inputs(**{field: on}))[item_id]
    assert item.status == status
    if status == "unknown":
        assert f"{days_before} days before the prescription" in item.value_text


def test_an_old_failing_count_is_still_not_a_pass() -> None:
    old = RX_AT.date() - timedelta(days=90)
    assert status_of("anc", anc=D("0.4"), anc_on=old) == "unknown"
