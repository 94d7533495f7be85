"""Celery application.

With ``REDIS_URL`` set, Redis is the broker and result backend (production and CI). Without
it, kombu's filesystem transport under ``var/celery`` is the broker, so a newcomer's
``make run`` starts a real worker and beat with no server to install.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mmm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def route_task(name, args, kwargs, options, task=None, **kw):
    """Send every monitoring task to ``MONITORING_TASK_QUEUE`` when one is set (read at send
    time, so a test or a deployment can change it without restarting the producer)."""
    from django.conf import settings

    queue = getattr(settings, "MONITORING_TASK_QUEUE", None)
    if queue and name.startswith("monitoring.tasks."):
        return {"queue": queue}
    return None
