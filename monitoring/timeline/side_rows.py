"""The timeline's small per-patient reads in one query: transplants, confirmed response
assessments with their assessors, notes, and the rule settings table's state.

Each was its own query (with its own ORM compile) on every view of the page; on a busy
machine every round trip waits for the database process to get a CPU. The SQL is written
once per process from the models' metadata (as ``therapy.selectors.courses``' history
union): each model has its own columns (NULL in the other models' rows), each value goes
through the converters the ORM applies to its column, and the rows come back as model
instances, as the separate queries gave them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Model

from monitoring.timeline.models import ResponseAssessment
from patients.models import Patient, PatientNote, RuleSetting, Transplant


@dataclass
class SideRows:
    transplants: list[Transplant]  # every transplant (entered-in-error too), by date
    assessments: list[ResponseAssessment]  # valid, newest first, ``assessed_by`` loaded
    notes: list[PatientNote]  # valid, oldest first
    rules_state: tuple[str, ...]  # ``patients.selectors.rule_settings_state()``


@cache
def _kinds() -> dict[str, type[Model]]:
    return {
        "transplant": Transplant,
        "assessment": ResponseAssessment,
        "assessor": get_user_model(),
        "note": PatientNote,
    }


_VALID_ASSESSMENTS = (
    "SELECT a.{by} FROM {assessment} a WHERE a.{patient} = %s AND a.{error} IS NULL"
)
_WHERE = {
    "transplant": "r.{patient} = %s",
    "assessment": "r.{patient} = %s AND r.{error} IS NULL",
    "assessor": "r.{pk} IN (" + _VALID_ASSESSMENTS + ")",
    "note": "r.{patient} = %s AND r.{error} IS NULL",
}
# The rule settings table's state, as ``patients.selectors.rule_settings_state`` reads it.
_STATE_COLUMNS = (
    ("COUNT(*)", "bigint"),
    ("MAX({pk})", "bigint"),
    ("MAX({updated})", "timestamp with time zone"),
    ("SUM({value})", "numeric"),
    ("SUM({version})", "bigint"),
)


@cache
def _sql(vendor: str) -> tuple[str, dict[str, list[int]], int]:
    """The union, where each model's columns are in a row (after the kind), and where the
    rule settings' state columns start."""
    quote = connection.ops.quote_name
    names = {
        "patient": quote("patient_id"),
        "error": quote("entered_in_error_at"),
        "pk": quote("id"),
        "by": quote("assessed_by_id"),
        "assessment": quote(ResponseAssessment._meta.db_table),
        "updated": quote("updated_at"),
        "value": quote("value"),
        "version": quote("version"),
    }
    slots: dict[str, list[int]] = {}
    nulls: list[str] = []  # typed, so each column of the union has its one type
    for kind, model in _kinds().items():
        fields = model._meta.concrete_fields
        slots[kind] = list(range(len(nulls), len(nulls) + len(fields)))
        nulls += [f"CAST(NULL AS {field.db_type(connection)})" for field in fields]
    state_at = len(nulls)
    state_types = [kind if vendor == "postgresql" else "numeric" for _, kind in _STATE_COLUMNS]
    state_nulls = [f"CAST(NULL AS {kind})" for kind in state_types]
    parts = []
    for kind, model in _kinds().items():
        selected = list(nulls) + state_nulls
        for field, index in zip(model._meta.concrete_fields, slots[kind], strict=True):
            selected[index] = f"r.{quote(field.column)}"
        if not parts:  # the first part names the columns
            selected = [f"{value} AS v{index}" for index, value in enumerate(selected)]
        parts.append(
            f"SELECT '{kind}' AS kind, {', '.join(selected)} "  # noqa: S608  # nosec B608
            f"FROM {quote(model._meta.db_table)} r WHERE {_WHERE[kind].format(**names)}"
        )
    state = [column.format(**names) for column, _ in _STATE_COLUMNS]
    parts.append(
        f"SELECT 'rules' AS kind, {', '.join(nulls + state)} "  # noqa: S608  # nosec B608
        f"FROM {quote(RuleSetting._meta.db_table)}"
    )
    return " UNION ALL ".join(parts), slots, state_at


@cache
def _converters(vendor: str) -> dict:
    """Per field of every model, its column and the converters the ORM applies to it."""
    result = {}
    for model in _kinds().values():
        for field in model._meta.concrete_fields:
            col = field.get_col(model._meta.db_table)
            result[field] = (
                col,
                connection.ops.get_db_converters(col) + col.get_db_converters(connection),
            )
    return result


def side_rows(patient: Patient) -> SideRows:
    """One query; the transplants are also left on the patient as ``prefetch_related``
    leaves them (``patient.transplants.all()`` answers from memory)."""
    sql, slots, state_at = _sql(connection.vendor)
    converters = _converters(connection.vendor)
    kinds = _kinds()
    with connection.cursor() as cursor:
        cursor.execute(sql, [patient.pk] * len(kinds))
        fetched = cursor.fetchall()
    rows: dict[str, list] = {kind: [] for kind in kinds}
    state: tuple[str, ...] = ()
    for kind, *values in fetched:
        if kind == "rules":
            state = tuple(str(value) for value in values[state_at:])
            continue
        model = kinds[kind]
        converted = []
        for field, index in zip(model._meta.concrete_fields, slots[kind], strict=True):
            value = values[index]
            col, field_converters = converters[field]
            for converter in field_converters:
                value = converter(value, col, connection)
            converted.append(value)
        names = [f.attname for f in model._meta.concrete_fields]
        rows[kind].append(model.from_db(connection.alias, names, converted))
    assessors = {user.pk: user for user in rows["assessor"]}
    assessments = sorted(rows["assessment"], key=lambda a: (a.assessed_on, a.pk), reverse=True)
    for assessment in assessments:
        ResponseAssessment._meta.get_field("assessed_by").set_cached_value(
            assessment, assessors[assessment.assessed_by_id]
        )
    transplants = sorted(rows["transplant"], key=lambda t: (t.transplanted_on, t.pk))
    _set_prefetched(patient, "transplants", transplants)
    return SideRows(
        transplants=transplants,
        assessments=assessments,
        notes=sorted(rows["note"], key=lambda n: (n.contact_at, n.pk)),
        rules_state=state,
    )


def _set_prefetched(patient: Patient, name: str, rows: list) -> None:
    """What ``prefetch_related`` leaves on the patient: ``patient.<name>.all()`` answers
    from ``rows`` without a query, and each row's ``patient`` is this patient."""
    for row in rows:
        row._meta.get_field("patient").set_cached_value(row, patient)
    queryset = getattr(patient, name).get_queryset()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    cache_ = getattr(patient, "_prefetched_objects_cache", {})
    cache_[name] = queryset
    patient._prefetched_objects_cache = cache_
