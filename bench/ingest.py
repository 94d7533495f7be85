"""Lab ingestion through the API: results stored per second (server time, in process).

Two ways in, measured interleaved in one run (each round times a block of single-collection
POSTs, then a block of batch POSTs), repeated ``--rounds`` times and printed as
min/median/max results per second, with the SQL queries of one request of each kind:

* ``POST /api/v1/patients/{id}/labs/``: one CBC of 4 results per request, sequential;
* ``POST /api/v1/labs/batch/``: ``--batch-size`` CBCs of 4 results, random patients.

With ``REDIS_URL`` set each stored patient's evaluation is published to Redis (a worker
need not run: publishing is the request's cost). ``--single-only`` measures a tree that has
no batch endpoint (the figure before it).

DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_bench python bench/ingest.py --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from datetime import timedelta

from harness import count_queries, machine, setup_django

TESTS = (
    ("751-8", lambda rng: f"{rng.uniform(1.6, 4):.2f}", "10^9/L"),
    ("PLT", lambda rng: str(rng.randint(150, 300)), "10^3/uL"),
    ("HGB", lambda rng: f"{rng.uniform(110, 150):.0f}", "g/L"),
    ("WBC", lambda rng: str(rng.randint(4000, 9000)), "/uL"),
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40, help="single POSTs per round")
    parser.add_argument("--batches", type=int, default=4, help="batch POSTs per round")
    parser.add_argument("--batch-size", type=int, default=50, help="collections per batch")
    parser.add_argument("--single-only", action="store_true")
    args = parser.parse_args()
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from patients.models import Patient

    nurse = get_user_model().objects.get(username="nurse.north")
    token = Token.objects.get_or_create(user=nurse)[0].key
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    patients = [
        str(p)
        for p in Patient.objects.for_user(nurse)
        .valid()
        .filter(status="active")
        .values_list("public_id", flat=True)
    ]
    rng = random.Random()  # noqa: S311 - load pattern, not security
    # A fresh second-resolution stretch of the past per run: no draw repeats an earlier run's.
    base = timezone.now() - timedelta(days=rng.uniform(400, 3600))
    clock = iter(range(10**9))

    def collection() -> dict:
        return {
            "collected_at": (base + timedelta(seconds=next(clock))).isoformat(),
            "results": [{"test": t, "value": v(rng), "unit": u} for t, v, u in TESTS],
        }

    def single() -> int:
        response = client.post(
            f"/api/v1/patients/{rng.choice(patients)}/labs/",
            json.dumps(collection()),
            content_type="application/json",
        )
        if response.status_code != 201:
            raise SystemExit(
                f"single POST answered {response.status_code}: {response.content[:300]!r}"
            )
        return len(response.json())

    def batch() -> int:
        body = {
            "collections": [
                {"patient": rng.choice(patients), **collection()} for _ in range(args.batch_size)
            ]
        }
        response = client.post(
            "/api/v1/labs/batch/", json.dumps(body), content_type="application/json"
        )
        if response.status_code not in (201, 207):
            raise SystemExit(
                f"batch POST answered {response.status_code}: {response.content[:300]!r}"
            )
        return sum(len(c.get("results", [])) for c in response.json()["collections"])

    def rate(fn, times: int) -> tuple[float, float]:
        """Results per second of wall clock and per CPU second of this process (server and
        client in one process: on a shared machine the CPU rate is what one free core does)."""
        started, cpu, stored = time.perf_counter(), time.process_time(), 0
        for _ in range(times):
            stored += fn()
        return stored / (time.perf_counter() - started), stored / (time.process_time() - cpu)

    single()  # warm up (connections, caches)
    if not args.single_only:
        batch()
    rates: dict[str, list[tuple[float, float]]] = {"single": [], "batch": []}
    for _ in range(args.rounds):
        rates["single"].append(rate(single, args.requests))
        if not args.single_only:
            rates["batch"].append(rate(batch, args.batches))

    print(f"machine: {machine()} · load average {os.getloadavg()[0]:.1f}")
    print(f"{args.rounds} interleaved rounds, min/median/max")
    print(f"{'':<28} {'results/s wall':>16} {'results/CPU s':>16} {'queries/request':>16}")
    rows = [("single POST, CBC of 4", "single", single)]
    if not args.single_only:
        rows.append((f"batch POST, {args.batch_size} CBCs of 4", "batch", batch))
    for label, key, fn in rows:
        wall, cpu = [r[0] for r in rates[key]], [r[1] for r in rates[key]]
        print(f"{label:<28} {_spread(wall):>16} {_spread(cpu):>16} {count_queries(fn):>16}")


def _spread(values: list[float]) -> str:
    return f"{min(values):.0f}/{statistics.median(values):.0f}/{max(values):.0f}"


if __name__ == "__main__":
    main()
