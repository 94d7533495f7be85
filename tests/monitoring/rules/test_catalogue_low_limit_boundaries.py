"""patients/lab_catalogue.check_implausibly_low, pure cases (mutation round; the form and API
cases are in tests/monitoring/test_implausibly_low.py, outside the rule tests). Clinical
reference sec. 10: above zero but below the analyser's reporting resolution, ANC < 0.01
x10^9/L, hemoglobin < 3 g/dL. Hemoglobin in mmol/L: g/dL = mmol/L / 0.6206; in g/L: g/dL =
g/L / 10 (conversions typed by hand). Plausible hemoglobin is at most 25 g/dL."""

from decimal import Decimal

import pytest

from patients import lab_catalogue as catalogue

D = Decimal
ASK = "To save it anyway, confirm the value and give a reason."


def check(code, value, unit):
    return catalogue.check_implausibly_low(
        code, catalogue.to_canonical(code, D(value), unit), D(value), unit
    )


@pytest.mark.parametrize(
    ("value", "refused"),
    [("-0.001", False), ("0", False), ("0.001", True), ("0.009", True), ("0.01", False)],
)
def test_anc_in_its_own_unit_just_above_zero_and_at_the_limit(value, refused):
    assert (check("ANC", value, "10^9/L") is not None) is refused


def test_a_value_with_no_plausible_reading_asks_to_check_it_without_a_conversion():
    assert check("ANC", "0.005", "10^9/L") == (
        "Neutrophils (ANC) 0.005 10^9/L is below the lower plausibility limit of 0.01 10^9/L."
        " Check the value and its unit. " + ASK
    )
    # The canonical unit typed in other letter case: still no conversion shown.
    assert check("ANC", "0.005", "10^9/l") == (
        "Neutrophils (ANC) 0.005 10^9/l is below the lower plausibility limit of 0.01 10^9/L."
        " Check the value and its unit. " + ASK
    )


def test_anc_per_microlitre_names_the_first_unit_it_is_plausible_in():
    assert check("ANC", "0.4", "/uL") == (
        "Neutrophils (ANC) 0.4 /uL (0.0004 10^9/L) is below the lower plausibility limit of "
        "0.01 10^9/L. Likely unit mix-up: 0.4 is plausible in 10^9/L, not in /uL. " + ASK
    )


def test_hemoglobin_in_g_per_litre_at_and_above_the_plausible_high():
    # 25 g/L = 2.5 g/dL: as g/dL, 25 is the highest plausible hemoglobin; as mmol/L it
    # would be 40.3 g/dL, not plausible.
    assert check("HGB", "25", "g/L") == (
        "Hemoglobin 25 g/L (2.5 g/dL) is below the lower plausibility limit of 3 g/dL. "
        "Likely unit mix-up: 25 is plausible in g/dL, not in g/L. " + ASK
    )
    assert check("HGB", "25.1", "g/L") == (
        "Hemoglobin 25.1 g/L (2.51 g/dL) is below the lower plausibility limit of 3 g/dL. "
        "Check the value and its unit. " + ASK
    )


def test_hemoglobin_in_g_per_decilitre_read_as_mmol_per_litre_at_the_limit():
    # 1.8618 mmol/L = 3 g/dL exactly (the limit: plausible); 1.8617 mmol/L = 2.9998 g/dL.
    assert check("HGB", "1.8618", "g/dL") == (
        "Hemoglobin 1.8618 g/dL is below the lower plausibility limit of 3 g/dL. "
        "Likely unit mix-up: 1.8618 is plausible in mmol/L, not in g/dL. " + ASK
    )
    assert check("HGB", "1.8617", "g/dL") == (
        "Hemoglobin 1.8617 g/dL is below the lower plausibility limit of 3 g/dL. "
        "Check the value and its unit. " + ASK
    )


def test_a_test_without_a_lower_limit_is_never_refused():
    assert catalogue.check_implausibly_low("SIFE", D("0.5"), D("0.5"), "") is None
