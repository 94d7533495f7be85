from django.urls import path

from monitoring.interop.fhir import views

app_name = "fhir"

urlpatterns = [
    path("", views.Transaction.as_view(), name="transaction"),
    path("metadata", views.Metadata.as_view(), name="metadata"),
    path("Patient/<uuid:public_id>", views.PatientRead.as_view(), name="patient"),
    path("Observation", views.ObservationType.as_view(), name="observation"),
    path(
        "Observation/<str:resource_id>",
        views.ObservationRead.as_view(),
        name="observation_read",
    ),
    path("MedicationRequest", views.MedicationRequestType.as_view(), name="medicationrequest"),
    path("Condition", views.ConditionType.as_view(), name="condition"),
]
