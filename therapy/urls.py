from django.urls import path

from therapy import views

app_name = "therapy"

P = "patients/<uuid:public_id>"
C = f"{P}/courses/<uuid:course_id>"

urlpatterns = [
    path("regimens/", views.regimen_list, name="regimens"),
    path("rems/", views.rems_list, name="rems_list"),
    path("rems/export.csv", views.rems_export, name="rems_export"),
    path(f"{P}/course/", views.course_detail, name="course"),
    path(f"{P}/course/start/", views.course_start, name="course_start"),
    path(f"{P}/history/", views.therapy_history, name="history"),
    path(f"{C}/dose/", views.dose_change, name="dose_change"),
    path(f"{C}/hold/", views.hold_start, name="hold_start"),
    path(f"{C}/holds/<int:hold_id>/end/", views.hold_end, name="hold_end"),
    path(f"{C}/discontinue/", views.course_discontinue, name="discontinue"),
    path(f"{C}/correct/", views.course_correct, name="correct"),
    path(f"{P}/rems/", views.rems_detail, name="rems"),
    path(f"{P}/rems/enrollment/", views.rems_enrollment_edit, name="rems_enrollment"),
    path(f"{P}/rems/authorizations/", views.rems_authorization_add, name="rems_authorization_add"),
    path(
        f"{P}/rems/authorizations/<uuid:authorization_id>/",
        views.rems_authorization_edit,
        name="rems_authorization_edit",
    ),
    path(f"{P}/rems/surveys/", views.rems_survey_add, name="rems_survey_add"),
]
