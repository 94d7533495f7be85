from decimal import Decimal

import pytest

from patients.rulebook import Finding, SourceStatus, Threshold
from therapy.dosing import (
    DEFAULTS,
    FLOOR,
    LADDER,
    LEVEL_2_5_28,
    LEVEL_5_21,
    LEVEL_5_28,
    LEVEL_10_21,
    LEVEL_10_28,
    LEVEL_15_28,
    SELECTABLE_LEVELS,
    DoseLevel,
    crcl_cockcroft_gault,
    creatinine_umol_to_mg_dl,
    hematologic_dose_guidance,
    is_on_ladder,
    next_lower,
    renal_band,
    renal_band_crossed,
)

D = Decimal


# --- Defaults ---------------------------------------------------------------------------


def test_every_default_is_namespaced_unique_and_sourced() -> None:
    keys = [t.key for t in DEFAULTS]
    assert len(keys) == len(set(keys))
    for threshold in DEFAULTS:
        assert threshold.key.startswith("dosing.")
        assert isinstance(threshold.value, Decimal)
        assert threshold.unit and threshold.source
        assert threshold.status in dict(SourceStatus.CHOICES)


# --- Dose levels ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "label"),
    [
        (LEVEL_15_28, "15 mg days 1-28 of 28"),
        (LEVEL_10_28, "10 mg days 1-28 of 28"),
        (LEVEL_10_21, "10 mg days 1-21 of 28"),
        (LEVEL_5_28, "5 mg days 1-28 of 28"),
        (LEVEL_5_21, "5 mg days 1-21 of 28"),
        (LEVEL_2_5_28, "2.5 mg days 1-28 of 28"),
    ],
)
def test_dose_level_label_reads_as_a_prescription(level: DoseLevel, label: str) -> None:
    assert level.label == label


def test_dose_level_accepts_int_and_str_doses_as_decimals() -> None:
    assert DoseLevel(10, 21) == LEVEL_10_21
    assert DoseLevel("2.5", 28) == LEVEL_2_5_28
    assert DoseLevel(D("10.0"), 21).label == "10 mg days 1-21 of 28"


@pytest.mark.parametrize(("dose", "days"), [(0, 21), (-5, 21), (10, 0), (10, 29)])
def test_dose_level_rejects_impossible_doses_and_days(dose: int, days: int) -> None:
    with pytest.raises(ValueError):
        DoseLevel(dose, days)


def test_ladder_steps_down_from_15_mg_to_the_5_mg_days_1_21_floor() -> None:
    assert LADDER == (LEVEL_15_28, LEVEL_10_28, LEVEL_5_28, LEVEL_5_21)
    assert FLOOR == LEVEL_5_21


def test_selectable_levels_include_common_practice_and_renal_levels() -> None:
    assert LEVEL_10_21 in SELECTABLE_LEVELS
    assert LEVEL_2_5_28 in SELECTABLE_LEVELS
    assert set(LADDER) <= set(SELECTABLE_LEVELS)


@pytest.mark.parametrize(
    ("level", "on_ladder"),
    [(LEVEL_10_28, True), (LEVEL_5_21, True), (LEVEL_10_21, False), (LEVEL_2_5_28, False)],
)
def test_is_on_ladder_only_for_label_rungs(level: DoseLevel, on_ladder: bool) -> None:
    assert is_on_ladder(level) is on_ladder


@pytest.mark.parametrize(
    ("level", "lower"),
    [
        (LEVEL_15_28, LEVEL_10_28),
        (LEVEL_10_28, LEVEL_5_28),
        (LEVEL_5_28, LEVEL_5_21),
        (LEVEL_5_21, None),
        (LEVEL_10_21, LEVEL_5_21),
        (LEVEL_2_5_28, None),
        (DoseLevel(20, 28), LEVEL_15_28),
        (DoseLevel(5, 14), None),
    ],
)
def test_next_lower_follows_ladder_and_documented_off_ladder_steps(
    level: DoseLevel, lower: DoseLevel | None
) -> None:
    assert next_lower(level) == lower


def test_next_lower_never_goes_below_the_floor() -> None:
    for level in SELECTABLE_LEVELS:
        lower = next_lower(level)
        assert lower is None or lower.mg_per_cycle >= FLOOR.mg_per_cycle


# --- Cockcroft-Gault --------------------------------------------------------------------


def test_crcl_for_a_male_follows_the_formula() -> None:
    # (140 - 60) x 72 / (72 x 1.0) = 80
    finding = crcl_cockcroft_gault(
        age_years=60, weight_kg=72, creatinine_mg_dl="1.0", sex_at_birth="male"
    )
    assert finding.rule_id == "dosing.crcl_cockcroft_gault"
    assert finding.outcome == "computed"
    assert finding.values["crcl_ml_min"] == D("80.0")
    assert finding.values["weight_kg"] == D("72")
    assert finding.source


def test_crcl_for_a_female_is_multiplied_by_0_85() -> None:
    finding = crcl_cockcroft_gault(
        age_years=60, weight_kg=72, creatinine_mg_dl="1.0", sex_at_birth="female"
    )
    assert finding.values["crcl_ml_min"] == D("68.0")


def test_crcl_is_rounded_half_up_to_one_decimal() -> None:
    # (140 - 70) x 65 / (72 x 1.3) = 48.611... -> 48.6
    finding = crcl_cockcroft_gault(
        age_years=70, weight_kg=65, creatinine_mg_dl="1.3", sex_at_birth="male"
    )
    assert finding.values["crcl_ml_min"] == D("48.6")


def test_crcl_accepts_floats_without_binary_noise() -> None:
    finding = crcl_cockcroft_gault(
        age_years=60, weight_kg=80.5, creatinine_mg_dl=1.1, sex_at_birth="male"
    )
    assert finding.values["creatinine_mg_dl"] == D("1.1")


@pytest.mark.parametrize("field", ["age_years", "weight_kg", "creatinine_mg_dl"])
@pytest.mark.parametrize("bad", [0, -1])
def test_crcl_rejects_non_positive_inputs_naming_the_field(field: str, bad: int) -> None:
    inputs = {"age_years": 60, "weight_kg": 70, "creatinine_mg_dl": 1, "sex_at_birth": "male"}
    inputs[field] = bad
    with pytest.raises(ValueError, match=field):
        crcl_cockcroft_gault(**inputs)


def test_crcl_rejects_non_numbers_and_unknown_sex() -> None:
    with pytest.raises(ValueError, match="weight_kg"):
        crcl_cockcroft_gault(
            age_years=60, weight_kg="heavy", creatinine_mg_dl=1, sex_at_birth="male"
        )
    with pytest.raises(ValueError, match="sex_at_birth"):
        crcl_cockcroft_gault(age_years=60, weight_kg=70, creatinine_mg_dl=1, sex_at_birth="x")
    with pytest.raises(ValueError, match="age_years"):
        crcl_cockcroft_gault(age_years=140, weight_kg=70, creatinine_mg_dl=1, sex_at_birth="male")


@pytest.mark.parametrize(
    ("umol_l", "mg_dl"), [("88.4", D("1")), ("176.8", D("2")), (44.2, D("0.5"))]
)
def test_creatinine_umol_per_litre_divides_by_88_4(umol_l: object, mg_dl: Decimal) -> None:
    assert creatinine_umol_to_mg_dl(umol_l) == mg_dl


def test_creatinine_conversion_rejects_zero() -> None:
    with pytest.raises(ValueError, match="creatinine_umol_l"):
        creatinine_umol_to_mg_dl(0)


# --- Renal bands ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("crcl", "band", "level"),
    [
        ("60.1", "normal", LEVEL_10_28),
        ("60", "normal", LEVEL_10_28),
        ("59.9", "moderate", LEVEL_5_28),
        ("30.1", "moderate", LEVEL_5_28),
        ("30", "moderate", LEVEL_5_28),
        ("29.9", "severe", LEVEL_2_5_28),
        ("11", "severe", LEVEL_2_5_28),
    ],
)
def test_renal_band_boundaries_without_dialysis(crcl: str, band: str, level: DoseLevel) -> None:
    finding = renal_band(crcl, on_dialysis=False)
    assert finding.rule_id == "dosing.renal_band"
    assert finding.outcome == band
    assert finding.values["suggested_level"] == level
    assert finding.values["not_studied"] is False


@pytest.mark.parametrize("crcl", ["7", "45", "90"])
def test_dialysis_always_suggests_2_5_mg_after_dialysis(crcl: str) -> None:
    finding = renal_band(crcl, on_dialysis=True)
    assert finding.outcome == "dialysis"
    assert finding.values["suggested_level"] == LEVEL_2_5_28
    assert "after dialysis" in finding.message


@pytest.mark.parametrize(
    ("crcl", "on_dialysis", "not_studied"),
    [
        ("11.1", False, False),
        ("11", False, False),
        ("10.9", False, True),
        ("7.1", True, False),
        ("7", True, False),
        ("6.9", True, True),
    ],
)
def test_crcl_below_11_or_below_7_on_dialysis_is_marked_not_studied(
    crcl: str, on_dialysis: bool, not_studied: bool
) -> None:
    finding = renal_band(crcl, on_dialysis=on_dialysis)
    assert finding.values["not_studied"] is not_studied
    assert ("not studied" in finding.message) is not_studied


def test_renal_band_cites_its_thresholds() -> None:
    finding = renal_band("45", on_dialysis=False)
    keys = {t.key for t in finding.thresholds}
    assert {"dosing.renal.normal_min_crcl", "dosing.renal.severe_below_crcl"} <= keys
    assert "Lenalidomide US PI" in finding.basis


def test_renal_band_uses_clinic_thresholds_when_given() -> None:
    stricter = Threshold(
        "dosing.renal.normal_min_crcl", D("50"), "mL/min", SourceStatus.COMMON, "clinic"
    )
    finding = renal_band("55", False, {"dosing.renal.normal_min_crcl": stricter})
    assert finding.outcome == "normal"


@pytest.mark.parametrize(
    ("previous", "current", "crossed"),
    [("61", "59", True), ("65", "60", False), ("35", "29.9", True), ("45", "31", False)],
)
def test_renal_band_crossing_suggests_a_dose_review(
    previous: str, current: str, crossed: bool
) -> None:
    finding = renal_band_crossed(previous, current, on_dialysis=False)
    assert (finding is not None) is crossed
    if finding is not None:
        assert finding.outcome == "renal_dose_review"
        assert "dose not changed" in finding.message


def test_renal_band_crossing_needs_a_previous_value() -> None:
    assert renal_band_crossed(None, "20", on_dialysis=False) is None


def test_starting_dialysis_is_a_band_crossing() -> None:
    finding = renal_band_crossed("40", "8", on_dialysis=True, previous_on_dialysis=False)
    assert finding is not None
    assert finding.values["previous_band"] == "moderate"
    assert finding.values["current_band"] == "dialysis"


# --- Hematologic holds ------------------------------------------------------------------


def guidance(
    anc: object, platelets: object, level: DoseLevel = LEVEL_10_21, held: bool = False
) -> Finding:
    return hematologic_dose_guidance(
        anc=anc, platelets=platelets, current_level=level, on_hold_for_cytopenia=held
    )


@pytest.mark.parametrize(
    ("anc", "outcome"), [("0.49", "hold"), ("0.5", "continue"), ("0.51", "continue")]
)
def test_anc_around_hold_threshold(anc: str, outcome: str) -> None:
    assert guidance(anc, "150").outcome == outcome


@pytest.mark.parametrize(
    ("platelets", "outcome"), [("29", "hold"), ("30", "continue"), ("31", "continue")]
)
def test_platelets_around_hold_threshold(platelets: str, outcome: str) -> None:
    assert guidance("2.0", platelets).outcome == outcome


def test_anc_just_below_hold_threshold_suggests_hold_with_weekly_cbc() -> None:
    finding = guidance("0.49", "150", LEVEL_10_28)
    assert finding.outcome == "hold"
    assert finding.values["cbc_interval_days"] == 7
    assert finding.values["suggested_level"] == LEVEL_5_28
    assert "CBC every 7 days" in finding.message
    assert finding.source.startswith("Lenalidomide US PI")


@pytest.mark.parametrize(
    ("anc", "platelets", "outcome"),
    [
        ("0.49", "150", "hold"),
        ("0.5", "150", "resume_lower"),
        ("0.51", "150", "resume_lower"),
        ("2.0", "29", "hold"),
        ("2.0", "30", "resume_lower"),
        ("2.0", "31", "resume_lower"),
    ],
)
def test_recovery_thresholds_while_on_hold(anc: str, platelets: str, outcome: str) -> None:
    assert guidance(anc, platelets, LEVEL_10_28, held=True).outcome == outcome


@pytest.mark.parametrize(
    ("level", "resume_at"),
    [
        (LEVEL_15_28, LEVEL_10_28),
        (LEVEL_10_28, LEVEL_5_28),
        (LEVEL_10_21, LEVEL_5_21),
        (LEVEL_5_28, LEVEL_5_21),
    ],
)
def test_recovered_counts_resume_at_the_next_lower_level(
    level: DoseLevel, resume_at: DoseLevel
) -> None:
    finding = guidance("1.0", "80", level, held=True)
    assert finding.outcome == "resume_lower"
    assert finding.values["suggested_level"] == resume_at
    assert resume_at.label in finding.message


def test_at_5_mg_daily_recovery_resumes_5_mg_days_1_to_21() -> None:
    assert guidance("0.4", "150", LEVEL_5_28).values["suggested_level"] == LEVEL_5_21
    assert guidance("0.8", "150", LEVEL_5_28, held=True).values["suggested_level"] == LEVEL_5_21


@pytest.mark.parametrize("level", [LEVEL_5_21, LEVEL_2_5_28])
def test_new_hold_trigger_with_no_lower_level_suggests_discontinuation_review(
    level: DoseLevel,
) -> None:
    finding = guidance("0.4", "150", level)
    assert finding.outcome == "discontinuation_review"
    assert finding.values["suggested_level"] is None


def test_recovery_at_the_floor_still_suggests_discontinuation_review() -> None:
    assert guidance("1.0", "150", LEVEL_5_21, held=True).outcome == "discontinuation_review"


def test_normal_counts_at_the_floor_continue() -> None:
    finding = guidance("1.0", "150", LEVEL_5_21)
    assert finding.outcome == "continue"
    assert finding.values["suggested_level"] is None


@pytest.mark.parametrize(
    ("anc", "platelets", "held", "outcome"),
    [
        (None, "150", False, "unknown"),
        ("1.0", None, False, "unknown"),
        (None, None, True, "unknown"),
        ("0.3", None, False, "hold"),
        (None, "20", True, "hold"),
    ],
)
def test_a_missing_count_is_unknown_unless_the_other_count_decides(
    anc: str | None, platelets: str | None, held: bool, outcome: str
) -> None:
    assert guidance(anc, platelets, LEVEL_10_28, held=held).outcome == outcome


def test_guidance_findings_carry_the_thresholds_used() -> None:
    finding = guidance("0.4", "150")
    assert {t.key for t in finding.thresholds} >= {
        "dosing.hold.anc_below",
        "dosing.hold.platelets_below",
    }
    assert finding.values["anc"] == D("0.4")


def test_resume_thresholds_can_be_set_above_the_hold_thresholds() -> None:
    higher = Threshold(
        "dosing.resume.anc_at_least", D("1.0"), "10^9/L", SourceStatus.COMMON, "clinic"
    )
    finding = hematologic_dose_guidance(
        anc="0.7",
        platelets="150",
        current_level=LEVEL_10_28,
        on_hold_for_cytopenia=True,
        thresholds={"dosing.resume.anc_at_least": higher},
    )
    assert finding.outcome == "hold"


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("anc", r"^anc must be a number, got 'n/a'$"),
        ("platelets", r"^platelets must be a number, got 'n/a'$"),
    ],
)
def test_a_count_that_is_not_a_number_is_named_in_the_error(field, message):
    counts = {"anc": "1.0", "platelets": "100", field: "n/a"}
    with pytest.raises(ValueError, match=message):
        hematologic_dose_guidance(**counts, current_level=LEVEL_10_21, on_hold_for_cytopenia=False)


# --- Whole findings (every word and value a physician reads) -------------------------------

PI_HEME = "Lenalidomide US PI, dose modifications for hematologic toxicity (maintenance)"
PI_RENAL = "Lenalidomide US PI, starting dose adjustment for renal impairment (maintenance)"


def test_cockcroft_gault_rounds_half_up_like_a_lab_report():
    # (140 - 68) x 62.25 / (72 x 1.0) = 62.25 exactly: shown 62.3 (half up), not 62.2.
    finding = crcl_cockcroft_gault(
        age_years=68, weight_kg="62.25", creatinine_mg_dl="1.0", sex_at_birth="male"
    )
    assert finding.values["crcl_ml_min"] == D("62.3")
    assert finding.message == "Cockcroft-Gault CrCl 62.3 mL/min"
    assert finding.rule_id == "dosing.crcl_cockcroft_gault"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"age_years": 0}, r"^age_years must be positive, got 0$"),
        ({"weight_kg": 0}, r"^weight_kg must be positive, got 0$"),
        ({"creatinine_mg_dl": 0}, r"^creatinine_mg_dl must be positive, got 0$"),
        ({"age_years": 140}, r"^age_years must be below 140 for Cockcroft-Gault$"),
        ({"sex_at_birth": "x"}, r"^sex_at_birth must be 'female' or 'male'$"),
    ],
)
def test_cockcroft_gault_refuses_bad_input_in_words(changes, message):
    inputs = {"age_years": 60, "weight_kg": 70, "creatinine_mg_dl": 1, "sex_at_birth": "male"}
    with pytest.raises(ValueError, match=message):
        crcl_cockcroft_gault(**{**inputs, **changes})


def test_a_level_with_the_same_drug_per_cycle_is_not_lower():
    # 20 mg days 1-14 gives 280 mg per cycle, as much as 10 mg days 1-28: the next lower
    # level is the first rung with less drug, 5 mg days 1-28.
    assert next_lower(DoseLevel(D("20"), 14)) == LEVEL_5_28


def test_renal_band_crossing_finding_in_full():
    finding = renal_band_crossed("65", "45", on_dialysis=False)
    assert finding.rule_id == "dosing.renal_band_crossed"
    assert finding.outcome == "renal_dose_review"
    assert finding.message == (
        "Renal band changed from normal to moderate: review the dose (a new start would be "
        "5 mg days 1-28 of 28); dose not changed"
    )
    assert finding.values == {
        "previous_crcl_ml_min": D("65"),
        "current_crcl_ml_min": D("45"),
        "previous_band": "normal",
        "current_band": "moderate",
        "suggested_level": LEVEL_5_28,
        "not_studied": False,
    }
    assert finding.source == PI_RENAL
    assert finding.thresholds == renal_band("45", on_dialysis=False).thresholds


@pytest.mark.parametrize(("previous", "current"), [("55", "45"), ("45", "55")])
def test_renal_band_crossing_applies_the_clinic_thresholds_to_both_values(previous, current):
    clinic = {
        "dosing.renal.normal_min_crcl": Threshold(
            "dosing.renal.normal_min_crcl", D("50"), "mL/min", SourceStatus.COMMON, "clinic"
        )
    }
    assert renal_band_crossed(previous, current, on_dialysis=False) is None
    assert renal_band_crossed(previous, current, on_dialysis=False, thresholds=clinic) is not None


def test_staying_on_dialysis_is_not_a_crossing():
    assert renal_band_crossed("40", "25", on_dialysis=True) is None


def _guidance_values(anc, platelets, level, held, suggested, **extra):
    return {
        "anc": anc,
        "platelets": platelets,
        "current_level": level,
        "on_hold_for_cytopenia": held,
        "suggested_level": suggested,
        **extra,
    }


@pytest.mark.parametrize(
    ("anc", "platelets", "level", "held", "outcome", "message", "values"),
    [
        (
            None,
            "100",
            LEVEL_10_28,
            False,
            "unknown",
            "ANC and platelets are both needed",
            _guidance_values(None, D("100"), LEVEL_10_28, False, None),
        ),
        (
            "0.4",
            "100",
            LEVEL_10_28,
            False,
            "hold",
            "Interrupt lenalidomide; CBC every 7 days; on recovery resume at 5 mg days 1-28 of 28",
            _guidance_values(
                D("0.4"), D("100"), LEVEL_10_28, False, LEVEL_5_28, cbc_interval_days=7
            ),
        ),
        (
            "0.4",
            "100",
            LEVEL_5_21,
            False,
            "discontinuation_review",
            "Cytopenia at 5 mg days 1-21 of 28 with no lower level to resume at: interrupt and "
            "review whether to discontinue; CBC every 7 days",
            _guidance_values(D("0.4"), D("100"), LEVEL_5_21, False, None, cbc_interval_days=7),
        ),
        (
            "0.6",
            "100",
            LEVEL_10_28,
            True,
            "resume_lower",
            "Counts recovered: resume at 5 mg days 1-28 of 28",
            _guidance_values(D("0.6"), D("100"), LEVEL_10_28, True, LEVEL_5_28),
        ),
        (
            "2.0",
            "100",
            LEVEL_10_28,
            False,
            "continue",
            "Counts allow 10 mg days 1-28 of 28 to continue",
            _guidance_values(D("2.0"), D("100"), LEVEL_10_28, False, None),
        ),
    ],
)
def test_hematologic_guidance_finding_in_full(
    anc, platelets, level, held, outcome, message, values
):
    finding = hematologic_dose_guidance(
        anc=anc, platelets=platelets, current_level=level, on_hold_for_cytopenia=held
    )
    assert (finding.rule_id, finding.outcome, finding.message) == (
        "dosing.hematologic_dose_guidance",
        outcome,
        message,
    )
    assert finding.values == values
    assert finding.source == PI_HEME


def test_numbers_must_be_finite_in_words():
    from therapy.dosing import to_decimal

    with pytest.raises(ValueError, match=r"^crcl_ml_min must be a finite number, got 'inf'$"):
        to_decimal("inf", "crcl_ml_min")


@pytest.mark.parametrize(
    ("dose", "days", "message"),
    [
        ("abc", 28, r"^dose_mg must be a number, got 'abc'$"),
        ("0", 28, r"^dose_mg must be positive$"),
        ("5", 0, r"^dosing_days must be between 1 and cycle_days$"),
        ("5", 29, r"^dosing_days must be between 1 and cycle_days$"),
    ],
)
def test_dose_level_refuses_bad_values_in_words(dose, days, message):
    with pytest.raises(ValueError, match=message):
        DoseLevel(dose, days)


def test_smallest_dose_levels_are_allowed():
    assert DoseLevel(D("0.5"), 1).label == "0.5 mg days 1-1 of 28"


def test_creatinine_conversion_boundaries_and_words():
    # Reference sec. 3 and 8: umol/L / 88.4 = mg/dL.
    assert creatinine_umol_to_mg_dl("0.5") == D("0.5") / D("88.4")
    with pytest.raises(ValueError, match=r"^creatinine_umol_l must be positive$"):
        creatinine_umol_to_mg_dl("0")
    with pytest.raises(ValueError, match=r"^creatinine_umol_l must be a number, got 'x'$"):
        creatinine_umol_to_mg_dl("x")


def test_cockcroft_gault_values_in_full():
    finding = crcl_cockcroft_gault(
        age_years=68, weight_kg="62.25", creatinine_mg_dl="1.0", sex_at_birth="female"
    )
    # 62.25 x 0.85 = 52.9125 -> 52.9
    assert finding.values == {
        "crcl_ml_min": D("52.9"),
        "age_years": D("68"),
        "weight_kg": D("62.25"),
        "creatinine_mg_dl": D("1.0"),
        "sex_at_birth": "female",
    }


@pytest.mark.parametrize(
    ("crcl", "dialysis", "outcome", "message"),
    [
        (
            "10.9",
            False,
            "severe",
            "CrCl 10.9 mL/min: below 11 mL/min the dose was not studied (label); no renal dose "
            "can be suggested",
        ),
        (
            "6.9",
            True,
            "dialysis",
            "CrCl 6.9 mL/min on dialysis: below 7 mL/min the dose was not studied (label); no "
            "renal dose can be suggested",
        ),
        (
            "7",
            True,
            "dialysis",
            "CrCl 7 mL/min: dialysis renal band, suggested start 2.5 mg once daily (2.5 mg days "
            "1-28 of 28), given after dialysis on dialysis days",
        ),
        (
            "29.9",
            False,
            "severe",
            "CrCl 29.9 mL/min: severe renal band, suggested start 2.5 mg once daily (2.5 mg days "
            "1-28 of 28)",
        ),
    ],
)
def test_renal_band_messages_in_full(crcl, dialysis, outcome, message):
    finding = renal_band(crcl, on_dialysis=dialysis)
    assert (finding.outcome, finding.message) == (outcome, message)
    assert finding.values == {
        "crcl_ml_min": D(crcl),
        "on_dialysis": dialysis,
        "suggested_level": LEVEL_2_5_28,
        "not_studied": message.count("not studied") == 1,
    }


def test_renal_band_names_a_bad_crcl():
    with pytest.raises(ValueError, match=r"^crcl_ml_min must be a number, got 'n/a'$"):
        renal_band("n/a", on_dialysis=False)
