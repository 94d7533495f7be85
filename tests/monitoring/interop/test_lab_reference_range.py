"""CTCAE grade 1 is "< LLN" of the reporting lab (clinical reference sec. 6 and 8): the range
sent with the result wins; the catalogue's range is the fallback."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from monitoring import services
from monitoring.evaluation import patient_rules_evaluate
from monitoring.models import Flag
from monitoring.rules import ctcae
from patients.models import LabResult
from tests.monitoring.interop.conftest import Res, oru, receive

pytestmark = pytest.mark.django_db

DRAWN = "20250602083000-0400"

# (LOINC, unit, the lab's LLN, value just below / at / just above it). Each LLN differs
# from the catalogue default, and every value sits above the grade 2 limit.
LAB_LLN = [
    ("718-7", "HGB", "g/dL", "13.5", "13.4", "13.5", "13.6"),
    ("777-3", "PLT", "10*9/L", "100", "99", "100", "101"),
    ("6690-2", "WBC", "10*9/L", "5.0", "4.9", "5.0", "5.1"),
    ("731-0", "LYMPH", "10*9/L", "1.2", "1.1", "1.2", "1.3"),
    ("751-8", "ANC", "10*9/L", "1.8", "1.7", "1.8", "1.9"),
]


@pytest.mark.parametrize(("loinc", "code", "unit", "lln", "below", "at", "above"), LAB_LLN)
@pytest.mark.parametrize(("position", "grade"), [("below", 1), ("at", 0), ("above", 0)])
def test_grade_1_uses_the_reporting_labs_lln(
    sender, patient, loinc, code, unit, lln, below, at, above, position, grade
):
    value = {"below": below, "at": at, "above": above}[position]
    outcome = receive(oru([(DRAWN, [Res(loinc, value, unit, f"{lln}-999")])]))

    assert outcome.ack_code == "AA", outcome.message.reason
    result = LabResult.objects.get(patient=patient, test_code=code)
    assert result.ref_low == Decimal(lln) and result.ref_from_lab
    assert result.ctcae_grade == grade
    assert result.out_of_range == ("low" if grade else "")


def test_platelets_100_with_a_lab_lln_of_100_is_normal_not_grade_1(sender, patient):
    receive(oru([(DRAWN, [Res("777-3", "100", "10*9/L", "100-400")])]))
    assert LabResult.objects.get(test_code="PLT").ctcae_grade == 0


def test_wbc_4_9_with_a_lab_lln_of_5_0_is_grade_1(sender, patient):
    receive(oru([(DRAWN, [Res("6690-2", "4.9", "10*9/L", "5.0-11.0")])]))
    assert LabResult.objects.get(test_code="WBC").ctcae_grade == 1


def test_without_a_lab_range_the_catalogue_lln_is_the_fallback(sender, patient):
    # Catalogue platelet LLN 150 (catalogue.TESTS): 149 is grade 1.
    receive(oru([(DRAWN, [Res("777-3", "149", "10*9/L")])]))
    result = LabResult.objects.get(test_code="PLT")
    assert result.ctcae_grade == 1 and not result.ref_from_lab
    assert result.ref_low == Decimal("150")


def test_lab_range_in_another_unit_is_converted_with_the_value(sender, patient):
    # Hemoglobin in g/L with its range in g/L: LLN 135 g/L = 13.5 g/dL.
    receive(oru([(DRAWN, [Res("718-7", "134", "g/L", "135-175")])]))
    result = LabResult.objects.get(test_code="HGB")
    assert result.ref_low == Decimal("13.5") and result.ctcae_grade == 1


def test_lab_abnormal_flag_is_stored_but_not_trusted(sender, patient):
    # The lab says "L"; with its own LLN of 100, 120 is within range.
    receive(oru([(DRAWN, [Res("777-3", "120", "10*9/L", "100-400", flags="L")])]))
    result = LabResult.objects.get(test_code="PLT")
    assert result.lab_abnormal_flags == "L" and result.out_of_range == ""


@pytest.mark.parametrize(("lln", "grade"), [("5.0", 1), ("4.9", 0), ("4.8", 0)])
def test_ctcae_grade_takes_the_lln_it_is_given(lln, grade):
    assert ctcae.grade("WBC", Decimal("4.9"), lln=Decimal(lln)).grade == grade


def test_ctcae_grade_without_lln_is_not_graded_above_grade_2():
    assert ctcae.grade("WBC", Decimal("4.9")).grade is None


def test_api_style_entry_with_a_reference_range_grades_against_it(patient, nurse):
    from django.utils import timezone

    saved = services.lab_results_record(
        patient=patient,
        user=nurse,
        collected_at=timezone.now(),
        entries=[
            services.LabEntry(
                "PLT", "99", "10^9/L", ref_low=Decimal("100"), ref_high=Decimal("400")
            )
        ],
    )
    assert saved[0].ctcae_grade == 1 and saved[0].ref_from_lab


def test_preliminary_result_raises_a_flag_marked_preliminary(sender, patient):
    receive(oru([(DRAWN, [Res("751-8", "0.8", "10*9/L", "2.0-7.5", status="P")])]))

    patient_rules_evaluate(patient_id=patient.pk, as_of=date(2025, 6, 3))

    flag = Flag.objects.get(patient=patient, kind=Flag.Kind.NEUTROPENIA)
    assert flag.ctcae_grade == 3 and "Preliminary result." in flag.message
