"""The demo cohort gets realistic courses: reductions, holds, discontinuations, REMS."""

from datetime import date

import pytest
from django.core.management import call_command

from therapy import selectors
from therapy.demo import seed_therapy
from therapy.models import DoseChange, Hold, MaintenanceCourse, RemsAuthorization, RemsEnrollment

pytestmark = pytest.mark.django_db
AS_OF = "2026-11-21"


def counts():
    return tuple(
        m.objects.count()
        for m in (MaintenanceCourse, Hold, DoseChange, RemsEnrollment, RemsAuthorization)
    )


def test_seed_demo_adds_courses_with_reductions_holds_and_discontinuations():
    call_command("seed_demo", "--patients", "120", "--as-of", AS_OF)
    courses = MaintenanceCourse.objects.all()
    assert courses.count() > 80
    assert Hold.objects.filter(reason__in=["neutropenia", "thrombocytopenia"]).exists()
    assert DoseChange.objects.filter(to_dose_mg__lt=10).exists()
    stopped = courses.filter(status="discontinued")
    assert stopped.exists()
    assert set(stopped.values_list("patient__status", flat=True)) <= {
        "off_therapy",
        "deceased",
        "transferred",
    }
    assert not courses.filter(status="active").exclude(patient__status="active").exists()
    assert set(courses.values_list("regimen__code", flat=True)) >= {"len-10-d1-21", "len-10-d1-28"}
    fcbp = RemsEnrollment.objects.filter(patient__reproductive_potential="can_become_pregnant")
    assert all(e.patient_risk_category.startswith("fcbp") for e in fcbp)
    ids = list(courses.values_list("patient_id", flat=True))
    outcomes = {
        s.status.outcome for s in selectors.rems_states(ids, as_of=date(2026, 11, 21)).values()
    }
    assert outcomes == {"compliant", "action_needed"}


def test_seed_therapy_is_idempotent():
    call_command("seed_demo", "--patients", "40", "--as-of", AS_OF)
    before = counts()
    assert seed_therapy(seed=20261121, as_of=date(2026, 11, 21)) == 0
    assert counts() == before


def test_demo_courses_obey_the_calendar_rules():
    call_command("seed_demo", "--patients", "80", "--as-of", AS_OF)
    ids = list(MaintenanceCourse.objects.active().values_list("patient_id", flat=True))
    snapshots = selectors.course_snapshots(ids, as_of=date(2026, 11, 21))
    assert len(snapshots) == len(ids)  # every calendar builds: holds never overlap
