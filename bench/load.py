"""Bounded load test on loopback: gunicorn with several workers and a Celery worker
consuming the evaluations the lab saves queue; nurses save CBC panels through the API while
physicians open timelines, for a fixed time. Prints requests per second, p50/p95 latency,
the error count (which must be 0) and the evaluation backlog left in the broker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_bench REDIS_URL=redis://127.0.0.1:6379/0 \
        python bench/load.py --seconds 60

Only 127.0.0.1 is ever contacted; every loop is bounded by --seconds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

from harness import ROOT, machine, setup_django

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


class Session:
    """A logged-in browser-like session over http.client (cookies + CSRF)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        all_headers = {"Host": f"{HOST}:{self.port}", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for key, morsel in cookie.items():
                self.cookies[key] = morsel.value
        conn.close()
        return response.status, data

    def login(self, username: str, password: str) -> None:
        _, page = self.request("GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        body = f"username={username}&password={password}&csrfmiddlewaretoken={token}"
        status, _ = self.request(
            "POST",
            "/login/",
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://{HOST}:{self.port}/login/",
            },
        )
        if status != 302:
            raise RuntimeError(f"login of {username} answered {status}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--workers",
        type=int,
        default=3,
        help="gunicorn worker processes (3: the Procfile's default, WEB_CONCURRENCY)",
    )
    parser.add_argument("--nurses", type=int, default=4)
    parser.add_argument("--physicians", type=int, default=4)
    parser.add_argument(
        "--celery", type=int, default=2, help="Celery worker processes (0: no worker)"
    )
    args = parser.parse_args()
    setup_django()

    from django.contrib.auth import get_user_model
    from django.urls import reverse
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from patients.demo import DEMO_PASSWORD
    from patients.models import Patient

    nurse = get_user_model().objects.get(username="nurse.north")
    token = Token.objects.get_or_create(user=nurse)[0].key
    patients = list(
        Patient.objects.for_user(nurse)
        .valid()
        .filter(status="active")
        .values_list("public_id", flat=True)[:500]
    )
    port = free_port()
    env = {
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        **os.environ,
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_DEBUG": "0",
    }
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, loopback only
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi:application",
            "-w",
            str(args.workers),
            "-b",
            f"{HOST}:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    # The Celery worker, as in production (Procfile "worker"): it evaluates the patients
    # whose labs the nurses save, against the same database, while the pages are served.
    queues = ",".join(["celery", *filter(None, [os.environ.get("MONITORING_TASK_QUEUE", "")])])
    worker = None
    if args.celery:
        if not os.environ.get("REDIS_URL"):
            print("(no REDIS_URL: evaluations go to the filesystem broker)")
        worker = subprocess.Popen(  # noqa: S603 - our own Celery app, local broker
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "config",
                "worker",
                "--loglevel",
                "warning",
                "--concurrency",
                str(args.celery),
                "-Q",
                queues,
            ],
            cwd=ROOT,
            env=env,
        )
    latencies: dict[str, list[float]] = {"lab POST (API)": [], "timeline GET": []}
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = 0.0

    def record(kind: str, started: float, ok: bool, detail: str) -> None:
        with lock:
            latencies[kind].append((time.perf_counter() - started) * 1000)
            if not ok:
                errors.append(detail)

    def nurse_loop(index: int) -> None:
        session = Session(port)
        rng = random.Random(index)  # noqa: S311 - load pattern, not security
        counter = 0
        while time.monotonic() < stop_at:
            public_id = rng.choice(patients)
            counter += 1
            collected = timezone.now() - timedelta(minutes=index * 100_000 + counter)
            body = json.dumps(
                {
                    "collected_at": collected.isoformat(),
                    "results": [
                        {
                            "test": "ANC",
                            "value": str(round(rng.uniform(0.6, 4.0), 2)),
                            "unit": "10^9/L",
                        },
                        {"test": "PLT", "value": str(rng.randint(60, 300)), "unit": "10^9/L"},
                        {"test": "HGB", "value": str(round(rng.uniform(9, 15), 1)), "unit": "g/dL"},
                        {
                            "test": "WBC",
                            "value": str(round(rng.uniform(2, 9), 1)),
                            "unit": "10^9/L",
                        },
                    ],
                }
            )
            started = time.perf_counter()
            status, data = session.request(
                "POST",
                f"/api/v1/patients/{public_id}/labs/",
                body,
                {"Content-Type": "application/json", "Authorization": f"Token {token}"},
            )
            record("lab POST (API)", started, status == 201, f"lab POST {status} {data[:200]!r}")

    def physician_loop(index: int) -> None:
        session = Session(port)
        session.login("physician.north", DEMO_PASSWORD)
        rng = random.Random(1000 + index)  # noqa: S311 - load pattern, not security
        while time.monotonic() < stop_at:
            public_id = rng.choice(patients)
            started = time.perf_counter()
            status, _ = session.request(
                "GET", reverse("monitoring:timeline", kwargs={"public_id": public_id})
            )
            record("timeline GET", started, status == 200, f"timeline {status}")

    try:
        wait_for(port)
        stop_at = time.monotonic() + args.seconds
        threads = [threading.Thread(target=nurse_loop, args=(i,)) for i in range(args.nurses)]
        threads += [
            threading.Thread(target=physician_loop, args=(i,)) for i in range(args.physicians)
        ]
        began = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=args.seconds + 60)
        elapsed = time.monotonic() - began
        backlog = _backlog(queues)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if worker is not None:
            worker.terminate()  # warm shutdown: the task in hand finishes
            worker.wait(timeout=120)

    print(f"machine: {machine()}")
    print(
        f"gunicorn workers {args.workers}; {args.nurses} nurses, {args.physicians} physicians; "
        f"Celery worker processes {args.celery}; {elapsed:.1f} s"
    )
    print(f"evaluations still queued at the end: {backlog}")
    print(f"{'request':<18} {'count':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    total = 0
    for kind, values in latencies.items():
        total += len(values)
        if values:
            values.sort()
            p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
            print(
                f"{kind:<18} {len(values):>7} {len(values) / elapsed:>8.1f} {statistics.median(values):>8.1f} {p95:>8.1f}"
            )
    print(f"{'all':<18} {total:>7} {total / elapsed:>8.1f}")
    print(f"errors: {len(errors)}")
    for detail in errors[:5]:
        print("  ", detail)
    if errors:
        sys.exit(1)


def _backlog(queues: str) -> str:
    """Messages waiting in the Redis broker's queues (what the worker has not taken yet)."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        return "unknown (no REDIS_URL)"
    import redis

    client = redis.Redis.from_url(url)
    return str(sum(client.llen(queue) for queue in queues.split(",")))


if __name__ == "__main__":
    main()
