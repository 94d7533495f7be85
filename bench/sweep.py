"""The monitoring sweep against its floor: one hand-written SQL query computing the same
overdue-CBC set. Prints both times, the ratio, the sweep's query count and how far the two
sets agree.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_bench python bench/sweep.py

The issue asks for 100,000 patients: build that cohort with
`python bench/make_cohort.py --patients 100000` (about 40 minutes here) and run this again.
"""

from __future__ import annotations

import time

from harness import count_queries, machine, setup_django

# The floor: every active lenalidomide course whose next CBC is overdue on :as_of. The
# interval follows the phase: weekly during an open cytopenia hold, every 14 days in the
# first two cycles (56 days, holds ignored here), every 28 days after; grace 3 days; no CBC
# yet means due at the course start.
FLOOR_SQL = """
WITH last_cbc AS (
    SELECT patient_id, MAX(collected_at)::date AS last_on
    FROM monitoring_labresult
    WHERE test_code = 'ANC' AND entered_in_error_at IS NULL AND collected_at::date <= %(as_of)s
    GROUP BY patient_id
),
courses AS (
    SELECT c.id, c.patient_id, c.start_date,
           EXISTS (SELECT 1 FROM therapy_hold h
                   WHERE h.course_id = c.id AND h.entered_in_error_at IS NULL
                     AND h.reason IN ('neutropenia', 'thrombocytopenia')
                     AND h.start_date <= %(as_of)s AND (h.end_date IS NULL OR h.end_date > %(as_of)s)) AS held
    FROM therapy_maintenancecourse c
    WHERE c.status = 'active' AND c.entered_in_error_at IS NULL AND c.start_date <= %(as_of)s
)
SELECT c.patient_id
FROM courses c LEFT JOIN last_cbc l ON l.patient_id = c.patient_id
WHERE COALESCE(l.last_on + CASE WHEN c.held THEN 7
                                 WHEN l.last_on < c.start_date + 56 THEN 14
                                 ELSE 28 END,
               c.start_date) + 3 < %(as_of)s
"""


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    setup_django()
    from django.db import connection
    from django.utils import timezone

    from monitoring.evaluation import sweep_run
    from monitoring.models import Flag
    from patients.models import Patient

    as_of = timezone.localdate()
    patients = Patient.objects.count()

    def floor():
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL, {"as_of": as_of})
            return {row[0] for row in cursor.fetchall()}

    floor()  # warm the cache the same way the sweep's first batch does
    started = time.perf_counter()
    floor_set = floor()
    floor_s = time.perf_counter() - started

    sweep_run(as_of=as_of)  # warm-up run (opens the flags): the steady state is what beat repeats
    timings = []
    queries = count_queries(lambda: timings.append(_timed(lambda: sweep_run(as_of=as_of))))
    sweep_s = timings[0]

    sweep_set = set(
        Flag.objects.open().filter(kind="cbc_overdue").values_list("patient_id", flat=True)
    )
    both = floor_set & sweep_set
    print(f"machine: {machine()}")
    print(f"patients: {patients}; as of {as_of}")
    print(f"{'':<34} {'seconds':>9} {'overdue':>8}")
    print(f"{'hand-written SQL (floor)':<34} {floor_s:>9.3f} {len(floor_set):>8}")
    print(f"{'sweep (all rules, all patients)':<34} {sweep_s:>9.3f} {len(sweep_set):>8}")
    print(f"ratio sweep / floor: {sweep_s / floor_s:.0f}x   sweep queries: {queries}")
    print(
        f"agreement on the overdue set: {len(both)} in both, {len(floor_set - sweep_set)} only in SQL, "
        f"{len(sweep_set - floor_set)} only in the sweep (the sweep dates the phase from the calendar with holds)"
    )


if __name__ == "__main__":
    main()
