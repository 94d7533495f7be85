"""Sections other apps add to patient pages, without patients importing them.

``patients`` sits at the bottom of the dependency chain, so the apps above it (therapy,
monitoring) register what they show on the patient record and in the summary header from
their ``AppConfig.ready()``. Each panel is a template and a function that builds its
context from the request and the patient; a panel's context function does its own reads
through its app's selectors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Panel:
    key: str
    order: int
    template: str
    context: Callable[[Any, Any], dict[str, Any]]  # (request, patient) -> template context
    place: str = "record"  # "record": the patient page body; "header": the summary header


_PANELS: dict[str, Panel] = {}


def register_panel(panel: Panel) -> None:
    _PANELS[panel.key] = panel


def panels_for(place: str) -> list[Panel]:
    return sorted((p for p in _PANELS.values() if p.place == place), key=lambda p: p.order)


def render_context(request, patient, place: str) -> list[tuple[Panel, dict[str, Any]]]:
    return [(panel, panel.context(request, patient)) for panel in panels_for(place)]


# The patient's History page in words: each source returns ``patients.history.HistoryEntry``
# items (lab entries, flags, courses, holds, REMS events) for one patient.
_HISTORY_ENTRY_SOURCES: list[Callable[[Any], list[Any]]] = []


def register_history_entries(source: Callable[[Any], list[Any]]) -> None:
    if source not in _HISTORY_ENTRY_SOURCES:
        _HISTORY_ENTRY_SOURCES.append(source)


def history_entries(patient) -> list[Any]:
    return [entry for source in _HISTORY_ENTRY_SOURCES for entry in source(patient)]
