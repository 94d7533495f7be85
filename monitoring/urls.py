from django.urls import path

from monitoring import views
from monitoring.cohort import views as cohort_views
from monitoring.nursing import views as nursing_views
from monitoring.timeline import views as timeline_views

app_name = "monitoring"

urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("inbox/", views.inbox, name="inbox"),
    # Nurse tools (monitoring/nursing): printable worklist, notify physician, dosing calendar.
    path("worklist/print/", nursing_views.worklist_print, name="worklist_print"),
    path(
        "flags/<int:flag_id>/notify-physician/",
        nursing_views.flag_notify_physician,
        name="flag_notify_physician",
    ),
    path(
        "flags/<int:flag_id>/physician-seen/",
        nursing_views.flag_physician_seen,
        name="flag_physician_seen",
    ),
    path(
        "patients/<uuid:public_id>/dosing-calendar/",
        nursing_views.dosing_calendar,
        name="dosing_calendar",
    ),
    path("cohort/", cohort_views.cohort, name="cohort"),
    path("flags/<int:flag_id>/acknowledge/", views.flag_acknowledge, name="flag_acknowledge"),
    path("patients/<uuid:public_id>/labs/", views.lab_list, name="labs"),
    path("patients/<uuid:public_id>/labs/enter/<slug:panel>/", views.lab_entry, name="lab_entry"),
    path(
        "patients/<uuid:public_id>/labs/collections/<uuid:collection_id>/",
        views.lab_collection,
        name="collection",
    ),
    path("patients/<uuid:public_id>/labs/<int:result_id>/", views.lab_result, name="result"),
    path(
        "patients/<uuid:public_id>/labs/<int:result_id>/correct/",
        views.lab_correct,
        name="result_correct",
    ),
    path(
        "patients/<uuid:public_id>/labs/<int:result_id>/entered-in-error/",
        views.lab_mark_error,
        name="result_mark_error",
    ),
    path("patients/<uuid:public_id>/flags/", views.patient_flags, name="patient_flags"),
    path(
        "patients/<uuid:public_id>/suggestions/<uuid:suggestion_id>/accept/",
        views.suggestion_accept,
        name="suggestion_accept",
    ),
    path(
        "patients/<uuid:public_id>/suggestions/<uuid:suggestion_id>/dismiss/",
        views.suggestion_dismiss,
        name="suggestion_dismiss",
    ),
    path("patients/<uuid:public_id>/timeline/", timeline_views.timeline, name="timeline"),
    path(
        "patients/<uuid:public_id>/timeline/tables/",
        timeline_views.data_tables,
        name="timeline_tables",
    ),
    path(
        "patients/<uuid:public_id>/timeline/assessments/",
        timeline_views.assessment_record,
        name="assessment_record",
    ),
]
