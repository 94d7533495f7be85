"""Therapy fixtures: a REMS-enrolled patient, a course started by the physician, and a
fake lab reader standing in for the monitoring app's."""

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django.utils import timezone

from therapy import ports, services
from therapy.models import MaintenanceCourse, Regimen, RemsEnrollment
from therapy.ports import LabValue, PregnancyTestResult

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
class FakeLabReader:
    """Latest values by patient id and code; pregnancy tests by patient id."""

    values: dict[int, dict[str, LabValue]] = field(default_factory=dict)
    tests: dict[int, list[PregnancyTestResult]] = field(default_factory=dict)
    next_id: int = 1

    def add(self, patient, code: str, value, on: date, unit: str = "") -> LabValue:
        lab = LabValue(code, Decimal(str(value)), unit, at(on), self.next_id)
        self.next_id += 1
        self.values.setdefault(patient.pk, {})[code] = lab
        return lab

    def add_pregnancy_test(self, patient, on: datetime, result: str = "negative") -> None:
        self.tests.setdefault(patient.pk, []).append(
            PregnancyTestResult(on, result, Decimal("25"), self.next_id)
        )
        self.next_id += 1

    def latest_values(self, patient_id, codes, *, as_of):
        found = self.values.get(patient_id, {})
        return {c: v for c, v in found.items() if c in codes and v.collected_at.date() <= as_of}

    def pregnancy_tests(self, patient_id, *, since, as_of):
        return [
            t
            for t in self.tests.get(patient_id, [])
            if since <= timezone.localdate(t.collected_at) <= as_of
        ]


@pytest.fixture
def labs():
    previous = ports.lab_reader()
    reader = FakeLabReader()
    ports.register_lab_reader(reader)
    yield reader
    ports.register_lab_reader(previous)


@pytest.fixture(autouse=True)
def null_labs():
    """Therapy tests start with no labs (the null reader), whatever the monitoring app
    registered; ``labs`` replaces it with a fake reader."""
    previous = ports.lab_reader()
    ports.register_lab_reader(ports.NullLabReader())
    yield
    ports.register_lab_reader(previous)
