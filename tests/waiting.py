"""Waiting for a real worker (a Celery worker thread or process, a browser's request) to finish
what the test asked of it."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import OperationalError


def wait_until(condition: Callable[[], object], *, seconds: float = 60.0) -> bool:
    """Poll ``condition`` until it holds; False after ``seconds``. It returns as soon as the
    condition holds, so the bound only stops a hang, it times nothing."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OperationalError:
            pass  # SQLite's shared test database: the worker may hold the write lock a moment
        time.sleep(0.1)
    return False
