"""Writes for the patients app. Each service is one atomic action that leaves history.

History rows come from django-simple-history in the same transaction; the acting user is
set explicitly (``_history_user``) so commands and tasks are attributed, not only requests.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from patients import errors
from patients.errors import DomainError
from patients.formatting import clinical_datetime
from patients.models import Clinic, Diagnosis, Patient, PatientAccess, Transplant, WeightMeasurement

logger = logging.getLogger(__name__)

PATIENT_FIELDS = (
    "mrn",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex_at_birth",
    "phone",
    "email",
    "address",
    "height_cm",
    "status",
    "date_of_death",
    "reproductive_potential",
    "menses_in_past_24_months",
    "menses_regular",
    "hysterectomy",
    "bilateral_oophorectomy",
)
DIAGNOSIS_FIELDS = (
    "diagnosed_on",
    "heavy_chain",
    "light_chain",
    "iss_stage",
    "riss_stage",
    "cytogenetics_tested_on",
    "del_17p",
    "t_4_14",
    "t_14_16",
    "t_14_20",
    "gain_1q",
    "del_1p",
    "induction_regimen",
    "best_response_pre_maintenance",
    "prior_vte",
    "neuropathy_grade",
    "on_dialysis",
)


def patient_rules_changed(patient_ids: Iterable[int]) -> int:
    """Mark these patients for re-evaluation: an input of the monitoring rules changed.

    Called inside the caller's transaction by every service that changes a rule input
    (labs, courses, holds, dose changes, REMS records, weights, patient facts), so the mark
    commits with the change or not at all. An F() increment, never a read-modify-write:
    two writers each add one, and the monitoring sweep compares the version it evaluated.
    """
    ids = sorted({pid for pid in patient_ids if pid is not None})
    if not ids:
        return 0
    return Patient.objects.filter(pk__in=ids).update(rules_version=F("rules_version") + 1)


# Sent by name: the monitoring worker runs it, and the lower apps never import monitoring.
EVALUATE_TASK = "monitoring.tasks.evaluate_patients"
EVALUATE_EXPIRES_SECONDS = 6 * 60 * 60  # the sweep has covered the patient by then anyway
# A queue mark older than this is taken for a lost task (a worker's queue purged, the task
# expired): the next change queues a new evaluation. Longer than a busy worker's backlog.
EVALUATION_QUEUED_STALE_SECONDS = 15 * 60


def patient_evaluation_request(patient_id: int | None) -> None:
    """Ask the monitoring worker to re-evaluate a patient once this transaction commits, so
    flags follow a therapy or REMS change within seconds instead of at the next sweep. The
    dirty mark (``patient_rules_changed``) is already set in the same transaction: if the
    broker is down the sweep still catches up, and the request is only logged."""
    if patient_id is not None:
        transaction.on_commit(lambda: evaluations_send([patient_id]))


def evaluations_send(patient_ids: Iterable[int], *, now=None) -> bool:
    """Queue one evaluation of these patients (after the change's commit); never raises.
    The one sender for every caller (lab saves, HL7 and the batch API in monitoring,
    therapy and REMS changes here). False when the broker is down, which is logged; the
    next sweep evaluates the patients (they are dirty).

    Coalesced twice:
    - a patient whose evaluation is already queued and not yet started is left out (the
      waiting task reads every change committed before it starts). The mark is one
      compare-and-set UPDATE on the patient row; a worker takes the marked patients and
      clears their marks as it starts (``evaluations_take``), so a change committed after
      that queues again;
    - the task starts ``MONITORING_EVALUATION_WINDOW_SECONDS`` after it is sent, and while
      it waits, other patients' saves send no task of their own: it takes their marks too
      (``_evaluation_task_waiting``). A busy clinic's saves are evaluated a batch per
      window instead of one patient per task.
    """
    now = now or timezone.now()
    patient_ids = [pid for pid in patient_ids if pid is not None]
    if not patient_ids:
        return True
    try:
        claimed = _evaluations_claim(patient_ids, now)
    except Exception:  # noqa: BLE001 - a saved change must not fail on the queue mark
        logger.warning(
            "Could not mark evaluations queued for %s; the next sweep will evaluate them.",
            patient_ids,
            exc_info=True,
        )
        return False  # a task would find no mark to take; the patients are dirty
    window = settings.MONITORING_EVALUATION_WINDOW_SECONDS
    if not claimed and not window:
        return True
    # With the window, a patient already marked still needs a task if none is waiting: a
    # task's take skips a row another transaction holds locked (``SKIP LOCKED``), such as
    # this change's own while the task started, and leaves its mark for the next task.
    if window and _evaluation_task_waiting(window):
        return True
    if _evaluation_task_send(claimed, countdown=window or None):
        return True
    evaluation_task_forget()
    _evaluations_unmark(claimed)
    return False


def _evaluation_task_send(patient_ids: list[int], *, countdown: float | None) -> bool:
    from celery import current_app

    try:
        # A producer from the app's pool: its broker connection stays open between
        # publishes (a new Redis connection per save cost a TCP and AUTH round trip each).
        with current_app.producer_or_acquire() as producer:
            # Fail fast: kombu would otherwise retry for seconds on a down broker (free
            # when the pooled connection is already up).
            producer.connection.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=2
            )
            current_app.send_task(
                EVALUATE_TASK,
                args=[patient_ids],
                countdown=countdown,
                expires=EVALUATE_EXPIRES_SECONDS,
                retry=False,
                producer=producer,
            )
    except Exception:  # noqa: BLE001 - a saved change must not fail on the broker
        logger.warning(
            "Could not queue rules evaluation for patients %s; the next sweep will evaluate them.",
            patient_ids,
            exc_info=True,
        )
        return False
    return True


# When the evaluation task already sent starts (a Unix time), while it has not started: in
# the cache (Redis in production, shared by every process; per process without it).
EVALUATION_TASK_STARTS_KEY = "monitoring:evaluation-task-starts-at"
# A save leaves its patients to the waiting task only if that task starts at least this much
# later (a fifth of the window when that is less): a margin for the clocks of several hosts.
# On one host the order alone is enough: the save's mark is committed before this check, and
# the task starts at or after the time recorded, which is read before it is sent; with Redis,
# the task also forgets the time before its take.
EVALUATION_TASK_MARGIN_SECONDS = 0.1


def _evaluation_task_waiting(window: float) -> bool:
    """True when an evaluation task already sent starts later than now (with the margin):
    it will take this save's marks, committed already, so no task is sent. Otherwise this
    caller is the sender, and records when its task will start (now + ``window``). Two
    callers that both find no task waiting both send: one task too many, never one too
    few. The task forgets the time as it starts (``evaluation_task_forget``), before its
    take, so a save after that sends again."""
    now = time.time()
    starts = now + window
    keep = math.ceil(window) + 1  # the cache's expiry counts whole seconds
    try:
        if cache.add(EVALUATION_TASK_STARTS_KEY, starts, keep):
            return False
        waiting = cache.get(EVALUATION_TASK_STARTS_KEY)
        margin = min(EVALUATION_TASK_MARGIN_SECONDS, window / 5)
        if waiting is not None and waiting > now + margin:
            return True
        cache.set(EVALUATION_TASK_STARTS_KEY, starts, keep)
    except Exception:  # noqa: BLE001 - without the cache every save sends its own task
        logger.warning("Could not read the evaluation task's start time.", exc_info=True)
    return False


def evaluation_task_forget() -> None:
    """No evaluation task counts as waiting any more: a worker's task calls this as it
    starts, before ``evaluations_take`` (so no save can count on it after its take), and a
    save whose task could not be sent calls it too. The next save sends a task of its own."""
    try:
        cache.delete(EVALUATION_TASK_STARTS_KEY)
    except Exception:  # noqa: BLE001 - the time expires on its own
        logger.warning("Could not clear the evaluation task's start time.", exc_info=True)


def _evaluations_claim(patient_ids: Iterable[int], now) -> list[int]:
    """Mark these patients' evaluation queued; the ids that were not queued already (or
    whose mark is stale). One statement: two senders at once cannot both claim a patient."""
    ids = sorted({int(pid) for pid in patient_ids if pid is not None})
    if not ids:
        return []
    stale = now - timedelta(seconds=EVALUATION_QUEUED_STALE_SECONDS)
    table = connection.ops.quote_name(Patient._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    adapt = connection.ops.adapt_datetimefield_value  # SQLite stores text: its own format
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET evaluation_queued_at = %s "  # noqa: S608  # nosec B608
            f"WHERE id IN ({marks}) "
            "AND (evaluation_queued_at IS NULL OR evaluation_queued_at < %s) RETURNING id",
            [adapt(now), *ids, adapt(stale)],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _evaluations_unmark(patient_ids: list[int]) -> None:
    try:
        Patient.objects.filter(pk__in=patient_ids).update(evaluation_queued_at=None)
    except Exception:  # noqa: BLE001 - the mark goes stale on its own
        logger.warning("Could not clear the evaluation marks of %s.", patient_ids, exc_info=True)


# The most patients one worker task takes from the queue (the sweep's batch size).
EVALUATIONS_TAKEN_AT_ONCE = 500


def evaluations_take(*, limit: int = EVALUATIONS_TAKEN_AT_ONCE) -> list[int]:
    """A worker starts: take every patient whose evaluation is queued (oldest mark first, up
    to ``limit``) and clear their marks, in one statement that commits before the
    evaluation reads anything, so a change committed from now on queues again. Whatever
    task the worker was given, it evaluates all the patients waiting, as one batch: a worker
    behind a busy clinic does a few large batches instead of one small task per save (each
    small one costs the batch's fixed reads). Two workers never take the same patient
    (``SKIP LOCKED``); a task that finds the queue empty (another took its patients) does
    nothing."""
    table = connection.ops.quote_name(Patient._meta.db_table)
    lock = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET evaluation_queued_at = NULL WHERE id IN ("  # noqa: S608  # nosec B608
            f"SELECT id FROM {table} WHERE evaluation_queued_at IS NOT NULL "
            f"ORDER BY evaluation_queued_at, id LIMIT %s{lock}) RETURNING id",
            [limit],
        )
        taken = sorted(row[0] for row in cursor.fetchall())
    if len(taken) >= limit:
        # More may wait: a task of its own for them, now (no save may come to send one).
        _evaluation_task_send([], countdown=None)
    return taken


def clinic_rules_changed(clinic_id: int | None) -> int:
    """A rule setting changed: every patient of the clinic (of every clinic for a default,
    ``clinic_id`` None) is re-evaluated by the next sweep."""
    patients = (
        Patient.objects.all() if clinic_id is None else Patient.objects.filter(clinic_id=clinic_id)
    )
    return patients.update(rules_version=F("rules_version") + 1)


def patient_id_of(record) -> int | None:
    """The patient a clinical row belongs to (holds and dose changes through their course)."""
    if isinstance(record, Patient):
        return record.pk
    patient_id = getattr(record, "patient_id", None)
    if patient_id is None and getattr(record, "course_id", None) is not None:
        patient_id = record.course.patient_id
    return patient_id


def record_save(
    instance, *, user, reason: str = "", check: bool = True, loaded: tuple[str, ...] = ()
) -> None:
    """Save a clinical record with its history row: who (``user``; None for the sweep and
    commands acting for nobody) and why (``reason``, cut to the history column's 100
    characters). Every app's services save through this one function.

    ``check`` runs ``full_clean`` first. ``loaded`` names foreign keys the caller set from
    objects it has already loaded: they are not looked up again, and the unique and
    constraint checks are left to the database (which enforces them anyway).
    """
    instance._history_user = user
    if reason:
        instance._change_reason = reason[:100]
    if check:
        if loaded:
            instance.full_clean(exclude=loaded, validate_unique=False, validate_constraints=False)
        else:
            instance.full_clean()
    instance.save()


def _check_patient_facts(patient: Patient, *, today: date) -> None:
    born = patient.date_of_birth
    if born > today:
        raise DomainError(errors.BIRTH_DATE_IN_FUTURE.format(value=born), field="date_of_birth")
    if born.year < today.year - 120:
        raise DomainError(errors.BIRTH_DATE_TOO_OLD.format(value=born), field="date_of_birth")
    if patient.height_cm is not None and not (Decimal("50") <= patient.height_cm <= Decimal("250")):
        raise DomainError(
            errors.HEIGHT_IMPOSSIBLE.format(value=patient.height_cm), field="height_cm"
        )
    if patient.status == Patient.Status.DECEASED and patient.date_of_death is None:
        raise DomainError(errors.DEATH_DATE_REQUIRED, field="date_of_death")
    if patient.date_of_death is not None and patient.status != Patient.Status.DECEASED:
        raise DomainError(errors.DEATH_DATE_WITHOUT_STATUS, field="date_of_death")
    if patient.sex_at_birth == Patient.Sex.MALE:
        if (
            patient.menses_in_past_24_months
            or patient.hysterectomy
            or patient.bilateral_oophorectomy
        ):
            raise DomainError(errors.NOT_A_FEMALE_FACT, field="menses_in_past_24_months")
        patient.reproductive_potential = Patient.ReproductivePotential.NOT_APPLICABLE
    elif patient.reproductive_potential == Patient.ReproductivePotential.NOT_APPLICABLE:
        patient.reproductive_potential = Patient.ReproductivePotential.UNKNOWN


def _check_mrn_free(patient: Patient) -> None:
    taken = Patient.objects.filter(clinic=patient.clinic, mrn__iexact=patient.mrn).exclude(
        pk=patient.pk
    )
    if taken.exists():
        raise DomainError(
            errors.MRN_TAKEN.format(mrn=patient.mrn, clinic=patient.clinic), field="mrn"
        )


def _check_diagnosis_facts(diagnosis: Diagnosis, patient: Patient, *, today: date) -> None:
    if diagnosis.diagnosed_on > today:
        raise DomainError(
            errors.DIAGNOSIS_IN_FUTURE.format(value=diagnosis.diagnosed_on), field="diagnosed_on"
        )
    if diagnosis.diagnosed_on < patient.date_of_birth:
        raise DomainError(
            errors.DIAGNOSIS_BEFORE_BIRTH.format(
                value=diagnosis.diagnosed_on, born=patient.date_of_birth
            ),
            field="diagnosed_on",
        )
    first_transplant = (
        Transplant.objects.valid().filter(patient=patient).order_by("transplanted_on").first()
    )
    if first_transplant and first_transplant.transplanted_on < diagnosis.diagnosed_on:
        raise DomainError(
            errors.TRANSPLANT_BEFORE_DIAGNOSIS.format(
                value=first_transplant.transplanted_on, diagnosed=diagnosis.diagnosed_on
            ),
            field="diagnosed_on",
        )


@transaction.atomic
def patient_create(
    *,
    clinic: Clinic,
    user,
    patient_data: dict[str, Any],
    diagnosis_data: dict[str, Any] | None = None,
    transplant_dates: list[date] | None = None,
    weight_kg: Decimal | None = None,
    today: date | None = None,
) -> Patient:
    """Register a patient with their diagnosis, transplants and a first weight.

    Steps: check the user works in the clinic; check dates and the MRN; save the patient,
    diagnosis, transplants and weight in one transaction, each with a history row.
    """
    today = today or timezone.localdate()
    if not clinic.staff.filter(pk=user.pk).exists():
        raise DomainError(errors.CLINIC_NOT_YOURS.format(clinic=clinic), field="clinic")
    patient = Patient(
        clinic=clinic, **{k: v for k, v in patient_data.items() if k in PATIENT_FIELDS}
    )
    _check_patient_facts(patient, today=today)
    _check_mrn_free(patient)
    try:
        with transaction.atomic():
            record_save(patient, user=user, reason="Registered")
    except IntegrityError as exc:  # a concurrent registration took the MRN between check and insert
        raise DomainError(
            errors.MRN_TAKEN.format(mrn=patient.mrn, clinic=clinic), field="mrn"
        ) from exc
    if diagnosis_data is not None:
        diagnosis = Diagnosis(
            patient=patient, **{k: v for k, v in diagnosis_data.items() if k in DIAGNOSIS_FIELDS}
        )
        _check_diagnosis_facts(diagnosis, patient, today=today)
        record_save(diagnosis, user=user, reason="Registered")
        for transplanted_on in transplant_dates or []:
            transplant_add(patient=patient, user=user, transplanted_on=transplanted_on, today=today)
    if weight_kg is not None:
        weight_add(patient=patient, user=user, measured_on=today, weight_kg=weight_kg, today=today)
    return patient


@transaction.atomic
def patient_update(
    *, patient: Patient, user, data: dict[str, Any], reason: str = "", today: date | None = None
) -> Patient:
    today = today or timezone.localdate()
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    changed = False
    for field, value in data.items():
        if field in PATIENT_FIELDS and getattr(patient, field) != value:
            setattr(patient, field, value)
            changed = True
    _check_patient_facts(patient, today=today)
    _check_mrn_free(patient)
    record_save(patient, user=user, reason=reason or "Demographics edited")
    if changed:  # a form saved unchanged is no new rule input
        patient_rules_changed([patient.pk])
    return patient


@transaction.atomic
def diagnosis_save(
    *, patient: Patient, user, data: dict[str, Any], reason: str = "", today: date | None = None
) -> Diagnosis:
    today = today or timezone.localdate()
    diagnosis = Diagnosis.objects.select_for_update().filter(patient=patient).first() or Diagnosis(
        patient=patient
    )
    changed = diagnosis.pk is None
    for field, value in data.items():
        if field in DIAGNOSIS_FIELDS and getattr(diagnosis, field) != value:
            setattr(diagnosis, field, value)
            changed = True
    _check_diagnosis_facts(diagnosis, patient, today=today)
    record_save(diagnosis, user=user, reason=reason or "Diagnosis edited")
    if changed:
        patient_rules_changed([patient.pk])
    return diagnosis


@transaction.atomic
def transplant_add(
    *,
    patient: Patient,
    user,
    transplanted_on: date,
    kind: str = Transplant.Kind.AUTOLOGOUS,
    today: date | None = None,
) -> Transplant:
    today = today or timezone.localdate()
    if transplanted_on > today:
        raise DomainError(
            errors.TRANSPLANT_IN_FUTURE.format(value=transplanted_on), field="transplanted_on"
        )
    diagnosis = Diagnosis.objects.filter(patient=patient).first()
    if diagnosis and transplanted_on < diagnosis.diagnosed_on:
        raise DomainError(
            errors.TRANSPLANT_BEFORE_DIAGNOSIS.format(
                value=transplanted_on, diagnosed=diagnosis.diagnosed_on
            ),
            field="transplanted_on",
        )
    transplant = Transplant(
        patient=patient, transplanted_on=transplanted_on, kind=kind, entered_by=user
    )
    record_save(transplant, user=user, reason="Transplant recorded")
    patient_rules_changed([patient.pk])
    return transplant


@transaction.atomic
def weight_add(
    *, patient: Patient, user, measured_on: date, weight_kg: Decimal, today: date | None = None
) -> WeightMeasurement:
    today = today or timezone.localdate()
    if measured_on > today:
        raise DomainError(errors.WEIGHT_IN_FUTURE.format(value=measured_on), field="measured_on")
    if measured_on < patient.date_of_birth:
        raise DomainError(errors.WEIGHT_BEFORE_BIRTH.format(value=measured_on), field="measured_on")
    if not (Decimal("25") <= weight_kg <= Decimal("350")):
        raise DomainError(errors.WEIGHT_IMPOSSIBLE.format(value=weight_kg), field="weight_kg")
    weight = WeightMeasurement(
        patient=patient, measured_on=measured_on, weight_kg=weight_kg, entered_by=user
    )
    record_save(weight, user=user, reason="Weight recorded")
    patient_rules_changed([patient.pk])
    return weight


@transaction.atomic
def mark_entered_in_error(*, record, user, reason: str):
    """Mark a clinical row entered-in-error (never deleted): it drops out of rules and charts."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(errors.REASON_REQUIRED, field="reason")
    record = type(record).objects.select_for_update().get(pk=record.pk)
    if record.entered_in_error_at is not None:
        raise DomainError(
            errors.ALREADY_IN_ERROR.format(when=clinical_datetime(record.entered_in_error_at))
        )
    record.entered_in_error_at = timezone.now()
    record.entered_in_error_by = user
    record.entered_in_error_reason = reason
    record_save(record, user=user, reason=f"Entered in error: {reason}")
    patient_rules_changed([patient_id_of(record)])
    return record


def access_record(*, user, patient: Patient, path: str) -> None:
    """Log that ``user`` opened ``patient``'s record (the one write a GET may do)."""
    PatientAccess.objects.create(user=user, patient=patient, path=path[:300])


@transaction.atomic
def rule_settings_seed(*, defaults, effective_from: date) -> int:
    """Store version 1 of every rule threshold that has no stored version yet; returns how
    many were added. Existing versions are never touched (a clinic may have changed them)."""
    from patients.models import RuleSetting

    known = set(RuleSetting.objects.filter(clinic__isnull=True).values_list("key", flat=True))
    fresh = [
        RuleSetting(
            key=t.key,
            version=1,
            value=t.value,
            unit=t.unit,
            status=t.status,
            source=t.source,
            effective_from=effective_from,
            change_reason="Seeded from the clinical reference",
        )
        for t in defaults
        if t.key not in known
    ]
    RuleSetting.objects.bulk_create(fresh)
    return len(fresh)
