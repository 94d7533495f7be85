"""Stored values grade exactly like the pure rules at every boundary, whatever the unit;
therapy reads valid canonical values through patients.lab_selectors."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring.services import CANONICAL_PLACES
from patients.lab_catalogue import from_canonical, to_canonical
from tests.monitoring.conftest import at, record

pytestmark = pytest.mark.django_db

BOUNDARIES = [
    # (code, value entered, unit, CTCAE grade stored)
    ("ANC", "1000", "/uL", 2),
    ("ANC", "999", "/uL", 3),
    ("ANC", "0.5", "10^3/uL", 3),
    ("ANC", "0.49", "10^9/L", 4),
    ("PLT", "75000", "/uL", 1),
    ("PLT", "74999", "/uL", 2),
    ("PLT", "25", "10^3/uL", 3),
    ("PLT", "24", "10^9/L", 4),
    ("WBC", "2000", "/uL", 2),
    ("WBC", "1999", "/uL", 3),
    ("LYMPH", "0.2", "10^9/L", 3),
    ("LYMPH", "199", "/uL", 4),
    ("HGB", "100", "g/L", 1),
    ("HGB", "99", "g/L", 2),
    ("HGB", "6.206", "mmol/L", 1),  # exactly 10.0 g/dL
    ("HGB", "6.2059", "mmol/L", 2),  # 9.99984 g/dL
    ("HGB", "4.9648", "mmol/L", 2),  # exactly 8.0 g/dL
    ("HGB", "4.9", "mmol/L", 3),  # 7.896 g/dL
]


@pytest.mark.parametrize(("code", "value", "unit", "expected"), BOUNDARIES)
def test_stored_grade_at_each_ctcae_boundary_in_each_unit(
    patient, nurse, code, value, unit, expected
):
    (result,) = record(patient, nurse, date(2025, 3, 1), units={code: unit}, **{code: value})
    result.refresh_from_db()
    assert result.ctcae_grade == expected
    assert (result.value_as_entered, result.unit_as_entered) == (value, unit)


@settings(max_examples=40, deadline=None)
@given(
    pair=st.sampled_from(
        [
            ("HGB", "mmol/L"),
            ("HGB", "g/L"),
            ("CREAT", "umol/L"),
            ("CALCIUM", "mmol/L"),
            ("FLC_KAPPA", "mg/dL"),
            ("PLT", "/uL"),
        ]
    ),
    value=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("20"), places=2),
)
def test_stored_canonical_value_converts_back_to_what_was_entered(pair, value):
    code, unit = pair
    stored = to_canonical(code, value, unit).quantize(CANONICAL_PLACES)
    assert from_canonical(code, stored, unit).quantize(Decimal("0.01")) == value


def test_therapy_reads_latest_valid_values_and_pregnancy_tests_from_the_lab_record(patient, nurse):
    from monitoring import services
    from patients import lab_selectors

    record(patient, nurse, date(2025, 3, 1), ANC="1.2", CREAT="1.1")
    (newer,) = record(patient, nurse, date(2025, 3, 8), ANC="0.4")
    services.lab_result_mark_entered_in_error(result=newer, user=nurse, reason="Wrong patient")
    record(patient, nurse, date(2025, 3, 2), HCG_URINE_QUAL="negative")
    values = lab_selectors.latest_values(
        patient.pk, ["ANC", "CREAT", "PLT"], as_of=date(2025, 3, 10)
    )
    assert (
        values["ANC"].value == Decimal("1.2")
        and values["CREAT"].unit == "mg/dL"
        and "PLT" not in values
    )
    tests = lab_selectors.pregnancy_tests(
        [patient.pk], since=date(2025, 3, 1), as_of=date(2025, 3, 10)
    )[patient.pk]
    assert [(t.result, t.collected_at) for t in tests] == [("negative", at(date(2025, 3, 2)))]
    assert lab_selectors.last_negative_pregnancy_tests(
        [patient.pk], since=date(2025, 1, 1), as_of=date(2025, 3, 10)
    ) == {patient.pk: date(2025, 3, 2)}
