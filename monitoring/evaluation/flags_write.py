"""Reconciling flags with the database: insert, compare-and-set, resolve, status upsert,
suggestions, the outbox, the audit of the full sweep."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.utils import timezone

from monitoring.evaluation.common import Desired
from monitoring.models import Flag, MonitoringStatus, Notification
from patients.models import Patient
from patients.roles import PHYSICIAN
from patients.rulebook import jsonable, threshold_json
from therapy import selectors as therapy_selectors
from therapy import services as therapy_services

if TYPE_CHECKING:
    from monitoring.evaluation.gather import _Batch

logger = logging.getLogger(__name__)


def _new_flag(pid: int, d: Desired, *, as_of: date, now: datetime) -> Flag:
    return Flag(
        patient_id=pid,
        kind=d.kind,
        status=Flag.Status.OPEN,
        severity=d.severity,
        ctcae_grade=d.ctcae_grade,
        peak_ctcae_grade=d.ctcae_grade,
        ctcae_version=d.ctcae_version,
        message=d.message,
        rule_id=d.finding.rule_id,
        basis=d.finding.basis,
        thresholds=[threshold_json(t) for t in d.finding.thresholds],
        values=jsonable(d.finding.values),
        evidence=d.evidence,
        due_on=d.due_on,
        opened_at=now,
        opened_as_of=as_of,
        created_at=now,
        updated_at=now,
    )


def _evidence_ids(evidence: list[dict]) -> list:
    return sorted(e.get("result_id") or 0 for e in evidence)


def _differs(flag: Flag, d: Desired) -> bool:
    return (
        flag.severity != d.severity
        or flag.ctcae_grade != d.ctcae_grade
        or flag.due_on != d.due_on
        or flag.message != d.message
        or _evidence_ids(flag.evidence) != _evidence_ids(d.evidence)
    )


def _update_flag(flag: Flag, d: Desired, *, now: datetime) -> bool:
    """Compare-and-set: applies only if the flag still holds what this evaluation read."""
    worse = d.severity > flag.severity or (d.ctcae_grade or 0) > (flag.ctcae_grade or 0)
    escalations = list(flag.escalations)
    if (
        flag.ctcae_grade != d.ctcae_grade
        or flag.severity != d.severity
        or flag.message != d.message
    ):
        # The flag's history: what it said before, and what it says now.
        escalations.append(
            {
                "at": timezone.localtime(now).isoformat(),
                "from_grade": flag.ctcae_grade,
                "to_grade": d.ctcae_grade,
                "from_severity": flag.severity,
                "to_severity": d.severity,
                "from_message": flag.message,
                "to_message": d.message,
                "evidence": d.evidence,
            }
        )
    changes = {
        "severity": d.severity,
        "ctcae_grade": d.ctcae_grade,
        "peak_ctcae_grade": max(flag.peak_ctcae_grade or 0, d.ctcae_grade or 0) or None,
        "ctcae_version": d.ctcae_version,
        "message": d.message,
        "rule_id": d.finding.rule_id,
        "basis": d.finding.basis,
        "thresholds": [threshold_json(t) for t in d.finding.thresholds],
        "values": jsonable(d.finding.values),
        "evidence": d.evidence,
        "due_on": d.due_on,
        "escalations": escalations,
        "updated_at": now,
    }
    if worse:
        # A worse result needs fresh eyes: an acknowledged flag opens again.
        changes["status"] = Flag.Status.OPEN
    return bool(
        Flag.objects.filter(
            pk=flag.pk,
            status__in=Flag.OPEN_STATUSES,
            severity=flag.severity,
            ctcae_grade=flag.ctcae_grade,
            due_on=flag.due_on,
            message=flag.message,
        ).update(**changes)
    )


def _resolve_flag(flag: Flag, *, reason: str, evidence: list[dict], now: datetime) -> bool:
    return bool(
        Flag.objects.filter(pk=flag.pk, status__in=Flag.OPEN_STATUSES).update(
            status=Flag.Status.RESOLVED,
            resolved_at=now,
            resolution=reason,
            resolving_evidence=evidence,
            updated_at=now,
        )
    )


def _upsert_statuses(rows: list[MonitoringStatus]) -> None:
    MonitoringStatus.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["patient"],
        update_fields=[
            "evaluated_at",
            "as_of",
            "on_course",
            "cbc_phase",
            "last_cbc_on",
            "cbc_due_on",
            "cbc_overdue_after",
            "response_labs_due_on",
            "crcl_ml_min",
            "evaluated_version",
            "next_review_on",
        ],
    )


def _audit(audit, patient: Patient, kind: str, what: str) -> None:
    if patient.pk in audit:
        logger.warning(
            "Full sweep %s flag %s of patient %s, which the incremental sweep had not due: "
            "a missed dirty mark or a late next_review_on.",
            what,
            kind,
            patient.public_id,
        )


def _already_decided(batch: _Batch, pid: int, d: Desired) -> bool:
    """A physician accepted this very finding (same kind, same results): its flag was
    resolved by the decision, and the same results do not open it again."""
    if not d.suggestion_kind:
        return False
    accepted = batch.accepted.get((pid, d.suggestion_kind))
    ids = _evidence_ids(d.evidence)
    return accepted is not None and any(ids) and _evidence_ids(accepted.evidence) == ids


def _withdrawn_words(flag: Flag, withdrawn: dict[int, str]) -> str:
    return "; ".join(
        withdrawn[e["result_id"]] for e in flag.evidence if e.get("result_id") in withdrawn
    )


def _withdraw_suggestions_on_withdrawn_evidence(
    batch: _Batch, existing: dict[tuple[int, str], Flag]
) -> dict[int, str]:
    """Results marked entered-in-error that open flags or pending suggestions rest on.

    A pending suggestion raised on such a result is withdrawn now, with the reason, so
    nobody accepts a hold on a result the nurse withdrew; its flags are unlinked so that a
    finding still standing on other results raises a fresh suggestion. Returns the words
    for each withdrawn result id (the flags' resolution).
    """
    withdrawn = batch.in_error
    if not withdrawn:
        return {}
    for suggestion in batch.pending:
        words = "; ".join(
            withdrawn[e["result_id"]]
            for e in suggestion.evidence or []
            if isinstance(e, dict) and e.get("result_id") in withdrawn
        )
        if not words:
            continue
        therapy_services.dose_suggestion_withdraw(
            patient=batch.patients[suggestion.patient_id],
            kind=suggestion.kind,
            reason=f"Evidence withdrawn: {words}",
        )
        Flag.objects.filter(dose_suggestion_id=suggestion.pk).update(dose_suggestion_id=None)
        for flag in existing.values():
            if flag.dose_suggestion_id == suggestion.pk:
                flag.dose_suggestion_id = None
    return withdrawn


def _therapy_suggestions(open_now, wanted, batch, suggestions, withdrawals) -> None:
    """Hand decisions to therapy: a suggestion per new hold/renal flag, resume when held
    counts recover, and withdraw a pending hold once counts recovered first."""
    for flag in open_now:
        d = wanted.get(flag.patient_id, {}).get(flag.kind)
        if d is None or not d.suggestion_kind or flag.dose_suggestion_id is not None:
            continue
        if flag.patient_id not in batch.snapshots:
            continue
        suggestion = _dose_suggestion_raise(
            patient=batch.patients[flag.patient_id],
            kind=d.suggestion_kind,
            finding=d.finding,
            evidence=d.evidence,
            as_of=batch.as_of,
        )
        if suggestion is not None:
            Flag.objects.filter(pk=flag.pk, dose_suggestion_id__isnull=True).update(
                dose_suggestion_id=suggestion.pk
            )
    pending = set()
    if suggestions:
        pending = {
            (s.patient_id, s.kind)
            for s in therapy_selectors.pending_suggestions([p.pk for p, *_ in suggestions])
        }
    for patient, kind, finding, evidence in suggestions:
        if (patient.pk, kind) in pending:
            continue  # already waiting for the physician; re-raising would only churn history
        _dose_suggestion_raise(
            patient=patient, kind=kind, finding=finding, evidence=evidence, as_of=batch.as_of
        )
    for patient, kind, reason in withdrawals:
        therapy_services.dose_suggestion_withdraw(patient=patient, kind=kind, reason=reason)


def _dose_suggestion_raise(*, patient, kind: str, finding, evidence: list[dict], as_of: date):
    """Raise (idempotently) a therapy dose suggestion on the active course; None without one."""
    course = therapy_selectors.active_course_for(patient)
    if course is None:
        return None
    return therapy_services.dose_suggestion_raise(
        patient=patient, course=course, kind=kind, finding=finding, evidence=evidence, as_of=as_of
    )


def _queue_notifications(open_now: list[Flag], wanted, batch: _Batch) -> int:
    """Outbox rows for flags that email the care team; the key makes each go out once
    (a flag's grade 3 and a later grade 4 are two messages; a re-run adds none)."""
    to_notify = [
        f
        for f in open_now
        if (d := wanted.get(f.patient_id, {}).get(f.kind)) is not None and d.notify
    ]
    if not to_notify:
        return 0
    clinic_ids = {batch.patients[f.patient_id].clinic_id for f in to_notify}
    recipients: dict[int, list[tuple[int, str]]] = defaultdict(list)
    team = (
        get_user_model()
        .objects.filter(clinics__id__in=clinic_ids, groups__name=PHYSICIAN, is_active=True)
        .exclude(email="")
        .values_list("clinics__id", "pk", "email")
        .distinct()
    )
    for clinic_id, user_id, email in team:
        recipients[clinic_id].append((user_id, email))
    rows = []
    for flag in to_notify:
        patient = batch.patients[flag.patient_id]
        step = f"grade-{flag.ctcae_grade}" if flag.ctcae_grade else "open"
        for user_id, email in recipients.get(patient.clinic_id, []):
            rows.append(
                Notification(
                    key=f"flag-{flag.pk}-{step}-user-{user_id}",
                    flag=flag,
                    recipient=email,
                    subject=f"[MMM] {flag.get_severity_display()}: {flag.get_kind_display()}"
                    + (f" grade {flag.ctcae_grade}" if flag.ctcae_grade else "")
                    + f" ({patient.clinic.name})",
                    body=(
                        f"{flag.message}\n\nRule: {flag.rule_id}. {flag.basis}\n\n"
                        f"Open the patient record: /patients/{patient.public_id}/\n"
                        "Decision support only: clinical judgement decides."
                    ),
                )
            )
    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
