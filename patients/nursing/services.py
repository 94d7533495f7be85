"""Writes for nursing notes and follow-up calls: each one atomic, each leaving history.

History rows come from django-simple-history in the same transaction, with the acting
user and a reason. A refused change raises ``DomainError`` (words in ``nursing.errors``)
before anything is written.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from patients.errors import DomainError
from patients.models import FollowUpCall, Patient, PatientNote
from patients.nursing import errors, rules
from patients.selectors import rule_thresholds
from patients.services import record_save

NOTE_MAX_CHARS = 4000
# A clock a few minutes ahead on the entering workstation must not refuse a note typed now.
CLOCK_SKEW = timedelta(minutes=5)


def _save(instance, *, user, reason: str) -> None:
    record_save(instance, user=user, reason=reason)


def _check_note(*, text: str, contact_at: datetime, follow_up_on: date | None) -> str:
    text = (text or "").strip()
    if not text:
        raise DomainError(errors.NOTE_TEXT_REQUIRED, field="text")
    if len(text) > NOTE_MAX_CHARS:
        raise DomainError(errors.NOTE_TOO_LONG.format(limit=NOTE_MAX_CHARS), field="text")
    if contact_at > timezone.now() + CLOCK_SKEW:
        shown = timezone.localtime(contact_at).strftime("%Y-%m-%d %H:%M")
        raise DomainError(errors.NOTE_TIME_IN_FUTURE.format(value=shown), field="contact_at")
    contact_on = timezone.localtime(contact_at).date()
    if follow_up_on is not None and follow_up_on < contact_on:
        raise DomainError(
            errors.FOLLOW_UP_BEFORE_CONTACT.format(value=follow_up_on, contact=contact_on),
            field="follow_up_on",
        )
    return text


@transaction.atomic
def note_create(
    *,
    patient: Patient,
    user,
    kind: str,
    reason: str,
    text: str,
    contact_at: datetime,
    follow_up_on: date | None = None,
) -> PatientNote:
    """Record a telephone or clinic note; a follow-up date puts a call on the worklist."""
    text = _check_note(text=text, contact_at=contact_at, follow_up_on=follow_up_on)
    note = PatientNote(
        patient=patient,
        kind=kind,
        reason=reason,
        text=text,
        contact_at=contact_at,
        follow_up_on=follow_up_on,
        author=user,
    )
    _save(note, user=user, reason="Note written")
    _sync_note_follow_up(note, user=user)
    return note


@transaction.atomic
def note_correct(*, note: PatientNote, user, data: dict, change_reason: str) -> PatientNote:
    """Correct a note (its author only). The previous version stays in the history."""
    note = PatientNote.objects.select_for_update().get(pk=note.pk)
    _check_editable(note, user)
    change_reason = (change_reason or "").strip()
    if not change_reason:
        raise DomainError(errors.CORRECTION_REASON_REQUIRED, field="change_reason")
    for field in ("kind", "reason", "text", "contact_at", "follow_up_on"):
        if field in data:
            setattr(note, field, data[field])
    note.text = _check_note(
        text=note.text, contact_at=note.contact_at, follow_up_on=note.follow_up_on
    )
    _save(note, user=user, reason=f"Correction: {change_reason}")
    _sync_note_follow_up(note, user=user)
    return note


@transaction.atomic
def note_mark_entered_in_error(*, note: PatientNote, user, reason: str) -> PatientNote:
    """Withdraw a mistaken note (kept, marked); its open follow-up call is cancelled."""
    note = PatientNote.objects.select_for_update().get(pk=note.pk)
    _check_editable(note, user)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(errors.ERROR_REASON_REQUIRED, field="reason")
    note.entered_in_error_at = timezone.now()
    note.entered_in_error_by = user
    note.entered_in_error_reason = reason
    _save(note, user=user, reason=f"Entered in error: {reason}")
    for call in note.follow_ups.filter(status=FollowUpCall.Status.OPEN):
        _cancel(call, user=user, reason="The note asking for it was entered in error.")
    return note


def _check_editable(note: PatientNote, user) -> None:
    if note.is_entered_in_error:
        raise DomainError(errors.NOTE_IN_ERROR)
    if note.author_id != user.pk:
        raise DomainError(errors.NOTE_NOT_AUTHOR)


def _sync_note_follow_up(note: PatientNote, *, user) -> None:
    """Keep the note's open follow-up call in step with its follow-up date."""
    call = note.follow_ups.filter(status=FollowUpCall.Status.OPEN).first()
    if note.follow_up_on is None:
        if call is not None:
            _cancel(call, user=user, reason="The follow-up date was removed from the note.")
        return
    if call is None:
        call = FollowUpCall(
            patient=note.patient, kind=FollowUpCall.Kind.NOTE, note=note, purpose=""
        )
    call.due_from = call.due_by = note.follow_up_on
    call.purpose = f"{note.get_reason_display()}: {_excerpt(note.text)}"
    _save(call, user=user, reason="Follow-up date set in a note")


def _excerpt(text: str, limit: int = 120) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _cancel(call: FollowUpCall, *, user, reason: str) -> None:
    call.status = FollowUpCall.Status.CANCELLED
    call.cancel_reason = reason
    _save(call, user=user, reason=f"Cancelled: {reason}")


# --- Follow-up calls ---------------------------------------------------------------------------


@transaction.atomic
def follow_up_calls_for_course_start(
    *,
    patient: Patient,
    user,
    course_public_id: UUID,
    start_date: date,
    regimen_name: str,
    today: date | None = None,
) -> list[FollowUpCall]:
    """The calls owed after a course starts (rules.calls_after_start), created once per
    course and kind: starting the same course again adds none. A course recorded after the
    fact (started in the past) owes no call whose window has already closed: those would
    only sit on the worklist as late forever."""
    today = today or timezone.localdate()
    thresholds = rule_thresholds(rules.DEFAULTS, clinic_id=patient.clinic_id)
    created = []
    for planned in rules.calls_after_start(start_date, thresholds):
        if planned.due_by < today:
            continue
        if FollowUpCall.objects.filter(
            course_public_id=course_public_id, kind=planned.kind
        ).exists():
            continue
        call = FollowUpCall(
            patient=patient,
            kind=planned.kind,
            due_from=planned.due_from,
            due_by=planned.due_by,
            purpose=f"{regimen_name}, started {start_date.isoformat()}",
            course_public_id=course_public_id,
            rule=planned.rule,
        )
        _save(call, user=user, reason="Course started")
        created.append(call)
    return created


@transaction.atomic
def follow_up_call_done(
    *, call: FollowUpCall, user, outcome: str, now: datetime | None = None
) -> FollowUpCall:
    """Close a call with its outcome, written as a telephone note on the patient record.

    Compare-and-set on the open status: two nurses closing the same call at once give one
    outcome, and the second is told it is done.
    """
    now = now or timezone.now()
    call = FollowUpCall.objects.select_for_update().select_related("patient").get(pk=call.pk)
    if call.status != FollowUpCall.Status.OPEN:
        raise DomainError(errors.CALL_NOT_OPEN.format(status=call.get_status_display().lower()))
    outcome = (outcome or "").strip()
    if not outcome:
        raise DomainError(errors.OUTCOME_REQUIRED, field="outcome")
    note = note_create(
        patient=call.patient,
        user=user,
        kind=PatientNote.Kind.TELEPHONE,
        reason=PatientNote.Reason.FOLLOW_UP,
        text=f"{call.get_kind_display()}: {outcome}",
        contact_at=now,
    )
    call.status = FollowUpCall.Status.DONE
    call.done_at = now
    call.done_by = user
    call.outcome_note = note
    _save(call, user=user, reason="Call done")
    return call


@transaction.atomic
def follow_up_calls_cancel_for_course(
    *, course_public_id: UUID, after: date, user, reason: str
) -> int:
    """Cancel a stopped course's open calls whose window opens after ``after``."""
    calls = FollowUpCall.objects.select_for_update().filter(
        course_public_id=course_public_id, status=FollowUpCall.Status.OPEN, due_from__gt=after
    )
    cancelled = 0
    for call in calls:
        _cancel(call, user=user, reason=reason)
        cancelled += 1
    return cancelled
