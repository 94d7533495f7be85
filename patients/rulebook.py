"""The vocabulary every clinical rule in this project speaks.

Pure Python: no ORM, no request, no clock. A rule receives plain values and the
thresholds it applies (``Threshold``: value, unit and where the number comes from) and
returns a ``Finding``: which rule decided, what it concluded, the values it used and the
source a clinician can check. Thresholds are stored as versioned, admin-editable
``patients.RuleSetting`` rows seeded from ``DEFAULTS`` in each rule module; a finding
keeps the version it was made under so a past decision still shows its rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from patients.formatting import clinical_number


class SourceStatus:
    """How firm a default is (see shared clinical reference, 'Status words')."""

    LABEL = "label"  # US prescribing information for lenalidomide
    SEED = "seed"  # source documents this product was specified from
    GUIDELINE = "guideline"  # IMWG / NCCN / CTCAE
    COMMON = "common"  # widely cited, not confirmed word for word: configurable

    CHOICES = [
        (LABEL, "Label (US prescribing information)"),
        (SEED, "Seed documents"),
        (GUIDELINE, "Guideline (IMWG / NCCN / CTCAE)"),
        (COMMON, "Common practice (configurable, not confirmed word for word)"),
    ]


@dataclass(frozen=True)
class Threshold:
    """One configurable number a rule applies, with its provenance."""

    key: str
    value: Decimal
    unit: str
    status: str
    source: str
    version: int = 1

    def cite(self) -> str:

        return (
            f"{self.key} = {clinical_number(self.value)} {self.unit} "
            f"({self.status}: {self.source}, v{self.version})"
        )


@dataclass(frozen=True)
class Finding:
    """What a rule concluded, and everything needed to audit it on screen."""

    rule_id: str
    outcome: str
    message: str
    values: dict[str, Any] = field(default_factory=dict)
    thresholds: tuple[Threshold, ...] = ()
    source: str = ""

    @property
    def basis(self) -> str:
        """One line a clinician reads under a flag or suggestion."""
        cited = "; ".join(t.cite() for t in self.thresholds)
        parts = [p for p in (self.source, cited) if p]
        return " — ".join(parts)


def thresholds_by_key(defaults: tuple[Threshold, ...] | list[Threshold]) -> dict[str, Threshold]:
    return {t.key: t for t in defaults}


def jsonable(value: Any) -> Any:
    """A finding's values (or evidence) as JSON, the one conversion every stored flag,
    suggestion and snapshot uses: Decimals as plain digits without trailing zeros ("0.4",
    not "0.4000000000"), dates in ISO form, thresholds with their provenance, a value
    that knows its own JSON form (``as_json()``, e.g. a dose level) as that, other
    dataclasses field by field, anything else unknown as its text."""
    if isinstance(value, Threshold):
        return threshold_json(value)
    as_json = getattr(value, "as_json", None)
    if callable(as_json) and not isinstance(value, type):
        return as_json()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v) for k, v in vars(value).items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


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


def in_force(
    defaults: tuple[Threshold, ...] | list[Threshold],
    settings: Mapping[str, Threshold] | None = None,
) -> dict[str, Threshold]:
    """The thresholds in force: a rule module's defaults with the clinic's rule settings
    laid over them, key by key. A partial table (one key a caller overrides) keeps every
    other default; the one semantics every rule module uses."""
    if isinstance(settings, BatchThresholds):
        return settings.laid_over(defaults)
    return {**thresholds_by_key(defaults), **(settings or {})}


class BatchThresholds(dict):
    """A clinic's thresholds in force for one batch of evaluations (never changed once
    built): ``in_force`` lays them over each rule module's defaults once, not on every
    lookup, and hands each caller its own copy of the same table."""

    _MAX_MERGED = 64  # a caller joining defaults anew each call builds a new tuple each time

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # id(defaults) -> (defaults, table): the tuple is kept, so its id is not reused.
        self._merged: dict[int, tuple[Any, dict[str, Threshold]]] = {}

    def laid_over(self, defaults: tuple[Threshold, ...] | list[Threshold]) -> dict[str, Threshold]:
        found = self._merged.get(id(defaults))
        if found is None or found[0] is not defaults:
            if len(self._merged) >= self._MAX_MERGED:
                self._merged.clear()
            found = (defaults, {**thresholds_by_key(defaults), **self})
            self._merged[id(defaults)] = found
        return dict(found[1])


# The rule setting keys the software reads, registered by the apps that own the rules (the
# patients app cannot import them): admin refuses any other key, so a misspelt key is not
# stored silently and ignored by every rule.
_KNOWN_KEY_SOURCES: list = []


def register_rule_defaults(source) -> None:
    """``source()`` returns the ``Threshold`` defaults of every rule module."""
    if source not in _KNOWN_KEY_SOURCES:
        _KNOWN_KEY_SOURCES.append(source)


def known_rule_defaults() -> dict[str, Threshold]:
    return {t.key: t for source in _KNOWN_KEY_SOURCES for t in source()}
