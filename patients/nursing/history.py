"""Telephone and clinic notes and follow-up calls on the patient's History page, in words
("Telephone call note: Symptoms or side effects"); registered in PatientsConfig.ready()."""

from __future__ import annotations

from patients.history import HistoryEntry, entries_from_history
from patients.models import FollowUpCall, Patient, PatientNote


def _note(row, previous, details) -> str | None:
    if previous is None:
        return f"{row.get_kind_display()} note: {row.get_reason_display()}"
    return "Note corrected" if details else None


def _call(row, previous, details) -> str | None:
    if previous is None:
        return f"{row.get_kind_display()} due {row.due_from:%Y-%m-%d}"
    if row.status != previous.status:
        return f"{row.get_kind_display()}: {row.get_status_display().lower()}"
    return "Follow-up call changed" if details else None


def history_entries(patient: Patient) -> list[HistoryEntry]:
    return [
        *entries_from_history(
            PatientNote.history.filter(patient_id=patient.pk),
            label="Note",
            area="Notes",
            headline=_note,
        ),
        *entries_from_history(
            FollowUpCall.history.filter(patient_id=patient.pk),
            label="Follow-up call",
            area="Notes",
            headline=_call,
            hide=frozenset({"course_public_id", "rule", "note", "outcome_note", "done_by"}),
        ),
    ]
