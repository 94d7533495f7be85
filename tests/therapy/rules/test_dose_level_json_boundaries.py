"""A dose level as stored with a finding (``DoseLevel.as_json``, read by ``rulebook.jsonable``):
mutation round (no rule test read it). Texts typed by hand."""

from decimal import Decimal

from patients.rulebook import jsonable
from therapy.dosing import DoseLevel


def test_a_dose_level_is_stored_with_dose_days_cycle_and_label():
    assert DoseLevel(Decimal("2.50"), 21).as_json() == {
        "dose_mg": "2.5",
        "dosing_days": 21,
        "cycle_days": 28,
        "label": "2.5 mg days 1-21 of 28",
    }
    assert jsonable({"level": DoseLevel(Decimal("10"), 28)}) == {
        "level": {
            "dose_mg": "10",
            "dosing_days": 28,
            "cycle_days": 28,
            "label": "10 mg days 1-28 of 28",
        }
    }
