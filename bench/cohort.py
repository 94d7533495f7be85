"""The Cohort page against the trivial logged-in page, interleaved and repeated.

    DATABASE_URL=sqlite:////tmp/bench.sqlite3 python bench/cohort.py --repeat 7

Build the cohort first (``python bench/make_cohort.py`` or ``manage.py seed_demo --patients
10000``). Each round requests, in turn: the trivial page, the Cohort page with its cache
cleared (cold: every query and estimator runs), and the Cohort page again (warm: the data
has not changed, so the cached rows and results are used; the change check still runs).
Interleaving spreads any slowdown of a shared machine over all three. Prints min / median /
max in milliseconds and the ratio of the medians to the trivial page.
"""

from __future__ import annotations

import argparse
import statistics
import time

from harness import machine, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--user", default="physician.north")
    args = parser.parse_args()
    setup_django()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from monitoring.cohort import selectors

    user = get_user_model().objects.get(username=args.user)
    clinic_ids = list(user.clinics.values_list("pk", flat=True))
    client = Client()
    client.force_login(user)
    trivial, cohort = reverse("about"), reverse("monitoring:cohort")

    def timed(url: str, *, clear: bool = False) -> float:
        if clear:
            cache.clear()
        start = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        return elapsed

    # Warm-up: imports (lifelines, scipy), template compilation, connection.
    timed(trivial)
    timed(cohort, clear=True)
    samples: dict[str, list[float]] = {"trivial": [], "cold": [], "warm": []}
    for _ in range(args.repeat):
        samples["trivial"].append(timed(trivial))
        samples["cold"].append(timed(cohort, clear=True))
        samples["warm"].append(timed(cohort))

    rows = len(selectors.cohort_rows(clinic_ids, as_of=timezone.localdate()))
    print(machine())
    print(f"Cohort page for {args.user}: {rows} patients on maintenance in the user's clinics")
    base = statistics.median(samples["trivial"])
    print(f"{'page':<44} {'min':>8} {'median':>8} {'max':>8} {'ratio':>7}")
    for key, label in (
        ("trivial", f"trivial logged-in page {trivial}"),
        ("cold", "Cohort page, cache cleared (cold)"),
        ("warm", "Cohort page, data unchanged (cached)"),
    ):
        values = samples[key]
        median = statistics.median(values)
        print(
            f"{label:<44} {min(values):>8.1f} {median:>8.1f} {max(values):>8.1f} "
            f"{median / base:>7.2f}"
        )


if __name__ == "__main__":
    main()
