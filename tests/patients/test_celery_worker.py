"""A real Celery worker consumes a real task from the configured broker: Redis in CI
(REDIS_URL), kombu's filesystem transport for a newcomer without it."""

from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from config.celery import app
from patients.tasks import clear_expired_sessions
from tests.waiting import wait_until


@pytest.mark.django_db(transaction=True)
def test_worker_clears_expired_sessions_from_the_broker_queue():
    Session.objects.create(
        session_key="old" * 10, session_data="", expire_date=timezone.now() - timedelta(hours=1)
    )
    Session.objects.create(
        session_key="new" * 10, session_data="", expire_date=timezone.now() + timedelta(hours=1)
    )
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = clear_expired_sessions.delay()
        assert wait_until(lambda: not Session.objects.filter(session_key="old" * 10).exists())
        if settings.REDIS_URL:
            assert result.get(timeout=10) == "ok"
    assert Session.objects.filter(session_key="new" * 10).exists()


def test_broker_is_redis_when_redis_url_is_set():
    if settings.REDIS_URL:
        assert settings.CELERY_BROKER_URL.startswith("redis://")
    else:
        assert settings.CELERY_BROKER_URL == "filesystem://"


def test_beat_schedules_session_cleanup_hourly():
    entry = settings.CELERY_BEAT_SCHEDULE["clear-expired-sessions"]
    assert entry["task"] == clear_expired_sessions.name
    assert entry["schedule"] == 3600
