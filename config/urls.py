from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from patients import views as patient_views
from patients.login import LoginView

urlpatterns = [
    path("", patient_views.home, name="home"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("about/", patient_views.about, name="about"),
    path("rules/", patient_views.rule_settings, name="rule_settings"),
    path("patients/", include("patients.urls")),
    path("therapy/", include("therapy.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("api/", include("config.api_urls")),
    path("fhir/", include("monitoring.interop.fhir.urls")),
    path("interface/", include("monitoring.interop.urls")),
    path("admin/", admin.site.urls),
]
