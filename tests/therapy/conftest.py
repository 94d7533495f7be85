"""Therapy fixtures: a REMS-enrolled patient, a course started by the physician, and lab
results written into the lab record."""

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django.utils import timezone

from patients.lab_catalogue import find_test
from patients.models import LabResult
from therapy import services
from therapy.models import MaintenanceCourse, Regimen, RemsEnrollment

START = date(2024, 9, 10)  # ~100 days after the fixture patient's transplant (2024-06-01)


@pytest.fixture
def enrolled(patient):
    return RemsEnrollment.objects.create(
        patient=patient,
        patient_risk_category="male_adult",
        enrolled_on=date(2024, 9, 1),
        agreement_signed_on=date(2024, 9, 1),
        rems_patient_id="RP-1001",
        prescriber_name="Paul Physician",
        prescriber_enrollment_id="PE-77",
        prescriber_certification_expires_on=date(2030, 1, 1),
    )


@pytest.fixture
def regimen_10_21(db):
    return Regimen.objects.get(code="len-10-d1-21")


@pytest.fixture
def regimen_10_28(db):
    return Regimen.objects.get(code="len-10-d1-28")


def start_course(patient, user, regimen, start=START, **extra) -> MaintenanceCourse:
    # Most tests have no labs for the checklist (unknown items), which needs a justification.
    extra.setdefault("justification", "Synthetic test course: labs not entered")
    return services.course_start(
        patient=patient,
        user=user,
        regimen=regimen,
        start_date=start,
        vte_prophylaxis="aspirin",
        aspirin_dose_mg=81,
        **extra,
    )


@pytest.fixture
def course(patient, physician, enrolled, regimen_10_21):
    return start_course(patient, physician, regimen_10_21)


def at(on: date, hour: int = 9) -> datetime:
    return timezone.make_aware(datetime.combine(on, time(hour, 0)))


@dataclass
class Labs:
    """Lab results written straight into the lab record (patients.LabResult), which therapy
    reads through patients.lab_selectors like in production."""

    made: list[LabResult] = field(default_factory=list)

    def add(self, patient, code: str, value, on: date, unit: str = "") -> LabResult:
        test = find_test(code)
        return self._save(
            patient,
            code,
            at(on),
            canonical_value=Decimal(str(value)),
            canonical_unit=test.canonical_unit,
            value_as_entered=str(value),
            unit_as_entered=unit or test.canonical_unit,
        )

    def add_pregnancy_test(self, patient, on: datetime, result: str = "negative") -> LabResult:
        return self._save(
            patient, "HCG_URINE_QUAL", on, qualitative=result, hcg_sensitivity_miu_ml=Decimal("25")
        )

    def _save(self, patient, code: str, collected_at: datetime, **values) -> LabResult:
        result = LabResult.objects.create(
            patient=patient,
            test_code=code,
            panel=find_test(code).panel,
            collected_at=collected_at,
            entered_at=collected_at,
            **values,
        )
        self.made.append(result)
        return result


@pytest.fixture
def labs(db):
    return Labs()
