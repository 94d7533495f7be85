"""Synthetic outcomes for the demo cohort's Cohort page. No real person.

Runs after the patient, therapy and lab demos. For each demo patient with a course it adds
confirmed response assessments (the response at the start, a deeper one for some during
maintenance, the confirmed progression on the date the patient demo decided, and a
follow-up visit after maintenance for those alive), and MRD tests: at the start for most,
then yearly for the MRD-positive until they convert (about a third, after a mean of about
18 months, as in Alonso et al.) or progress. Deterministic (``random.Random`` keyed by the
seed and MRN); a patient who already has a demo assessment is skipped, so re-running adds
nothing.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from monitoring.models import ResponseAssessment
from patients import lab_catalogue as catalogue
from patients.models import LabResult, Patient
from therapy.models import MaintenanceCourse

DEMO_MRN = r"^[NS][0-9]{6}$"
MARKER = "Synthetic demo"
BATCH = 500
DEEPER = {"PR": "VGPR", "VGPR": "CR", "CR": "sCR", "MR": "PR", "SD": "PR"}


def _plan(patient: Patient, course: MaintenanceCourse, *, seed: int, as_of: date):
    """(assessments as (date, category, basis), MRD results as (date, result))."""
    rng = random.Random(f"cohort:{seed}:{patient.mrn}")  # noqa: S311  # nosec B311
    diagnosis = getattr(patient, "diagnosis", None)
    start = course.start_date
    end = course.discontinued_on or as_of
    progression = course.discontinued_on if course.discontinuation_reason == "progression" else None
    first = (diagnosis and diagnosis.best_response_pre_maintenance) or "PR"
    assessments = [(start, first, f"{MARKER}: response at the start of maintenance")]
    review = start + timedelta(days=rng.randint(300, 420))
    if review < end:
        deeper = DEEPER.get(first, first) if rng.random() < 0.35 else first
        assessments.append((review, deeper, f"{MARKER}: response review on maintenance"))
    if progression:
        assessments.append((progression, "PD", f"{MARKER}: confirmed progression (IMWG)"))
    alive = patient.status not in (Patient.Status.DECEASED, Patient.Status.TRANSFERRED)
    if course.discontinued_on and alive:
        visit = as_of - timedelta(days=rng.randint(0, 60))
        if visit > course.discontinued_on:
            category = "PD" if progression else assessments[-1][1]
            assessments.append((visit, category, f"{MARKER}: follow-up visit"))

    mrd = []
    if rng.random() < 0.6:
        mrd.append(
            (
                start - timedelta(days=rng.randint(5, 20)),
                "positive" if rng.random() < 0.55 else "negative",
            )
        )
    if mrd and mrd[0][1] == "positive":
        converts_after = rng.gauss(560, 200) if rng.random() < 0.45 else None
        on = start + timedelta(days=365 + rng.randint(-30, 30))
        while on <= min(end, as_of):
            negative = converts_after is not None and (on - start).days >= converts_after
            mrd.append((on, "negative" if negative else "positive"))
            if negative:
                break
            on += timedelta(days=365 + rng.randint(-30, 30))
    return assessments, mrd


def seed_outcomes(*, seed: int, as_of: date) -> int:
    """Assessments and MRD tests for demo patients without demo assessments; returns how
    many patients were given outcomes."""
    done = set(
        ResponseAssessment.objects.filter(basis__startswith=MARKER).values_list(
            "patient_id", flat=True
        )
    )
    courses = (
        MaintenanceCourse.objects.valid()
        .filter(patient__mrn__regex=DEMO_MRN)
        .exclude(patient_id__in=done)
        .select_related("patient__diagnosis", "patient__clinic")
        .order_by("patient_id", "start_date")
    )
    first_course: dict[int, MaintenanceCourse] = {}
    for course in courses:
        first_course.setdefault(course.patient_id, course)
    users = get_user_model().objects
    physicians = {}
    seeded = 0
    items = list(first_course.values())
    for begin in range(0, len(items), BATCH):
        seeded += _seed_batch(items[begin : begin + BATCH], physicians, users, seed, as_of)
    return seeded


@transaction.atomic
def _seed_batch(courses, physicians, users, seed: int, as_of: date) -> int:
    tz = timezone.get_current_timezone()
    mrd_test = catalogue.find_test("MRD")
    assessments, labs = [], []
    for course in courses:
        patient = course.patient
        code = patient.clinic.code
        if code not in physicians:
            physicians[code] = (
                users.filter(username=f"physician.{code}").first()
                or users.filter(is_superuser=True).first()
            )
        planned, mrd = _plan(patient, course, seed=seed, as_of=as_of)
        for on, category, basis in planned:
            assessments.append(
                ResponseAssessment(
                    patient=patient,
                    assessed_on=on,
                    category=category,
                    basis=basis,
                    assessed_by=physicians[code],
                )
            )
        for on, result in mrd:
            when = datetime.combine(on, time(9), tz)
            labs.append(
                LabResult(
                    patient=patient,
                    test_code=mrd_test.code,
                    panel=mrd_test.panel,
                    collected_at=when,
                    entered_at=when + timedelta(days=7),
                    source=LabResult.Source.DEMO,
                    qualitative=result,
                    mrd_method=LabResult.MrdMethod.NGS,
                    mrd_sensitivity_exponent=5,
                )
            )
    bulk_create_with_history(assessments, ResponseAssessment, default_change_reason=MARKER)
    LabResult.objects.bulk_create(labs, batch_size=2000, ignore_conflicts=True)
    return len(courses)
