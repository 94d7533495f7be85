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
