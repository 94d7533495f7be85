"""The HL7 unit spelling lookup (OBX-6 -> catalogue unit), pure: exact, case-sensitive,
trimmed, the built-in table first and the admin's table only for spellings it lacks.

Expected units are written out here from the clinical reference (sec. 8: 10^9/L,
10^3/uL, /uL, g/dL, g/L, mmol/L, mg/24h ...), never read from the table under test.
"""

import pytest

from monitoring.interop.units import catalogue_unit


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("G/L", "10^9/L"),  # giga per litre: a cell count
        ("g/L", "g/L"),  # grams per litre: hemoglobin, albumin
        ("K/uL", "10^3/uL"),
        ("/mm3", "/uL"),
        ("mg/d", "mg/24h"),
        ("[IU]/L", "IU/L"),
    ],
)
def test_built_in_spellings_map_to_the_catalogue_unit(spelling, expected):
    assert catalogue_unit(spelling) == expected


@pytest.mark.parametrize("spelling", [" G/L", "G/L ", "\tg/L\n"])
def test_surrounding_blanks_are_ignored(spelling):
    assert catalogue_unit(spelling) == spelling.strip().replace("G/L", "10^9/L")


def test_case_is_never_folded():
    assert catalogue_unit("g/l") is None
    assert catalogue_unit("G/l") is None


def test_unknown_spelling_without_a_table_is_none():
    assert catalogue_unit("furlongs") is None
    assert catalogue_unit("furlongs", None) is None
    assert catalogue_unit("furlongs", {}) is None


def test_admin_table_maps_a_spelling_the_built_ins_lack():
    assert catalogue_unit("Giga/Liter", {"Giga/Liter": "10^9/L"}) == "10^9/L"


def test_admin_table_sees_the_trimmed_spelling():
    assert catalogue_unit("  Giga/Liter ", {"Giga/Liter": "10^9/L"}) == "10^9/L"


def test_admin_table_never_overrides_a_built_in_spelling():
    assert catalogue_unit("G/L", {"G/L": "g/L"}) == "10^9/L"
