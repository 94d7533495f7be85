"""Sending the outbox: each notification goes out once.

Detecting (flags, in ``monitoring.evaluation``) is separate from notifying (here). A row is
claimed with a compare-and-set update before it is sent, so two workers never send the same
one; a claim older than ``STALE_CLAIM`` (a worker died mid-send) may be taken again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F, Q
from django.utils import timezone

from monitoring.models import Notification

logger = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=15)
MAX_ATTEMPTS = 5


def notifications_deliver(*, limit: int = 200, now: datetime | None = None) -> int:
    """Send pending notifications, oldest first; returns how many were sent."""
    now = now or timezone.now()
    claimable = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - STALE_CLAIM)
    pending = list(
        Notification.objects.filter(
            claimable, notified_at__isnull=True, attempts__lt=MAX_ATTEMPTS
        ).order_by("created_at", "pk")[:limit]
    )
    sent = 0
    for note in pending:
        claimed = (
            Notification.objects.filter(pk=note.pk, notified_at__isnull=True)
            .filter(claimable)
            .update(claimed_at=now, attempts=F("attempts") + 1)
        )
        if not claimed:
            continue  # another worker has it
        try:
            send_mail(note.subject, note.body, settings.DEFAULT_FROM_EMAIL, [note.recipient])
        except Exception as error:  # noqa: BLE001 - any mail failure is recorded and retried
            logger.warning("Notification %s failed: %s", note.pk, error)
            Notification.objects.filter(pk=note.pk).update(
                failed_at=timezone.now(), last_error=str(error)[:2000], claimed_at=None
            )
            continue
        Notification.objects.filter(pk=note.pk).update(notified_at=timezone.now(), failed_at=None)
        sent += 1
    return sent
