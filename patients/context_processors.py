from django.contrib.auth.context_processors import PermWrapper
from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import SafeString

from patients.panels import render_context


def navigation(request):
    """What the navigation bar shows: the user's clinics and roles, and the links other apps
    register (place "nav": worklists, REMS, open-flag counts). Everything is lazy, so a page
    that does not render the bar (or an API response) costs no query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def nav_html():
        # Rendered without the request: re-running every context processor per panel would
        # cost queries; each panel gets the user and permissions it needs explicitly.
        extra = {"user": user, "perms": PermWrapper(user)}
        html = SafeString("")  # rendered templates are safe; adding them keeps them safe
        for panel, ctx in render_context(request, None, "nav"):
            html += render_to_string(panel.template, {**ctx, **extra})
        return html

    return {
        "nav_clinics": SimpleLazyObject(lambda: [c.name for c in user.clinics.all()]),
        "nav_roles": SimpleLazyObject(lambda: [g.name for g in user.groups.all()]),
        "nav_extra": nav_html,
    }
