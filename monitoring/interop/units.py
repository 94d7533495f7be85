"""Unit spellings laboratories send (OBX-6) -> the catalogue unit, and catalogue -> UCUM.

Pure data. Matching is exact and case-sensitive on purpose: "G/L" is giga per litre (a
cell count) and "g/L" grams per litre (hemoglobin); folding case would turn one into the
other. A spelling not listed here (nor in the admin's unit mapping table) holds the
message for a person to map: a unit is never guessed.
"""

from __future__ import annotations

from types import MappingProxyType

# spelling as sent -> catalogue unit (a key of some test's ``accepted_units``)
SPELLINGS = MappingProxyType(
    {
        # Cell counts, x 10^9 per litre (= x 10^3 per microlitre)
        "10*9/L": "10^9/L",
        "10^9/L": "10^9/L",
        "x10E9/L": "10^9/L",
        "x10^9/L": "10^9/L",
        "10E9/L": "10^9/L",
        "giga/L": "10^9/L",
        "G/L": "10^9/L",
        "K/uL": "10^3/uL",
        "K/µL": "10^3/uL",
        "10*3/uL": "10^3/uL",
        "10^3/uL": "10^3/uL",
        "x10E3/uL": "10^3/uL",
        "thou/uL": "10^3/uL",
        "/uL": "/uL",
        "/mm3": "/uL",
        "cells/uL": "/uL",
        # Mass and substance concentrations
        "g/dL": "g/dL",
        "g/L": "g/L",
        "mg/dL": "mg/dL",
        "mg/L": "mg/L",
        "umol/L": "umol/L",
        "µmol/L": "umol/L",
        "mmol/L": "mmol/L",
        "U/L": "U/L",
        "IU/L": "IU/L",
        "[IU]/L": "IU/L",
        "mIU/mL": "mIU/mL",
        "m[IU]/mL": "mIU/mL",
        "mg/24h": "mg/24h",
        "mg/(24.h)": "mg/24h",
        "mg/d": "mg/24h",
        "%": "%",
    }
)

# catalogue unit -> UCUM code (FHIR valueQuantity.code, system http://unitsofmeasure.org)
UCUM = MappingProxyType(
    {
        "10^9/L": "10*9/L",
        "10^3/uL": "10*3/uL",
        "/uL": "/uL",
        "g/dL": "g/dL",
        "g/L": "g/L",
        "mg/dL": "mg/dL",
        "mg/L": "mg/L",
        "umol/L": "umol/L",
        "mmol/L": "mmol/L",
        "U/L": "U/L",
        "IU/L": "[IU]/L",
        "mIU/mL": "m[IU]/mL",
        "mg/24h": "mg/(24.h)",
        "%": "%",
        "ratio": "{ratio}",
        "fraction": "1",
    }
)
UCUM_SYSTEM = "http://unitsofmeasure.org"


def catalogue_unit(spelling: str, overrides: dict[str, str] | None = None) -> str | None:
    """The catalogue unit for a spelling (built-in first, then the admin's table), or None
    when unknown. A table row never overrides a built-in spelling."""
    spelling = spelling.strip()
    if spelling in SPELLINGS:
        return SPELLINGS[spelling]
    return (overrides or {}).get(spelling)
