"""The demo cohort's labs: deterministic, idempotent, and flags exist on first run."""

from collections import Counter

import pytest
from django.core.management import call_command

from monitoring.models import Flag
from patients.models import LabResult


@pytest.mark.django_db
def test_seed_demo_adds_labs_and_flags_once(capsys):
    call_command("seed_demo", "--patients", "60", "--as-of", "2026-11-21")
    labs = LabResult.objects.count()
    flags = sorted(Flag.objects.values_list("patient__mrn", "kind", "status"))
    assert labs > 60 * 50
    kinds = Counter(kind for _, kind, _ in flags)
    assert kinds["neutropenia"] + kinds["thrombocytopenia"] > 0
    assert LabResult.objects.filter(ctcae_grade__gte=3).exists()
    assert LabResult.objects.filter(test_code="FLC_RATIO").exists()
    call_command("seed_demo", "--patients", "60", "--as-of", "2026-11-21")
    assert LabResult.objects.count() == labs
    assert sorted(Flag.objects.values_list("patient__mrn", "kind", "status")) == flags
    assert "demo labs: 0 new results" in capsys.readouterr().out


@pytest.mark.django_db
def test_demo_labs_are_deterministic():
    from datetime import date

    from django.utils import timezone

    from monitoring.demo import _Course, _patient_labs
    from tests.factories import DiagnosisFactory, PatientFactory

    patient = PatientFactory(
        mrn="N000007",
        sex_at_birth="female",
        reproductive_potential="can_become_pregnant",
        menses_regular=True,
    )
    DiagnosisFactory(patient=patient)
    course = _Course(start=date(2025, 1, 6), end=None, dose_mg=10)
    tz = timezone.get_current_timezone()

    def values(seed):
        rows = _patient_labs(patient, course, seed=seed, as_of=date(2026, 1, 1), tz=tz)
        return [(r.test_code, r.collected_at, r.canonical_value, r.qualitative) for r in rows]

    assert values(1) == values(1) != values(2)
    assert any(code.startswith("HCG") for code, *_ in values(1))
