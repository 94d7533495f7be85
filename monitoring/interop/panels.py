"""The interface queue's link in the navigation bar (no query: page counts stay pinned)."""

from patients.panels import Panel, register_panel


def nav_context(request, _patient) -> dict:
    user = getattr(request, "user", None)
    allowed = bool(
        user and user.is_authenticated and user.has_perm("monitoring.view_interfacemessage")
    )
    return {"hidden": not allowed}


def register() -> None:
    register_panel(Panel("interop.nav", 30, "interop/_nav.html", nav_context, "nav"))
