"""Rows read as tuples in the sweep's hot path: a slotted object per row whose attributes are
the ``values_list`` columns, so rule code written against a model instance reads it
unchanged, without the cost of building model instances."""

from __future__ import annotations


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
