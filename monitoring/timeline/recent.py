"""A small per-process memory of the values used last (the timeline's lab rows, what it
derives from them and its figures), safe under threads (``runserver``, gthread workers)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class Recent:
    """At most ``size`` values by key; the least recently used one goes first."""

    def __init__(self, size: int):
        self.size = size
        self._values: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key) -> Any | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def held(self) -> list:
        """The keys held, least recently used first."""
        with self._lock:
            return list(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
