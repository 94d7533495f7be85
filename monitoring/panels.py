"""What monitoring adds to patient pages and the navigation bar (``patients.panels``)."""

from __future__ import annotations

from monitoring import selectors
from patients import lab_selectors
from patients.lab_catalogue import PANELS
from patients.panels import Panel, register_panel

ENTRY_PANELS = [(p.code, p.name) for p in PANELS.values()]


def _can(request, perm: str) -> bool:
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.has_perm(perm))


def record_context(request, patient) -> dict:
    if not _can(request, "patients.view_labresult"):
        return {"hidden": True}
    return {
        "latest": lab_selectors.latest_by_test(patient),
        "open_flags": selectors.open_flags_for(patient)
        if _can(request, "monitoring.view_flag")
        else [],
        "entry_panels": ENTRY_PANELS,
    }


def header_context(request, patient) -> dict:
    if not _can(request, "monitoring.view_flag"):
        return {"hidden": True}
    return {"open_flags": selectors.open_flags_for(patient)}


def tabs_context(request, patient) -> dict:
    return {
        "can_view": _can(request, "patients.view_labresult"),
        "can_enter": _can(request, "patients.add_labresult"),
    }


def nav_context(request, _patient) -> dict:
    if not _can(request, "monitoring.view_flag"):
        return {"hidden": True}
    return {
        "counts": selectors.open_flag_counts(request.user),
        "can_decide": _can(request, "monitoring.decide_flag"),
    }


def register() -> None:
    register_panel(
        Panel("monitoring.labs", 20, "monitoring/_panel_record.html", record_context, "record")
    )
    register_panel(
        Panel("monitoring.flags", 20, "monitoring/_panel_header.html", header_context, "header")
    )
    register_panel(
        Panel("monitoring.tabs", 20, "monitoring/_panel_tabs.html", tabs_context, "tabs")
    )
    register_panel(Panel("monitoring.nav", 10, "monitoring/_nav.html", nav_context, "nav"))
