"""Lab ingestion through the API: results stored per second (server time, in process).

DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_bench python bench/ingest.py --requests 300
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import timedelta

from harness import machine, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
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
    patients = list(
        Patient.objects.for_user(nurse)
        .valid()
        .filter(status="active")
        .values_list("public_id", flat=True)
    )
    rng = random.Random(7)  # noqa: S311 - load pattern, not security
    base = timezone.now() - timedelta(days=3650)
    stored = 0
    started = time.perf_counter()
    for i in range(args.requests):
        body = {
            "collected_at": (base + timedelta(minutes=i)).isoformat(),
            "results": [
                {"test": "751-8", "value": f"{rng.uniform(0.6, 4):.2f}", "unit": "10^9/L"},
                {"test": "PLT", "value": str(rng.randint(60, 300)), "unit": "10^3/uL"},
                {"test": "HGB", "value": f"{rng.uniform(90, 150):.0f}", "unit": "g/L"},
                {"test": "WBC", "value": str(rng.randint(2000, 9000)), "unit": "/uL"},
            ],
        }
        response = client.post(
            f"/api/v1/patients/{rng.choice(patients)}/labs/",
            json.dumps(body),
            content_type="application/json",
        )
        if response.status_code != 201:
            raise SystemExit(
                f"request {i} answered {response.status_code}: {response.content[:300]!r}"
            )
        stored += len(response.json())
    elapsed = time.perf_counter() - started
    print(f"machine: {machine()}")
    print(
        f"{args.requests} API requests, {stored} results in {elapsed:.1f} s: {stored / elapsed:.0f} results/s, {args.requests / elapsed:.1f} requests/s"
    )


if __name__ == "__main__":
    main()
