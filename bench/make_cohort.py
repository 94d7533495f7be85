"""Build the large synthetic cohort the benchmarks run on (PostgreSQL).

DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_bench python bench/make_cohort.py --patients 10000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from harness import ROOT


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=10000)
    args = parser.parse_args()
    started = time.perf_counter()
    for command in (
        ["migrate", "--noinput", "-v0"],
        ["seed_demo", "--patients", str(args.patients)],
    ):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, check=True)  # noqa: S603 - our own manage.py
    # Fresh statistics, so the planner sees the cohort as it is (autovacuum may not have run),
    # and the visibility map set, so index-only scans (the navbar's counts) need no heap visit.
    subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "dbshell", "--", "-c", "VACUUM ANALYZE"],
        cwd=ROOT,
        check=True,
    )
    print(f"cohort of {args.patients} patients built in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
