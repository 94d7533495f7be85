"""Replicate a seeded demo cohort K times in SQL (PostgreSQL only), for a bench at 100,000
patients without hours of ``seed_demo``.

Every patient-owned table is copied K-1 more times, one ``INSERT ... SELECT`` per table and
copy number k, in the base rows' physical order. A table is patient-owned when a
foreign key path leads from it to ``patients_patient`` (found from Django's model ``_meta``,
so a new model is not missed), or when it is the history table of such a model. Users,
clinics, rule settings, the catalogue and the mappings hang under no patient and are shared.

In copy k of a row:
* integer primary keys, and foreign keys to patient-owned tables, move by k times the
  table's largest id before copying (the copies' ids never meet the base ones); a history
  row's copy of the tracked object's id moves with that object's table;
* every UUID (public ids, ``collection_id``, ``course_public_id``) becomes
  md5(uuid || ':' || k): the same in a row and in its history, and the same for every
  row that shared it, so references by UUID still meet;
* the integer ids that are references without a foreign key (``ID_COLUMNS``) move too;
* the MRN gets the suffix ``-r<k>``; an outbox key ``flag-<id>-...`` names the copied flag;
* lab result ids inside JSON (``"result_id"`` in a flag's or suggestion's evidence) move
  with the lab results.
Anything else is copied as is: names, dates, times and values are the base patient's.

It fails loudly (``ReplicationError``) rather than copy a table wrongly: a unique
constraint no rewritten column covers, a primary key that is not an integer, a foreign key
to a patient-owned table through a column that is not its id, an id-like key in JSON it
does not know, an integer ``*_id`` column with no rule, or a table in the database with a
``patient_id`` column and no model.

The inserts run with ``session_replication_role = replica`` (no per-row foreign key
trigger); ``check`` then joins every foreign key instead, with the row counts.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection, models, transaction

COPY_SUFFIX = "-r"  # MRN of copy k: "<base MRN>-r<k>"

# JSON object keys that hold the id of a row in a patient-owned table (any depth).
JSON_ID_KEYS = {"result_id": "patients.LabResult"}
# Integer columns that hold the id of a patient-owned row without a foreign key.
ID_COLUMNS = {
    ("monitoring.Flag", "dose_suggestion_id"): "therapy.DoseSuggestion",
    ("patients.LabResult", "interface_message_id"): "monitoring.InterfaceMessage",
}
ID_LIKE = re.compile(r"(^|_)(id|ids|pk|pks|uuid)$")
UUID_TEXT = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class ReplicationError(Exception):
    pass


@dataclass
class Plan:
    model: type[models.Model]
    table: str
    pk: str
    columns: list[str] = field(default_factory=list)
    expressions: list[str] = field(default_factory=list)
    rewritten: set[str] = field(default_factory=set)
    # Columns naming a row elsewhere (column, table, its id): what ``check`` joins.
    references: list[tuple[str, str, str]] = field(default_factory=list)


def _concrete_models() -> list[type[models.Model]]:
    seen: dict[str, type[models.Model]] = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        seen.setdefault(model._meta.db_table, model)
    return list(seen.values())


def _tracked(model) -> type[models.Model] | None:
    """The model a simple_history table records, if ``model`` is one."""
    return getattr(model, "instance_type", None)


def owned_models() -> list[type[models.Model]]:
    """Patient and every model a foreign key path (or history) ties to a patient."""
    from patients.models import Patient

    candidates = _concrete_models()
    owned = {Patient}
    grew = True
    while grew:
        grew = False
        for model in candidates:
            if model in owned:
                continue
            fks = [f for f in model._meta.concrete_fields if f.is_relation]
            if _tracked(model) in owned or any(f.related_model in owned for f in fks):
                owned.add(model)
                grew = True
    return sorted(owned, key=lambda m: m._meta.db_table)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _scalar(sql: str, params=()) -> object:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _unique_sets(model) -> list[tuple[str, ...]]:
    meta = model._meta
    sets = [(f.column,) for f in meta.concrete_fields if f.unique and not f.primary_key]
    for names in meta.unique_together:
        sets.append(tuple(meta.get_field(n).column for n in names))
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            if not constraint.fields:
                raise ReplicationError(
                    f"{meta.db_table}: unique constraint {constraint.name} on expressions"
                )
            sets.append(tuple(meta.get_field(n).column for n in constraint.fields))
    return sets


def _json_id_keys(table: str, column: str) -> set[str]:
    """Id-like keys holding a number (or a list) anywhere in a JSON column."""
    sql = (  # names from model _meta
        f"SELECT DISTINCT e.key FROM (SELECT jsonb_path_query({_q(column)}, 'strict $.**') AS v "  # noqa: S608  # nosec B608
        f"FROM {_q(table)}) s, jsonb_each(CASE WHEN jsonb_typeof(v) = 'object' "
        "THEN v ELSE '{}'::jsonb END) AS e WHERE jsonb_typeof(e.value) IN ('number', 'array')"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {row[0] for row in cursor.fetchall() if ID_LIKE.search(row[0])}


def _json_has_uuid_text(table: str, column: str) -> bool:
    sql = (  # names from model _meta
        f"SELECT EXISTS (SELECT 1 FROM (SELECT jsonb_path_query({_q(column)}, 'strict $.**') "  # noqa: S608  # nosec B608
        f"AS v FROM {_q(table)}) s WHERE jsonb_typeof(v) = 'string' AND v #>> '{{}}' ~* %s)"
    )
    return bool(_scalar(sql, [UUID_TEXT]))


SHIFT_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.mmm_shift_key(j jsonb, key text, delta bigint)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
SELECT CASE jsonb_typeof(j)
    WHEN 'object' THEN (
        SELECT coalesce(jsonb_object_agg(e.key, CASE
            WHEN e.key = $2 AND jsonb_typeof(e.value) = 'number'
                THEN to_jsonb((e.value #>> '{}')::bigint + $3)
            ELSE pg_temp.mmm_shift_key(e.value, $2, $3) END), '{}'::jsonb)
        FROM jsonb_each(j) AS e)
    WHEN 'array' THEN (
        SELECT coalesce(jsonb_agg(pg_temp.mmm_shift_key(e.value, $2, $3) ORDER BY e.n), '[]'::jsonb)
        FROM jsonb_array_elements(j) WITH ORDINALITY AS e(value, n))
    ELSE j END
$$
"""


def plan(offsets: dict[str, int], rows: dict[str, int]) -> list[Plan]:
    """The column expressions of every patient-owned table's copy k (``k`` in the SQL)."""
    owned = owned_models()
    owned_tables = {m._meta.db_table for m in owned}
    plans = []
    for model in owned:
        meta = model._meta
        tracked = _tracked(model)
        p = Plan(model=model, table=meta.db_table, pk=meta.pk.column)
        for f in meta.concrete_fields:
            col, expr = f.column, _q(f.column)
            if f.primary_key:
                if not isinstance(f, (models.AutoField, models.BigAutoField, models.IntegerField)):
                    raise ReplicationError(f"{p.table}: primary key {col} is not an integer")
                expr = f"{_q(col)} + k * {offsets[p.table]}"
            elif f.is_relation and f.related_model._meta.db_table in owned_tables:
                target = f.related_model._meta
                if not f.target_field.primary_key:
                    raise ReplicationError(
                        f"{p.table}.{col} points at {target.db_table} by a non-id"
                    )
                expr = f"{_q(col)} + k * {offsets[target.db_table]}"
                p.references.append((col, target.db_table, target.pk.column))
            elif tracked is not None and f.name == tracked._meta.pk.attname:
                expr = f"{_q(col)} + k * {offsets[tracked._meta.db_table]}"
                p.references.append((col, tracked._meta.db_table, tracked._meta.pk.column))
            elif ((tracked or model)._meta.label, f.name) in ID_COLUMNS:
                target = apps.get_model(ID_COLUMNS[(tracked or model)._meta.label, f.name])._meta
                expr = f"{_q(col)} + k * {offsets[target.db_table]}"
                p.references.append((col, target.db_table, target.pk.column))
            elif isinstance(f, models.UUIDField):
                expr = f"md5({_q(col)}::text || ':' || k)::uuid"
            elif (tracked or model)._meta.label == "patients.Patient" and f.name == "mrn":
                expr = f"{_q(col)} || '{COPY_SUFFIX}' || k"
            elif (tracked or model)._meta.label == "monitoring.Notification" and f.name == "key":
                flag = offsets["monitoring_flag"]
                expr = f"'flag-' || (flag_id + k * {flag}) || regexp_replace({_q(col)}, '^flag-[0-9]+', '')"
            elif isinstance(f, models.JSONField) and rows[p.table]:
                if ID_LIKE.search(col):
                    raise ReplicationError(f"{p.table}.{col}: JSON of ids, not rewritten")
                if _json_has_uuid_text(p.table, col):
                    raise ReplicationError(f"{p.table}.{col}: UUID text inside JSON")
                for key in sorted(_json_id_keys(p.table, col)):
                    if key not in JSON_ID_KEYS:
                        raise ReplicationError(f"{p.table}.{col}: unknown id key {key!r} in JSON")
                    target = apps.get_model(JSON_ID_KEYS[key])._meta.db_table
                    expr = f"pg_temp.mmm_shift_key({expr}, '{key}', k * {offsets[target]})"
            elif isinstance(f, models.IntegerField) and ID_LIKE.search(col) and rows[p.table]:
                raise ReplicationError(f"{p.table}.{col}: an id column with no rule")
            if f.is_relation and f.related_model._meta.db_table not in owned_tables:
                target = f.related_model._meta
                p.references.append((col, target.db_table, f.target_field.column))
            if expr != _q(col):
                p.rewritten.add(col)
            p.columns.append(col)
            p.expressions.append(expr)
        for unique in _unique_sets(model):
            if rows[p.table] and not p.rewritten.intersection(unique):
                raise ReplicationError(f"{p.table}: unique {unique} is not rewritten in a copy")
        plans.append(p)
    return plans


def _unmodelled_patient_tables() -> list[str]:
    modelled = {m._meta.db_table for m in _concrete_models()}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = 'patient_id'"
        )
        return sorted(t for (t,) in cursor.fetchall() if t not in modelled)


def _base_state() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Per table: the largest id, the row count and the pages the base rows lie in."""
    offsets, rows, pages = {}, {}, {}
    for model in owned_models():
        table, pk = model._meta.db_table, model._meta.pk.column
        sql = f"SELECT coalesce(max({_q(pk)}), 0), count(*) FROM {_q(table)}"  # noqa: S608  # nosec B608
        with connection.cursor() as cursor:
            cursor.execute(sql)
            offsets[table], rows[table] = cursor.fetchone()
            cursor.execute(
                "SELECT pg_relation_size(%s) / current_setting('block_size')::int", [table]
            )
            pages[table] = cursor.fetchone()[0]
    return offsets, rows, pages


def dangling(plans: list[Plan]) -> dict[str, int]:
    """Rows per ``table.column`` whose reference (foreign key or id column) finds no row."""
    out = {}
    for p in plans:
        for col, target, pk in p.references:
            sql = (  # names from model _meta
                f"SELECT count(*) FROM {_q(p.table)} c WHERE c.{_q(col)} IS NOT NULL AND NOT "  # noqa: S608  # nosec B608
                f"EXISTS (SELECT 1 FROM {_q(target)} t WHERE t.{_q(pk)} = c.{_q(col)})"
            )
            out[f"{p.table}.{col}"] = _scalar(sql)
    return out


def counts(plans: list[Plan]) -> dict[str, int]:
    return {p.table: _scalar(f"SELECT count(*) FROM {_q(p.table)}") for p in plans}  # noqa: S608  # nosec B608


def _insert_sql(p: Plan, copy: int, pages: int, offset: int) -> str:
    cols = ", ".join(_q(c) for c in p.columns)
    return (  # names from model _meta, numbers from the database
        f"INSERT INTO {_q(p.table)} ({cols}) SELECT {', '.join(p.expressions)} "  # noqa: S608  # nosec B608
        f"FROM {_q(p.table)} AS base CROSS JOIN (VALUES ({int(copy)})) AS c(k) "
        f"WHERE base.ctid < '({int(pages)},0)'::tid AND {_q(p.pk)} <= {int(offset)}"
    )


def replicate(k: int, *, log=print) -> dict[str, object]:
    """Copy every patient-owned row ``k - 1`` more times; returns what ``check`` compares."""
    if connection.vendor != "postgresql":
        raise ReplicationError("replication is PostgreSQL only")
    if k < 2:
        raise ReplicationError("--replicate needs K >= 2")
    if _scalar("SELECT count(*) FROM patients_patient WHERE mrn ~ %s", [f"{COPY_SUFFIX}[0-9]+$"]):
        raise ReplicationError("this cohort is already replicated (MRNs with a copy suffix)")
    stray = _unmodelled_patient_tables()
    if stray:
        raise ReplicationError(f"tables with a patient_id and no model: {stray}")
    offsets, rows, pages = _base_state()
    plans = plan(offsets, rows)
    before = {"rows": rows, "dangling": dangling(plans)}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(SHIFT_FUNCTION)
        for p in plans:
            if not rows[p.table]:
                continue
            started = time.perf_counter()
            # One statement per copy, reading the base rows in their physical order (a TID
            # range scan of the base pages), so each copy is laid out as the base is: a
            # patient's lab results stay on few pages, as seed_demo writes them.
            for copy in range(1, k):
                cursor.execute(_insert_sql(p, copy, pages[p.table], offsets[p.table]))
            log(f"  {p.table}: {rows[p.table]} x {k} ({time.perf_counter() - started:.1f} s)")
        for p in plans:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, %s), "  # noqa: S608  # nosec B608
                f"(SELECT max({_q(p.pk)}) FROM {_q(p.table)}))",
                [p.table, p.pk],
            )
    return {"k": k, "plans": plans, **before}


def check(result: dict[str, object]) -> list[str]:
    """Problems with a copy: row counts not K times the base, foreign keys not resolving
    (beyond K times those dangling in the base)."""
    k, plans = result["k"], result["plans"]
    problems = []
    for table, n in counts(plans).items():
        if n != k * result["rows"][table]:
            problems.append(f"{table}: {n} rows, expected {k} x {result['rows'][table]}")
    for column, n in dangling(plans).items():
        if n != k * result["dangling"][column]:
            problems.append(f"{column}: {n} dangling, base had {result['dangling'][column]}")
    return problems
