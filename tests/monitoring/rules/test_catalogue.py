from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patients import lab_catalogue as catalogue
from patients.lab_catalogue import (
    PANELS,
    TESTS,
    UnitError,
    UnknownTestError,
    check_plausible,
    find_test,
    flc_ratio,
    from_canonical,
    loinc_check_digit_ok,
    out_of_range,
    suspicious_change,
    to_canonical,
)
from patients.rulebook import Threshold

D = Decimal

ALL_LOINCS = [loinc for test in TESTS for loinc in test.loinc_codes]
NUMERIC_UNITS = [
    (test.code, unit) for test in TESTS if test.is_numeric for unit in test.accepted_units
]


@pytest.mark.parametrize("loinc", ALL_LOINCS)
def test_every_catalogue_loinc_passes_the_check_digit(loinc):
    assert loinc_check_digit_ok(loinc)


def test_catalogue_holds_every_loinc_of_the_reference_table():
    reference = [
        "6690-2",
        "751-8",
        "26499-4",
        "753-4",
        "731-0",
        "777-3",
        "26515-7",
        "718-7",
        "2160-0",
        "14682-9",
        "17861-6",
        "1751-7",
        "2532-0",
        "1952-1",
        "33358-3",
        "51435-6",
        "42482-0",
        "36916-5",
        "33944-0",
        "48378-4",
        "2118-8",
        "21198-7",
        "2106-3",
        "11118-7",
    ]
    assert sorted(ALL_LOINCS) == sorted(reference)


@pytest.mark.parametrize("code", ["751-7", "751-9", "7518", "751-", "abc-1", "", "12345678-9"])
def test_wrong_or_malformed_loinc_fails_the_check_digit(code):
    assert not loinc_check_digit_ok(code)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("ANC", "ANC"),
        ("anc", "ANC"),
        ("751-8", "ANC"),
        ("26499-4", "ANC"),
        ("753-4", "ANC"),
        ("26515-7", "PLT"),
        ("14682-9", "CREAT"),
        ("51435-6", "SPEP_M"),
        (" 718-7 ", "HGB"),
    ],
)
def test_find_test_accepts_a_code_or_any_of_its_loinc_codes(query, code):
    assert find_test(query).code == code


def test_find_test_refuses_an_unknown_code():
    with pytest.raises(UnknownTestError, match="9999-9"):
        find_test("9999-9")


def test_panels_list_their_tests_in_catalogue_order():
    assert PANELS["cbc"].test_codes == ("WBC", "ANC", "LYMPH", "HGB", "PLT")
    assert PANELS["chemistry"].test_codes == ("CREAT", "CALCIUM", "ALBUMIN", "LDH", "B2M")
    assert PANELS["myeloma"].test_codes == (
        "SPEP_M",
        "UPEP_M24",
        "FLC_KAPPA",
        "FLC_LAMBDA",
        "FLC_RATIO",
        "SIFE",
        "UIFE",
    )
    assert PANELS["pregnancy"].test_codes == ("HCG_SERUM_QUAL", "HCG_SERUM_QUANT", "HCG_URINE_QUAL")
    assert PANELS["mrd"].test_codes == ("MRD", "MRD_LEVEL", "MARROW_PC")
    assert PANELS["cbc"].name == "Complete blood count"


def test_every_test_belongs_to_exactly_one_panel():
    listed = [code for panel in PANELS.values() for code in panel.test_codes]
    assert sorted(listed) == sorted(test.code for test in TESTS)


def test_every_numeric_test_accepts_its_canonical_unit_with_factor_one():
    for test in TESTS:
        if test.is_numeric:
            assert to_canonical(test.code, D("1.23"), test.canonical_unit) == D("1.23")


def test_immunofixation_and_qualitative_tests_offer_their_choices():
    assert find_test("SIFE").choices == ("negative", "positive", "not_done")
    assert find_test("UIFE").value_kind == "choice"
    assert find_test("HCG_URINE_QUAL").choices == ("negative", "positive")
    assert find_test("MRD").choices == ("negative", "positive")


@pytest.mark.parametrize(
    ("code", "value", "unit", "canonical"),
    [
        ("ANC", "1500", "/uL", "1.5"),
        ("ANC", "1.5", "10^3/uL", "1.5"),
        ("PLT", "75000", "/uL", "75"),
        ("WBC", "999", "/uL", "0.999"),
        ("HGB", "80", "g/L", "8"),
        ("HGB", "4.9648", "mmol/L", "8"),
        ("HGB", "6.206", "mmol/L", "10"),
        ("CREAT", "88.4", "umol/L", "1"),
        ("CREAT", "176.8", "umol/L", "2"),
        ("CALCIUM", "2.495", "mmol/L", "10"),
        ("ALBUMIN", "35", "g/L", "3.5"),
        ("SPEP_M", "12", "g/L", "1.2"),
        ("FLC_KAPPA", "10", "mg/dL", "100"),
        ("FLC_LAMBDA", "2.63", "mg/dL", "26.3"),
        ("HCG_SERUM_QUANT", "25", "IU/L", "25"),
        ("MRD_LEVEL", "0.001", "%", "0.00001"),
    ],
)
def test_values_convert_exactly_to_the_canonical_unit(code, value, unit, canonical):
    assert to_canonical(code, D(value), unit) == D(canonical)


def test_unit_matching_tolerates_micro_sign_and_letter_case():
    assert to_canonical("CREAT", D("88.4"), "µmol/L") == D(1)
    assert to_canonical("ANC", D("1500"), "/UL") == D("1.5")


def test_unknown_unit_is_refused_with_the_accepted_units_named():
    with pytest.raises(UnitError, match=r"10\^9/L, 10\^3/uL, /uL"):
        to_canonical("ANC", D("1.5"), "mmol/L")


def test_free_light_chains_need_an_explicit_unit():
    with pytest.raises(UnitError, match="mg/L, mg/dL"):
        to_canonical("FLC_KAPPA", D("10"), "")


def test_converting_a_non_numeric_test_is_refused():
    with pytest.raises(UnitError, match="not a numeric test"):
        to_canonical("SIFE", D(1), "g/dL")


def test_floats_are_refused_because_they_lose_the_reported_digits():
    with pytest.raises(TypeError):
        to_canonical("ANC", 1.5, "10^9/L")


# Clinical reference sec. 8, "Also accepted": how many of the entered unit make one canonical
# unit. Written out here, never taken from the catalogue, so a wrong factor fails.
REFERENCE_FACTORS = [
    ("WBC", "10^3/uL", "1"),
    ("WBC", "/uL", "0.001"),
    ("ANC", "10^3/uL", "1"),
    ("ANC", "/uL", "0.001"),
    ("LYMPH", "10^3/uL", "1"),
    ("LYMPH", "/uL", "0.001"),
    ("PLT", "10^3/uL", "1"),
    ("PLT", "/uL", "0.001"),
    ("HGB", "g/L", "0.1"),
    ("HGB", "mmol/L", str(1 / D("0.6206"))),
    ("CREAT", "umol/L", str(1 / D("88.4"))),
    ("CALCIUM", "mmol/L", str(1 / D("0.2495"))),
    ("ALBUMIN", "g/L", "0.1"),
    ("SPEP_M", "g/L", "0.1"),
    ("FLC_KAPPA", "mg/dL", "10"),
    ("FLC_LAMBDA", "mg/dL", "10"),
    ("HCG_SERUM_QUANT", "IU/L", "1"),
]


@pytest.mark.parametrize(("code", "unit", "per_unit"), REFERENCE_FACTORS)
@pytest.mark.parametrize("entered", ["1", "4.9", "250", "12345.6"])
def test_every_accepted_unit_converts_by_the_reference_factor(code, unit, per_unit, entered):
    expected = D(entered) * D(per_unit)
    got = to_canonical(code, D(entered), unit)
    assert abs(got - expected) <= abs(expected) * D("1e-12")


def test_reference_examples_convert_to_the_expected_canonical_values():
    # Hand-worked from clinical reference sec. 8.
    assert to_canonical("ANC", D("1500"), "/uL") == D("1.5")
    assert to_canonical("HGB", D("95"), "g/L") == D("9.5")
    assert to_canonical("HGB", D("6.206"), "mmol/L") == D("10")
    assert to_canonical("CREAT", D("176.8"), "umol/L") == D("2")
    assert to_canonical("CALCIUM", D("2.495"), "mmol/L") == D("10")
    assert to_canonical("FLC_KAPPA", D("2.5"), "mg/dL") == D("25")


@given(data=st.data(), pair=st.sampled_from(NUMERIC_UNITS))
def test_entered_value_survives_a_round_trip_through_the_canonical_unit(data, pair):
    code, unit = pair
    entered = data.draw(
        st.decimals(min_value=0, max_value=100000, places=4, allow_nan=False, allow_infinity=False)
    )
    back = from_canonical(code, to_canonical(code, entered, unit), unit)
    assert back.quantize(D("0.0001")) == entered


@given(data=st.data(), pair=st.sampled_from(NUMERIC_UNITS))
def test_canonical_value_survives_display_in_another_unit(data, pair):
    code, unit = pair
    places = find_test(code).decimal_places
    canonical = data.draw(st.decimals(min_value=0, max_value=10000, places=places, allow_nan=False))
    back = to_canonical(code, from_canonical(code, canonical, unit), unit)
    assert back.quantize(D(1).scaleb(-places)) == canonical


def test_every_reference_unit_is_tested_with_its_factor():
    listed = {(code, unit) for code, unit, _ in REFERENCE_FACTORS}
    converted = {
        (code, unit)
        for code, unit in NUMERIC_UNITS
        if unit != find_test(code).canonical_unit and code != "MRD_LEVEL"
    }
    assert converted <= listed


def test_flc_ratio_divides_kappa_by_lambda():
    assert flc_ratio(D("30"), D("15")) == D(2)
    assert flc_ratio(D("3.3"), D("26.3")) < D("0.26")


@pytest.mark.parametrize(("kappa", "lam"), [(None, D(10)), (D(10), None), (D(10), D(0))])
def test_flc_ratio_is_none_without_both_chains_or_with_zero_lambda(kappa, lam):
    assert flc_ratio(kappa, lam) is None


@pytest.mark.parametrize(
    ("code", "value", "limit_word", "limit"),
    [
        ("ANC", "100.01", "maximum", "100"),
        ("ANC", "-0.01", "minimum", "0"),
        ("HGB", "0.9", "minimum", "1"),
        ("HGB", "25.1", "maximum", "25"),
        ("PLT", "3001", "maximum", "3000"),
        ("CREAT", "0.04", "minimum", "0.05"),
        ("CREAT", "30.1", "maximum", "30"),
        ("MARROW_PC", "101", "maximum", "100"),
    ],
)
def test_impossible_value_is_rejected_with_the_limit_named(code, value, limit_word, limit):
    message = check_plausible(code, D(value))
    assert message is not None
    assert f"plausible {limit_word} of {limit}" in message


@pytest.mark.parametrize(
    ("code", "value"),
    [("ANC", "100"), ("ANC", "0"), ("HGB", "1"), ("HGB", "25"), ("CREAT", "0.05"), ("PLT", "3000")],
)
def test_value_at_a_plausibility_limit_is_accepted(code, value):
    assert check_plausible(code, D(value)) is None


@pytest.mark.parametrize(
    ("code", "value", "mark"),
    [
        ("ANC", "1.99", "low"),
        ("ANC", "2.0", None),
        ("ANC", "7.5", None),
        ("ANC", "7.51", "high"),
        ("PLT", "149", "low"),
        ("PLT", "150", None),
        ("FLC_RATIO", "0.25", "low"),
        ("FLC_RATIO", "1.65", None),
        ("FLC_RATIO", "1.66", "high"),
        ("SPEP_M", "3.0", None),
        # Typical adult fallback ranges (common laboratory practice; the lab's own range
        # wins): hemoglobin from 12.0 g/dL, lymphocytes 1.0-4.0, white cells 4.0-11.0.
        ("HGB", "11.9", "low"),
        ("HGB", "12.0", None),
        ("HGB", "12.1", None),
        ("LYMPH", "0.99", "low"),
        ("LYMPH", "1.0", None),
        ("LYMPH", "3.99", None),
        ("LYMPH", "4.0", None),
        ("LYMPH", "4.01", "high"),
        ("WBC", "3.9", "low"),
        ("WBC", "4.0", None),
        ("WBC", "11.0", None),
        ("WBC", "11.1", "high"),
    ],
)
def test_out_of_range_marks_values_outside_the_reference_range(code, value, mark):
    assert out_of_range(code, D(value)) == mark


def test_a_thousandfold_jump_is_flagged_as_a_likely_unit_mix_up():
    message = suspicious_change("ANC", D("1.5"), D("1500"))
    assert message is not None
    assert "1000-fold rise" in message


def test_a_hundredfold_fall_is_flagged_and_a_ninety_ninefold_change_is_not():
    assert suspicious_change("PLT", D("200"), D("2")) is not None
    assert suspicious_change("PLT", D("198"), D("2")) is None


def test_a_fall_to_zero_is_clinical_not_a_unit_slip():
    assert suspicious_change("ANC", D("2.0"), D("0")) is None


def test_the_unit_mix_up_fold_is_configurable():
    default = catalogue.DEFAULTS[0]
    tenfold = {default.key: Threshold(default.key, D(10), "fold", default.status, default.source)}
    assert suspicious_change("FLC_KAPPA", D("12"), D("120"), thresholds=tenfold) is not None


def test_the_unit_mixup_warning_reads_numbers_as_a_clinician_does():
    # Stored values come back padded to ten places; the nurse reads "2.17", not 2.1700000000.
    message = suspicious_change("ANC", D("2.1700000000"), D("2170.0000000000"))
    assert message == (
        "Neutrophils (ANC) changed from 2.17 to 2170 10^9/L, a 1000-fold rise "
        "(check limit 100-fold): check the unit before saving."
    )
