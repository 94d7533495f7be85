"""Shared benchmark helpers: in-process server time per page, as a ratio to a trivial
logged-in page measured in the same run, with the SQL query count of each.

Benchmarks print figures; they are not tests and assert nothing about speed.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")


def setup_django() -> None:
    import django

    django.setup()


def machine() -> str:
    cpus = os.cpu_count()
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    from django.db import connection

    return (
        f"{platform.node()} · {cpus} cores · {mem_gib:.0f} GiB · Python {platform.python_version()} · "
        f"{connection.vendor} {connection.pg_version if connection.vendor == 'postgresql' else ''}".strip()
    )


def measure(fn: Callable[[], object], *, repeat: int = 15, warmup: int = 2) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def count_queries(fn: Callable[[], object]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def page_table(
    client, pages: list[tuple[str, str]], *, baseline: str, repeat: int = 15
) -> list[tuple[str, float, float, int]]:
    """[(label, median ms, ratio to baseline, queries)] for each (label, url)."""

    def getter(url):
        def get():
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")

        return get

    base_ms = measure(getter(baseline), repeat=repeat)
    rows = [("trivial logged-in page " + baseline, base_ms, 1.0, count_queries(getter(baseline)))]
    for label, url in pages:
        ms = measure(getter(url), repeat=repeat)
        rows.append((label, ms, ms / base_ms, count_queries(getter(url))))
    return rows


def print_table(title: str, rows: list[tuple[str, float, float, int]]) -> None:
    print(f"\n{title}")
    print(f"{'page':<48} {'median ms':>10} {'ratio':>8} {'queries':>8}")
    for label, ms, ratio, queries in rows:
        print(f"{label:<48} {ms:>10.1f} {ratio:>8.2f} {queries:>8}")
