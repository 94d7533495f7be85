"""Every current lab result the timeline draws, as tuples, read again only when they changed.

Ten years of labs are about 600 rows; turning them into Python values (times, decimals) and
putting them on the clinic's clock was the largest single cost of the page. On PostgreSQL
the one query also returns a digest of the rows it selects (SHA-256 of their text, in
order), and sends the rows only when that digest differs from the one this process holds
for the patient; otherwise the rows this process read before are the same rows. The digest
and the rows come from the same statement (one snapshot), so the rows kept are always the
rows of the digest kept with them. Any change to any column read (a bare ``UPDATE`` too),
a result added, superseded or marked entered-in-error changes the digest. Other databases
read the rows every time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.utils.timezone import get_current_timezone, get_current_timezone_name

from monitoring.timeline.recent import Recent
from patients.models import LabResult, Patient

Row = TypeVar("Row")

# (patient id, time zone) -> (digest, rows on that clock), for the patients seen lately.
_KEPT = Recent(64)
_SENTINEL = -720_531_947  # a patient id no row has: marks the parameter to replace


def _queryset(patient_id: int, codes: tuple[str, ...], fields: tuple[str, ...]):
    return (
        LabResult.objects.valid()
        .filter(patient_id=patient_id, test_code__in=codes)
        .order_by("collected_at", "pk")
        .values_list(*fields)
    )


@cache
def _sql(codes: tuple[str, ...], fields: tuple[str, ...]) -> tuple[str, list, int]:
    """The ORM's own SQL for the rows (compiled once per process), wrapped: one row per
    result, each carrying the digest, or one row with the digest alone when the rows are
    not sent (or there are none). Returns the SQL, its parameters and where the patient id
    goes in them."""
    sql, params = _queryset(_SENTINEL, codes, fields).query.sql_with_params()
    params = list(params)
    (at,) = [i for i, p in enumerate(params) if p == _SENTINEL]
    quote = connection.ops.quote_name
    rows = ", ".join(f"labs.{quote(name)}" for name in fields)
    order = f"labs.{quote('collected_at')}, labs.{quote('pk')}"
    wrapped = (
        f"WITH labs AS ({sql}), "  # noqa: S608  # nosec B608
        "digest AS (SELECT encode(sha256(convert_to(string_agg(labs::text, ',' "
        f"ORDER BY {order}), 'UTF8')), 'hex') AS value FROM labs) "
        f"SELECT digest.value, {rows} FROM digest "
        f"LEFT JOIN labs ON digest.value IS DISTINCT FROM %s ORDER BY {order}"
    )
    return wrapped, params, at


@cache
def _converters(fields: tuple[str, ...]) -> list[tuple[int, Any, list]]:
    """The converters the ORM applies to each column it reads (``values_list``), for the
    columns that have any: the rows read here are the values the ORM would give."""
    found = []
    for index, name in enumerate(fields):
        field = LabResult._meta.pk if name == "pk" else LabResult._meta.get_field(name)
        col = field.get_col(LabResult._meta.db_table)
        converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if converters:
            found.append((index, col, converters))
    return found


def _converted(row: tuple, fields: tuple[str, ...]) -> tuple:
    values = list(row)
    for index, col, converters in _converters(fields):
        for converter in converters:
            values[index] = converter(values[index], col, connection)
    return tuple(values)


def lab_rows(
    patient: Patient,
    codes: tuple[str, ...],
    fields: tuple[str, ...],
    make: Callable[[tuple], Row],
) -> tuple[list[Row], str | None]:
    """``make(values)`` for each current result of ``codes``, oldest first, ``values`` being
    ``fields`` (``collected_at`` among them) with ``collected_at`` on the clinic's clock; and
    the rows' digest (``None`` when there is none: no result, or not PostgreSQL). Equal
    digests for a patient mean equal rows."""
    clinic_tz = get_current_timezone()
    at = fields.index("collected_at")
    if connection.vendor != "postgresql":
        rows = [
            make((*row[:at], row[at].astimezone(clinic_tz), *row[at + 1 :]))
            for row in _queryset(patient.pk, codes, fields)
        ]
        return rows, None
    key = (patient.pk, get_current_timezone_name())
    kept = _KEPT.get(key)
    sql, params, slot = _sql(codes, fields)
    params = [*params[:slot], patient.pk, *params[slot + 1 :], kept[0] if kept else ""]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    digest = fetched[0][0]
    if kept is not None and digest == kept[0]:
        return list(kept[1]), digest
    fetched = [row[1:] for row in fetched if row[1] is not None]  # not the digest's own row
    if _converters(fields):  # none on PostgreSQL for these columns today
        fetched = [_converted(row, fields) for row in fetched]
    rows = [make((*row[:at], row[at].astimezone(clinic_tz), *row[at + 1 :])) for row in fetched]
    if digest is not None:
        _KEPT.put(key, (digest, list(rows)))
    return rows, digest
