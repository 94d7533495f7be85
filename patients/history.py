"""A patient's history in words: what happened, when, by whom, and why.

Each app turns its own records into ``HistoryEntry`` sentences ("Hold started 2026-11-30
(cytopenia)") and registers a source in ``patients.panels``; this module holds the entry
type and the one translation of a django-simple-history change into words, so no page shows
a field name, an id, a boolean or a UTC timestamp.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models

from patients.formatting import MISSING, clinical_datetime, clinical_number, person, yes_no


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime
    who: str  # a person's name, or "system"
    what: str  # one sentence: "Hold started 2026-11-30 (cytopenia)"
    area: str  # "Record", "Labs", "Flags", "Therapy", "REMS"
    details: tuple[str, ...] = ()  # "Dose: 10 mg → 5 mg"
    reason: str = ""
    rule_id: str = ""  # kept for traceability, shown in a small <details>


# Never shown as a change: bookkeeping, stored rule findings (shown on their cards) and
# fields a headline already says (who decided, when).
HIDDEN_FIELDS = {
    "id",
    "created_at",
    "updated_at",
    "public_id",
    "finding",
    "evidence",
    "eligibility_snapshot",
    "thresholds",
    "values",
    "entered_in_error_at",
    "entered_in_error_by",
    "entered_in_error_reason",
    "decided_at",
    "decided_by",
}


def show_value(model_field: models.Field | None, value: Any) -> str:
    """One stored value as a person reads it."""
    if value is None or value == "":
        return MISSING
    if model_field is not None and model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return yes_no(value)
    if model_field is not None and model_field.is_relation and model_field.related_model:
        related = model_field.related_model._default_manager.filter(pk=value).first()
        if related is None:
            return MISSING
        if isinstance(related, get_user_model()):
            return person(related)
        return str(related)
    if isinstance(value, datetime):
        return clinical_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | float | int):
        return clinical_number(value)
    return str(value)


# A unit at the end of a field name ("height_cm") reads as "Height (cm)".
_UNIT_SUFFIXES = {"cm": "cm", "kg": "kg", "mg": "mg", "mg_m2": "mg/m²", "ml_min": "mL/min"}


def field_label(model, name: str) -> str:
    try:
        verbose = str(model._meta.get_field(name).verbose_name)
    except Exception:  # noqa: BLE001 - a field removed since: still say something readable
        verbose = name.replace("_", " ")
    if verbose == name.replace("_", " "):
        for suffix, unit in _UNIT_SUFFIXES.items():
            if name.endswith(f"_{suffix}"):
                verbose = f"{name[: -len(suffix) - 1].replace('_', ' ')} ({unit})"
                break
    return verbose[:1].upper() + verbose[1:]


def _model_field(model, name: str) -> models.Field | None:
    try:
        return model._meta.get_field(name)
    except Exception:  # noqa: BLE001
        return None


def changes_in_words(model, previous, row, hide: frozenset[str] = frozenset()) -> list[str]:
    """'Height (cm): 175 → 171' for every shown field that changed between two versions."""
    delta = row.diff_against(previous)
    lines = []
    for change in delta.changes:
        if change.field in HIDDEN_FIELDS or change.field in hide:
            continue
        model_field = _model_field(model, change.field)
        if isinstance(model_field, models.JSONField):
            continue
        old = show_value(model_field, change.old)
        new = show_value(model_field, change.new)
        if old != new:
            lines.append(f"{field_label(model, change.field)}: {old} → {new}")
    return lines


# headline(row, previous, details) -> the sentence for this version, or None to use the
# default ("<label> recorded" / "<label> changed").
Headline = Callable[[Any, Any, list[str]], str | None]


def entries_from_history(
    history: models.QuerySet,
    *,
    label: str,
    area: str,
    headline: Headline | None = None,
    annotate: Callable[[Any], dict[str, str]] | None = None,
    hide: frozenset[str] = frozenset(),
) -> list[HistoryEntry]:
    """Every version of every row in ``history`` (a simple-history queryset) as an entry in
    words; an edit that changed nothing a person reads is left out. ``annotate(row)`` may give
    a version its ``reason`` or ``rule_id``; ``hide`` names fields its headline already says."""
    model = history.model.instance_type
    rows = list(history.select_related("history_user").order_by("id", "history_date", "history_id"))
    previous_by_object: dict[Any, Any] = {}
    entries = []
    for row in rows:
        previous = previous_by_object.get(row.id)
        previous_by_object[row.id] = row
        details = changes_in_words(model, previous, row, hide) if previous is not None else []
        marked_in_error = (
            previous is not None
            and getattr(previous, "entered_in_error_at", None) is None
            and getattr(row, "entered_in_error_at", None) is not None
        )
        if marked_in_error:
            what = f"{label} marked entered in error"
            reason = getattr(row, "entered_in_error_reason", "") or row.history_change_reason or ""
            details = []
        else:
            what = headline(row, previous, details) if headline else None
            if what is None:
                if previous is not None and not details:
                    continue
                what = f"{label} recorded" if previous is None else f"{label} changed"
            reason = row.history_change_reason or ""
        more = annotate(row) if annotate else {}
        if _says_nothing_new(reason, what):
            reason = ""
        entries.append(
            HistoryEntry(
                when=row.history_date,
                who=person(row.history_user),
                what=what,
                area=area,
                details=tuple(details),
                reason=more.get("reason") or reason,
                rule_id=more.get("rule_id", ""),
            )
        )
    return entries


def _says_nothing_new(reason: str, what: str) -> bool:
    """A recorded reason such as "Hold started: Neutropenia" only repeats the headline."""
    words = set(re.findall(r"\w+", reason.lower()))
    return bool(words) and words <= set(re.findall(r"\w+", what.lower()))


def newest_first(
    entries: Iterable[HistoryEntry], *, limit: int | None = None
) -> list[HistoryEntry]:
    ordered = sorted(entries, key=lambda e: e.when, reverse=True)
    return ordered[:limit] if limit else ordered


__all__ = [
    "HistoryEntry",
    "changes_in_words",
    "entries_from_history",
    "field_label",
    "newest_first",
    "show_value",
]
