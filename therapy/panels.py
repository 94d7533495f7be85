"""What therapy adds to patient pages and the navbar (registered in TherapyConfig.ready())."""

from __future__ import annotations

from django.utils import timezone

from patients.panels import Panel, register_panel
from therapy import permissions, selectors


def header_context(request, patient) -> dict:
    """The course one-liner in the summary header: regimen, dose, cycle/day, hold."""
    if not request.user.has_perm(permissions.VIEW_COURSE):
        return {"show": False}
    today = timezone.localdate()
    snapshot = selectors.course_snapshot_for(patient, as_of=today)
    pending = len(selectors.pending_suggestions_for(patient))
    planned = None
    if snapshot is None:  # no running course: perhaps one planned to start later
        course = selectors.active_course_for(patient)
        planned = course if course is not None and course.start_date > today else None
    return {"show": True, "snapshot": snapshot, "pending_count": pending, "planned": planned}


def record_context(request, patient) -> dict:
    """The therapy card on the patient page: the course, pending suggestions, and the
    eligibility checklist while no course is active."""
    user = request.user
    if not user.has_perm(permissions.VIEW_COURSE):
        return {"show": False}
    today = timezone.localdate()
    course = selectors.active_course_for(patient)
    context = {
        "show": True,
        "course": course,
        "snapshot": selectors.course_snapshot_for(patient, as_of=today),
        "suggestions": list(selectors.pending_suggestions([patient.pk])),
        "can_decide": user.has_perm(permissions.DECIDE_SUGGESTION),
        "can_manage": user.has_perm(permissions.MANAGE_COURSE),
        "today": today,
        "planned": course is not None and course.start_date > today,
    }
    if course is None:
        context["eligibility"] = selectors.eligibility_for(
            patient, as_of=today, prescription_at=timezone.now()
        )
    return context


def tabs_context(request, patient) -> dict:
    user = request.user
    return {
        "show_therapy": user.has_perm(permissions.VIEW_COURSE),
        "show_rems": user.has_perm(permissions.VIEW_REMS),
    }


def nav_context(request, patient) -> dict:
    user = request.user
    return {
        "show_rems": user.has_perm(permissions.VIEW_REMS),
        "show_regimens": user.has_perm("therapy.view_regimen"),
    }


def register_panels() -> None:
    register_panel(
        Panel("therapy.header", 10, "therapy/_header_course.html", header_context, "header")
    )
    register_panel(
        Panel("therapy.record", 10, "therapy/_record_panel.html", record_context, "record")
    )
    register_panel(Panel("therapy.tabs", 10, "therapy/_tabs.html", tabs_context, "tabs"))
    register_panel(Panel("therapy.nav", 10, "therapy/_nav.html", nav_context, "nav"))
