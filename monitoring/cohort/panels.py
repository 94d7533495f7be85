"""The Cohort link in the navigation bar (physicians and analysts)."""

from __future__ import annotations

from patients.panels import Panel, register_panel


def nav_context(request, _patient) -> dict:
    user = getattr(request, "user", None)
    return {
        "hidden": not (user and user.is_authenticated and user.has_perm("monitoring.view_cohort"))
    }


def register() -> None:
    register_panel(Panel("monitoring.cohort", 40, "cohort/_nav.html", nav_context, "nav"))
