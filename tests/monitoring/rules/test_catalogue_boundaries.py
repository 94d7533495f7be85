"""Lab catalogue helpers at their edges (mutation testing, issue 13).

Conversion factors typed from the clinical reference sec. 8 (hemoglobin mmol/L /0.6206, cell
counts 10^3/uL = 10^9/L); the 100-fold unit mix-up limit and the plausible maximum of a white
count (500 x10^9/L) are the catalogue's documented data-quality defaults.
"""

from decimal import Context, Decimal, localcontext

import pytest

from patients.lab_catalogue import (
    check_plausible,
    flc_ratio,
    suspicious_change,
    to_canonical,
)

D = Decimal


@pytest.mark.parametrize("unit", ["10^3/µL", "10^3/μL", "10^3/uL"])  # micro sign, Greek mu, u
def test_every_micro_spelling_is_accepted(unit):
    assert to_canonical("WBC", D("5.2"), unit) == D("5.2")


def test_a_float_is_refused_with_a_reason():
    with pytest.raises(TypeError, match=r"^Pass lab values as Decimal \(or str converted"):
        to_canonical("WBC", 5.2, "10^9/L")


def test_conversion_keeps_34_significant_digits():
    with localcontext(Context(prec=34)):
        expected = D(1) / D("0.6206")
    assert to_canonical("HGB", D(1), "mmol/L") == expected


@pytest.mark.parametrize(
    ("kappa", "lam", "ratio"),
    [("5", "0.5", D(10)), ("5", "1", D(5)), ("5", "0", None), ("5", "-1", None)],
)
def test_flc_ratio_with_a_suppressed_lambda(kappa, lam, ratio):
    assert flc_ratio(D(kappa), D(lam)) == ratio


def test_flc_ratio_keeps_34_significant_digits():
    with localcontext(Context(prec=34)):
        expected = D(1) / D(3)
    assert flc_ratio(D(1), D(3)) == expected


def test_implausible_value_message_names_the_unit():
    assert check_plausible("WBC", D("501")) == (
        "White blood cells 501 10^9/L is above the plausible maximum of 500 10^9/L: "
        "check the value and its unit."
    )


def test_suspicious_rise_message():
    assert suspicious_change("WBC", D("0.5"), D("52.37")) == (
        "White blood cells changed from 0.5 to 52.4 10^9/L, a 105-fold rise "
        "(check limit 100-fold): check the unit before saving."
    )


def test_suspicious_fall_message():
    assert suspicious_change("WBC", D("52.37"), D("0.5")) == (
        "White blood cells changed from 52.4 to 0.5 10^9/L, a 105-fold fall "
        "(check limit 100-fold): check the unit before saving."
    )


@pytest.mark.parametrize(("previous", "new"), [("0", "5"), ("5", "0"), ("-1", "5")])
def test_zero_has_no_fold_change(previous, new):
    assert suspicious_change("WBC", D(previous), D(new)) is None
