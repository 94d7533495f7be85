def navigation(request):
    """What the navigation bar shows: the user's clinics and role names."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_clinics": [c.name for c in user.clinics.all()],
        "nav_roles": [g.name for g in user.groups.all()],
    }
