"""The monitoring sweep against its floor: a hand-written SQL query computing the same
overdue-CBC set the sweep does. Prints the incremental sweep (steady state: about 1% of
patients changed, the rest not due), the first incremental sweep of a day, and the full
safety-net sweep, each interleaved with the floor and repeated (min/median/max of the
ratio), with the set sizes and their agreement.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_bench python bench/make_cohort.py --patients 10000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_bench python bench/sweep.py

Single process: parallel query plans are switched off for the floor and the sweep alike.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import timedelta

from harness import interleaved, machine, setup_django

# The floor: the CBC-overdue set of the sweep, in one statement.
# * in scope: patient active or awaiting maintenance, not entered in error, with an active
#   valid course started on or before :as_of;
# * the last complete CBC: WBC, ANC, PLT and HGB of one draw (one collected_at), on or
#   before the end of :as_of, dated in the clinic's time zone;
# * its phase, read on the course calendar: weekly (7 days) when a cytopenia hold covers
#   that CBC or :as_of; otherwise the cycle on that date, holds pausing the cycle count
#   (cycles 1-2: 14 days, then 28);
# * due one interval after it (the course start without one); overdue after a 3-day grace.
# Thresholds are the seeded defaults (the bench cohort has no clinic overrides).
FLOOR_SQL = """
WITH scope AS (
    SELECT c.id AS course_id, c.patient_id, c.start_date, c.cycle_days
    FROM therapy_maintenancecourse c
    JOIN patients_patient p ON p.id = c.patient_id
    WHERE c.status = 'active' AND c.entered_in_error_at IS NULL AND c.start_date <= %(as_of)s
      AND p.status IN ('active', 'pre_maintenance') AND p.entered_in_error_at IS NULL
),
last_cbc AS (
    SELECT s.course_id, (d.collected_at AT TIME ZONE %(tz)s)::date AS last_on
    FROM scope s
    CROSS JOIN LATERAL (
        SELECT r.collected_at
        FROM monitoring_labresult r
        WHERE r.patient_id = s.patient_id AND r.entered_in_error_at IS NULL
          AND r.test_code IN ('WBC', 'ANC', 'PLT', 'HGB') AND r.collected_at <= %(upto)s
        GROUP BY r.collected_at
        HAVING COUNT(DISTINCT r.test_code) = 4
        ORDER BY r.collected_at DESC
        LIMIT 1
    ) d
),
phased AS (
    SELECT s.*, l.last_on,
        EXISTS (
            SELECT 1 FROM therapy_hold h
            WHERE h.course_id = s.course_id AND h.entered_in_error_at IS NULL
              AND h.reason IN ('neutropenia', 'thrombocytopenia')
              AND ((h.start_date <= %(as_of)s AND (h.end_date IS NULL OR h.end_date > %(as_of)s))
                   OR (h.start_date <= l.last_on AND (h.end_date IS NULL OR h.end_date > l.last_on)))
        ) AS held,
        ((l.last_on - s.start_date) - COALESCE((
            SELECT SUM(LEAST(COALESCE(h.end_date, l.last_on), l.last_on) - h.start_date)
            FROM therapy_hold h
            WHERE h.course_id = s.course_id AND h.entered_in_error_at IS NULL
              AND h.start_date < l.last_on
        ), 0)) / s.cycle_days + 1 AS cycle_at_last
    FROM scope s LEFT JOIN last_cbc l ON l.course_id = s.course_id
)
SELECT patient_id
FROM phased
WHERE COALESCE(
    last_on + CASE WHEN held THEN 7
                   WHEN last_on < start_date OR cycle_at_last <= 2 THEN 14
                   ELSE 28 END,
    start_date
) + 3 < %(as_of)s
"""


def fmt(stats) -> str:
    return (
        f"{stats['ms']:>10.1f} {stats['baseline_ms']:>9.1f} "
        f"{stats['ratio_min']:>6.2f}/{stats['ratio_median']:.2f}/{stats['ratio_max']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--full-rounds",
        type=int,
        default=None,
        help="rounds of the full safety-net sweep (default: --rounds); 1 on a large cohort",
    )
    parser.add_argument("--changed", type=float, default=0.01, help="share changed per sweep")
    args = parser.parse_args()
    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from monitoring.evaluation import sweep_patient_ids, sweep_run
    from monitoring.models import Flag
    from patients.lab_selectors import end_of_day
    from patients.services import patient_rules_changed

    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    day = {"as_of": timezone.localdate()}

    def floor() -> set[int]:
        as_of = day["as_of"]
        with connection.cursor() as cursor:
            cursor.execute(
                FLOOR_SQL, {"as_of": as_of, "upto": end_of_day(as_of), "tz": settings.TIME_ZONE}
            )
            return {row[0] for row in cursor.fetchall()}

    in_scope = sweep_patient_ids()
    rng = random.Random(10)  # noqa: S311 - a repeatable sample, not a secret
    changed = max(1, round(len(in_scope) * args.changed))
    counts = {}

    def incremental():
        patient_rules_changed(rng.sample(in_scope, changed))
        counts["incremental"] = sweep_run(as_of=day["as_of"], full=False).patients

    def first_of_day():
        day["as_of"] += timedelta(days=1)
        counts["first"] = sweep_run(as_of=day["as_of"], full=False).patients

    def full():
        counts["full"] = sweep_run(as_of=day["as_of"], full=True).patients

    load_before = os.getloadavg()
    started = time.perf_counter()
    sweep_run(as_of=day["as_of"], full=True)  # the state a steady sweep starts from
    setup_s = time.perf_counter() - started

    full_rounds = args.rounds if args.full_rounds is None else args.full_rounds
    rows = []
    for key, label, fn, repeat, rounds, warmup in (
        (
            "incremental",
            f"steady incremental sweep ({args.changed:.0%} changed)",
            incremental,
            3,
            args.rounds,
            1,
        ),
        ("first", "first incremental sweep of a day", first_of_day, 1, args.rounds, 1),
        # One full round without a warm-up on a large cohort: the warm-up would be a second.
        ("full", "full safety-net sweep", full, 1, full_rounds, 1 if full_rounds > 1 else 0),
    ):
        stats = interleaved(fn, floor, rounds=rounds, repeat=repeat, warmup=warmup)
        rows.append((label, stats, counts[key]))

    floor_set = floor()
    sweep_set = set(
        Flag.objects.open().filter(kind="cbc_overdue").values_list("patient_id", flat=True)
    )
    both = floor_set & sweep_set
    print(f"machine: {machine()}")
    print(
        "load average (1/5/15 min) at the start "
        + "/".join(f"{v:.1f}" for v in load_before)
        + ", at the end "
        + "/".join(f"{v:.1f}" for v in os.getloadavg())
    )
    print(f"patients in the sweep's scope: {len(in_scope)}; last as_of {day['as_of']}")
    print(f"initial full sweep (opening flags): {setup_s:.1f} s")
    print(
        f"{'':<44} {'sweep ms':>10} {'floor ms':>9} {'ratio min/median/max':>20} {'evaluated':>9}"
    )
    for label, stats, evaluated in rows:
        print(f"{label:<44} {fmt(stats)} {evaluated:>9}")
    for label, stats, evaluated in rows[1:]:
        print(f"{label} per patient evaluated: {stats['ms'] / max(1, evaluated):.2f} ms")
    print(
        f"overdue set: floor {len(floor_set)}, sweep {len(sweep_set)}; {len(both)} in both, "
        f"{len(floor_set - sweep_set)} only in SQL, {len(sweep_set - floor_set)} only in the sweep"
    )


if __name__ == "__main__":
    main()
