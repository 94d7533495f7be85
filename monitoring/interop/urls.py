from django.urls import path

from monitoring.interop import views

app_name = "interface"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.message_detail, name="message"),
    path("<int:pk>/retry/", views.message_retry, name="retry"),
    path("<int:pk>/match/", views.message_match, name="match"),
    path("<int:pk>/map-code/", views.message_map_code, name="map_code"),
    path("<int:pk>/map-unit/", views.message_map_unit, name="map_unit"),
    path("<int:pk>/reject/", views.message_reject, name="reject"),
]
