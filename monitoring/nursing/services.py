"""Writes: a nurse asks the physician to look at a flag; the physician marks it seen."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from monitoring.models import Flag
from patients.errors import DomainError

NOTE_MAX_CHARS = 1000
NOTE_REQUIRED = "Write a note for the physician: what you saw and what you ask."
NOTE_TOO_LONG = "The note is longer than 1000 characters. Shorten it."
FLAG_RESOLVED = "This flag is already resolved; there is nothing to ask the physician."
ALREADY_ASKED = "The physician was already asked about this flag on {when}; it is in their inbox."
NOT_ASKED = "Nobody asked the physician about this flag, or it was already seen."


@transaction.atomic
def flag_notify_physician(*, flag: Flag, user, note: str, now: datetime | None = None) -> Flag:
    """Put an open flag in the physician inbox with the nurse's note.

    Compare-and-set: only an open flag with no request waiting is updated, so two nurses
    asking at once leave one request (the second is told it is already there).
    """
    now = now or timezone.now()
    note = (note or "").strip()
    if not note:
        raise DomainError(NOTE_REQUIRED, field="note")
    if len(note) > NOTE_MAX_CHARS:
        raise DomainError(NOTE_TOO_LONG, field="note")
    waiting = Flag.objects.filter(
        pk=flag.pk, physician_notified_at__isnull=False, physician_seen_at__isnull=True
    )
    updated = (
        Flag.objects.filter(pk=flag.pk, status__in=Flag.OPEN_STATUSES)
        .exclude(pk__in=waiting.values("pk"))
        .update(
            physician_notified_at=now,
            physician_notified_by=user,
            physician_note=note,
            physician_seen_at=None,
            physician_seen_by=None,
            updated_at=now,
        )
    )
    flag.refresh_from_db()
    if not updated:
        if not flag.is_open:
            raise DomainError(FLAG_RESOLVED)
        when = timezone.localtime(flag.physician_notified_at).strftime("%Y-%m-%d %H:%M")
        raise DomainError(ALREADY_ASKED.format(when=when))
    return flag


@transaction.atomic
def flag_physician_seen(*, flag: Flag, user, now: datetime | None = None) -> Flag:
    """The physician has read the nurse's request: it leaves the inbox (kept on the flag)."""
    now = now or timezone.now()
    updated = Flag.objects.filter(
        pk=flag.pk, physician_notified_at__isnull=False, physician_seen_at__isnull=True
    ).update(physician_seen_at=now, physician_seen_by=user, updated_at=now)
    flag.refresh_from_db()
    if not updated:
        raise DomainError(NOT_ASKED)
    return flag
