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


def interleaved(
    candidate: Callable[[], object],
    baseline: Callable[[], object],
    *,
    rounds: int = 5,
    repeat: int = 5,
    warmup: int = 2,
) -> dict[str, float]:
    """The candidate against its baseline, measured in one run and interleaved: each round
    times ``repeat`` calls of the baseline, then of the candidate, then of the baseline again,
    so a neighbour's load falls on both. Returns milliseconds (median per call) and the ratio
    per round as min/median/max."""
    for _ in range(warmup):
        baseline()
        candidate()

    def per_call(fn) -> float:
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
        return statistics.median(samples)

    ratios, base_ms, cand_ms = [], [], []
    for _ in range(rounds):
        before = per_call(baseline)
        cand = per_call(candidate)
        after = per_call(baseline)
        base = (before + after) / 2
        base_ms.append(base)
        cand_ms.append(cand)
        ratios.append(cand / base)
    return {
        "baseline_ms": statistics.median(base_ms),
        "ms": statistics.median(cand_ms),
        "ratio_min": min(ratios),
        "ratio_median": statistics.median(ratios),
        "ratio_max": max(ratios),
    }


def count_queries(fn: Callable[[], object]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def _getter(client, url):
    def get():
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")

    return get


def page_table(
    client, pages: list[tuple[str, str]], *, baseline: str, repeat: int = 15
) -> list[tuple[str, float, float, int]]:
    """[(label, median ms, median ratio to baseline, queries)] for each (label, url), each
    page interleaved with the baseline (see ``interleaved``)."""
    rows = []
    for row in page_ratio_table(client, pages, baseline=baseline, repeat=repeat):
        label, stats, queries = row
        rows.append((label, stats["ms"], stats["ratio_median"], queries))
    return rows


def page_ratio_table(
    client, pages: list[tuple[str, str]], *, baseline: str, repeat: int = 15, rounds: int = 5
) -> list[tuple[str, dict[str, float], int]]:
    """[(label, interleaved stats, queries)], the baseline page first."""
    base = _getter(client, baseline)
    per_round = max(1, repeat // 3)
    base_stats = interleaved(base, base, rounds=rounds, repeat=per_round)
    rows = [("trivial logged-in page " + baseline, base_stats, count_queries(base))]
    for label, url in pages:
        page = _getter(client, url)
        stats = interleaved(page, base, rounds=rounds, repeat=per_round)
        rows.append((label, stats, count_queries(page)))
    return rows


def print_table(title: str, rows) -> None:
    """Rows from ``page_ratio_table`` (ratios as min/median/max) or ``page_table``."""
    print(f"\n{title}")
    print(f"{'page':<48} {'median ms':>10} {'ratio min/median/max':>22} {'queries':>8}")
    for row in rows:
        if len(row) == 3:
            label, stats, queries = row
            ratio = f"{stats['ratio_min']:.2f}/{stats['ratio_median']:.2f}/{stats['ratio_max']:.2f}"
            ms = stats["ms"]
        else:
            label, ms, ratio_value, queries = row
            ratio = f"{ratio_value:.2f}"
        print(f"{label:<48} {ms:>10.1f} {ratio:>22} {queries:>8}")
