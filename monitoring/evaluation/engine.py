"""One evaluation of a batch of patients: gather, run the rules, reconcile the flags."""

from __future__ import annotations

import gc
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from monitoring.evaluation.cbc import _interval_now, _schedule
from monitoring.evaluation.common import Desired, K, Outcome, _in_scope
from monitoring.evaluation.cytopenia import _cytopenias
from monitoring.evaluation.flags_write import (
    _already_decided,
    _audit,
    _differs,
    _flag_changes,
    _insert_flags,
    _new_flag,
    _open_flags,
    _queue_notifications,
    _read_open_flags,
    _ReadFlag,
    _resolve_flags,
    _therapy_suggestions,
    _update_flags,
    _upsert_statuses,
    _withdraw_suggestions_on_withdrawn_evidence,
    _withdrawn_words,
)
from monitoring.evaluation.gather import _gather, compiled_timestamps
from monitoring.evaluation.hold import _hold
from monitoring.evaluation.kinds import _resolution
from monitoring.evaluation.next_review import _next_review
from monitoring.evaluation.progression import _progression
from monitoring.evaluation.rems import _pregnancy_positive, _rems
from monitoring.evaluation.renal import _renal
from monitoring.models import Flag, MonitoringStatus
from patients.models import Patient
from patients.rulebook import Finding


def patients_evaluate(
    patient_ids: list[int],
    *,
    as_of: date,
    now: datetime | None = None,
    audit: set[int] | frozenset[int] = frozenset(),
) -> Outcome:
    """Evaluate a batch of patients and reconcile their flags (idempotent, concurrency-safe).

    Steps: gather (fixed queries); per patient, run the pure rules into the wanted flags;
    insert missing flags, compare-and-set changed ones, resolve cleared ones with the
    resolving evidence; upsert the due dates; raise or withdraw therapy suggestions for
    new decisions; queue emails in the outbox for grade 3-4 cytopenias and progression.
    The status row keeps the patient's ``rules_version`` read at the start (compare-and-
    set: an edit committed meanwhile leaves the patient dirty) and ``next_review_on``.
    Patients in ``audit`` were not due (the full safety-net sweep): any flag change on
    them is logged as a warning.
    """
    with _young_objects_only(), compiled_timestamps():
        return _evaluate(patient_ids, as_of=as_of, now=now, audit=audit)


@contextmanager
def _young_objects_only():
    """While a batch is evaluated, the garbage collector walks only the objects made since
    it began (``gc.freeze``): a batch builds tens of thousands of rows, results and
    findings, and each full collection they trigger would otherwise walk the whole
    process (the Django app, its modules: about 60 ms each, a tenth of a batch of 150).
    Everything is unfrozen after the batch and collected as before. A process that froze
    objects itself (a pre-fork server) is left as it is."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# Every kind of flag, in the order the model lists them (``Flag.Kind.values`` builds the list
# anew on each read).
_KINDS = tuple(Flag.Kind.values)


@transaction.atomic
def _evaluate(
    patient_ids: list[int], *, as_of: date, now: datetime | None, audit: set[int] | frozenset[int]
) -> Outcome:
    now = now or timezone.now()
    outcome = Outcome(patients=len(patient_ids))
    if not patient_ids:
        return outcome
    batch = _gather(sorted(patient_ids), as_of)
    existing: dict[tuple[int, str], _ReadFlag] = {
        (f.patient_id, f.kind): f for f in _read_open_flags(batch.patients)
    }
    to_create: list[Flag] = []
    to_change: list[tuple[Flag, dict]] = []
    to_resolve: list[tuple[Flag, str, list[dict]]] = []
    wanted: dict[int, dict[str, Desired]] = {}
    statuses: list[MonitoringStatus] = []
    suggestions: list[tuple[Patient, str, Finding, list[dict]]] = []
    withdrawals: list[tuple[Patient, str, str]] = []
    withdrawn = _withdraw_suggestions_on_withdrawn_evidence(batch, existing)

    for pid, patient in batch.patients.items():
        desired: dict[str, Desired] = {}
        keep: set[str] = set()
        status_row: dict[str, Any] = {"on_course": False}
        if _in_scope(patient):
            t = batch.thresholds[patient.clinic_id]
            snap = batch.snapshots.get(pid)
            desired.update(_cytopenias(batch, pid, t, _interval_now(batch, pid, snap, t)))
            desired.update(_progression(batch, pid, patient, t))
            if snap is not None:
                scheduled, status_row = _schedule(batch, pid, snap, t)
                desired.update(scheduled)
                hold, held_suggestion, guidance = _hold(batch, pid, snap, t)
                desired.update(hold)
                if guidance is not None and guidance.outcome == "unknown":
                    keep.add(K.HOLD_RECOMMENDED)
                if held_suggestion:
                    suggestions.append((patient, held_suggestion, guidance, []))
                renal, crcl, renal_info = _renal(batch, pid, patient, t, snap)
                desired.update(renal)
                status_row["crcl_ml_min"] = crcl
                open_renal = existing.get((pid, K.RENAL_DOSE_REVIEW))
                if (
                    K.RENAL_DOSE_REVIEW not in renal
                    and open_renal is not None
                    and open_renal.status == Flag.Status.OPEN
                    and open_renal.rule_id == "dosing.renal_band_crossed"
                    and open_renal.values.get("previous_band") != renal_info.get("current_band")
                ):
                    # Not reviewed yet and the new band still holds: keep the flag open.
                    keep.add(K.RENAL_DOSE_REVIEW)
                # REMS applies to patients prescribed lenalidomide.
                if snap.includes_lenalidomide:
                    desired.update(_rems(batch, pid))
                    desired.update(_pregnancy_positive(batch, pid))
        wanted[pid] = desired
        statuses.append(
            MonitoringStatus(
                patient_id=pid,
                evaluated_at=now,
                as_of=as_of,
                evaluated_version=patient.rules_version,
                next_review_on=_next_review(
                    batch, pid, patient, batch.snapshots.get(pid) if _in_scope(patient) else None
                ),
                **status_row,
            )
        )
        for kind in _KINDS:
            d, flag = desired.get(kind), existing.get((pid, kind))
            gone = _withdrawn_words(flag, withdrawn) if flag is not None else ""
            if kind in keep and not gone:
                continue
            if d is not None and flag is None:
                if not _already_decided(batch, pid, d):
                    to_create.append(_new_flag(pid, d, as_of=as_of, now=now))
            elif d is not None and _differs(flag, d):
                to_change.append((flag, _flag_changes(flag, d, now=now)))
            elif (d is None or kind in keep) and flag is not None:
                if gone:
                    reason, evidence = f"Evidence withdrawn: {gone}", []
                else:
                    reason, evidence = _resolution(kind, batch, pid, patient)
                to_resolve.append((flag, reason, evidence))

    # One compare-and-set statement each for the changed and the cleared flags.
    changed = _update_flags(to_change)
    for flag, _changes in to_change:
        if flag.pk in changed:
            outcome.changed += 1
            _audit(audit, batch.patients[flag.patient_id], flag.kind, "changed")
    resolved = _resolve_flags(to_resolve, now=now)
    for flag, reason, _evidence in to_resolve:
        if flag.pk in resolved:
            patient = batch.patients[flag.patient_id]
            outcome.resolved += 1
            _audit(audit, patient, flag.kind, "resolved")
            if flag.kind == K.HOLD_RECOMMENDED:
                withdrawals.append((patient, "hold", reason))
                withdrawals.append((patient, "discontinuation_review", reason))

    _insert_flags(to_create)
    _upsert_statuses(statuses)

    # Read back what is open now: ids for emails and suggestions (whoever inserted them).
    open_now = _open_flags(batch.patients)
    before = {flag.pk for flag in existing.values()}
    outcome.created = sum(1 for flag in open_now if flag.pk not in before)
    for flag in open_now:
        if flag.pk not in before:
            _audit(audit, batch.patients[flag.patient_id], flag.kind, "opened")
    outcome.kinds_open = defaultdict(set)
    for flag in open_now:
        outcome.kinds_open[flag.patient_id].add(flag.kind)
    outcome.kinds_open = dict(outcome.kinds_open)
    outcome.notifications = _queue_notifications(open_now, wanted, batch)
    _therapy_suggestions(open_now, wanted, batch, suggestions, withdrawals)
    return outcome
