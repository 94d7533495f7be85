"""A Celery beat scheduler that guarantees one sender of periodic tasks.

Two beats (a second ``make run``, a deploy that overlaps the old release, a scaled-out
process type) would each send every sweep. The sweep is idempotent, but the work doubles
and notifications race. Each beat here ticks only while it holds the leader lock:

* with Redis (``REDIS_URL``): redis-py's ``Lock`` with a time-to-live, renewed on every tick
  (``reacquire``); a leader that dies loses it after ``LOCK_SECONDS`` and a follower takes
  over on its next tick;
* without Redis: an exclusive ``flock`` on ``var/celerybeat.lock``, released by the kernel
  when the process dies.

Followers keep ticking (every ``FOLLOWER_WAIT_SECONDS``) and send nothing.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from pathlib import Path

from celery.beat import PersistentScheduler

logger = logging.getLogger(__name__)

LOCK_NAME = "mmm:celery-beat:leader"
LOCK_SECONDS = 60  # > CELERY_BEAT_MAX_LOOP_INTERVAL, so a live leader always renews in time
FOLLOWER_WAIT_SECONDS = 5


class RedisLeaderLock:
    def __init__(self, url: str, *, name: str = LOCK_NAME, seconds: int = LOCK_SECONDS):
        import redis

        self.client = redis.Redis.from_url(url)
        self.lock = self.client.lock(name, timeout=seconds, thread_local=False)
        self.lock.local.token = uuid.uuid4().hex.encode()  # stable identity for owned()

    def hold(self) -> bool:
        """True while this process is the leader; renews the lease."""
        import redis

        try:
            if self.lock.owned():
                self.lock.reacquire()
                return True
            return bool(self.lock.acquire(blocking=False, token=self.lock.local.token))
        except (redis.exceptions.LockError, redis.exceptions.ConnectionError):
            return False

    def release(self) -> None:
        import redis

        try:
            if self.lock.owned():
                self.lock.release()
        except (redis.exceptions.LockError, redis.exceptions.ConnectionError):
            pass


class FileLeaderLock:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.fd: int | None = None

    def hold(self) -> bool:
        if self.fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def leader_lock():
    from django.conf import settings

    if settings.REDIS_URL:
        return RedisLeaderLock(settings.REDIS_URL)
    return FileLeaderLock(Path(settings.VAR_DIR) / "celerybeat.lock")


class SingleBeatScheduler(PersistentScheduler):
    """``PersistentScheduler`` that sends only while it holds the leader lock."""

    def __init__(self, *args, leader=None, **kwargs):
        self.leader = leader if leader is not None else leader_lock()
        self._leading = False
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs):
        leading = self.leader.hold()
        if leading != self._leading:
            self._leading = leading
            if leading:
                logger.info("celery beat: this process is the leader and sends periodic tasks")
            else:
                logger.warning("celery beat: another beat is the leader; this one waits")
        if not leading:
            return FOLLOWER_WAIT_SECONDS
        return super().tick(*args, **kwargs)

    def close(self):
        try:
            super().close()
        finally:
            self.leader.release()
