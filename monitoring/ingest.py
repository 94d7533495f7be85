"""Batch lab ingest: many collections, for many patients, in one call (issue 10).

A *collection* is one draw of one patient: a collection time and its results. Every way a
result comes in goes through ``lab_collections_record``: a nurse's panel (one collection,
``monitoring.services.lab_results_record``), the API (one or many), HL7 v2 and FHIR.

Each collection is stored all or nothing; a refused collection does not stop the others.
The checks are the nurse entry's, reused from ``monitoring.services`` (catalogue, unit,
plausibility, implausibly-low confirmation) plus the two that need the record (duplicate,
100-fold change), which run set-based here: one query each for the whole batch.

Queries for a batch (no correction, no lone kappa or lambda): one for the thresholds of
each clinic in it, one for duplicates, one for the previous values, then a savepoint, one
INSERT of the results and one of their history rows (PostgreSQL; SQLite splits them at its
999-parameter limit), the release, one dirty-mark UPDATE, one upsert of the nurse's units
(panel entry only): constant in the number of collections (pinned in
tests/monitoring/test_batch_ingest.py). A collection
with only one light chain (the other already on record) or correcting a chain adds the
locked ratio refresh (``services._refresh_flc_ratio``, 3-5 queries) for that collection.
If a concurrent writer inserts the same (patient, test, time) between the check and the
insert, the batch is retried one collection per savepoint, so only that collection is
refused as a duplicate.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from monitoring import errors, services
from monitoring.errors import EntryProblem, LabEntryRejected
from monitoring.rules import ctcae
from patients import lab_catalogue as catalogue
from patients import services as patient_services
from patients.errors import DomainError
from patients.lab_selectors import local_date
from patients.models import LabResult, Patient, UserLabUnit
from patients.selectors import rule_thresholds

# Largest batch the API accepts (README, "Security": limits); the service takes any size.
MAX_COLLECTIONS_PER_BATCH = 200
_FLC_CHAINS = frozenset({"FLC_KAPPA", "FLC_LAMBDA"})


@dataclass(frozen=True)
class Collection:
    """One draw of one patient, as sent (a panel page, an API item, an HL7 OBR group)."""

    patient: Patient
    collected_at: datetime
    entries: Sequence[services.LabEntry]
    panel: str | None = None
    mrd_method: str = ""
    mrd_sensitivity_exponent: int | None = None
    hcg_sensitivity_miu_ml: Decimal | None = None
    # A nurse's correction: every result of the collection corrects this one, already
    # marked entered-in-error by the caller (``services.lab_result_retire_for_correction``).
    # A lab's correction names the result per entry instead (``details["corrects"]``).
    corrects: LabResult | None = None


class Status:
    STORED = "stored"
    REFUSED = "refused"
    DUPLICATE = "duplicate"  # every problem is "already recorded": a batch sent again


@dataclass
class CollectionOutcome:
    index: int  # position in the batch
    collection: Collection
    status: str = Status.STORED
    results: list[LabResult] = field(default_factory=list)
    # One problem per result row (``EntryProblem.index`` is the row in ``entries``) ...
    problems: list[EntryProblem] = field(default_factory=list)
    # ... or one problem of the whole collection (its time, its MRD sensitivity).
    message: str = ""
    error_field: str = ""  # the request field it is about ("collected_at")
    checked: list[services._Checked] = field(default_factory=list, repr=False)
    rows: list[int] = field(default_factory=list, repr=False)  # entry row of each checked

    @property
    def stored(self) -> bool:
        return self.status == Status.STORED

    def refuse(self, problems=(), *, message: str = "", field: str = "") -> None:
        self.problems = list(problems)
        self.message = message or " ".join(p.message for p in self.problems)
        self.error_field = field
        self.results = []
        duplicate = self.problems and all(p.kind == "duplicate" for p in self.problems)
        self.status = Status.DUPLICATE if duplicate else Status.REFUSED

    def error(self) -> DomainError:
        """The refusal as the exception a single-collection caller raises."""
        if self.problems:
            return LabEntryRejected(self.problems)
        return DomainError(self.message, field=self.error_field or None)


@dataclass
class BatchOutcome:
    collections: list[CollectionOutcome]

    @property
    def results(self) -> list[LabResult]:
        return [r for c in self.collections for r in c.results]

    @property
    def refused(self) -> list[CollectionOutcome]:
        return [c for c in self.collections if not c.stored]


# No savepoint of its own (two round trips): a refused collection is an outcome, not an
# exception, and the bulk insert has its own savepoint for the race it can meet.
@transaction.atomic(savepoint=False)
def lab_collections_record(
    *,
    collections: Sequence[Collection],
    user,
    source: str,
    now: datetime | None = None,
) -> BatchOutcome:
    """Record many collections; each all or nothing, the good ones stored beside the bad.

    Steps: check each collection's time and values (no database); refuse results already
    recorded at that time, in one query, and values 100-fold away from the previous one
    without confirmation, in one query; build, grade and clean the rows (thresholds read
    once per clinic); compute the kappa/lambda ratio from the two chains of the same draw;
    insert the rows and their history rows in bulk (one savepoint; per collection only
    when a concurrent writer got in first); remember a nurse's units; mark the patients
    dirty in this transaction; after commit, queue one evaluation of them all.
    """
    now = now or timezone.now()
    outcomes = [CollectionOutcome(i, c) for i, c in enumerate(collections)]
    for outcome in outcomes:
        _check_shape(outcome, now)
    live = [o for o in outcomes if o.stored]
    thresholds = _thresholds({o.collection.patient.clinic_id for o in live})
    _refuse_duplicates(live)
    live = [o for o in live if o.stored]
    _refuse_suspicious(live, thresholds)
    live = [o for o in live if o.stored]
    ratio_later: list[CollectionOutcome] = []
    for outcome in live:
        if _build_rows(outcome, user=user, source=source, now=now, thresholds=thresholds):
            ratio_later.append(outcome)
    live = [o for o in live if o.stored]
    _insert(live, user=user, now=now)
    for outcome in ratio_later:
        if outcome.stored:
            _ratio_from_record(outcome, user=user, now=now)
    stored = [o for o in outcomes if o.stored]
    if user is not None and source == LabResult.Source.ENTRY:
        _remember_units(user, [c for o in stored for c in o.checked])
    patient_ids = sorted({o.collection.patient.pk for o in stored})
    patient_services.patient_rules_changed(patient_ids)
    group = _group_evaluations.get()
    if group is None:
        services._evaluate_after_commit(patient_ids)
    else:
        group.update(patient_ids)
    return BatchOutcome(outcomes)


# Patients whose evaluation waits for the end of a group of calls (``evaluations_per_patient``).
_group_evaluations: ContextVar[set[int] | None] = ContextVar("_group_evaluations", default=None)


@contextmanager
def evaluations_per_patient():
    """Around a transaction holding many calls (the MLLP listener's group commit): one
    evaluation of all their patients, queued once the block has ended without an exception (after its
    commit); none when it raised (the rollback stored nothing)."""
    patients: set[int] = set()
    token = _group_evaluations.set(patients)
    try:
        yield
    finally:
        _group_evaluations.reset(token)
    services._evaluate_after_commit(sorted(patients))


def _check_shape(outcome: CollectionOutcome, now: datetime) -> None:
    """The collection's time and each value against the catalogue (no database)."""
    c = outcome.collection
    if c.collected_at > now:
        when = f"{timezone.localtime(c.collected_at):%Y-%m-%d %H:%M}"
        message = errors.COLLECTED_IN_FUTURE.format(value=when)
        return outcome.refuse(message=message, field="collected_at")
    if local_date(c.collected_at) < c.patient.date_of_birth:
        message = errors.COLLECTED_BEFORE_BIRTH.format(value=f"{c.collected_at:%Y-%m-%d}")
        return outcome.refuse(message=message, field="collected_at")
    if not c.entries:
        return outcome.refuse(message=errors.NOTHING_ENTERED)
    if c.mrd_sensitivity_exponent is not None and c.mrd_sensitivity_exponent not in (4, 5, 6):
        return outcome.refuse(message=errors.MRD_SENSITIVITY, field="mrd_sensitivity_exponent")
    if len(c.entries) > services.MAX_RESULTS_PER_ENTRY:
        message = errors.TOO_MANY_RESULTS.format(
            limit=services.MAX_RESULTS_PER_ENTRY, count=len(c.entries)
        )
        return outcome.refuse(message=message, field="results")
    problems: list[EntryProblem] = []
    first_row: dict[str, int] = {}  # test code -> index of its first entry
    for index, entry in enumerate(c.entries):
        ok, problem = services._check_entry(entry, c.panel, index)
        if problem:
            problems.append(problem)
        elif ok.test.code in first_row:
            message = errors.TWICE_IN_ONE_ENTRY.format(test=ok.test.name)
            problems.append(EntryProblem(ok.test.code, message, "invalid", index=index))
        else:
            first_row[ok.test.code] = index
            outcome.checked.append(ok)
            outcome.rows.append(index)
    if problems:
        outcome.refuse(problems)
    return None


def _thresholds(clinic_ids: set[int]) -> dict[int, dict]:
    """CTCAE grading and unit mix-up thresholds in force, one query per clinic."""
    keys = ctcae.DEFAULTS + catalogue.DEFAULTS
    return {clinic_id: rule_thresholds(keys, clinic_id=clinic_id) for clinic_id in clinic_ids}


def _first_rows(outcome: CollectionOutcome) -> dict[str, int]:
    """Test code -> the row of the collection it was sent in."""
    return {c.test.code: row for c, row in zip(outcome.checked, outcome.rows, strict=True)}


def _refuse_duplicates(live: list[CollectionOutcome]) -> None:
    """A test already recorded at that collection time (one query for the batch), or sent
    twice for the same draw within the batch."""
    if not live:
        return
    wanted = {
        (o.collection.patient.pk, c.test.code, o.collection.collected_at)
        for o in live
        for c in o.checked
    }
    on_record = {
        (r.patient_id, r.test_code, r.collected_at): r
        for r in LabResult.objects.valid()
        .filter(
            patient_id__in={k[0] for k in wanted},
            test_code__in={k[1] for k in wanted},
            collected_at__in={k[2] for k in wanted},
        )
        .only(
            "id",
            "patient_id",
            "test_code",
            "collected_at",
            "canonical_value",
            "canonical_unit",
            "qualitative",
        )
    }
    in_batch: dict[tuple, int] = {}  # key -> index of the first collection holding it
    for outcome in live:
        c = outcome.collection
        rows = _first_rows(outcome)
        when = f"{timezone.localtime(c.collected_at):%Y-%m-%d %H:%M}"
        problems = []
        for item in outcome.checked:
            key = (c.patient.pk, item.test.code, c.collected_at)
            row = on_record.get(key)
            if row is not None:
                message = errors.DUPLICATE.format(
                    test=row.get_test_code_display(), when=when, existing=row.shown_value
                )
                problems.append(
                    EntryProblem(
                        item.test.code,
                        message,
                        "duplicate",
                        existing_result_id=row.pk,
                        index=rows[item.test.code],
                    )
                )
            elif key in in_batch:
                message = errors.DUPLICATE_IN_BATCH.format(
                    test=item.test.name, when=when, other=in_batch[key]
                )
                problems.append(
                    EntryProblem(item.test.code, message, "invalid", index=rows[item.test.code])
                )
        if problems:
            outcome.refuse(problems)
        else:
            for item in outcome.checked:
                in_batch[(c.patient.pk, item.test.code, c.collected_at)] = outcome.index


# Only the quoted table name and "(%s, %s, %s, %s)" placeholders are formatted in.
_PREVIOUS_SQL = (
    "SELECT v.column1, r.collected_at, CAST(r.canonical_value AS TEXT) "
    "FROM (VALUES {rows}) AS v "
    "JOIN {table} AS r ON r.id = (SELECT p.id FROM {table} AS p "
    "WHERE p.patient_id = v.column2 AND p.test_code = v.column3 "
    "AND p.collected_at < v.column4 AND p.entered_in_error_at IS NULL "
    "AND p.result_status IN ('final', 'preliminary') "
    "ORDER BY p.collected_at DESC, p.id DESC LIMIT 1)"
)


def _previous_values(keys: list[tuple[int, str, datetime]]) -> dict[tuple, tuple]:
    """(patient, test, time) -> (collected_at, canonical value) of the newest valid result
    collected before that time: one query for the batch (a correlated subquery per key,
    served by the partial unique index behind
    ``monitoring_labresult_one_valid_per_test_and_time``)."""
    found: dict[tuple, tuple] = {}
    table = connection.ops.quote_name(LabResult._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
        params = [
            p for i, (pid, code, when) in enumerate(chunk) for p in (i, pid, code, adapt(when))
        ]
        # CURRENT_RESULT (monitoring.models) in SQL: not entered in error, not superseded.
        sql = _PREVIOUS_SQL.format(table=table, rows=rows)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for index, collected_at, value in cursor.fetchall():
                found[chunk[index]] = (_aware(collected_at), Decimal(value))
    return found


def _aware(value) -> datetime:
    """A raw timestamp as an aware datetime (SQLite hands back naive UTC, or text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def _refuse_suspicious(live: list[CollectionOutcome], thresholds: dict[int, dict]) -> None:
    """A value 100-fold (the clinic's fold) away from the previous one, unconfirmed: the
    previous is the newest before the draw, on record or in an earlier collection of this
    batch, whichever is later."""
    keys = sorted(
        {
            (o.collection.patient.pk, c.test.code, o.collection.collected_at)
            for o in live
            for c in o.checked
            if c.canonical is not None
        },
        key=lambda k: (k[0], k[1], k[2]),
    )
    if not keys:
        return
    previous = _previous_values(keys)
    # In time order, so "earlier in the batch" is what was already accepted: a refused
    # value is no one's previous value.
    accepted: dict[tuple[int, str], tuple[datetime, Decimal]] = {}
    for outcome in sorted(live, key=lambda o: (o.collection.collected_at, o.index)):
        col = outcome.collection
        fold = thresholds[col.patient.clinic_id]
        rows = _first_rows(outcome)
        problems = []
        for item in outcome.checked:
            if item.canonical is None or item.entry.confirm_suspicious or item.low_reason:
                # A value below the lower plausibility limit, confirmed with a reason, has
                # already been checked for the unit mix-up this warning is about.
                continue
            key = (col.patient.pk, item.test.code)
            candidates = [previous.get((*key, col.collected_at)), accepted.get(key)]
            before = max((c for c in candidates if c), key=lambda c: c[0], default=None)
            if before is None:
                continue
            warning = catalogue.suspicious_change(item.test.code, before[1], item.canonical, fold)
            if warning:
                message = errors.SUSPICIOUS.format(warning=warning)
                problems.append(
                    EntryProblem(item.test.code, message, "suspicious", index=rows[item.test.code])
                )
        if problems:
            outcome.refuse(problems)
            continue
        for item in outcome.checked:
            if item.canonical is not None:
                accepted[(col.patient.pk, item.test.code)] = (col.collected_at, item.canonical)


def _build_rows(outcome: CollectionOutcome, *, user, source, now, thresholds) -> bool:
    """The collection's rows, graded and cleaned; True when its kappa/lambda ratio needs
    the record (one chain only, or a chain corrected)."""
    c = outcome.collection
    collection_id = uuid.uuid4()
    rows = _first_rows(outcome)
    results = []
    try:
        for item in outcome.checked:
            result = services._build(
                item,
                patient=c.patient,
                user=user,
                collected_at=c.collected_at,
                collection_id=collection_id,
                source=source,
                now=now,
                thresholds=thresholds[c.patient.clinic_id],
                corrects=c.corrects,
            )
            if item.test.panel == "mrd":
                result.mrd_method = c.mrd_method
                result.mrd_sensitivity_exponent = c.mrd_sensitivity_exponent
            if item.test.panel == "pregnancy":
                result.hcg_sensitivity_miu_ml = c.hcg_sensitivity_miu_ml
            result._history_user = user
            result._change_reason = (
                f"Lab result recorded; below the lower plausibility limit, confirmed: "
                f"{result.low_value_reason}"
                if result.low_value_reason
                else "Lab result recorded"
            )
            _clean(result, row=rows[item.test.code])
            results.append(result)
    except _RowInvalid as invalid:
        outcome.refuse([invalid.problem])
        return False
    outcome.results = results
    by_code = {r.test_code: r for r in results}
    chains = _FLC_CHAINS & by_code.keys()
    if not chains:
        return False
    corrected = c.corrects is not None or any(by_code[k].corrects_id for k in chains)
    if chains != _FLC_CHAINS or corrected:
        return True
    # Both chains of one draw: the ratio comes from them, never from a second read (two
    # posts of one draw cannot lose it: the second is refused as a duplicate).
    ratio = services.flc_ratio_result(
        by_code["FLC_KAPPA"], by_code["FLC_LAMBDA"], patient=c.patient, user=user, now=now
    )
    if ratio is not None:
        results.append(ratio)
    return False


class _RowInvalid(Exception):
    def __init__(self, problem: EntryProblem) -> None:
        self.problem = problem


def _clean(result: LabResult, *, row: int) -> None:
    """Field limits (a reference range too large for its column), without the foreign-key
    SELECTs: the patient, user, corrected result and message were loaded by the caller."""
    try:
        result.full_clean(
            exclude=services.LOADED_KEYS, validate_unique=False, validate_constraints=False
        )
    except ValidationError as error:
        raise _RowInvalid(
            EntryProblem(result.test_code, " ".join(error.messages), "invalid", index=row)
        ) from None


def _insert(live: list[CollectionOutcome], *, user, now) -> None:
    """All rows with their history rows in bulk, in one savepoint; if a concurrent writer
    stored one of the same (patient, test, time) first, one savepoint per collection so
    only that collection is refused."""
    rows = [r for o in live for r in o.results]
    if not rows:
        return
    try:
        with transaction.atomic():
            _insert_with_history(rows, user=user, now=now)
        return
    except IntegrityError:
        for row in rows:
            row.pk = None
    for outcome in live:
        try:
            with transaction.atomic():
                _insert_with_history(outcome.results, user=user, now=now)
        except IntegrityError:
            for row in outcome.results:
                row.pk = None
            outcome.refuse(_duplicates_now(outcome))


def _insert_with_history(rows: list[LabResult], *, user, now) -> None:
    """The results and their history rows ("+", ``_history_user`` or ``user``, the
    ``_change_reason``, at ``now``), as ``bulk_create_with_history`` writes them."""
    insert_rows(LabResult, rows)
    history = LabResult.history.model
    tracked = [f.attname for f in history.tracked_fields]
    insert_rows(
        history,
        ids_wanted=False,
        objs=[
            history(
                history_date=now,
                history_user=getattr(row, "_history_user", None) or user,
                history_change_reason=getattr(row, "_change_reason", None),
                history_type="+",
                **{name: getattr(row, name) for name in tracked},
            )
            for row in rows
        ],
    )


def insert_rows(model, objs: list, *, ids_wanted: bool = True) -> None:
    """``model.objects.bulk_create(objs)`` without the ORM's per-value machinery (half the
    listener's CPU went there): every value through its field's ``pre_save`` and
    ``get_db_prep_save``, as ``bulk_create`` does; no signals (neither does it).

    A model with a database-made id: one multi-row INSERT per chunk of the database's
    parameter limit, the ids read back with RETURNING. Without (history rows keep their
    own ``id`` but their ``history_id`` is not needed back): one single-row INSERT sent
    for all rows (``executemany``: one statement parsed once, pipelined on PostgreSQL).
    """
    if not objs:
        return
    meta = model._meta
    ops = connection.ops
    fields = [f for f in meta.concrete_fields if not f.db_returning]
    returning = [f for f in meta.concrete_fields if f.db_returning]
    table = ops.quote_name(meta.db_table)
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"

    plain = [_plain_type(f) for f in fields]

    def values(obj) -> list:
        row = []
        for f, kind in zip(fields, plain, strict=True):
            if kind is not None:
                value = getattr(obj, f.attname)
                if value is None or type(value) is kind:
                    row.append(value)  # what get_db_prep_save would return
                    continue
            row.append(f.get_db_prep_save(f.pre_save(obj, True), connection))
        return row

    if connection.vendor == "postgresql":
        _copy_rows(model, objs, fields, returning if ids_wanted else [], values)
    elif not ids_wanted or not returning:
        sql = f"INSERT INTO {table} ({columns}) VALUES {one}"  # noqa: S608  # nosec B608
        with connection.cursor() as cursor:
            cursor.executemany(sql, [values(obj) for obj in objs])
    else:
        names = ", ".join(ops.quote_name(f.column) for f in returning)
        size = max(1, ops.bulk_batch_size(fields, objs))
        for start in range(0, len(objs), size):
            chunk = objs[start : start + size]
            rows = ", ".join([one] * len(chunk))
            # Only quoted names and placeholders are formatted in; every value a parameter.
            sql = f"INSERT INTO {table} ({columns}) VALUES {rows} RETURNING {names}"  # noqa: S608  # nosec B608
            with connection.cursor() as cursor:
                cursor.execute(sql, [v for obj in chunk for v in values(obj)])
                found = cursor.fetchall()
            for obj, got in zip(chunk, found, strict=True):
                for f, value in zip(returning, got, strict=True):
                    setattr(obj, f.attname, value)
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias


def _copy_rows(model, objs: list, fields: list, returning: list, values) -> None:
    """PostgreSQL: the rows by ``COPY ... FROM STDIN`` (no statement of thousands of
    placeholders for the client to split and the server to parse). Ids wanted back are
    drawn from the id's sequence first (one query) and copied in with the rows. The same
    values as the INSERT (``values``: ``pre_save`` and ``get_db_prep_save``), dumped by
    psycopg's own adapters; errors come out as Django's (``IntegrityError`` for a
    duplicate), and the statement is in ``connection.queries`` like any other."""
    meta = model._meta
    ops = connection.ops
    if returning:
        (pk,) = returning  # only a database-made id is read back
        table = meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [ops.quote_name(table), pk.column, len(objs)],
            )
            for obj, (new_id,) in zip(objs, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, new_id)
        fields = [pk, *fields]
    names = ", ".join(ops.quote_name(f.column) for f in fields)
    sql = f"COPY {ops.quote_name(meta.db_table)} ({names}) FROM STDIN"
    start = time.monotonic()
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        for obj in objs:
            row = values(obj)
            if returning:
                row.insert(0, getattr(obj, returning[0].attname))
            copy.write_row(row)
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql} -- {len(objs)} rows", "time": f"{time.monotonic() - start:.3f}"}
        )


_PLAIN_FIELDS = {
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.AutoField: int,
    models.BigAutoField: int,
}


def _plain_type(f) -> type | None:
    """The Python type a field (of exactly a built-in text, integer or boolean class, or a
    foreign key to one) sends to the database unchanged; None for every other field."""
    if type(f) is models.ForeignKey:
        f = f.target_field
    return _PLAIN_FIELDS.get(type(f))


def _duplicates_now(outcome: CollectionOutcome) -> list[EntryProblem]:
    """What the concurrent writer stored, as duplicate problems on their rows."""
    probe = CollectionOutcome(
        outcome.index, outcome.collection, checked=outcome.checked, rows=outcome.rows
    )
    _refuse_duplicates([probe])
    return probe.problems or [
        EntryProblem(
            outcome.checked[0].test.code,
            errors.CONCURRENT_ENTRY,
            "duplicate",
            index=outcome.rows[0],
        )
    ]


def _ratio_from_record(outcome: CollectionOutcome, *, user, now) -> None:
    """One chain in this draw, the other on record (or a chain corrected): the locked
    refresh reads both chains of the draw and keeps one current ratio."""
    c = outcome.collection
    ratio = services._refresh_flc_ratio(
        c.patient,
        c.collected_at,
        user=user,
        collection_id=outcome.results[0].collection_id,
        now=now,
    )
    if ratio is not None:
        outcome.results.append(ratio)


def _remember_units(user, checked: list[services._Checked]) -> None:
    """The units a nurse typed, one row per test (the last one sent wins): one statement,
    which may not touch the same row twice."""
    units = {c.test.code: c.entry.unit.strip() for c in checked if c.test.is_numeric}
    if units:
        UserLabUnit.objects.bulk_create(
            [UserLabUnit(user=user, test_code=code, unit=unit) for code, unit in units.items()],
            update_conflicts=True,
            unique_fields=["user", "test_code"],
            update_fields=["unit", "updated_at"],
        )
