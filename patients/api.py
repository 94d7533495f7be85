"""API routes of the patients app (Django REST framework)."""

urlpatterns: list = []
