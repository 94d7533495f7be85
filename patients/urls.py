from django.urls import include, path

from patients import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create, name="create"),
    path("<uuid:public_id>/", views.patient_detail, name="detail"),
    path("", include("patients.nursing.urls")),  # notes and follow-up calls
    path("<uuid:public_id>/history/", views.patient_history, name="history"),
    path("<uuid:public_id>/edit/", views.patient_edit, name="edit"),
    path("<uuid:public_id>/diagnosis/", views.diagnosis_edit, name="diagnosis_edit"),
    path("<uuid:public_id>/transplants/", views.transplant_add, name="transplant_add"),
    path("<uuid:public_id>/weights/", views.weight_add, name="weight_add"),
    path(
        "<uuid:public_id>/<slug:kind>/<int:record_id>/entered-in-error/",
        views.mark_entered_in_error,
        name="mark_error",
    ),
]
