"""The notes card on the patient page (registered in PatientsConfig.ready())."""

from __future__ import annotations

from patients.nursing import selectors
from patients.panels import Panel, register_panel

RECENT_NOTES = 5


def record_context(request, patient) -> dict:
    user = request.user
    if not user.has_perm("patients.view_patientnote"):
        return {"show": False}
    return {
        "show": True,
        "notes": list(selectors.notes_for(patient)[:RECENT_NOTES]),
        "calls": list(selectors.open_calls_for(patient)),
        "can_add": user.has_perm("patients.add_patientnote"),
        "can_close": user.has_perm("patients.change_followupcall"),
    }


def tabs_context(request, patient) -> dict:
    return {"show": request.user.has_perm("patients.view_patientnote")}


def register() -> None:
    register_panel(Panel("patients.notes", 30, "nursing/_notes_panel.html", record_context))
    register_panel(Panel("patients.notes_tab", 30, "nursing/_tabs.html", tabs_context, "tabs"))
