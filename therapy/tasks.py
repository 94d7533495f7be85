"""Celery tasks of the therapy app: thin wrappers that call one service."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.utils import timezone

from therapy import services


@shared_task(name="therapy.tasks.activate_started_courses", soft_time_limit=120, time_limit=180)
def activate_started_courses(as_of: str | None = None) -> int:
    """Daily: patients whose planned course has started become active on maintenance."""
    day = date.fromisoformat(as_of) if as_of else timezone.localdate()
    return services.courses_activate_started(as_of=day)
