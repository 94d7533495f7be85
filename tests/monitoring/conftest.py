"""Monitoring fixtures: recording labs in one call, a real therapy course, evaluation."""

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from monitoring import services
from monitoring.evaluation import patient_rules_evaluate
from monitoring.models import Flag
from patients.lab_catalogue import find_test

COURSE_START = date(2025, 1, 6)


def at(on: date, hour: int = 9) -> datetime:
    return timezone.make_aware(datetime.combine(on, time(hour, 0)))


def record(patient, user, on: date, *, hour: int = 9, units: dict | None = None, **values):
    """record(patient, nurse, date, ANC="0.8", PLT="120") -> saved results (canonical units
    unless ``units`` says otherwise)."""
    units = units or {}
    entries = [
        services.LabEntry(code, str(value), units.get(code, find_test(code).canonical_unit), True)
        for code, value in values.items()
    ]
    return services.lab_results_record(
        patient=patient, user=user, collected_at=at(on, hour), entries=entries
    )


def cbc(patient, user, on: date, *, anc="3.0", plt="200", hgb="13.5", wbc="6.0", **extra):
    return record(patient, user, on, ANC=anc, PLT=plt, HGB=hgb, WBC=wbc, **extra)


def evaluate(patient, as_of: date):
    return patient_rules_evaluate(patient_id=patient.pk, as_of=as_of)


def open_flag(patient, kind) -> Flag | None:
    return Flag.objects.open().filter(patient=patient, kind=kind).first()


def open_kinds(patient) -> set[str]:
    return set(Flag.objects.open().filter(patient=patient).values_list("kind", flat=True))


@pytest.fixture
def regimen(db):
    import importlib

    from django.apps import apps

    from therapy.models import Regimen

    if not Regimen.objects.filter(code="len-10-d1-21").exists():
        # A transaction=True test flushed the catalogue its data migration seeded: re-seed.
        importlib.import_module("therapy.migrations.0002_regimen_catalogue").seed_catalogue(
            apps, None
        )
    return Regimen.objects.get(code="len-10-d1-21")


def start_course(patient, physician, regimen, start=COURSE_START):
    from therapy import services as therapy_services

    return therapy_services.course_start(
        patient=patient,
        user=physician,
        regimen=regimen,
        start_date=start,
        vte_prophylaxis="aspirin",
        aspirin_dose_mg=81,
        justification="Synthetic test course",
        today=start + timedelta(days=1),
    )


@pytest.fixture
def course(patient, physician, regimen):
    return start_course(patient, physician, regimen)
