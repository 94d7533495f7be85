"""MLLP listener throughput: ORU^R01 messages (a CBC of 5 results) per second on loopback.

Starts the listener in this process (its own thread and event loop, as ``mllp_listen``
runs it), sends --messages messages on one connection, waiting for each ACK (as a lab
system does), and prints messages per second. Creates its own clinic, patient and sender.

With ``--worker`` (needs ``REDIS_URL``) a Celery worker (solo pool, its own process) is
started for the run and consumes the evaluations the messages queue, on the same machine, as
in production; the queue left at the end is printed. Also printed: the SQL queries of one
message.

DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_bench REDIS_URL=redis://127.0.0.1:6379/4 \
    python bench/mllp.py --messages 500 --worker
(migrate that database first.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta

from harness import ROOT, machine, setup_django

VT, FS, CR = b"\x0b", b"\x1c", b"\r"


def message(n: int, mrn: str, drawn, rng) -> bytes:
    stamp = drawn.strftime("%Y%m%d%H%M%S") + "+0000"
    results = [
        ("6690-2", f"{rng.uniform(3, 9):.1f}", "10*9/L", "4.0-11.0"),
        ("751-8", f"{rng.uniform(1.6, 6):.2f}", "10*9/L", "2.0-7.5"),
        ("731-0", f"{rng.uniform(1, 3):.2f}", "10*9/L", "1.0-4.0"),
        ("718-7", f"{rng.uniform(11, 15):.1f}", "g/dL", "12.0-16.0"),
        ("777-3", str(rng.randint(160, 350)), "10*9/L", "150-400"),
    ]
    segments = [
        f"MSH|^~\\&|LIS|BENCHLAB|MMM|BENCH|{stamp}||ORU^R01^ORU_R01|BENCH{n:07d}|P|2.5.1",
        f"PID|1||{mrn}^^^BENCHMRN^MR||Bench^Patient||19600517|M",
        f"OBR|1||ACC{n}|58410-2^CBC^LN|||{stamp}",
    ]
    for i, (code, value, unit, ref) in enumerate(results, start=1):
        segments.append(f"OBX|{i}|NM|{code}^^LN||{value}|{unit}|{ref}||||F|||{stamp}")
    return VT + "\r".join(segments).encode() + FS + CR


def bench_patients() -> list[str]:
    """The bench clinic, its registered sender and 20 patients (made once); their MRNs."""
    from monitoring.interop import services as interop_services
    from patients.models import Clinic, Patient

    clinic, _ = Clinic.objects.get_or_create(code="bench", defaults={"name": "Bench Clinic"})
    interop_services.sender_register(facility="BENCHLAB", authority="BENCHMRN", clinic=clinic)
    mrns = []
    for i in range(20):
        patient, _ = Patient.objects.get_or_create(
            clinic=clinic,
            mrn=f"BENCH-{i}",
            defaults={
                "given_name": "Bench",
                "family_name": f"Patient {i}",
                "date_of_birth": date(1960, 5, 17),
                "sex_at_birth": "male",
            },
        )
        mrns.append(patient.mrn)
    return mrns


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--port", type=int, default=2640)
    parser.add_argument("--worker", action="store_true", help="run a Celery worker meanwhile")
    args = parser.parse_args()
    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from monitoring.interop import mllp

    patients = bench_patients()

    loop = asyncio.new_event_loop()
    started = threading.Event()

    async def run():
        server = await mllp.start("127.0.0.1", args.port)
        started.set()
        await server.serve_forever()

    threading.Thread(target=lambda: loop.run_until_complete(run()), daemon=True).start()
    started.wait(10)

    rng = random.Random(11)  # noqa: S311 - load pattern, not security
    run_id = int(time.time())
    base = timezone.now() - timedelta(days=3000)
    payloads = [
        message(run_id * 10_000 + n, patients[n % len(patients)], base + timedelta(minutes=n), rng)
        for n in range(args.messages)
    ]
    worker = None
    if args.worker:
        if not settings.REDIS_URL:
            raise SystemExit("--worker needs REDIS_URL (the worker consumes from Redis)")
        worker = subprocess.Popen(  # noqa: S603 - our own Celery app
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo"]
            + ["--loglevel", "WARNING", "--without-heartbeat", "--without-gossip"],
            cwd=ROOT,
        )
        time.sleep(8)  # let the worker connect before the clock starts
    from monitoring.interop import hl7 as interop_hl7

    # The queries of one message in the steady state (the first one also loads the
    # listener's cache of the mapping tables).
    interop_hl7.receive(payloads.pop()[1:-2].decode(), channel="mllp")
    with CaptureQueriesContext(connection) as one:
        interop_hl7.receive(payloads.pop()[1:-2].decode(), channel="mllp")
    codes: dict[str, int] = {}
    with socket.create_connection(("127.0.0.1", args.port)) as conn:
        started_at, cpu_at = time.perf_counter(), time.process_time()
        for payload in payloads:
            conn.sendall(payload)
            data = b""
            while not data.endswith(FS + CR):
                data += conn.recv(65536)
            code = data.split(b"\rMSA|")[1][:2].decode()
            codes[code] = codes.get(code, 0) + 1
        elapsed = time.perf_counter() - started_at
        cpu = time.process_time() - cpu_at
    sent = len(payloads)
    backlog = _queue_length() if worker else None
    if worker is not None:
        worker.terminate()
        worker.wait(30)
    print(machine(), f"· load average {os.getloadavg()[0]:.1f}")
    print(f"SQL queries per message: {len(one.captured_queries)}")
    if backlog is not None:
        print(f"worker consuming meanwhile; evaluations still queued at the end: {backlog}")
    # On a shared machine the wall-clock rate depends on the other processes; the CPU time
    # of this process (listener + client) gives the rate one free core would sustain.
    print(
        f"{sent} ORU^R01 messages (CBC of 5) in {elapsed:.1f} s wall, {cpu:.1f} s CPU: "
        f"{sent / elapsed:.0f} messages/s wall, {sent / cpu:.0f} messages/s "
        f"per CPU second; ACKs {codes}"
    )


def _queue_length() -> int:
    from celery import current_app

    with current_app.connection_for_write() as conn:
        return conn.default_channel.client.llen("celery")


if __name__ == "__main__":
    main()
