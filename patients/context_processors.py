from django.template.loader import render_to_string

from patients.panels import render_context


def navigation(request):
    """What the navigation bar shows: the user's clinics and roles, and the links other apps
    register (place "nav": worklists, REMS, open-flag counts)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def nav_html():
        return "".join(
            render_to_string(panel.template, ctx, request=request)
            for panel, ctx in render_context(request, None, "nav")
        )

    return {
        "nav_clinics": [c.name for c in user.clinics.all()],
        "nav_roles": [g.name for g in user.groups.all()],
        "nav_extra": nav_html,
    }
