"""Rule findings and checklist items as JSON, so stored decisions keep their basis.

A stored suggestion or eligibility snapshot keeps the rule id, the values it used and
every threshold with its version: a past decision still shows the rule it was made under.
"""

from __future__ import annotations

from typing import Any

from patients.formatting import clinical_number
from patients.rulebook import finding_json, jsonable, threshold_json
from therapy.eligibility import ChecklistItem

__all__ = ["checklist_json", "cite", "finding_json", "jsonable", "threshold_json"]


def checklist_json(items: tuple[ChecklistItem, ...]) -> list[dict[str, Any]]:
    return [
        {
            "item_id": item.item_id,
            "label": item.label,
            "status": item.status,
            "value_text": item.value_text,
            "observed_on": jsonable(item.observed_on),
            "source": item.source,
            "rule_id": item.finding.rule_id,
            "thresholds": [threshold_json(t) for t in item.finding.thresholds],
        }
        for item in items
    ]


def cite(threshold: dict[str, Any]) -> str:
    """A stored threshold as one line: key = value unit (status: source, vN)."""
    return (
        f"{threshold.get('key')} = {clinical_number(threshold.get('value'))} {threshold.get('unit')} "
        f"({threshold.get('status')}: {threshold.get('source')}, v{threshold.get('version')})"
    )
