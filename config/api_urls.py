"""The API under /api/: schema, and each app's routes from its ``api.py``."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("v1/", include("patients.api")),
    path("v1/", include("therapy.api")),
    path("v1/", include("monitoring.api")),
]
