"""API routes of the monitoring app (Django REST framework)."""

urlpatterns: list = []
