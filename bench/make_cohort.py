"""Build the large synthetic cohort the benchmarks run on (PostgreSQL).

DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_bench python bench/make_cohort.py --patients 10000

At 100,000 patients ``seed_demo`` alone takes hours; seed a base cohort and copy it K times
in SQL instead (bench/replicate.py says what a copy changes and what it shares):

DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_100k python bench/make_cohort.py --patients 5000 --replicate 20

(5,000 x 20 on the shared 2-core machine, load 9-15: seed 286 s, copy and check 832 s,
12.3 million lab results, 5.7 GB. ``--skip-seed`` replicates a database already seeded,
for example one created with ``CREATE DATABASE ... TEMPLATE`` from a seeded one.)
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

from harness import ROOT, setup_django


def _replicate(k: int) -> None:
    setup_django()
    from django.db import connection
    from replicate import check, replicate

    started = time.perf_counter()
    result = replicate(k)
    problems = check(result)
    rows = {t: n * k for t, n in result["rows"].items() if n}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    status = Path(f"/proc/{backend}/status")  # the database server's memory, when local
    peak = (
        [ln for ln in status.read_text().splitlines() if ln.startswith("VmHWM")]
        if status.exists()
        else []
    )
    print(
        f"replicated x{k} in {time.perf_counter() - started:.0f} s; database backend {' '.join(peak)}"
    )
    for table in ("patients_patient", "monitoring_labresult", "monitoring_flag"):
        print(f"  {table}: {rows.get(table, 0)} rows")
    if problems:
        sys.exit("replication check failed:\n  " + "\n  ".join(problems))
    print(
        f"check: {len(rows)} tables at {k} x their base rows; every foreign key and id column resolves"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=10000)
    parser.add_argument(
        "--replicate",
        type=int,
        default=1,
        metavar="K",
        help="copy the seeded cohort to K times its size",
    )
    parser.add_argument(
        "--skip-seed", action="store_true", help="the database already holds the base cohort"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    commands = (
        []
        if args.skip_seed
        else [["migrate", "--noinput", "-v0"], ["seed_demo", "--patients", str(args.patients)]]
    )
    for command in commands:
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, check=True)  # noqa: S603 - our own manage.py
    if args.replicate > 1:
        _replicate(args.replicate)
    # Fresh statistics, so the planner sees the cohort as it is (autovacuum may not have run),
    # and the visibility map set, so index-only scans (the navbar's counts) need no heap visit.
    subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "dbshell", "--", "-c", "VACUUM ANALYZE"],
        cwd=ROOT,
        check=True,
    )
    setup_django()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM patients_patient")
        patients = cursor.fetchone()[0]
    peak_mib = (
        max(
            resource.getrusage(w).ru_maxrss
            for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        )
        / 1024
    )
    print(
        f"cohort of {patients} patients built in "
        f"{time.perf_counter() - started:.0f} s (Python peak {peak_mib:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
