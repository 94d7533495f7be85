"""The one strict parser for clinical numbers (patients.parsing), property-based: whatever
it accepts round-trips exactly, and anything else raises the domain error, never another
exception."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from patients import parsing
from patients.errors import DomainError

PLAIN_DECIMALS = st.decimals(
    min_value=Decimal("-999999999999"),
    max_value=Decimal("999999999999"),
    allow_nan=False,
    allow_infinity=False,
    places=None,
).filter(lambda d: -d.as_tuple().exponent <= parsing.MAX_FRACTION_DIGITS)


@given(PLAIN_DECIMALS)
def test_a_plain_decimal_round_trips_exactly(number):
    text = parsing.format_plain(number)
    parsed = parsing.parse_clinical_number(text)
    assert parsed == number
    assert parsing.format_plain(parsed) == text  # same digits, same places ("0.40" stays)


@given(st.text(max_size=40))
@example("1E+999999999")
@example("1e-999999999")
@example("0_3")
@example("٠.٣")
@example("٠٫٣")
@example("Infinity")
@example("-sNaN")
@example("\ud800")
@example("9" * 100)
def test_any_text_is_a_number_or_the_domain_error(text):
    try:
        parsed = parsing.parse_clinical_number(text, label="ANC")
    except DomainError as error:
        assert isinstance(error, parsing.ParseError)
        assert error.message.startswith("ANC: ")
        return
    # Accepted: plain ASCII digits, and exactly the number written.
    assert parsed.is_finite()
    assert all(ch in "0123456789.-, " or ch.isspace() for ch in text)
    assert parsed == Decimal(text.strip().replace(",", ""))


@given(st.one_of(st.none(), st.integers(), st.floats(), st.lists(st.integers()), st.binary()))
def test_a_value_that_is_not_text_is_the_domain_error(value):
    with pytest.raises(parsing.ParseError):
        parsing.parse_clinical_number(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.4", "0.4"), ("0.40", "0.40"), (".5", "0.5"), ("12,500", "12500"), (" 7 ", "7")],
)
def test_accepted_spellings(text, expected):
    assert parsing.parse_clinical_number(text) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("٠.٣", parsing.NOT_ASCII_DIGITS),  # Arabic-Indic digits, full stop
        ("٠٫٣", parsing.NOT_ASCII_DIGITS),  # Arabic-Indic digits, Arabic decimal separator
        ("0,4", parsing.DECIMAL_COMMA),
        ("1e1", parsing.EXPONENT),
        ("0_3", parsing.NOT_A_NUMBER),
    ],
)
def test_both_unicode_spellings_and_lenient_forms_are_refused_with_their_message(text, message):
    with pytest.raises(parsing.ParseError) as refused:
        parsing.parse_clinical_number(text, label="ANC")
    assert refused.value.message == message.format(test="ANC", value=text)
