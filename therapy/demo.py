"""Synthetic maintenance courses and REMS records for the demo cohort. No real person.

Each demo patient (MRN like N000123) gets a plan from ``random.Random(seed, index)``:
maintenance starts ~100 days after transplant at 10 mg days 1-21 (most) or 1-28 (label),
2.5 mg on dialysis, a combination for some high-risk patients; some courses have holds
for cytopenia followed by resumption at the next lower level (the label ladder), some
holds for infection or procedures; patients off therapy, transferred or deceased have a
discontinued course with a matching reason. REMS enrollments and authorizations are a mix
of compliant and action-needed. Re-running adds nothing: patients with a course, or with
an enrollment, are skipped. Rows are written with bulk inserts (with history rows).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction
from simple_history.utils import bulk_create_with_history

from patients import demo as patient_demo
from patients.models import FollowUpCall, Patient
from patients.nursing import rules as follow_up_rules
from therapy import dosing, rems_rules
from therapy.dosing import DoseLevel
from therapy.models import (
    DoseChange,
    Hold,
    MaintenanceCourse,
    Regimen,
    RemsAuthorization,
    RemsEnrollment,
    RemsSurvey,
)

DEMO_MRN = r"^[NS][0-9]{6}$"
REASON = "Synthetic demo cohort"
BATCH = 500


@dataclass(frozen=True)
class HoldPlan:
    start: date
    end: date | None
    reason: str
    resume_level: DoseLevel | None = None  # a dose change effective on ``end``


@dataclass
class CoursePlan:
    regimen_code: str
    start: date
    level: DoseLevel | None
    vte: str
    aspirin_mg: int | None
    holds: list[HoldPlan] = field(default_factory=list)
    discontinued_on: date | None = None
    discontinuation_reason: str = ""
    discontinuation_note: str = ""


def _rng(seed: int, index: int, salt: int) -> random.Random:
    # Synthetic data, not security: a seeded generator is the point.
    return random.Random(seed * 7_919 + index * 31 + salt)  # noqa: S311  # nosec B311


def plan_course(patient: Patient, *, index: int, seed: int, as_of: date) -> CoursePlan | None:
    """The course of one demo patient, or None (not started yet). Pure given its inputs."""
    rng = _rng(seed, index, 1)
    transplants = [t.transplanted_on for t in patient.transplants.all()]
    if not transplants or patient.status == Patient.Status.PRE_MAINTENANCE:
        return None
    start = max(transplants) + timedelta(days=rng.randint(90, 110))
    if start > as_of - timedelta(days=1):
        return None
    diagnosis = getattr(patient, "diagnosis", None)
    on_dialysis = bool(diagnosis and diagnosis.on_dialysis)
    high_risk = bool(diagnosis and (diagnosis.del_17p or diagnosis.t_4_14))
    if on_dialysis:
        code = "len-2.5-d1-28"
    elif high_risk and rng.random() < 0.5:
        code = rng.choice(["len-bortezomib", "len-daratumumab", "len-carfilzomib", "len-ixazomib"])
    else:
        code = "len-10-d1-21" if rng.random() < 0.65 else "len-10-d1-28"
    level = (
        dosing.LEVEL_2_5_28
        if on_dialysis
        else (dosing.LEVEL_10_28 if code == "len-10-d1-28" else dosing.LEVEL_10_21)
    )
    prior_vte = bool(diagnosis and diagnosis.prior_vte)
    plan = CoursePlan(
        regimen_code=code,
        start=start,
        level=level,
        vte="lmwh" if prior_vte else "aspirin",
        aspirin_mg=None if prior_vte else rng.choice([81, 81, 100, 325]),
    )
    end = _discontinuation(plan, patient, rng, as_of)
    end = _outcome_end(plan, patient, index=index, seed=seed, as_of=as_of) or end
    _holds(plan, rng, last_day=end or as_of, open_allowed=end is None)
    return plan


def _discontinuation(plan: CoursePlan, patient: Patient, rng, as_of: date) -> date | None:
    status = patient.status
    if status == Patient.Status.ACTIVE:
        return None
    earliest = plan.start + timedelta(days=30)
    if status == Patient.Status.DECEASED and patient.date_of_death:
        ended, reason = max(patient.date_of_death, plan.start), "death"
    else:
        latest = max(earliest, as_of - timedelta(days=7))
        ended = earliest + timedelta(days=rng.randint(0, (latest - earliest).days))
        if status == Patient.Status.TRANSFERRED:
            reason = "other"
            plan.discontinuation_note = "Transferred to another centre"
        else:
            reason = rng.choices(
                [
                    "progression",
                    "toxicity",
                    "patient_choice",
                    "mrd_guided_stop",
                    "second_primary_malignancy",
                ],
                weights=[50, 25, 15, 6, 4],
            )[0]
    plan.discontinued_on = min(ended, as_of)
    plan.discontinuation_reason = reason
    return plan.discontinued_on


def _outcome_end(plan: CoursePlan, patient: Patient, *, index: int, seed: int, as_of: date):
    """Off therapy or deceased: maintenance ends when the demo outcome says (progression,
    death, or a stop before progression with its reason)."""
    if patient.status not in (Patient.Status.OFF_THERAPY, Patient.Status.DECEASED):
        return None
    diagnosis = getattr(patient, "diagnosis", None)
    outcome = patient_demo.demo_outcome(
        index,
        seed=seed,
        transplanted_on=min(t.transplanted_on for t in patient.transplants.all()),
        high_risk=bool(diagnosis and (diagnosis.del_17p or diagnosis.t_4_14)),
        as_of=as_of,
    )
    end = outcome.maintenance_end()
    if end is None:
        return None
    plan.discontinued_on = min(max(end[0], plan.start), as_of)
    plan.discontinuation_reason = end[1]
    plan.discontinuation_note = ""
    return plan.discontinued_on


def _holds(plan: CoursePlan, rng, *, last_day: date, open_allowed: bool) -> None:
    """Cytopenia holds resume at the next lower level (label); other holds resume as before."""
    level = plan.level
    cursor = plan.start + timedelta(days=rng.randint(40, 200))
    while cursor < last_day - timedelta(days=3) and rng.random() < 0.55:
        reason = rng.choices(
            ["neutropenia", "thrombocytopenia", "infection", "procedure"], weights=[45, 25, 20, 10]
        )[0]
        length = rng.randint(7, 21)
        end = cursor + timedelta(days=length)
        if end >= last_day:
            if open_allowed and reason in Hold.CYTOPENIA and rng.random() < 0.6:
                plan.holds.append(HoldPlan(cursor, None, reason))
            return
        lower = dosing.next_lower(level) if level and reason in Hold.CYTOPENIA else None
        plan.holds.append(HoldPlan(cursor, end, reason, lower))
        level = lower or level
        cursor = end + timedelta(days=rng.randint(60, 300))


def seed_therapy(*, seed: int, as_of: date, progress: Callable[[int], None] | None = None) -> int:
    """Courses and REMS records for the demo patients that have none; returns new courses."""
    regimens = {r.code: r for r in Regimen.objects.all()}
    patients = (
        Patient.objects.filter(mrn__regex=DEMO_MRN)
        .select_related("diagnosis")
        .prefetch_related("transplants")
        .order_by("pk")
    )
    with_course = set(MaintenanceCourse.objects.values_list("patient_id", flat=True))
    enrolled = set(RemsEnrollment.objects.values_list("patient_id", flat=True))
    created = 0
    batch: list[Patient] = []
    for patient in patients.iterator(chunk_size=BATCH):
        batch.append(patient)
        if len(batch) == BATCH:
            created += _seed_batch(batch, regimens, with_course, enrolled, seed, as_of)
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        created += _seed_batch(batch, regimens, with_course, enrolled, seed, as_of)
        if progress:
            progress(len(batch))
    return created


@transaction.atomic
def _seed_batch(batch, regimens, with_course, enrolled, seed: int, as_of: date) -> int:
    plans = {}
    for patient in batch:
        if patient.pk in with_course:
            continue
        plan = plan_course(patient, index=int(patient.mrn[1:]), seed=seed, as_of=as_of)
        if plan is not None:
            plans[patient.pk] = plan
    courses = [_course(pid, plan, regimens[plan.regimen_code]) for pid, plan in plans.items()]
    bulk_create_with_history(courses, MaintenanceCourse, default_change_reason=REASON)
    saved = {
        c.patient_id: c
        for c in MaintenanceCourse.objects.filter(patient_id__in=list(plans)).select_related(
            "regimen"
        )
    }
    holds, changes = [], []
    for pid, plan in plans.items():
        course = saved[pid]
        level = plan.level
        for hold in plan.holds:
            holds.append(
                Hold(
                    course=course,
                    start_date=hold.start,
                    end_date=hold.end,
                    reason=hold.reason,
                    note="Demo",
                )
            )
            if hold.resume_level is not None:
                changes.append(
                    DoseChange(
                        course=course,
                        effective_from=hold.end,
                        from_dose_mg=level.dose_mg,
                        from_dosing_days=level.dosing_days,
                        to_dose_mg=hold.resume_level.dose_mg,
                        to_dosing_days=hold.resume_level.dosing_days,
                        reason="hematologic_toxicity",
                        note="Resumed at the next lower level",
                    )
                )
                level = hold.resume_level
        if level is not None and level != plan.level:
            course.dose_mg, course.dosing_days = level.dose_mg, level.dosing_days
    bulk_create_with_history(holds, Hold, default_change_reason=REASON)
    bulk_create_with_history(changes, DoseChange, default_change_reason=REASON)
    MaintenanceCourse.objects.bulk_update(list(saved.values()), ["dose_mg", "dosing_days"])
    _seed_rems([p for p in batch if p.pk not in enrolled], saved, seed, as_of)
    _seed_follow_up_calls(list(saved.values()), as_of)
    return len(courses)


def _seed_follow_up_calls(courses: list[MaintenanceCourse], as_of: date) -> None:
    """The nurses' calls after recent starts: those due now, a little late, or still ahead
    (older ones are taken as made before the demo's day)."""
    calls = [
        FollowUpCall(
            patient_id=course.patient_id,
            kind=planned.kind,
            due_from=planned.due_from,
            due_by=planned.due_by,
            purpose=f"{course.regimen.name}, started {course.start_date.isoformat()}",
            course_public_id=course.public_id,
            rule=planned.rule,
        )
        for course in courses
        if course.discontinued_on is None
        for planned in follow_up_rules.calls_after_start(course.start_date)
        if planned.due_by >= as_of - timedelta(days=2)
    ]
    bulk_create_with_history(calls, FollowUpCall, default_change_reason=REASON)


def _course(patient_id: int, plan: CoursePlan, regimen: Regimen) -> MaintenanceCourse:
    level = plan.level
    return MaintenanceCourse(
        patient_id=patient_id,
        regimen=regimen,
        start_date=plan.start,
        cycle_days=regimen.cycle_days,
        start_dose_mg=level.dose_mg if level else None,
        start_dosing_days=level.dosing_days if level else None,
        dose_mg=level.dose_mg if level else None,
        dosing_days=level.dosing_days if level else None,
        vte_prophylaxis=plan.vte,
        aspirin_dose_mg=plan.aspirin_mg,
        status="discontinued" if plan.discontinued_on else "active",
        discontinued_on=plan.discontinued_on,
        discontinuation_reason=plan.discontinuation_reason,
        discontinuation_note=plan.discontinuation_note,
        eligibility_snapshot={"note": "Synthetic demo course: no checklist recorded"},
    )


def _seed_rems(patients: list[Patient], courses: dict, seed: int, as_of: date) -> None:
    """Enrollment for patients on or about to start therapy; authorizations and surveys
    for the active ones, a mix of up to date and needing action."""
    enrollments, authorizations, surveys = [], [], []
    for patient in patients:
        course = courses.get(patient.pk)
        if patient.status not in (Patient.Status.ACTIVE, Patient.Status.PRE_MAINTENANCE):
            continue
        rng = _rng(seed, int(patient.mrn[1:]), 2)
        category = rems_rules.suggest_risk_category(
            sex_at_birth=patient.sex_at_birth,
            age_years=patient.age_on(as_of),
            can_become_pregnant=patient.reproductive_potential == "can_become_pregnant",
        ).outcome
        enrolled_on = (course.start_date if course else as_of) - timedelta(days=rng.randint(7, 14))
        certification = as_of + timedelta(
            days=rng.randint(5, 25) if rng.random() < 0.1 else rng.randint(120, 700)
        )
        enrollments.append(
            RemsEnrollment(
                patient=patient,
                status="active",
                patient_risk_category=category,
                suggested_risk_category=category,
                enrolled_on=enrolled_on,
                agreement_signed_on=enrolled_on,
                counselled_on=enrolled_on,
                rems_patient_id=f"RP-{patient.mrn}",
                prescriber_name="Phil Physician",
                prescriber_enrollment_id=f"PE-{patient.clinic_id:03d}",
                prescriber_certification_expires_on=certification,
            )
        )
        if course is None or course.status != "active":
            continue
        authorizations += _authorizations(patient, category, course.start_date, rng, as_of)
        last_survey = as_of - timedelta(days=rng.randint(0, 45))
        surveys.append(
            RemsSurvey(patient=patient, completed_on=max(last_survey, course.start_date))
        )
    bulk_create_with_history(enrollments, RemsEnrollment, default_change_reason=REASON)
    bulk_create_with_history(authorizations, RemsAuthorization, default_change_reason=REASON)
    bulk_create_with_history(surveys, RemsSurvey, default_change_reason=REASON)


def _authorizations(patient, category: str, start: date, rng, as_of: date) -> list:
    """Monthly prescriptions since the start (the last three), the latest one current for
    most patients and expired or expiring for some."""
    valid_days = 7 if rems_rules.is_fcbp(category) else 30
    latest = as_of - timedelta(
        days=rng.randint(valid_days + 3, valid_days + 20)
        if rng.random() < 0.2
        else rng.randint(0, max(valid_days - 4, 0))
    )
    rows = []
    for k in range(3):
        obtained = latest - timedelta(days=28 * k)
        if obtained < start:
            break
        expires = rems_rules.authorization_expiry(obtained_on=obtained, risk_category=category)
        dispensed = obtained + timedelta(days=1)
        rows.append(
            RemsAuthorization(
                patient=patient,
                authorization_number=f"A{patient.mrn}{obtained:%y%m%d}",
                obtained_on=obtained,
                days_supply=28,
                expires_on=expires,
                patient_risk_category=category,
                dispensed_on=dispensed if dispensed <= min(as_of, expires) else None,
                expiry_rule=f"rems.authorization valid {valid_days} days (default)",
            )
        )
    return rows
