import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from patients.demo import demo_patient
from patients.models import Clinic, Diagnosis, Patient


@pytest.mark.django_db
def test_seed_demo_is_idempotent(capsys):
    call_command("seed_demo", "--patients", "40", "--as-of", "2026-11-21")
    counts = (Patient.objects.count(), Diagnosis.objects.count(), get_user_model().objects.count())
    call_command("seed_demo", "--patients", "40", "--as-of", "2026-11-21")
    assert (
        Patient.objects.count(),
        Diagnosis.objects.count(),
        get_user_model().objects.count(),
    ) == counts
    assert counts[0] == 40
    assert "0 new patients" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_makes_two_clinics_with_a_user_per_role():
    call_command("seed_demo", "--patients", "4")
    assert Clinic.objects.count() == 2
    for clinic in Clinic.objects.all():
        roles = sorted(g.name for u in clinic.staff.all() for g in u.groups.all())
        assert roles == ["Analyst", "Nurse", "Physician", "REMS administrator"]


def test_demo_patients_are_deterministic():
    from datetime import date

    assert demo_patient(7, seed=1, as_of=date(2026, 1, 1)) == demo_patient(
        7, seed=1, as_of=date(2026, 1, 1)
    )
    assert demo_patient(7, seed=1, as_of=date(2026, 1, 1)) != demo_patient(
        7, seed=2, as_of=date(2026, 1, 1)
    )


def test_demo_transplants_follow_diagnosis_and_births():
    from datetime import date

    for index in range(300):
        p = demo_patient(index, seed=3, as_of=date(2026, 11, 21))
        assert p.date_of_birth < p.diagnosed_on < p.transplanted_on <= date(2026, 11, 21)
