"""MLLP listener throughput: ORU^R01 messages (a CBC of 5 results) per second on loopback.

Starts the listener in this process (its own thread and event loop, as ``mllp_listen``
runs it) and drives it from a separate client process: ``--clients`` connections at once
(a lab interface engine with several feeds), each sending its messages in sequence and
waiting for each ACK (as a lab system does). ``--rounds`` rounds of ``--messages`` each;
printed per round and as min/median/max: messages per second (wall), messages per CPU
second of the listener process (the client's CPU is not counted; PostgreSQL's neither),
and SQL queries per message (all the listener's queries of the round / messages).
``--clients 1`` is the single-connection figure. Creates its own clinic, patients, sender.

With ``--worker`` (needs ``REDIS_URL``) a Celery worker (solo pool, its own process) is
started for the run and consumes the evaluations the messages queue, on the same machine,
as in production; the queue left at the end of each round is printed.

The listener is started with its defaults (``mllp.start(host, port)``), so the same file
measures an older tree (copy it there).

DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_bench REDIS_URL=redis://127.0.0.1:6379/4 \
    python bench/mllp.py --messages 1000 --clients 16 --rounds 3 --worker
(migrate that database first.)
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta

from harness import ROOT, machine, setup_django

VT, FS, CR = b"\x0b", b"\x1c", b"\r"


def message(n: int, mrn: str, drawn, rng, born: str = "19600517") -> bytes:
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
        f"PID|1||{mrn}^^^BENCHMRN^MR||Bench^Patient||{born}|M",
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


def cohort_patients(count: int) -> tuple[list[str], list[str]]:
    """``count`` patients of the built cohort on an active course (in the rules' scope, so
    every evaluation the messages queue is a real one: course, holds, REMS, ten rules), all
    of the clinic with the most of them; its sender registered. Their MRNs and birth dates
    in HL7 form."""
    from django.db.models import Count

    from monitoring.interop import services as interop_services
    from patients.models import Clinic
    from therapy.models import MaintenanceCourse

    courses = MaintenanceCourse.objects.active().filter(patient__status="active")
    clinic_id = (
        courses.values("patient__clinic_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("patient__clinic_id", flat=True)
        .first()
    )
    if clinic_id is None:
        raise SystemExit("--cohort needs a built cohort: run bench/make_cohort.py first")
    interop_services.sender_register(
        facility="BENCHLAB", authority="BENCHMRN", clinic=Clinic.objects.get(pk=clinic_id)
    )
    rows = list(
        courses.filter(patient__clinic_id=clinic_id)
        .order_by("patient_id")
        .values_list("patient__mrn", "patient__date_of_birth")[:count]
    )
    return [mrn for mrn, _ in rows], [born.strftime("%Y%m%d") for _, born in rows]


def _client(port: int, payloads: list[bytes], results) -> None:
    """One connection: send each message, wait for its ACK; the ACK codes to ``results``."""
    codes: dict[str, int] = {}
    with socket.create_connection(("127.0.0.1", port)) as conn:
        for payload in payloads:
            conn.sendall(payload)
            data = b""
            while not data.endswith(FS + CR):
                chunk = conn.recv(65536)
                if not chunk:
                    raise ConnectionError("listener closed the connection")
                data += chunk
            code = data.split(b"\rMSA|")[1][:2].decode()
            codes[code] = codes.get(code, 0) + 1
    results.put(codes)


def _drive(port: int, per_client: list[list[bytes]], ready, go, results) -> None:
    """The client process: one thread per connection, all started together."""
    threads = [
        threading.Thread(target=_client, args=(port, payloads, results)) for payloads in per_client
    ]
    ready.set()
    go.wait()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put({"cpu": time.process_time()})  # this client process's CPU seconds


class _QueryCounter:
    """Counts the SQL statements of the listener (any thread), once per statement."""

    def __init__(self) -> None:
        self.count = 0
        self._local = threading.local()

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def wrap(self, fn):
        from django.db import connection

        def counted(*args, **kwargs):
            if getattr(self._local, "on", False):
                return fn(*args, **kwargs)
            self._local.on = True
            try:
                with connection.execute_wrapper(self):
                    return fn(*args, **kwargs)
            finally:
                self._local.on = False

        return counted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000, help="messages per round")
    parser.add_argument("--clients", type=int, default=16, help="connections at once")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=2640)
    parser.add_argument("--worker", action="store_true", help="run a Celery worker meanwhile")
    parser.add_argument(
        "--cohort",
        type=int,
        default=0,
        metavar="N",
        help="send for N patients of the built cohort on a course (real evaluations) "
        "instead of 20 bench patients with no course",
    )
    args = parser.parse_args()
    setup_django()
    from django.conf import settings
    from django.utils import timezone

    from monitoring.interop import mllp

    counter = _QueryCounter()
    for name in ("handle_block", "handle_blocks"):  # the listener's ways into the database
        if hasattr(mllp, name):
            setattr(mllp, name, counter.wrap(getattr(mllp, name)))

    if args.cohort:
        patients, births = cohort_patients(args.cohort)
    else:
        patients = bench_patients()
        births = ["19600517"] * len(patients)
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
    # After every draw on record for the bench patients (an earlier run's included), so no
    # message repeats a stored (patient, test, time) and none is held as a duplicate.
    from monitoring.interop.models import Hl7Sender
    from patients.models import LabResult

    clinic_id = Hl7Sender.objects.get(facility="BENCHLAB", authority="BENCHMRN").clinic_id
    newest = LabResult.objects.filter(patient__mrn__in=patients, patient__clinic_id=clinic_id)
    newest = newest.order_by("-collected_at").values_list("collected_at", flat=True).first()
    # Each patient's draws a second apart, after the newest on record and all in the past
    # (the entry checks refuse a future collection time; a repeat of a stored (patient,
    # test, time) would be held as a duplicate).
    per_patient = -(-args.rounds * args.messages // len(patients))
    base = timezone.now() - timedelta(seconds=per_patient + 5)
    if newest is not None and newest >= base:
        raise SystemExit(
            f"the bench patients have draws up to {newest:%H:%M:%S}; run again after "
            f"{newest + timedelta(seconds=per_patient + 6):%H:%M:%S}"
        )
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
    context = multiprocessing.get_context("fork")
    rows = []
    try:
        for round_no in range(args.rounds):
            first = (run_id * 10 + round_no) * 100_000
            # Each patient's messages in time order (a second apart), spread over clients.
            payloads = [
                message(
                    first + n,
                    patients[n % len(patients)],
                    base + timedelta(seconds=(round_no * args.messages + n) // len(patients)),
                    rng,
                    births[n % len(patients)],
                )
                for n in range(args.messages)
            ]
            per_client = [payloads[c :: args.clients] for c in range(args.clients)]
            ready, go, results = context.Event(), context.Event(), context.Queue()
            client = context.Process(
                target=_drive, args=(args.port, per_client, ready, go, results)
            )
            client.start()
            ready.wait(30)
            queued_at = _queue_length() if worker else None
            queries_at = counter.count
            pg_at = {pid: _process_cpu([pid]) for pid in _postgres_pids()}
            worker_at = _process_cpu([worker.pid]) if worker else 0.0
            busy_at = _machine_busy()
            started_at, cpu_at = time.perf_counter(), time.process_time()
            go.set()
            codes: dict[str, int] = {}
            for _ in range(args.clients):
                for code, n in results.get(timeout=600).items():
                    codes[code] = codes.get(code, 0) + n
            elapsed = time.perf_counter() - started_at
            cpu = time.process_time() - cpu_at
            client_cpu = results.get(timeout=60)["cpu"]
            busy = _machine_busy() - busy_at
            worker_cpu = _process_cpu([worker.pid]) - worker_at if worker else 0.0
            pg_cpu = sum(_process_cpu([pid]) - pg_at.get(pid, 0.0) for pid in _postgres_pids())
            queries = counter.count - queries_at
            client.join(30)
            backlog = _queue_length() if worker else None
            sent = len(payloads)
            rows.append((sent / elapsed, sent / cpu, queries / sent, busy * 1000 / sent))
            print(
                f"  CPU ms per message: listener {cpu * 1000 / sent:.2f}, worker "
                f"{worker_cpu * 1000 / sent:.2f}, PostgreSQL (this database's connections) "
                f"{pg_cpu * 1000 / sent:.2f}, "
                f"client {client_cpu * 1000 / sent:.2f}, whole machine {busy * 1000 / sent:.2f} "
                f"(other processes {(busy - cpu - worker_cpu - pg_cpu - client_cpu) * 1000 / sent:.2f})",
                flush=True,
            )
            print(
                f"round {round_no + 1}: {sent} messages, {args.clients} connections: "
                f"{elapsed:.1f} s wall, {cpu:.1f} s CPU: {sent / elapsed:.0f} msg/s wall, "
                f"{sent / cpu:.0f} msg per CPU second, {queries / sent:.2f} queries/message; "
                f"ACKs {codes}; load average {os.getloadavg()[0]:.1f}"
                + (
                    f"; evaluations queued at the start {queued_at}, at the end {backlog}"
                    if backlog is not None
                    else ""
                ),
                flush=True,
            )
        if worker is not None:
            # How long after the last ACK the worker has evaluated every patient it was given.
            from patients.models import Patient

            waiting = Patient.objects.filter(clinic_id=clinic_id, mrn__in=patients)
            if hasattr(Patient, "evaluation_queued_at"):  # a tree with the coalesced queue
                waiting = waiting.filter(evaluation_queued_at__isnull=False)
            else:
                waiting = waiting.none()
            drained_at = time.perf_counter()
            while (_queue_length() or waiting.exists()) and time.perf_counter() - drained_at < 300:
                time.sleep(0.2)
            print(
                f"worker: queue empty and no evaluation waiting "
                f"{time.perf_counter() - drained_at:.1f} s after the last round's last ACK",
                flush=True,
            )
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
    print(machine(), f"· load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for label, column in (
        ("msg/s wall", 0),
        ("msg per CPU s", 1),
        ("queries/message", 2),
        ("machine CPU ms/msg", 3),
    ):
        values = [r[column] for r in rows]
        print(
            f"{label:<16} min/median/max {min(values):.1f} / "
            f"{statistics.median(values):.1f} / {max(values):.1f}"
        )


_TICK = os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds the whole machine spent busy (all cores, /proc/stat: not idle, not iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / _TICK


def _process_cpu(pids) -> float:
    """CPU seconds (user + system) of these processes so far; a process gone counts 0."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def _postgres_pids() -> list[int]:
    """The PostgreSQL server processes of this database's connections (the listener's and
    the worker's; not other databases' on a shared machine), plus the WAL writer."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "OR backend_type = 'walwriter'"
        )
        return [pid for (pid,) in cursor.fetchall()]


def _queue_length() -> int:
    from celery import current_app

    with current_app.connection_for_write() as conn:
        return conn.default_channel.client.llen("celery")


if __name__ == "__main__":
    main()
