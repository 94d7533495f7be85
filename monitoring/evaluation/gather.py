"""Gathering a batch: everything the rules read for a set of patients, in a fixed number of
set-based queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from monitoring.evaluation.common import CBC_CODES, _in_scope
from monitoring.evaluation.next_review import _coming
from monitoring.rules import schedule
from monitoring.rules.registry import all_rule_defaults
from patients import lab_catalogue as catalogue
from patients.formatting import clinical_quantity
from patients.lab_selectors import HCG_CODES, end_of_day, local_date
from patients.models import CURRENT_RESULT, RESPONSE_MARKER_CODES, Diagnosis, LabResult, Patient
from patients.rows import fields_of, ids_in
from patients.rulebook import BatchThresholds, Threshold
from patients.selectors import WeightUsed, rule_settings_coming, rule_thresholds, weight_history
from therapy import selectors as therapy_selectors


class _Result:
    """A lab result as the rules read it: the columns they use, read as a tuple (no model
    instance), with its local collection time worked out once."""

    COLUMNS = (
        "id",
        "patient_id",
        "test_code",
        "canonical_value",
        "canonical_unit",
        "qualitative",
        "ref_low",
        "result_status",
        "collected_at",
    )
    __slots__ = (*fields_of(COLUMNS), "collected_local", "collected_on")

    def __init__(self, row: tuple, tz: tzinfo) -> None:
        (
            self.pk,
            self.patient_id,
            self.test_code,
            self.canonical_value,
            self.canonical_unit,
            self.qualitative,
            self.ref_low,
            self.result_status,
            self.collected_at,
        ) = row
        self.collected_local = self.collected_at.astimezone(tz)
        self.collected_on = self.collected_local.date()

    @property
    def id(self) -> int:
        return self.pk


def _results(rows: Iterable[tuple]) -> list[_Result]:
    tz = timezone.get_current_timezone()
    return [_Result(row, tz) for row in rows]


@contextmanager
def compiled_timestamps():
    """While a batch is evaluated, timestamps are read by psycopg's compiled loader, not
    Django's: Django's parses each one in Python (about 5 us a value; a batch reads some
    thirty a patient, lab results, flags and patients), then sets the connection's time
    zone, which the compiled loader reads already (the session's, UTC). The values are the
    same, to their time zone object. PostgreSQL in UTC only; elsewhere nothing changes."""
    if connection.vendor != "postgresql" or connection.timezone != UTC:
        yield
        return
    import psycopg
    from psycopg.pq import Format

    connection.ensure_connection()
    adapters = connection.connection.adapters
    oid = psycopg.postgres.types["timestamptz"].oid
    before = adapters.get_loader(oid, Format.TEXT)
    adapters.register_loader(oid, _utc_loader(psycopg.adapters.get_loader(oid, Format.TEXT)))
    try:
        yield
    finally:
        adapters.register_loader(oid, before)


@cache
def _utc_loader(compiled: type) -> type:
    from psycopg.adapt import Loader

    class UtcTimestampLoader(Loader):
        # Django reads it to decide whether a cursor needs its own loader (it does not).
        timezone = UTC

        def __init__(self, oid: int, context=None) -> None:
            super().__init__(oid, context)
            self._compiled = compiled(oid, context)

        def load(self, data):
            return self._compiled.load(data)

    return UtcTimestampLoader


@dataclass
class _Batch:
    as_of: date
    upto: datetime
    patients: dict[int, Patient]
    thresholds: dict[int, dict[str, Threshold]]
    snapshots: dict[int, Any]
    rems: dict[int, Any]
    latest: dict[tuple[int, str], list[_Result]]
    markers: dict[int, list[_Result]]
    weights: dict[int, list[WeightUsed]]
    pregnancy: dict[int, _Result]  # the latest valid hCG result per patient
    # The results of each patient's latest complete CBC (every required count, one draw).
    cbc_draws: dict[int, list[_Result]] = field(default_factory=dict)
    # Accepted therapy suggestions per (patient, kind): a decided finding does not reopen.
    accepted: dict[tuple[int, str], Any] = field(default_factory=dict)
    pending: list[Any] = field(default_factory=list)  # pending therapy suggestions
    # Results of these patients marked entered-in-error: {id: (result, words)}.
    in_error: dict[int, str] = field(default_factory=dict)
    # Dates after as_of on which something already recorded starts to count (next_review_on):
    # per patient (a planned course's start, a result collected later), per clinic (a rule
    # setting coming into force).
    coming: dict[int, tuple[date, str]] = field(default_factory=dict)
    coming_rules: dict[int, date] = field(default_factory=dict)
    # The CTCAE grade of each latest count, once per batch (``common._graded``).
    grades: dict[tuple[int, str], Any] = field(default_factory=dict)
    intervals: dict[int, int] = field(default_factory=dict)  # CBC interval (``cbc._interval_now``)


def _patients(patient_ids: list[int]) -> dict[int, Patient]:
    """The batch's patients with their clinic and diagnosis (``patient.diagnosis`` answers
    from memory, as after ``select_related``). The diagnoses are a second query, by patient
    (one look-up each in their unique index): joined to the patients, PostgreSQL hashed
    the whole diagnosis table for every batch (100,000 rows at 100,000 patients)."""
    patients = {
        p.pk: p for p in Patient.objects.filter(ids_in("pk", patient_ids)).select_related("clinic")
    }
    diagnoses = {
        d.patient_id: d for d in Diagnosis.objects.filter(ids_in("patient_id", list(patients)))
    }
    for pid, patient in patients.items():
        diagnosis = diagnoses.get(pid)
        # None, as select_related leaves it: reading it raises DoesNotExist, no query.
        Patient.diagnosis.related.set_cached_value(patient, diagnosis)
        if diagnosis is not None:
            Diagnosis.patient.field.set_cached_value(diagnosis, patient)
    return patients


def _gather(patient_ids: list[int], as_of: date) -> _Batch:
    upto = end_of_day(as_of)
    patients = _patients(patient_ids)
    defaults = tuple(all_rule_defaults())
    thresholds = {
        clinic_id: BatchThresholds(rule_thresholds(defaults, clinic_id=clinic_id, as_of=as_of))
        for clinic_id in {p.clinic_id for p in patients.values()}
    }
    in_scope = [pid for pid, p in patients.items() if _in_scope(p)]
    latest = _latest_results(
        in_scope, {**dict.fromkeys((*CBC_CODES, "CREAT"), 2), **dict.fromkeys(HCG_CODES, 1)}, upto
    )
    with_creatinine = sorted({pid for (pid, code) in latest if code == "CREAT"})
    pregnancy: dict[int, _Result] = {}
    for code in HCG_CODES:
        for pid in in_scope:
            rows = latest.pop((pid, code), None)
            if rows and (
                pid not in pregnancy or rows[0].collected_at > pregnancy[pid].collected_at
            ):
                pregnancy[pid] = rows[0]
    snapshots = therapy_selectors.course_snapshots(in_scope, as_of=as_of) if in_scope else {}
    pending, accepted = therapy_selectors.suggestion_states(sorted(patients))
    return _Batch(
        as_of=as_of,
        upto=upto,
        patients=patients,
        thresholds=thresholds,
        snapshots=snapshots,
        rems=therapy_selectors.rems_states(in_scope, as_of=as_of) if in_scope else {},
        latest=latest,
        markers=_marker_history(in_scope, upto),
        weights=weight_history(with_creatinine),
        pregnancy=pregnancy,
        cbc_draws=_complete_cbc_draws(in_scope, latest, patients, thresholds, upto),
        accepted=accepted,
        pending=pending,
        in_error=_in_error_words(sorted(patients)),
        coming=_coming(in_scope, as_of, upto) if in_scope else {},
        coming_rules=rule_settings_coming(
            {patients[pid].clinic_id for pid in in_scope}, after=as_of
        )
        if in_scope
        else {},
    )


def _latest_results(
    patient_ids: list[int], per_code: dict[str, int], upto: datetime
) -> dict[tuple[int, str], list[_Result]]:
    """The newest ``per_code[code]`` current results per (patient, test) collected by
    ``upto``, newest first (ties broken by id, so any batch reads the same rows), in one
    query.

    PostgreSQL: a LATERAL ``... ORDER BY collected_at DESC LIMIT n`` per patient and test,
    each a short walk back along the unique index of current results per patient, test and
    time (``monitoring_labresult_one_valid_per_test_and_time``); elsewhere a row_number() window
    over the batch's results of these tests.
    """
    if not patient_ids:
        return {}
    found: dict[tuple[int, str], list[_Result]] = defaultdict(list)
    for row in _results(_latest_rows(patient_ids, per_code, upto)):
        found[(row.patient_id, row.test_code)].append(row)
    return dict(found)


def _latest_rows(patient_ids: list[int], per_code: dict[str, int], upto: datetime):
    current = LabResult.objects.filter(CURRENT_RESULT, collected_at__lte=upto)
    if connection.vendor != "postgresql":
        ranked = (
            current.filter(patient_id__in=patient_ids, test_code__in=list(per_code))
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=[F("patient_id"), F("test_code")],
                    order_by=[F("collected_at").desc(), F("pk").desc()],
                )
            )
            .filter(rank__lte=max(per_code.values()))
            .order_by("patient_id", "test_code", "-collected_at", "-pk")
            .values_list(*_Result.COLUMNS, "rank")
        )
        return [row[:-1] for row in ranked if row[-1] <= per_code[row[2]]]
    query = current.query
    where, where_params = query.get_compiler(connection=connection).compile(query.where)
    table = connection.ops.quote_name(LabResult._meta.db_table)
    columns = ", ".join(f"{table}.{connection.ops.quote_name(c)}" for c in _Result.COLUMNS)
    # The model's own names; values are parameters.
    sql = (
        "SELECT r.* FROM unnest(%s::bigint[]) AS p(id) "  # noqa: S608  # nosec B608
        "CROSS JOIN unnest(%s::text[], %s::int[]) AS c(code, n) "
        f"CROSS JOIN LATERAL (SELECT {columns} FROM {table} "
        f"WHERE {table}.patient_id = p.id AND {table}.test_code = c.code AND {where} "
        f"ORDER BY {table}.collected_at DESC, {table}.id DESC LIMIT c.n) AS r "
        "ORDER BY r.patient_id, r.test_code, r.collected_at DESC, r.id DESC"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [list(patient_ids), list(per_code), list(per_code.values()), *where_params]
        )
        return cursor.fetchall()


def _marker_history(patient_ids: list[int], upto: datetime) -> dict[int, list[_Result]]:
    """Every current response marker (M-protein, free light chains) per patient, oldest
    first (as ``patients.lab_selectors.marker_history``), read as tuples: on PostgreSQL an
    index-only scan of ``labresult_marker_history_idx`` in the order asked for."""
    rows = (
        LabResult.objects.valid()
        .filter(
            ids_in("patient_id", patient_ids),
            test_code__in=RESPONSE_MARKER_CODES,
            collected_at__lte=upto,
        )
        # One draw holds several markers at the same instant: test code, then pk, break the
        # tie so "the latest marker" (evidence, messages) is the same whatever the batch.
        .order_by("patient_id", "collected_at", "test_code", "pk")
        .values_list(*_Result.COLUMNS)
    )
    history: dict[int, list[_Result]] = defaultdict(list)
    for row in _results(rows):
        history[row.patient_id].append(row)
    return dict(history)


def _in_error_words(patient_ids: list[int]) -> dict[int, str]:
    """Every result of these patients marked entered-in-error, in words (one query; such
    results are few, read from ``labresult_in_error_patient_idx``; unordered: the model's
    default order would add a sort): flags and suggestions resting on one are withdrawn."""
    words = {}
    for row in (
        LabResult.objects.filter(
            ids_in("patient_id", patient_ids), entered_in_error_at__isnull=False
        )
        .order_by()
        .only(
            "id",
            "test_code",
            "canonical_value",
            "canonical_unit",
            "qualitative",
            "collected_at",
            "entered_in_error_reason",
        )
    ):
        test = catalogue.find_test(row.test_code)
        value = (
            clinical_quantity(row.canonical_value, row.canonical_unit, test.decimal_places)
            if row.canonical_value is not None
            else row.get_qualitative_display()
        )
        words[row.pk] = (
            f"{test.name} {value} collected {local_date(row.collected_at)} was marked "
            f"entered-in-error ({row.entered_in_error_reason or 'no reason given'})"
        )
    return words


def _complete_cbc_draws(
    patient_ids: list[int],
    latest: dict[tuple[int, str], list[_Result]],
    patients: dict[int, Patient],
    thresholds: dict[int, dict[str, Threshold]],
    upto: datetime,
) -> dict[int, list[_Result]]:
    """The results of each patient's latest complete CBC draw.

    Read first from the newest results already loaded (the usual case: the last draw was
    a full CBC); only patients whose recent counts are partial (an ANC on its own) need
    one more query, for all of them at once.
    """
    found: dict[int, list[_Result]] = {}
    search_further: list[int] = []
    required_in = {clinic: schedule.cbc_required_codes(t) for clinic, t in thresholds.items()}
    for pid in patient_ids:
        required = required_in[patients[pid].clinic_id]
        rows = [r for code in required for r in latest.get((pid, code), [])]
        draw = _latest_complete(rows, required)
        if draw:
            found[pid] = draw
        elif rows:
            search_further.append(pid)
    if search_further:
        by_patient: dict[int, list[_Result]] = defaultdict(list)
        for row in _results(
            LabResult.objects.valid()
            .filter(
                ids_in("patient_id", search_further),
                test_code__in=schedule.CBC_COUNT_CODES,
                collected_at__lte=upto,
            )
            .order_by("patient_id", "-collected_at", "test_code", "-pk")
            .values_list(*_Result.COLUMNS)
        ):
            by_patient[row.patient_id].append(row)
        for pid, rows in by_patient.items():
            required = required_in[patients[pid].clinic_id]
            draw = _latest_complete([r for r in rows if r.test_code in required], required)
            if draw:
                found[pid] = draw
    return found


def _latest_complete(rows: list[LabResult], required: tuple[str, ...]) -> list[LabResult]:
    draws: dict[datetime, dict[str, LabResult]] = defaultdict(dict)
    for row in rows:
        draws[row.collected_at].setdefault(row.test_code, row)
    for collected_at in sorted(draws, reverse=True):
        if set(required) <= set(draws[collected_at]):
            return [draws[collected_at][code] for code in required]
    return []
