"""The tuple rows the sweep reads: attribute names follow the ``values_list`` columns."""

import pytest

from patients.rows import TupleRow, fields_of


class _Row(TupleRow):
    COLUMNS = ("id", "patient_id", "regimen__name")
    __slots__ = fields_of(COLUMNS)


def test_id_is_read_as_pk_and_a_related_column_without_its_double_underscore():
    assert fields_of(_Row.COLUMNS) == ("pk", "patient_id", "regimen_name")


def test_a_row_takes_its_values_in_column_order():
    row = _Row(7, 3, "Lenalidomide 10 mg days 1-21 of 28")
    assert (row.pk, row.patient_id, row.regimen_name) == (
        7,
        3,
        "Lenalidomide 10 mg days 1-21 of 28",
    )


def test_a_row_with_a_missing_value_is_refused():
    with pytest.raises(ValueError):
        _Row(7, 3)
