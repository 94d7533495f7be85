"""Reconciling flags with the database: insert, compare-and-set, resolve, status upsert,
suggestions, the outbox, the audit of the full sweep."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import connection, models
from django.utils import timezone

from monitoring.evaluation.common import Desired
from monitoring.models import Flag, MonitoringStatus, Notification
from patients.models import Patient
from patients.roles import PHYSICIAN
from patients.rows import TupleRow, fields_of, ids_in
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


def _differs(flag: Flag | _ReadFlag, d: Desired) -> bool:
    return (
        flag.severity != d.severity
        or flag.ctcae_grade != d.ctcae_grade
        or flag.due_on != d.due_on
        or flag.message != d.message
        or _evidence_ids(flag.evidence) != _evidence_ids(d.evidence)
    )


def _flag_changes(flag: Flag | _ReadFlag, d: Desired, *, now: datetime) -> dict:
    """The new values of an open flag that follows its finding (its old words kept in
    ``escalations``); ``status`` is set back to open when the finding got worse."""
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
    return changes


# Compare-and-set: a flag changes only while it still holds what the evaluation read.
_READ_COLUMNS = ("severity", "ctcae_grade", "due_on", "message")
_CHANGED_COLUMNS = (
    "severity",
    "ctcae_grade",
    "peak_ctcae_grade",
    "ctcae_version",
    "message",
    "rule_id",
    "basis",
    "thresholds",
    "values",
    "evidence",
    "due_on",
    "escalations",
    "updated_at",
)
_RESOLVED_COLUMNS = ("resolved_at", "resolution", "resolving_evidence", "updated_at")


def _update_flags(changed: list[tuple[Flag | _ReadFlag, dict]]) -> set[int]:
    """Apply every changed flag of a batch in one compare-and-set ``UPDATE ... FROM`` a
    list of values (per chunk of the database's parameter limit): a row changes only
    while it is open and still holds the severity, grade, due date and message this
    evaluation read, so an edit or a second sweep in between is never overwritten.
    Returns the ids of the flags changed."""
    rows = [
        (
            flag.pk,
            *(getattr(flag, name) for name in _READ_COLUMNS),
            *(changes[name] for name in _CHANGED_COLUMNS),
            "status" in changes,
        )
        for flag, changes in changed
    ]
    reads = [f"read_{name}" for name in _READ_COLUMNS]
    fields = ("id", *_READ_COLUMNS, *_CHANGED_COLUMNS)
    sets = [f"{_q(name)} = v.{_q(name)}" for name in _CHANGED_COLUMNS]
    sets.append(
        f"{_q('status')} = CASE WHEN v.reopen THEN '{Flag.Status.OPEN}' ELSE {_q('status')} END"
    )
    matches = [
        f"{_q(name)} {_same()} v.{_q(read)}"
        for name, read in zip(_READ_COLUMNS, reads, strict=True)
    ]
    return _values_update(
        rows,
        names=("id", *reads, *_CHANGED_COLUMNS, "reopen"),
        fields=(*fields, None),
        sets=sets,
        matches=matches,
    )


def _resolve_flags(
    resolved: list[tuple[Flag | _ReadFlag, str, list[dict]]], *, now: datetime
) -> set[int]:
    """Resolve a batch's cleared flags in one ``UPDATE ... FROM`` a list of values (per
    chunk), each only while it is still open. Returns the ids of the flags resolved."""
    rows = [(flag.pk, now, reason, evidence, now) for flag, reason, evidence in resolved]
    return _values_update(
        rows,
        names=("id", *_RESOLVED_COLUMNS),
        fields=("id", *_RESOLVED_COLUMNS),
        sets=[f"{_q('status')} = '{Flag.Status.RESOLVED}'"]
        + [f"{_q(name)} = v.{_q(name)}" for name in _RESOLVED_COLUMNS],
        matches=[],
    )


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _same() -> str:
    """Equal, NULL equal to NULL (a flag without a grade or a due date)."""
    return "IS NOT DISTINCT FROM" if connection.vendor == "postgresql" else "IS"


def _values_update(
    rows: list[tuple],
    *,
    names: tuple[str, ...],
    fields: tuple[str | None, ...],
    sets: list[str],
    matches: list[str],
) -> set[int]:
    """``UPDATE flag SET ... FROM v WHERE id = v.id AND the flag is open AND matches ...
    RETURNING id``, one statement, the rows ``v`` passed as a single JSON parameter (a
    statement of a few hundred characters whatever the batch: nothing to split or quote
    per value) and typed by each column's field: ``jsonb_to_recordset`` on PostgreSQL,
    ``json_each`` on SQLite."""
    if not rows:
        return set()
    meta = Flag._meta
    table = _q(meta.db_table)
    model_fields = [meta.get_field(name) if name else None for name in fields]
    payload = json.dumps(
        [
            {
                name: _json_value(field, value)
                for name, field, value in zip(names, model_fields, row, strict=True)
            }
            for row in rows
        ]
    )
    if connection.vendor == "postgresql":
        typed = ", ".join(
            f"{_q(name)} {field.db_type(connection) if field else 'boolean'}"
            for name, field in zip(names, model_fields, strict=True)
        )
        source = f"jsonb_to_recordset(%s::jsonb) AS v({typed})"
    else:
        picked = ", ".join(f"json_extract(value, '$.\"{name}\"') AS {_q(name)}" for name in names)
        source = f"(SELECT {picked} FROM json_each(%s)) AS v"  # noqa: S608  # nosec B608
    open_statuses = ", ".join(f"'{status}'" for status in Flag.OPEN_STATUSES)
    where = " AND ".join(
        [f"{table}.{_q('id')} = v.{_q('id')}", f"{table}.{_q('status')} IN ({open_statuses})"]
        + [f"{table}.{match}" for match in matches]
    )
    # Names are the model's own; values are the one parameter.
    sql = (
        f"UPDATE {table} SET {', '.join(sets)} FROM {source} "  # noqa: S608  # nosec B608
        f"WHERE {where} RETURNING {table}.{_q('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload])
        return {pk for (pk,) in cursor.fetchall()}


def _insert_flags(flags: list[Flag]) -> None:
    """Insert a batch's new flags in one statement, their rows as one JSON parameter (as
    ``_values_update``); a flag whose kind is already open for its patient (another
    sweep got there first: ``monitoring_flag_one_open_per_patient_kind``) is skipped, as
    ``bulk_create(ignore_conflicts=True)`` would."""
    if not flags:
        return
    meta = Flag._meta
    table = _q(meta.db_table)
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    payload = json.dumps(
        [{f.column: _json_value(f, f.pre_save(flag, True)) for f in fields} for flag in flags]
    )
    columns = ", ".join(_q(f.column) for f in fields)
    if connection.vendor == "postgresql":
        typed = ", ".join(f"{_q(f.column)} {f.db_type(connection)}" for f in fields)
        sql = (
            f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608  # nosec B608
            f"FROM jsonb_to_recordset(%s::jsonb) AS v({typed}) ON CONFLICT DO NOTHING"
        )
    else:
        picked = ", ".join(f"json_extract(value, '$.\"{f.column}\"')" for f in fields)
        sql = f"INSERT OR IGNORE INTO {table} ({columns}) SELECT {picked} FROM json_each(%s)"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload])


def _json_value(field, value):
    """A column value inside the JSON rows, as the column would store it: JSON as itself,
    dates and times in the database's text form (ISO on PostgreSQL, Django's on SQLite)."""
    if value is None or field is None or isinstance(field, models.JSONField):
        return value
    if isinstance(field, models.DateTimeField):
        value = connection.ops.adapt_datetimefield_value(value)
    elif isinstance(field, models.DateField):
        value = connection.ops.adapt_datefield_value(value)
    if isinstance(value, Decimal):
        return str(value)  # as psycopg and SQLite's adapter send it: the column rounds it
    return value.isoformat() if isinstance(value, date) else value


# The columns of a status row an evaluation writes (all of them but the patient, its key).
_STATUS_COLUMNS = (
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
)


def _upsert_statuses(rows: list[MonitoringStatus]) -> None:
    """Insert or update a batch's status rows in one statement, the rows as one JSON
    parameter (as ``_insert_flags``): ``INSERT ... ON CONFLICT (patient) DO UPDATE``, what
    ``bulk_create(update_conflicts=True)`` does, without a placeholder for each value."""
    if not rows:
        return
    meta = MonitoringStatus._meta
    table = _q(meta.db_table)
    fields = [meta.get_field("patient"), *(meta.get_field(name) for name in _STATUS_COLUMNS)]
    payload = json.dumps(
        [{f.column: _json_value(f, getattr(row, f.attname)) for f in fields} for row in rows]
    )
    columns = ", ".join(_q(f.column) for f in fields)
    updates = ", ".join(f"{_q(f.column)} = EXCLUDED.{_q(f.column)}" for f in fields[1:])
    conflict = f"ON CONFLICT ({_q(fields[0].column)}) DO UPDATE SET {updates}"  # noqa: S608  # nosec B608 - quoted column names only
    if connection.vendor == "postgresql":
        typed = ", ".join(f"{_q(f.column)} {f.db_type(connection)}" for f in fields)
        source = f"jsonb_to_recordset(%s::jsonb) AS v({typed})"
        picked = columns
    else:
        source = "json_each(%s) WHERE true"  # WHERE: SQLite reads ON CONFLICT as a join otherwise
        picked = ", ".join(f"json_extract(value, '$.\"{f.column}\"')" for f in fields)
    sql = f"INSERT INTO {table} ({columns}) SELECT {picked} FROM {source} {conflict}"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload])


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


def _withdrawn_words(flag: Flag | _ReadFlag, withdrawn: dict[int, str]) -> str:
    return "; ".join(
        withdrawn[e["result_id"]] for e in flag.evidence if e.get("result_id") in withdrawn
    )


def _withdraw_suggestions_on_withdrawn_evidence(
    batch: _Batch, existing: dict[tuple[int, str], _ReadFlag]
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


class _ReadFlag(TupleRow):
    """An open flag as a batch reads it before its writes: the columns the evaluation
    compares, words, updates and resolves (``_differs``, ``_flag_changes``, the renal band
    kept open), from one tuple, no model instance."""

    COLUMNS = (
        "id",
        "patient_id",
        "kind",
        "status",
        "severity",
        "ctcae_grade",
        "peak_ctcae_grade",
        "due_on",
        "message",
        "rule_id",
        "values",
        "evidence",
        "escalations",
        "dose_suggestion_id",
    )
    __slots__ = fields_of(COLUMNS)


def _read_open_flags(patient_ids) -> list[_ReadFlag]:
    """The open flags of these patients (one query)."""
    rows = (
        Flag.objects.open()
        .filter(ids_in("patient_id", patient_ids))
        .values_list(*_ReadFlag.COLUMNS)
    )
    return [_ReadFlag(*row) for row in rows]


class _OpenFlag(TupleRow):
    """An open flag as a batch reads it back once its writes are done (whoever inserted it):
    the columns its emails and suggestions read, from one tuple, no model instance."""

    COLUMNS = (
        "id",
        "patient_id",
        "kind",
        "severity",
        "ctcae_grade",
        "message",
        "rule_id",
        "basis",
        "dose_suggestion_id",
    )
    __slots__ = fields_of(COLUMNS)

    def get_severity_display(self) -> str:  # as ``Flag.get_severity_display``
        return dict(Flag.Severity.choices).get(self.severity, self.severity)

    def get_kind_display(self) -> str:  # as ``Flag.get_kind_display``
        return dict(Flag.Kind.choices).get(self.kind, self.kind)


def _open_flags(patient_ids) -> list[_OpenFlag]:
    """The open flags of these patients, in the model's order (one query)."""
    rows = (
        Flag.objects.open()
        .filter(ids_in("patient_id", patient_ids))
        .values_list(*_OpenFlag.COLUMNS)
    )
    return [_OpenFlag(*row) for row in rows]


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


def _queue_notifications(open_now: list[_OpenFlag], wanted, batch: _Batch) -> int:
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
                    flag_id=flag.pk,
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
