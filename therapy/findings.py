"""Rule findings and checklist items as JSON, so stored decisions keep their basis.

A stored suggestion or eligibility snapshot keeps the rule id, the values it used and
every threshold with its version: a past decision still shows the rule it was made under.
"""

from __future__ import annotations

from dataclasses import is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from patients.formatting import clinical_number
from patients.rulebook import Finding, Threshold
from therapy.dosing import DoseLevel, format_mg
from therapy.eligibility import ChecklistItem


def jsonable(value: Any) -> Any:
    if isinstance(value, DoseLevel):
        return {
            "dose_mg": format_mg(value.dose_mg),
            "dosing_days": value.dosing_days,
            "cycle_days": value.cycle_days,
            "label": value.label,
        }
    if isinstance(value, Threshold):
        return threshold_json(value)
    if isinstance(value, Decimal):
        # "0.4", not the stored "0.4000000000": trailing zeros say nothing clinically.
        return format(value.normalize(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v) for k, v in vars(value).items()}
    return value


def threshold_json(threshold: Threshold) -> dict[str, Any]:
    return {
        "key": threshold.key,
        "value": jsonable(threshold.value),
        "unit": threshold.unit,
        "status": threshold.status,
        "source": threshold.source,
        "version": threshold.version,
    }


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "rule_id": finding.rule_id,
        "outcome": finding.outcome,
        "message": finding.message,
        "values": jsonable(finding.values),
        "thresholds": [threshold_json(t) for t in finding.thresholds],
        "source": finding.source,
        "basis": finding.basis,
    }


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
