"""Reads for the nurse tools: physician requests, follow-up calls due, the dosing calendar."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Count, QuerySet, Window

from monitoring.models import Flag, MonitoringStatus
from monitoring.nursing import dosing_calendar as plan
from monitoring.rules import schedule
from patients.lab_selectors import last_negative_pregnancy_tests
from patients.models import FollowUpCall, Patient
from patients.nursing.selectors import follow_ups_due
from patients.selectors import rule_thresholds
from therapy import rems_rules
from therapy import selectors as therapy_selectors
from therapy.models import parse_days


def physician_requests(clinic_id: int) -> QuerySet[Flag]:
    """Open flags a nurse asked the physician to look at, not yet seen, oldest request first."""
    return (
        Flag.objects.open()
        .filter(
            patient__clinic_id=clinic_id,
            patient__entered_in_error_at__isnull=True,
            physician_notified_at__isnull=False,
            physician_seen_at__isnull=True,
        )
        .select_related("patient", "physician_notified_by", "acknowledged_by")
        .order_by("physician_notified_at", "pk")
    )


def worklist_follow_ups(clinic_id: int, *, as_of: date) -> QuerySet[FollowUpCall]:
    """The worklist's follow-up calls: open, window opened by today."""
    return follow_ups_due(clinic_id, as_of=as_of)


# What a call on the worklist shows (templates/monitoring/_followups.html, nursing/_call.html).
CALL_FIELDS = (
    "kind",
    "status",
    "due_from",
    "due_by",
    "purpose",
    "public_id",
    "patient__public_id",
    "patient__family_name",
    "patient__given_name",
    "patient__mrn",
    "patient__phone",
)


def worklist_calls(
    clinic_id: int, *, as_of: date, shown: int | None
) -> tuple[list[FollowUpCall], int]:
    """The first ``shown`` follow-up calls due (every one with None) and how many are due in
    all, from one query: only the calls shown are read (the count is a window over the
    same rows)."""
    calls = worklist_follow_ups(clinic_id, as_of=as_of)
    if shown is None:
        calls = list(calls)
        return calls, len(calls)
    calls = list(calls.annotate(due_in_all=Window(Count("pk"))).only(*CALL_FIELDS)[:shown])
    return calls, calls[0].due_in_all if calls else 0


def dosing_calendar(patient: Patient, *, today: date, cycles: int) -> dict | None:
    """What the patient's printed calendar shows, or None without an active course."""
    course = next(
        (
            c
            for c in therapy_selectors.courses_for(patient)
            if c.is_active and not c.is_entered_in_error
        ),
        None,
    )
    if course is None:
        return None
    holds = list(course.holds.all())
    changes = list(course.dose_changes.all())
    calendar = therapy_selectors.course_calendar(course, holds, changes)
    first = max(today, course.start_date)
    first, last = plan.period(calendar, first=first, cycles=cycles)
    thresholds = rule_thresholds(
        schedule.DEFAULTS + rems_rules.DEFAULTS, clinic_id=patient.clinic_id, as_of=today
    )

    def held_for_cytopenia(on: date) -> bool:
        return any(
            h.for_cytopenia and h.start_date <= on and (h.end_date is None or on < h.end_date)
            for h in holds
        )

    cbc = plan.cbc_dates(
        calendar,
        next_due=_next_cbc_due(patient, course, today),
        first=first,
        last=last,
        held_for_cytopenia=held_for_cytopenia,
        thresholds=thresholds,
    )
    pregnancy = []
    if _tests_for_pregnancy(patient, today):
        last_negative = last_negative_pregnancy_tests(
            [patient.pk], since=course.start_date - timedelta(days=14), as_of=today
        ).get(patient.pk)
        pregnancy = plan.pregnancy_test_dates(
            therapy_start=course.start_date,
            last_negative_test=last_negative,
            # Unknown regularity: every 2 weeks, the protective schedule (as the REMS check).
            menses_regular=patient.menses_regular is True,
            first=first,
            last=last,
            thresholds=thresholds,
        )
    with_lenalidomide = course.start_dose_mg is not None
    found = plan.days(
        calendar,
        first=first,
        last=last,
        dose_on=lambda on: _dose_on(course, changes, on),
        treatment_days=None if with_lenalidomide else parse_days(course.regimen.dosing_days_spec),
        agent="Lenalidomide" if with_lenalidomide else course.regimen.name,
        cbc=set(cbc),
        pregnancy=set(pregnancy),
    )
    level = therapy_selectors.level_on(course, changes, first)
    return {
        "course": course,
        "level": level,
        "rest_days": level.cycle_days - level.dosing_days if level else None,
        "first": first,
        "last": last,
        "planned": course.start_date > today,
        "open_hold": next((h for h in holds if h.end_date is None), None),
        "cycles": plan.cycle_spans(calendar, first=first, last=last),
        "months": plan.months(found),
        "cbc_dates": cbc,
        "pregnancy_dates": pregnancy,
    }


def _dose_on(course, changes, on: date):
    level = therapy_selectors.level_on(course, changes, on)
    return level.dose_mg if level else None


def _next_cbc_due(patient: Patient, course, today: date) -> date:
    """The due date the last evaluation computed (hold-aware, from the last CBC); the course
    start for a planned course or one not yet evaluated."""
    if course.start_date > today:
        return course.start_date
    status = MonitoringStatus.objects.filter(patient=patient, on_course=True).first()
    if status is not None and status.cbc_due_on is not None:
        return status.cbc_due_on
    return course.start_date


def _tests_for_pregnancy(patient: Patient, today: date) -> bool:
    """A female who can become pregnant (the confirmed REMS category; unknown potential in
    a female counts as able, the protective choice)."""
    state = therapy_selectors.rems_states([patient.pk], as_of=today).get(patient.pk)
    if state is not None and state.risk_category:
        return rems_rules.is_fcbp(state.risk_category)
    return patient.sex_at_birth == Patient.Sex.FEMALE and (
        therapy_selectors.can_become_pregnant_of(patient) is not False
    )
