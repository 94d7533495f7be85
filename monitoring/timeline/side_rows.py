"""The timeline's small per-patient reads in one query: transplants, confirmed response
assessments with their assessors, notes, and the rule settings table's state.

Each was its own query (with its own ORM compile) on every view of the page; on a busy
machine every round trip waits for the database process to get a CPU. The SQL is written
once per process from the models' metadata (``patients.rows.union_layout``, as a course's
history union is): each model has its own columns (NULL in the other models' rows), each
value goes through the converters the ORM applies to its column, and the rows come back as
model instances, as the separate queries gave them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Model

from monitoring.timeline.models import ResponseAssessment
from patients.models import Patient, PatientNote, RuleSetting, Transplant
from patients.rows import union_layout


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
def _sql(vendor: str) -> str:
    """One part per model (``patients.rows.union_layout``), then the rule settings' state
    in columns of its own after every model's."""
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
    layout = union_layout(tuple(_kinds().items()), vendor)
    state_types = [kind if vendor == "postgresql" else "numeric" for _, kind in _STATE_COLUMNS]
    state_nulls = tuple(f"CAST(NULL AS {kind})" for kind in state_types)
    parts = [layout.part(kind, _WHERE[kind].format(**names), tail=state_nulls) for kind in _kinds()]
    state = [column.format(**names) for column, _ in _STATE_COLUMNS]
    parts.append(
        f"SELECT 'rules' AS kind, {', '.join([*layout.nulls, *state])} "  # noqa: S608  # nosec B608
        f"FROM {quote(RuleSetting._meta.db_table)}"
    )
    return " UNION ALL ".join(parts)


def side_rows(patient: Patient) -> SideRows:
    """One query; the transplants are also left on the patient as ``prefetch_related``
    leaves them (``patient.transplants.all()`` answers from memory)."""
    kinds = _kinds()
    layout = union_layout(tuple(kinds.items()), connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(_sql(connection.vendor), [patient.pk] * len(kinds))
        fetched = cursor.fetchall()
    rows: dict[str, list] = {kind: [] for kind in kinds}
    state: tuple[str, ...] = ()
    for kind, *values in fetched:
        if kind == "rules":
            state = tuple(str(value) for value in values[len(layout.nulls) :])
        else:
            rows[kind].append(layout.instance(kind, values))
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
