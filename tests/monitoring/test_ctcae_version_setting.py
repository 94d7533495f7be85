"""A clinic grades with the CTCAE version of its rule settings (issue 13): the grade stored
with a lab result and the cytopenia flag both follow it; other clinics keep v5.0."""

from datetime import date
from decimal import Decimal

import pytest

from patients.models import RuleSetting
from tests.factories import PatientFactory
from tests.monitoring.conftest import evaluate, open_flag, record

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 2)


@pytest.fixture
def clinic_a_grades_with_v6(clinic_a):
    return RuleSetting.objects.create(
        key="ctcae.version",
        version=1,
        clinic=clinic_a,
        value=Decimal("6.0"),
        unit="version",
        status="guideline",
        source="Alpha clinic adopts CTCAE v6.0",
        effective_from=date(2026, 1, 1),
    )


def test_stored_grade_follows_the_clinics_ctcae_version(
    patient, nurse, clinic_b, clinic_a_grades_with_v6
):
    # ANC 0.3: v6.0 grade 3 (< 0.5 to 0.1), v5.0 grade 4 (< 0.5) - reference sec. 6.
    (in_a,) = record(patient, nurse, DAY, ANC="0.3")
    assert (in_a.ctcae_grade, in_a.ctcae_version) == (3, "6.0")
    other = PatientFactory(clinic=clinic_b)
    (in_b,) = record(other, nurse, DAY, ANC="0.3")
    assert (in_b.ctcae_grade, in_b.ctcae_version) == (4, "5.0")


def test_cytopenia_flag_follows_the_clinics_ctcae_version(patient, nurse, clinic_a_grades_with_v6):
    # Platelets 20: v6.0 grade 3 (G4 only < 10), v5.0 grade 4 (< 25).
    record(patient, nurse, DAY, PLT="20")
    evaluate(patient, DAY)
    flag = open_flag(patient, "thrombocytopenia")
    assert flag is not None
    assert (flag.ctcae_grade, flag.ctcae_version) == (3, "6.0")
    assert "CTCAE v6.0" in flag.message
