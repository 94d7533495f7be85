"""Reading rows in bulk, for the sweep's batches and the pages' few-query reads.

* ``TupleRow`` / ``fields_of``: a ``values_list`` row as a slotted object whose attributes
  are the columns, so rule code written against a model instance reads it unchanged,
  without the cost of building model instances.
* ``ids_in``: ``field IN ids`` for a batch's hundreds of ids, as one array parameter.
* ``union_layout``: several models' rows from one ``UNION ALL`` query, back as the model
  instances their own queries would give (the timeline's side rows, a course's history).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.db import connection
from django.db.models import BooleanField, Expression, F, Model, Q


def fields_of(columns: tuple[str, ...]) -> tuple[str, ...]:
    """The attribute names of ``values_list`` columns: ``id`` is read as ``pk`` (as on a
    model instance), a related column ``regimen__name`` as ``regimen_name``."""
    return tuple("pk" if column == "id" else column.replace("__", "_") for column in columns)


class TupleRow:
    """One ``values_list`` row. A subclass names its ``COLUMNS`` (the query's) and sets
    ``__slots__ = fields_of(COLUMNS)``; the row's values are taken in that order."""

    __slots__ = ()
    COLUMNS: tuple[str, ...] = ()

    def __init__(self, *values) -> None:
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)


def ids_in(field: str, ids) -> Q | Expression:
    """A filter ``field IN ids`` for a batch's hundreds of ids. On PostgreSQL the ids travel
    as one array parameter (``field = ANY(%s)``, the same plan as an IN list): Django
    would compile an IN list of one placeholder per id and psycopg quote each one into the
    statement, which the server then parses, on every query of every batch. Elsewhere the
    ordinary ``__in``."""
    if connection.vendor != "postgresql":
        return Q(**{f"{field}__in": list(ids)})
    return _AnyOf(F(field), list(ids))


class _AnyOf(Expression):
    """``column = ANY(%s::type[])``: a condition usable in ``filter()``."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column, ids: list) -> None:
        super().__init__()
        self.column, self.ids = column, ids

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs) -> None:
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.column)
        array = f"{self.column.output_field.cast_db_type(connection)}[]"
        return f"{sql} = ANY(%s::{array})", [*params, self.ids]


@dataclass(frozen=True)
class UnionLayout:
    """Where each model's columns sit in the rows of a ``UNION ALL`` over several models:
    every model has its own columns, typed NULL in the other models' rows (so each column
    of the union has one type), after a first ``kind`` column naming the row's model."""

    models: dict[str, type[Model]]
    nulls: tuple[str, ...]  # a typed NULL for every column, in order
    slots: dict[str, tuple[int, ...]]  # per kind, the indexes of its model's columns
    converters: dict  # per field: its column and the converters the ORM applies to it

    def part(self, kind: str, where: str, *, tail: tuple[str, ...] = ()) -> str:
        """``SELECT '<kind>', <columns> FROM <the model's table> r WHERE <where>``: the
        model's columns in its slots, NULL elsewhere, then ``tail``. The first part of the
        union names the columns (``v0``, ``v1``...). Only quoted names are formatted in."""
        quote = connection.ops.quote_name
        model = self.models[kind]
        selected = [*self.nulls, *tail]
        for field, index in zip(model._meta.concrete_fields, self.slots[kind], strict=True):
            selected[index] = f"r.{quote(field.column)}"
        if kind == next(iter(self.models)):
            selected = [f"{value} AS v{index}" for index, value in enumerate(selected)]
        return (
            f"SELECT '{kind}' AS kind, {', '.join(selected)} "  # noqa: S608  # nosec B608
            f"FROM {quote(model._meta.db_table)} r WHERE {where}"
        )

    def instance(self, kind: str, values) -> Model:
        """A row's values (after the kind) as its model's instance, each value through the
        converters the ORM applies to its column, as the model's own query gives it."""
        model = self.models[kind]
        fields = model._meta.concrete_fields
        converted = []
        for field, index in zip(fields, self.slots[kind], strict=True):
            value = values[index]
            col, field_converters = self.converters[field]
            for converter in field_converters:
                value = converter(value, col, connection)
            converted.append(value)
        return model.from_db(connection.alias, [f.attname for f in fields], converted)


@cache
def union_layout(models: tuple[tuple[str, type[Model]], ...], vendor: str) -> UnionLayout:
    """The layout of a union over ``models`` (kind, model), the first part first; once per
    process and database vendor (the column types and converters are the vendor's)."""
    nulls: list[str] = []
    slots: dict[str, tuple[int, ...]] = {}
    converters = {}
    for kind, model in models:
        fields = model._meta.concrete_fields
        slots[kind] = tuple(range(len(nulls), len(nulls) + len(fields)))
        nulls += [f"CAST(NULL AS {field.db_type(connection)})" for field in fields]
        for field in fields:
            col = field.get_col(model._meta.db_table)
            converters[field] = (
                col,
                connection.ops.get_db_converters(col) + col.get_db_converters(connection),
            )
    return UnionLayout(dict(models), tuple(nulls), slots, converters)
