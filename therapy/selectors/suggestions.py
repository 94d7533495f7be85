"""Dose suggestion reads (CONTRACT): pending and decided suggestions per patient."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from patients.models import Patient
from patients.rows import ids_in
from therapy.models import DoseSuggestion


def pending_suggestions(patient_ids: Iterable[int]) -> QuerySet[DoseSuggestion]:
    """CONTRACT. Pending dose suggestions of these patients, newest first."""
    return (
        DoseSuggestion.objects.pending()
        .filter(patient_id__in=list(patient_ids))
        .select_related("patient", "course__regimen")
        .order_by("-raised_on", "-pk")
    )


def pending_suggestions_for(patient: Patient) -> list[DoseSuggestion]:
    """CONTRACT. The patient's pending suggestions (``pending_suggestions``), read once per
    patient object: the summary header counts them and the timeline lists them."""
    known = patient.__dict__
    if "_pending_suggestions" not in known:
        # The patient is known; what a pending suggestion shows is its own row (kind,
        # message, finding, evidence), so nothing is joined: four tables' columns cost more
        # to compile than the query costs to run.
        rows = list(
            DoseSuggestion.objects.pending()
            .filter(patient_id=patient.pk)
            .order_by("-raised_on", "-pk")
        )
        for row in rows:
            row.patient = patient
        known["_pending_suggestions"] = rows
    return known["_pending_suggestions"]


def suggestion_states(
    patient_ids: Iterable[int],
) -> tuple[list[DoseSuggestion], dict[tuple[int, str], DoseSuggestion]]:
    """CONTRACT. In one query: the pending suggestions of these patients, and the latest
    accepted one per (patient, kind) (a rule raising the same finding on the same results
    again has been decided already)."""
    pending: list[DoseSuggestion] = []
    accepted: dict[tuple[int, str], DoseSuggestion] = {}
    rows = (
        DoseSuggestion.objects.filter(
            ids_in("patient_id", patient_ids),
            status__in=[DoseSuggestion.Status.PENDING, DoseSuggestion.Status.ACCEPTED],
        )
        .only("id", "patient_id", "kind", "status", "evidence", "decided_at")
        .order_by("patient_id", "kind", "-decided_at", "-pk")
    )
    for row in rows:
        if row.status == DoseSuggestion.Status.PENDING:
            pending.append(row)
        else:
            accepted.setdefault((row.patient_id, row.kind), row)
    return pending, accepted


def suggestion_for(patient: Patient, public_id) -> DoseSuggestion | None:
    """CONTRACT. One of the patient's dose suggestions by its public id (None: not theirs)."""
    return DoseSuggestion.objects.filter(patient=patient, public_id=public_id).first()


def suggestions_for(patient: Patient, *, limit: int = 20) -> list[DoseSuggestion]:
    return list(
        DoseSuggestion.objects.filter(patient=patient)
        .select_related("decided_by", "created_hold", "created_dose_change")
        .order_by("-raised_on", "-pk")[:limit]
    )
