"""Writes for the therapy app. Each service is one atomic action that leaves history.

History rows come from django-simple-history in the same transaction; the acting user is
set explicitly (``_history_user``, None for the monitoring sweep) and every change carries
a reason. A refused change raises ``DomainError`` with a message from ``therapy.errors``
before anything is written, and the transaction rolls back if a later step fails.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from patients import services as patient_services
from patients.errors import DomainError
from patients.models import Patient, Transplant
from patients.nursing import services as nursing_services
from patients.rulebook import Finding
from patients.selectors import rule_thresholds
from therapy import dosing, errors, rems_rules
from therapy.dosing import DoseLevel
from therapy.findings import checklist_json, finding_json, jsonable
from therapy.models import (
    DoseChange,
    DoseSuggestion,
    Hold,
    MaintenanceCourse,
    Regimen,
    RemsAuthorization,
    RemsEnrollment,
    RemsSurvey,
)
from therapy.selectors import Eligibility, eligibility_for, suggested_risk_category

ASPIRIN_MIN_MG, ASPIRIN_MAX_MG = 81, 325  # clinical reference sec. 1: aspirin 81-325 mg daily
# A course may be planned ahead (it shows as planned until its start date). Further than
# this is more likely a mistyped year than a plan.
PLAN_AHEAD_MAX_DAYS = 90


def _save(instance, *, user, reason: str) -> None:
    """Save with history; and every therapy record is a monitoring rule input (course,
    hold, dose change, REMS record, a decided suggestion), so mark the patient for
    re-evaluation in the same transaction. Suggestions the sweep itself raises or
    withdraws (no user) are its output, not an input: they leave the mark alone."""
    patient_services.record_save(instance, user=user, reason=reason)
    if not (isinstance(instance, DoseSuggestion) and user is None):
        patient_id = patient_services.patient_id_of(instance)
        patient_services.patient_rules_changed([patient_id])
        # Flags follow the change within seconds (a REMS authorization clears "no
        # authorization"), not at the next sweep.
        patient_services.patient_evaluation_request(patient_id)


def _today(today: date | None) -> date:
    return today or timezone.localdate()


def _levels_text() -> str:
    return "; ".join(level.label for level in dosing.SELECTABLE_LEVELS)


def check_level(level: DoseLevel, *, cycle_days: int = 28) -> DoseLevel:
    """A dose level must be one of the selectable levels (the label ladder plus 10 mg days
    1-21 and the 2.5 mg renal level)."""
    if level.cycle_days != cycle_days or level not in dosing.SELECTABLE_LEVELS:
        raise DomainError(
            errors.DOSE_NOT_ON_LADDER.format(dose=level.label, levels=_levels_text()),
            field="dose_level",
        )
    return level


def _locked(course: MaintenanceCourse) -> MaintenanceCourse:
    """Re-read the course under a row lock: changes to one course are serialized."""
    return MaintenanceCourse.objects.select_for_update().select_related("regimen").get(pk=course.pk)


def _refuse_if_discontinued(course: MaintenanceCourse, on: date, after_end_message: str) -> None:
    if course.status != MaintenanceCourse.Status.DISCONTINUED:
        return
    if on > course.discontinued_on:
        raise DomainError(
            after_end_message.format(value=on, ended=course.discontinued_on), field="date"
        )
    raise DomainError(errors.COURSE_DISCONTINUED.format(ended=course.discontinued_on))


# --- Courses ---------------------------------------------------------------------------------


@transaction.atomic
def course_start(
    *,
    patient: Patient,
    user,
    regimen: Regimen,
    start_date: date,
    vte_prophylaxis: str,
    dose_level: DoseLevel | None = None,
    aspirin_dose_mg: int | None = None,
    vte_prophylaxis_note: str = "",
    justification: str = "",
    today: date | None = None,
    prescription_at: datetime | None = None,
) -> MaintenanceCourse:
    """Start a maintenance course, or plan one that starts on a later date.

    Steps: lock the patient row (two starts at once cannot both pass the check); refuse a
    second active course; check the dates (up to PLAN_AHEAD_MAX_DAYS ahead), the dose
    level and the clot prophylaxis; compute the eligibility checklist as of the start date
    and require a written justification when an item failed; save the course with the
    checklist frozen in it; mark the patient active on maintenance; put the nurses'
    follow-up calls (48-72 hours, 1 week, 1 month after the start) on the worklist.

    A planned course is an active course whose start date has not come: it has no cycle
    before then, so the monitoring rules (which read ``course_snapshots``) raise nothing
    for it, and it becomes the running course on its start date without any job.
    """
    today = _today(today)
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    current = MaintenanceCourse.objects.active().filter(patient=patient).first()
    if current is not None:
        raise DomainError(errors.COURSE_ALREADY_ACTIVE.format(start=current.start_date))
    _check_start_date(patient, start_date, today)
    level = _starting_level(regimen, dose_level)
    _check_prophylaxis(vte_prophylaxis, aspirin_dose_mg, vte_prophylaxis_note)
    checklist = eligibility_for(patient, as_of=start_date, prescription_at=prescription_at)
    justification = (justification or "").strip()
    if checklist.unresolved and not justification:
        names = ", ".join(f"{item.label} ({item.status})" for item in checklist.unresolved)
        raise DomainError(errors.JUSTIFICATION_REQUIRED.format(items=names), field="justification")
    course = MaintenanceCourse(
        patient=patient,
        regimen=regimen,
        start_date=start_date,
        cycle_days=regimen.cycle_days,
        start_dose_mg=level.dose_mg if level else None,
        start_dosing_days=level.dosing_days if level else None,
        dose_mg=level.dose_mg if level else None,
        dosing_days=level.dosing_days if level else None,
        vte_prophylaxis=vte_prophylaxis,
        aspirin_dose_mg=aspirin_dose_mg
        if vte_prophylaxis == MaintenanceCourse.Prophylaxis.ASPIRIN
        else None,
        vte_prophylaxis_note=vte_prophylaxis_note.strip(),
        start_justification=justification,
        eligibility_snapshot=_snapshot(checklist),
        started_by=user,
    )
    try:
        with transaction.atomic():
            _save(course, user=user, reason="Maintenance started")
    except IntegrityError as exc:  # a concurrent start won the one-active-course constraint
        raise DomainError(errors.COURSE_ALREADY_ACTIVE.format(start=start_date)) from exc
    # A planned course leaves the patient awaiting maintenance until its start date
    # (``courses_activate_started`` moves them on that day).
    if patient.status == Patient.Status.PRE_MAINTENANCE and start_date <= today:
        patient_services.patient_update(
            patient=patient,
            user=user,
            data={"status": Patient.Status.ACTIVE},
            reason="Maintenance started",
            today=today,
        )
    nursing_services.follow_up_calls_for_course_start(
        patient=patient,
        user=user,
        course_public_id=course.public_id,
        start_date=start_date,
        regimen_name=regimen.name,
        today=today,
    )
    return course


def courses_activate_started(*, as_of: date, user=None) -> int:
    """Patients still awaiting maintenance whose planned course has started by ``as_of``
    become active on maintenance (daily beat task and ``activate_started_courses``).
    Idempotent: a patient already active is not touched. Returns how many changed."""
    started = (
        MaintenanceCourse.objects.active()
        .filter(start_date__lte=as_of, patient__status=Patient.Status.PRE_MAINTENANCE)
        .values_list("patient_id", flat=True)
    )
    changed = 0
    for patient in Patient.objects.filter(pk__in=list(started)):
        with transaction.atomic():
            patient_services.patient_update(
                patient=patient,
                user=user,
                data={"status": Patient.Status.ACTIVE},
                reason="Planned maintenance course started",
                today=as_of,
            )
        changed += 1
    return changed


@transaction.atomic
def course_plan_call_off(
    *, course: MaintenanceCourse, user, reason: str, today: date | None = None
):
    """Call off a planned course before its start date. No capsule was taken, so it is not
    a discontinuation (which the Cohort page counts as stopping before progression): the
    plan is marked entered-in-error with the reason, and its follow-up calls are cancelled."""
    today = _today(today)
    course = _locked(course)
    if course.status != MaintenanceCourse.Status.ACTIVE or course.start_date <= today:
        raise DomainError(errors.PLAN_ALREADY_STARTED.format(start=course.start_date))
    patient_services.mark_entered_in_error(
        record=course,
        user=user,
        reason=f"Plan called off: {(reason or '').strip()}" if (reason or "").strip() else "",
    )
    nursing_services.follow_up_calls_cancel_for_course(
        course_public_id=course.public_id,
        after=today - timedelta(days=1),
        user=user,
        reason="The planned course was called off",
    )
    return course


def _snapshot(checklist: Eligibility) -> dict[str, Any]:
    return {
        "as_of": checklist.as_of.isoformat(),
        "overall": checklist.overall,
        "items": checklist_json(checklist.items),
    }


def _check_start_date(patient: Patient, start_date: date, today: date) -> None:
    if start_date > today + timedelta(days=PLAN_AHEAD_MAX_DAYS):
        raise DomainError(
            errors.COURSE_START_TOO_FAR_AHEAD.format(value=start_date, days=PLAN_AHEAD_MAX_DAYS),
            field="start_date",
        )
    last_transplant = (
        Transplant.objects.valid().filter(patient=patient).order_by("-transplanted_on").first()
    )
    if last_transplant and start_date < last_transplant.transplanted_on:
        raise DomainError(
            errors.COURSE_START_BEFORE_TRANSPLANT.format(
                value=start_date, transplant=last_transplant.transplanted_on
            ),
            field="start_date",
        )


def _starting_level(regimen: Regimen, dose_level: DoseLevel | None) -> DoseLevel | None:
    if not regimen.includes_lenalidomide:
        if dose_level is not None:
            raise DomainError(
                errors.DOSE_FOR_REGIMEN_WITHOUT_LENALIDOMIDE.format(regimen=regimen),
                field="dose_level",
            )
        return None
    level = dose_level or regimen.starting_level
    return check_level(level, cycle_days=regimen.cycle_days)


def _check_prophylaxis(kind: str, aspirin_dose_mg: int | None, note: str) -> None:
    if kind == MaintenanceCourse.Prophylaxis.ASPIRIN:
        if aspirin_dose_mg is None:
            raise DomainError(errors.ASPIRIN_DOSE_REQUIRED, field="aspirin_dose_mg")
        if not ASPIRIN_MIN_MG <= aspirin_dose_mg <= ASPIRIN_MAX_MG:
            raise DomainError(
                errors.ASPIRIN_DOSE_RANGE.format(value=aspirin_dose_mg), field="aspirin_dose_mg"
            )
    if kind == MaintenanceCourse.Prophylaxis.NONE and not (note or "").strip():
        raise DomainError(errors.NO_PROPHYLAXIS_REASON_REQUIRED, field="vte_prophylaxis_note")


@transaction.atomic
def dose_change(
    *,
    course: MaintenanceCourse,
    user,
    level: DoseLevel,
    effective_from: date,
    reason: str,
    note: str = "",
) -> DoseChange:
    """Change the lenalidomide level from a date (after the start and the last change)."""
    course = _locked(course)
    _refuse_if_discontinued(course, effective_from, errors.DOSE_CHANGE_AFTER_END)
    if course.dose_mg is None:
        raise DomainError(errors.NOT_LENALIDOMIDE_COURSE)
    check_level(level, cycle_days=course.cycle_days)
    if effective_from <= course.start_date:
        raise DomainError(
            errors.DOSE_CHANGE_BEFORE_START.format(value=effective_from, start=course.start_date),
            field="effective_from",
        )
    last = DoseChange.objects.valid().filter(course=course).order_by("-effective_from").first()
    if last and effective_from <= last.effective_from:
        raise DomainError(
            errors.DOSE_CHANGE_BEFORE_LAST.format(value=effective_from, last=last.effective_from),
            field="effective_from",
        )
    current = course.current_level
    if level == current:
        raise DomainError(errors.DOSE_UNCHANGED.format(level=current.label), field="dose_level")
    change = DoseChange(
        course=course,
        effective_from=effective_from,
        from_dose_mg=current.dose_mg,
        from_dosing_days=current.dosing_days,
        to_dose_mg=level.dose_mg,
        to_dosing_days=level.dosing_days,
        reason=reason,
        note=note.strip(),
        entered_by=user,
    )
    _save(change, user=user, reason=f"Dose change: {current.label} -> {level.label}")
    course.dose_mg, course.dosing_days = level.dose_mg, level.dosing_days
    _save(course, user=user, reason=f"Dose now {level.label} from {effective_from}")
    return change


@transaction.atomic
def hold_start(
    *,
    course: MaintenanceCourse,
    user,
    start_date: date,
    reason: str,
    note: str = "",
    end_date: date | None = None,
) -> Hold:
    """Pause dosing from ``start_date`` (``end_date``: first day dosing resumes, if known)."""
    course = _locked(course)
    _refuse_if_discontinued(course, start_date, errors.HOLD_AFTER_END)
    if start_date < course.start_date:
        raise DomainError(
            errors.HOLD_BEFORE_START.format(value=start_date, start=course.start_date),
            field="start_date",
        )
    if end_date is not None and end_date <= start_date:
        raise DomainError(
            errors.HOLD_END_NOT_AFTER_START.format(end=end_date, start=start_date),
            field="end_date",
        )
    _refuse_overlap(course, start_date, end_date)
    hold = Hold(
        course=course,
        start_date=start_date,
        end_date=end_date,
        reason=reason,
        note=note.strip(),
        entered_by=user,
    )
    try:
        with transaction.atomic():
            _save(hold, user=user, reason=f"Hold started: {hold.get_reason_display()}")
    except IntegrityError as exc:  # PostgreSQL exclusion or one-open-hold constraint
        raise DomainError(
            errors.HOLD_OVERLAPS.format(
                start=start_date, end=end_date or "open", other_start="?", other_end="?"
            )
        ) from exc
    return hold


def _refuse_overlap(
    course: MaintenanceCourse, start: date, end: date | None, *, exclude: int | None = None
) -> None:
    far = date.max
    for other in Hold.objects.valid().filter(course=course).exclude(pk=exclude):
        if start < (other.end_date or far) and other.start_date < (end or far):
            raise DomainError(
                errors.HOLD_OVERLAPS.format(
                    start=start,
                    end=end or "open",
                    other_start=other.start_date,
                    other_end=other.end_date or "open",
                ),
                field="start_date",
            )


@transaction.atomic
def hold_end(
    *,
    hold: Hold,
    user,
    end_date: date,
    note: str = "",
    resume_level: DoseLevel | None = None,
    resume_reason: str = DoseChange.Reason.HEMATOLOGIC_TOXICITY,
) -> Hold:
    """End a hold on the first day dosing resumes, optionally at another dose level."""
    course = _locked(hold.course)
    hold = Hold.objects.select_for_update().get(pk=hold.pk)
    _refuse_if_discontinued(course, end_date, errors.HOLD_AFTER_END)
    if hold.end_date is not None:
        raise DomainError(errors.HOLD_ALREADY_ENDED.format(end=hold.end_date))
    if end_date <= hold.start_date:
        raise DomainError(
            errors.HOLD_END_NOT_AFTER_START.format(end=end_date, start=hold.start_date),
            field="end_date",
        )
    _refuse_overlap(course, hold.start_date, end_date, exclude=hold.pk)
    hold.end_date = end_date
    hold.end_note = note.strip()
    _save(hold, user=user, reason=f"Hold ended; dosing resumes {end_date}")
    if resume_level is not None and resume_level != course.current_level:
        dose_change(
            course=course,
            user=user,
            level=resume_level,
            effective_from=end_date,
            reason=resume_reason,
            note=f"Resumed after hold from {hold.start_date}",
        )
    return hold


@transaction.atomic
def course_discontinue(
    *,
    course: MaintenanceCourse,
    user,
    discontinued_on: date,
    reason: str,
    note: str = "",
    today: date | None = None,
) -> MaintenanceCourse:
    """Stop a course: the date and reason; an open hold closes; pending suggestions are
    withdrawn; the patient becomes off therapy (death is recorded on the patient record)."""
    course = _locked(course)
    _refuse_if_discontinued(course, discontinued_on, errors.COURSE_DISCONTINUED)
    if not reason:
        raise DomainError(errors.DISCONTINUATION_REASON_REQUIRED, field="reason")
    _check_end_date(course, discontinued_on)
    for hold in Hold.objects.valid().filter(course=course, end_date__isnull=True):
        hold.end_date = max(discontinued_on, hold.start_date + timedelta(days=1))
        hold.end_note = "Course discontinued"
        _save(hold, user=user, reason="Hold closed: course discontinued")
    course.status = MaintenanceCourse.Status.DISCONTINUED
    course.discontinued_on = discontinued_on
    course.discontinuation_reason = reason
    course.discontinuation_note = note.strip()
    _save(course, user=user, reason=f"Discontinued: {course.get_discontinuation_reason_display()}")
    _withdraw_all(course.patient_id, reason="Course discontinued")
    nursing_services.follow_up_calls_cancel_for_course(
        course_public_id=course.public_id,
        after=discontinued_on,
        user=user,
        reason="Course discontinued",
    )
    patient = course.patient
    if patient.status == Patient.Status.ACTIVE and reason != course.DiscontinuationReason.DEATH:
        patient_services.patient_update(
            patient=patient,
            user=user,
            data={"status": Patient.Status.OFF_THERAPY},
            reason="Maintenance discontinued",
            today=_today(today),
        )
    return course


def _check_end_date(course: MaintenanceCourse, ended_on: date) -> None:
    if ended_on < course.start_date:
        raise DomainError(
            errors.DISCONTINUE_BEFORE_START.format(value=ended_on, start=course.start_date),
            field="discontinued_on",
        )
    dates = [c.effective_from for c in DoseChange.objects.valid().filter(course=course)]
    dates += [h.start_date for h in Hold.objects.valid().filter(course=course)]
    dates += [h.end_date for h in Hold.objects.valid().filter(course=course) if h.end_date]
    last = max(dates, default=None)
    if last and ended_on < last:
        raise DomainError(
            errors.DISCONTINUE_BEFORE_LAST_EVENT.format(value=ended_on, last=last),
            field="discontinued_on",
        )


CORRECTABLE = ("discontinued_on", "discontinuation_reason", "discontinuation_note")


@transaction.atomic
def course_correct(
    *, course: MaintenanceCourse, user, data: dict[str, Any], reason: str
) -> MaintenanceCourse:
    """Correct the record of a discontinued course (date, reason, note), with a reason
    kept in the history. Active courses change through their own services."""
    course = _locked(course)
    if course.status != MaintenanceCourse.Status.DISCONTINUED:
        raise DomainError(errors.COURSE_NOT_DISCONTINUED)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(errors.CORRECTION_REASON_REQUIRED, field="change_reason")
    for field in CORRECTABLE:
        if field in data:
            setattr(course, field, data[field])
    if not course.discontinuation_reason:
        raise DomainError(errors.DISCONTINUATION_REASON_REQUIRED, field="discontinuation_reason")
    _check_end_date(course, course.discontinued_on)
    _save(course, user=user, reason=f"Correction: {reason}")
    return course


# --- Dose suggestions ---------------------------------------------------------------------------


def _evidence_key(evidence: list[dict]) -> tuple:
    return tuple(sorted(str(item.get("result_id")) for item in evidence if "result_id" in item))


@transaction.atomic
def dose_suggestion_raise(
    *,
    patient: Patient,
    course: MaintenanceCourse | None,
    kind: str,
    finding: Finding,
    evidence: list[dict],
    as_of: date,
) -> DoseSuggestion:
    """Raise (or refresh) the pending suggestion of this kind for the patient.

    Idempotent: an existing pending suggestion of the kind is updated, never duplicated
    (the partial unique constraint decides between concurrent sweeps). A suggestion a
    physician already decided on the same lab results is returned as it is, so a sweep
    re-run does not bring a dismissed suggestion back.
    """
    if kind not in DoseSuggestion.Kind.values:
        raise DomainError(errors.UNKNOWN_SUGGESTION_KIND.format(kind=kind))
    fields = {
        "course": course,
        "raised_on": as_of,
        "rule_id": finding.rule_id,
        "message": finding.message,
        "finding": finding_json(finding),
        "evidence": jsonable(list(evidence)),
    }
    pending = (
        DoseSuggestion.objects.select_for_update()
        .filter(patient=patient, kind=kind)
        .pending()
        .first()
    )
    if pending is None:
        key = _evidence_key(fields["evidence"])
        decided = (
            DoseSuggestion.objects.filter(
                patient=patient,
                kind=kind,
                status__in=[DoseSuggestion.Status.ACCEPTED, DoseSuggestion.Status.DISMISSED],
            )
            .order_by("-decided_at", "-pk")
            .first()
        )
        if key and decided is not None and _evidence_key(decided.evidence) == key:
            return decided
        suggestion = DoseSuggestion(patient=patient, kind=kind, **fields)
        try:
            with transaction.atomic():
                _save(suggestion, user=None, reason=f"Raised by {finding.rule_id}")
            return suggestion
        except IntegrityError:  # another sweep raised it first: refresh that one instead
            pending = DoseSuggestion.objects.select_for_update().get(
                patient=patient, kind=kind, status=DoseSuggestion.Status.PENDING
            )
    for name, value in fields.items():
        setattr(pending, name, value)
    _save(pending, user=None, reason=f"Refreshed by {finding.rule_id}")
    return pending


@transaction.atomic
def dose_suggestions_repoint_evidence(*, patient: Patient, replaced: dict, repoint) -> int:
    """The lab's final result superseded a preliminary one a pending or decided suggestion
    rests on: the suggestion names the final result (same draw and test), with history, so
    the same finding neither raises it again nor withdraws it. Returns how many changed."""
    ids = set(replaced)
    changed = 0
    for suggestion in DoseSuggestion.objects.select_for_update().filter(
        patient=patient,
        status__in=[DoseSuggestion.Status.PENDING, DoseSuggestion.Status.ACCEPTED],
    ):
        evidence = repoint(suggestion.evidence)
        if evidence == suggestion.evidence:
            continue
        suggestion.evidence = evidence
        words = ", ".join(f"{old} -> {replaced[old]}" for old in sorted(ids))
        _save(suggestion, user=None, reason=f"Evidence: preliminary result superseded ({words})")
        changed += 1
    return changed


@transaction.atomic
def dose_suggestion_withdraw(*, patient: Patient, kind: str, reason: str) -> int:
    """Withdraw the pending suggestion of this kind (the rule no longer applies); returns
    how many were withdrawn (0 or 1)."""
    withdrawn = 0
    for suggestion in DoseSuggestion.objects.select_for_update().filter(
        patient=patient, kind=kind, status=DoseSuggestion.Status.PENDING
    ):
        suggestion.status = DoseSuggestion.Status.WITHDRAWN
        suggestion.withdraw_reason = reason
        suggestion.decided_at = timezone.now()
        _save(suggestion, user=None, reason=f"Withdrawn: {reason}")
        withdrawn += 1
    return withdrawn


def _withdraw_all(patient_id: int, *, reason: str) -> None:
    patient = Patient(pk=patient_id)
    for kind in DoseSuggestion.Kind.values:
        dose_suggestion_withdraw(patient=patient, kind=kind, reason=reason)


def _pending(suggestion: DoseSuggestion) -> DoseSuggestion:
    suggestion = DoseSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != DoseSuggestion.Status.PENDING:
        raise DomainError(
            errors.SUGGESTION_NOT_PENDING.format(status=suggestion.get_status_display().lower())
        )
    return suggestion


@transaction.atomic
def dose_suggestion_accept(*, suggestion: DoseSuggestion, user, on: date) -> DoseSuggestion:
    """Accept a suggestion: one action creates the hold or dose change it proposes, and the
    suggestion links to it. A discontinuation review holds dosing (if not held already);
    the decision to stop is then made on the discontinue form."""
    suggestion = _pending(suggestion)
    course = MaintenanceCourse.objects.active().filter(patient_id=suggestion.patient_id).first()
    if course is None:
        raise DomainError(errors.SUGGESTION_NEEDS_ACTIVE_COURSE)
    kind = suggestion.kind
    open_hold = Hold.objects.valid().filter(course=course, end_date__isnull=True).first()
    if kind in (DoseSuggestion.Kind.HOLD, DoseSuggestion.Kind.DISCONTINUATION_REVIEW):
        if open_hold is None:
            suggestion.created_hold = hold_start(
                course=course,
                user=user,
                start_date=on,
                reason=_cytopenia_reason(suggestion),
                note=f"Accepted suggestion: {suggestion.message}",
            )
    elif kind == DoseSuggestion.Kind.RESUME_LOWER:
        level = suggestion.suggested_level
        if level is None:
            raise DomainError(errors.SUGGESTION_NO_LEVEL)
        if open_hold is not None:
            hold_end(
                hold=open_hold,
                user=user,
                end_date=on,
                resume_level=level,
                note=f"Accepted suggestion: {suggestion.message}",
            )
            suggestion.created_hold = open_hold
            suggestion.created_dose_change = (
                DoseChange.objects.valid().filter(course=course, effective_from=on).first()
            )
        else:
            suggestion.created_dose_change = dose_change(
                course=course,
                user=user,
                level=level,
                effective_from=on,
                reason=DoseChange.Reason.HEMATOLOGIC_TOXICITY,
                note=suggestion.message,
            )
    elif kind == DoseSuggestion.Kind.RENAL_DOSE_REVIEW:
        level = suggestion.suggested_level
        if level is None:
            raise DomainError(errors.SUGGESTION_NO_LEVEL)
        if level != course.current_level:
            suggestion.created_dose_change = dose_change(
                course=course,
                user=user,
                level=level,
                effective_from=on,
                reason=DoseChange.Reason.RENAL_FUNCTION,
                note=suggestion.message,
            )
    suggestion.status = DoseSuggestion.Status.ACCEPTED
    suggestion.course = course
    suggestion.decided_by = user
    suggestion.decided_at = timezone.now()
    _save(suggestion, user=user, reason=f"Accepted: {suggestion.get_kind_display()}")
    return suggestion


def _cytopenia_reason(suggestion: DoseSuggestion) -> str:
    values = suggestion.finding.get("values", {})
    limits = {t["key"]: Decimal(str(t["value"])) for t in suggestion.thresholds}
    anc = values.get("anc")
    anc_limit = limits.get("dosing.hold.anc_below", Decimal("0.5"))
    if anc is not None and Decimal(str(anc)) < anc_limit:
        return Hold.Reason.NEUTROPENIA
    return Hold.Reason.THROMBOCYTOPENIA


@transaction.atomic
def dose_suggestion_dismiss(*, suggestion: DoseSuggestion, user, reason: str) -> DoseSuggestion:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(errors.DISMISS_REASON_REQUIRED, field="reason")
    suggestion = _pending(suggestion)
    suggestion.status = DoseSuggestion.Status.DISMISSED
    suggestion.dismiss_reason = reason
    suggestion.decided_by = user
    suggestion.decided_at = timezone.now()
    _save(suggestion, user=user, reason=f"Dismissed: {reason}")
    return suggestion


# --- REMS ---------------------------------------------------------------------------------------

ENROLLMENT_FIELDS = (
    "status",
    "patient_risk_category",
    "enrolled_on",
    "rems_patient_id",
    "agreement_signed_on",
    "counselled_on",
    "prescriber_name",
    "prescriber_enrollment_id",
    "prescriber_certification_expires_on",
)
_DATE_LABELS = {
    "enrolled_on": "Enrollment date",
    "agreement_signed_on": "Agreement signed date",
    "counselled_on": "Counselling date",
}


@transaction.atomic
def rems_enrollment_save(
    *,
    patient: Patient,
    user,
    data: dict[str, Any],
    reason: str = "",
    today: date | None = None,
) -> RemsEnrollment:
    """Create or update the enrollment. The risk category the rules suggest is stored next
    to the one the administrator confirms, with who confirmed it and when."""
    today = _today(today)
    enrollment = RemsEnrollment.objects.select_for_update().filter(
        patient=patient
    ).first() or RemsEnrollment(patient=patient)
    previous_category = enrollment.patient_risk_category
    for field in ENROLLMENT_FIELDS:
        if field in data:
            value = data[field]
            # Text fields store "" for blank; date fields store None.
            setattr(enrollment, field, "" if value is None and not field.endswith("_on") else value)
    for field, label in _DATE_LABELS.items():
        value = getattr(enrollment, field)
        if value is not None and value > today:
            raise DomainError(
                errors.ENROLLMENT_DATE_IN_FUTURE.format(field=label, value=value), field=field
            )
    if (
        enrollment.agreement_signed_on
        and enrollment.enrolled_on
        and enrollment.agreement_signed_on > enrollment.enrolled_on
    ):
        raise DomainError(
            errors.AGREEMENT_AFTER_ENROLLMENT.format(
                signed=enrollment.agreement_signed_on, enrolled=enrollment.enrolled_on
            ),
            field="agreement_signed_on",
        )
    thresholds = rule_thresholds(rems_rules.DEFAULTS, clinic_id=patient.clinic_id)
    enrollment.suggested_risk_category = suggested_risk_category(
        patient, as_of=today, thresholds=thresholds
    ).outcome
    if enrollment.patient_risk_category != previous_category or enrollment.pk is None:
        enrollment.risk_category_confirmed_by = user
        enrollment.risk_category_confirmed_at = timezone.now()
    created = enrollment.pk is None
    _save(
        enrollment,
        user=user,
        reason=reason or ("REMS enrollment" if created else "REMS enrollment edited"),
    )
    return enrollment


@transaction.atomic
def rems_authorization_create(
    *,
    patient: Patient,
    user,
    authorization_number: str,
    obtained_on: date,
    days_supply: int,
    dispensed_on: date | None = None,
    today: date | None = None,
) -> RemsAuthorization:
    """Record a prescription's authorization: at most a 28-day supply, not dated in the
    future; the expiry follows the patient's risk category (rule setting version kept)."""
    today = _today(today)
    enrollment = RemsEnrollment.objects.filter(patient=patient).first()
    if enrollment is None:
        raise DomainError(errors.AUTHORIZATION_WITHOUT_ENROLLMENT)
    thresholds = rule_thresholds(rems_rules.DEFAULTS, clinic_id=patient.clinic_id)
    _check_days_supply(days_supply, thresholds)
    if obtained_on > today:
        raise DomainError(
            errors.AUTHORIZATION_IN_FUTURE.format(value=obtained_on), field="obtained_on"
        )
    number = authorization_number.strip()
    if (
        RemsAuthorization.objects.valid()
        .filter(patient=patient, authorization_number=number)
        .exists()
    ):
        raise DomainError(
            errors.AUTHORIZATION_NUMBER_TAKEN.format(number=number), field="authorization_number"
        )
    category = enrollment.patient_risk_category
    key = (
        "rems.authorization.fcbp_valid_days"
        if rems_rules.is_fcbp(category)
        else "rems.authorization.other_valid_days"
    )
    authorization = RemsAuthorization(
        patient=patient,
        authorization_number=number,
        obtained_on=obtained_on,
        days_supply=days_supply,
        expires_on=rems_rules.authorization_expiry(
            obtained_on=obtained_on, risk_category=category, thresholds=thresholds
        ),
        patient_risk_category=category,
        expiry_rule=f"{key} = {dosing.format_mg(thresholds[key].value)} days v{thresholds[key].version}",
        entered_by=user,
    )
    _check_dispensed(authorization, dispensed_on, today)
    authorization.dispensed_on = dispensed_on
    _save(authorization, user=user, reason="REMS authorization recorded")
    return authorization


def _check_days_supply(days_supply: int, thresholds) -> None:
    if days_supply < 1:
        raise DomainError(errors.DAYS_SUPPLY_TOO_SHORT, field="days_supply")
    finding = rems_rules.validate_days_supply(days_supply, thresholds)
    if finding.outcome == "too_long":
        limit = thresholds["rems.prescription.max_days_supply"].value
        raise DomainError(
            errors.DAYS_SUPPLY_TOO_LONG.format(days=days_supply, limit=int(limit)),
            field="days_supply",
        )


def _check_dispensed(
    authorization: RemsAuthorization, dispensed_on: date | None, today: date
) -> None:
    if dispensed_on is None:
        return
    if dispensed_on > today:
        raise DomainError(
            errors.DISPENSED_IN_FUTURE.format(value=dispensed_on), field="dispensed_on"
        )
    if dispensed_on < authorization.obtained_on:
        raise DomainError(
            errors.DISPENSED_BEFORE_OBTAINED.format(
                value=dispensed_on, obtained=authorization.obtained_on
            ),
            field="dispensed_on",
        )
    if dispensed_on > authorization.expires_on:
        raise DomainError(
            errors.DISPENSED_AFTER_EXPIRY.format(
                value=dispensed_on, expires=authorization.expires_on
            ),
            field="dispensed_on",
        )


@transaction.atomic
def rems_authorization_update(
    *,
    authorization: RemsAuthorization,
    user,
    dispensed_on: date | None,
    reason: str = "",
    today: date | None = None,
) -> RemsAuthorization:
    """Record (or correct) the dispensed date of an authorization."""
    authorization = RemsAuthorization.objects.select_for_update().get(pk=authorization.pk)
    _check_dispensed(authorization, dispensed_on, _today(today))
    authorization.dispensed_on = dispensed_on
    _save(authorization, user=user, reason=reason or "Dispensed date recorded")
    return authorization


@transaction.atomic
def rems_survey_create(
    *, patient: Patient, user, completed_on: date, note: str = "", today: date | None = None
) -> RemsSurvey:
    if completed_on > _today(today):
        raise DomainError(errors.SURVEY_IN_FUTURE.format(value=completed_on), field="completed_on")
    survey = RemsSurvey(
        patient=patient, completed_on=completed_on, note=note.strip(), entered_by=user
    )
    _save(survey, user=user, reason="REMS survey recorded")
    return survey
