"""A finding as JSON one way (``rulebook.jsonable``): flags, suggestions and snapshots."""

from datetime import date
from decimal import Decimal

from patients.rulebook import Finding, Threshold, finding_json, jsonable, threshold_json

LIMIT = Threshold(key="x.limit", value=Decimal("1.50"), unit="g/dL", status="guideline", source="S")


class Level:
    def as_json(self):
        return {"label": "10 mg"}


def test_values_become_plain_json():
    assert jsonable(
        {
            "n": Decimal("0.4000000000"),
            "on": date(2025, 1, 2),
            "limit": LIMIT,
            "level": Level(),
            "many": (Decimal("10"), None, True),
            1: "key as text",
        }
    ) == {
        "n": "0.4",
        "on": "2025-01-02",
        "limit": threshold_json(LIMIT),
        "level": {"label": "10 mg"},
        "many": ["10", None, True],
        "1": "key as text",
    }


def test_threshold_and_finding_keep_their_provenance():
    assert threshold_json(LIMIT) == {
        "key": "x.limit",
        "value": "1.5",
        "unit": "g/dL",
        "status": "guideline",
        "source": "S",
        "version": 1,
    }
    finding = Finding(rule_id="r", outcome="o", message="m", values={}, thresholds=(LIMIT,))
    assert finding_json(finding)["thresholds"] == [threshold_json(LIMIT)]


def test_the_flag_and_the_suggestion_use_the_same_conversion():
    from monitoring.evaluation import flags_write as evaluation
    from therapy import findings, services

    assert evaluation.jsonable is jsonable is findings.jsonable is services.jsonable
    assert findings.threshold_json is threshold_json
