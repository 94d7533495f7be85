"""API routes of the therapy app (Django REST framework)."""

urlpatterns: list = []
