"""Reads for nursing notes and follow-up calls (querysets with their joins applied)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from patients.models import FollowUpCall, Patient, PatientNote


def notes_for(patient: Patient, *, include_in_error: bool = False) -> QuerySet[PatientNote]:
    notes = PatientNote.objects.filter(patient=patient).select_related(
        "author", "entered_in_error_by"
    )
    if not include_in_error:
        notes = notes.valid()
    return notes.order_by("-contact_at", "-pk")


def note_of(patient: Patient, note_public_id) -> PatientNote | None:
    return notes_for(patient, include_in_error=True).filter(public_id=note_public_id).first()


def open_calls_for(patient: Patient) -> QuerySet[FollowUpCall]:
    return (
        FollowUpCall.objects.filter(patient=patient, status=FollowUpCall.Status.OPEN)
        .select_related("patient")
        .order_by("due_from", "pk")
    )


def call_of(patient: Patient, call_public_id) -> FollowUpCall | None:
    return (
        FollowUpCall.objects.filter(patient=patient, public_id=call_public_id)
        .select_related("patient", "note")
        .first()
    )


def follow_ups_due(clinic_id: int, *, as_of: date) -> QuerySet[FollowUpCall]:
    """Open calls of the clinic whose window has opened by ``as_of``, latest deadline last
    (served by the partial index followup_open_due_idx)."""
    # The clinic's valid patients as a subquery (patient_clinic_valid_idx, index-only), not
    # a join filter: joined, PostgreSQL reads every patient of the clinic whole to match a
    # few dozen calls.
    valid = Patient.objects.filter(clinic_id=clinic_id, entered_in_error_at__isnull=True)
    return (
        FollowUpCall.objects.filter(
            status=FollowUpCall.Status.OPEN,
            due_from__lte=as_of,
            patient__in=valid.values("id"),
        )
        .select_related("patient")
        .order_by("due_by", "due_from", "pk")
    )


@dataclass(frozen=True)
class NoteEvent:
    """A note as a timeline marker: the local date of the call or visit, a label, a detail."""

    on: date
    label: str
    detail: str


def note_events(patient: Patient) -> list[NoteEvent]:
    """The patient's valid notes, oldest first, for the timeline."""
    return [
        NoteEvent(
            on=timezone.localtime(note.contact_at).date(),
            label=f"{note.get_kind_display()}: {note.get_reason_display()}",
            detail=note.text if len(note.text) <= 200 else note.text[:199] + "…",
        )
        for note in notes_for(patient).order_by("contact_at", "pk")
    ]
