"""Celery tasks: thin wrappers that take ids or plain values and call one service.

* ``evaluate_patients``: queued on commit whenever labs are saved or corrected, or therapy
  and REMS records change: the patients of that commit (of a whole MLLP group or batch),
  evaluated as one batch; a patient already waiting in the queue is not queued again
  (``patients.services.evaluations_send``). ``evaluate_patient`` (one id) is kept for
  tasks queued before.
* ``sweep``: beat, every 30 minutes; fans batches of patient ids out to workers as a group.
* ``evaluate_batch``: one batch of the sweep (set-based queries, fixed count per batch).
* ``deliver_notifications``: sends the outbox (also run at the end of each evaluation).

All are idempotent (the database decides), so a retry, a duplicate delivery or two sweeps
at once leave the same flags. If the broker is down when labs are saved, the enqueue
failure is logged and swallowed: the results are committed, and the next sweep
evaluates the patient.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date

from celery import current_app as app
from celery import group, shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from monitoring import evaluation, notifications
from patients import services as patient_services

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)
SWEEP_BATCH_SIZE = 500
EVALUATE_EXPIRES_SECONDS = patient_services.EVALUATE_EXPIRES_SECONDS

# Patient ids whose evaluation could not be queued during a ``queue_outcome()`` block.
_NOT_QUEUED: ContextVar[list[int] | None] = ContextVar("monitoring_not_queued", default=None)


@contextmanager
def queue_outcome() -> Iterator[list[int]]:
    """Collect the patients whose evaluation could not be queued (broker down) while the
    block runs, so a page can say that flags will be checked at the next sweep."""
    not_queued: list[int] = []
    token = _NOT_QUEUED.set(not_queued)
    try:
        yield not_queued
    finally:
        _NOT_QUEUED.reset(token)


def _as_of(value: str | None) -> date:
    return date.fromisoformat(value) if value else timezone.localdate()


_EVALUATE_OPTIONS = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
    "soft_time_limit": 120,
    "time_limit": 180,
}


@shared_task(name="monitoring.tasks.evaluate_patients", **_EVALUATE_OPTIONS)
def evaluate_patients(patient_ids: list[int], as_of: str | None = None) -> dict:
    """Evaluate, as one batch, every patient waiting in the queue: the ones this task was
    sent for (a commit's patients) and any queued since, unless another worker has taken
    them already (``patients.services.evaluations_take``). Their marks are cleared first,
    so a change committed while this runs queues an evaluation of its own."""
    patient_services.evaluation_task_forget()
    taken = patient_services.evaluations_take()
    outcome, sent = _evaluate(taken, as_of)
    return {"patients": outcome.patients, "flagged": len(outcome.kinds_open), "sent": sent}


@shared_task(name="monitoring.tasks.evaluate_patient", **_EVALUATE_OPTIONS)
def evaluate_patient(patient_id: int, as_of: str | None = None) -> dict:
    """One patient, as given (tasks queued before the coalesced queue, and callers that
    name a date)."""
    outcome, sent = _evaluate([patient_id], as_of)
    return {
        "patient_id": patient_id,
        "open": sorted(outcome.kinds_open.get(patient_id, ())),
        "sent": sent,
    }


def _evaluate(patient_ids: list[int], as_of: str | None):
    outcome = evaluation.patients_evaluate(sorted(set(patient_ids)), as_of=_as_of(as_of))
    sent = notifications.notifications_deliver() if outcome.notifications else 0
    return outcome, sent


@shared_task(
    name="monitoring.tasks.evaluate_batch",
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
    soft_time_limit=240,
    time_limit=300,
)
def evaluate_batch(
    patient_ids: list[int], as_of: str | None = None, audit: list[int] | None = None
) -> dict:
    outcome = evaluation.patients_evaluate(
        patient_ids, as_of=_as_of(as_of), audit=frozenset(audit or ())
    )
    sent = notifications.notifications_deliver() if outcome.notifications else 0
    return {
        "patients": outcome.patients,
        "created": outcome.created,
        "resolved": outcome.resolved,
        "sent": sent,
    }


@shared_task(name="monitoring.tasks.sweep", soft_time_limit=120, time_limit=180)
def sweep(as_of: str | None = None, batch_size: int = SWEEP_BATCH_SIZE, full: bool = False) -> int:
    """Fan the sweep out: one ``evaluate_batch`` per batch of patient ids; returns batches.

    Incremental by default (only the patients due: dirty, or a time-driven rule due);
    ``full`` evaluates everyone and warns about changes to patients that were not due.
    """
    as_of = as_of or timezone.localdate().isoformat()
    due = evaluation.sweep_patient_ids(due_on=date.fromisoformat(as_of))
    ids, skipped = due, set()
    if full:
        skipped = set(evaluation.sweep_patient_ids()) - set(due)
        ids = sorted(set(due) | skipped)
    jobs = [
        evaluate_batch.s(batch, as_of, sorted(skipped.intersection(batch)) or None)
        for batch in evaluation.batches(ids, batch_size)
    ]
    if jobs:
        group(jobs).apply_async(expires=50 * 60)
    return len(jobs)


@shared_task(
    name="monitoring.tasks.deliver_notifications",
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=120,
    time_limit=180,
)
def deliver_notifications() -> int:
    return notifications.notifications_deliver()


def enqueue_patients_evaluation(patient_ids: list[int]) -> bool:
    """Queue these patients' evaluation as one task; never raises
    (``patients.services.evaluations_send``). A broker outage is logged, remembered for the
    page's confirmation (``queue_outcome``), and the next sweep raises whatever flag this
    task would have raised."""
    if patient_services.evaluations_send(patient_ids):
        return True
    not_queued = _NOT_QUEUED.get()
    if not_queued is not None:
        not_queued.extend(sorted(set(patient_ids)))
    return False


def enqueue_patient_evaluation(patient_id: int) -> bool:
    return enqueue_patients_evaluation([patient_id])


def enqueue_notification_delivery() -> bool:
    """Queue sending the outbox; never raises (the next evaluation or sweep sends it)."""
    try:
        # A pooled producer, as patients.services.evaluations_send.
        with app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=2
            )
            deliver_notifications.apply_async(
                expires=EVALUATE_EXPIRES_SECONDS,
                retry=False,
                producer=producer,
                # The queue comes from config.celery.route_task (MONITORING_TASK_QUEUE).
            )
    except Exception:  # noqa: BLE001 - the broker being down must not fail a saved action
        logger.warning("Could not queue notification delivery.", exc_info=True)
        return False
    return True
