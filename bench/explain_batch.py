"""The plans of one sweep batch's reads: every SELECT a batch runs, under
``EXPLAIN (ANALYZE, BUFFERS)`` (PostgreSQL), with its time, the rows it read and kept, and
its buffers. The batch's writes are rolled back: the cohort is left as it was.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_bench python bench/explain_batch.py
    ... --batch 500 --offset 0 --plans     # the full plan of every read as well

The batch is ``--batch`` patients of the sweep's scope from ``--offset`` (in id order), as
the full sweep takes them; with ``--due``, of the patients due on ``--as-of``, as the
incremental sweep takes them. Rows read per node are PostgreSQL's own counts (rows returned by
each scan plus the rows its filter removed).
"""

from __future__ import annotations

import argparse
import os
import re

from harness import setup_django


class _Rollback(Exception):
    pass


def _scans(plan: dict, found: list) -> list:
    """Every scan node of a JSON plan: (node, relation, index, rows returned x loops,
    rows removed by its filter x loops)."""
    loops = plan.get("Actual Loops", 1)
    if "Relation Name" in plan or "Index Name" in plan:
        found.append(
            (
                plan["Node Type"],
                plan.get("Relation Name", ""),
                plan.get("Index Name", ""),
                round(plan.get("Actual Rows", 0) * loops),
                round(
                    (
                        plan.get("Rows Removed by Filter", 0)
                        + plan.get("Rows Removed by Index Recheck", 0)
                    )
                    * loops
                ),
            )
        )
    for child in plan.get("Plans", []):
        _scans(child, found)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: today)")
    parser.add_argument("--plans", action="store_true", help="print each text plan")
    parser.add_argument("--match", default="", help="only reads whose SQL contains this")
    parser.add_argument("--due", action="store_true", help="the patients due on --as-of")
    args = parser.parse_args()
    setup_django()
    import json
    from datetime import date

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from monitoring.evaluation import patients_evaluate, sweep_patient_ids

    as_of = date.fromisoformat(args.as_of) if args.as_of else timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    scope = sweep_patient_ids(due_on=as_of) if args.due else sweep_patient_ids()
    ids = scope[args.offset : args.offset + args.batch]
    print(f"batch: {len(ids)} patients from offset {args.offset}; as_of {as_of}")
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    captured = CaptureQueriesContext(connection)
    try:
        with transaction.atomic(), captured:
            patients_evaluate(ids, as_of=as_of)
            raise _Rollback
    except _Rollback:
        pass
    total_ms = 0.0
    for number, query in enumerate(captured.captured_queries, 1):
        sql = query["sql"]
        if not sql.lstrip().upper().startswith(("SELECT", "WITH", "(")) or args.match not in sql:
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            (doc,) = cursor.fetchone()
            doc = json.loads(doc) if isinstance(doc, str) else doc
            text = ""
            if args.plans:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                text = "\n".join(row[0] for row in cursor.fetchall())
        top = doc[0]
        plan = top["Plan"]
        ms = top["Execution Time"]
        total_ms += ms
        head = re.sub(r"\s+", " ", sql)[:150]
        buffers = plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)
        print(
            f"\n#{number} {ms:.1f} ms (planning {top['Planning Time']:.1f}), "
            f"{plan.get('Actual Rows', 0)} rows out, buffers {buffers}: {head}"
        )
        for node, relation, index, rows, removed in _scans(plan, []):
            print(
                f"    {node} {relation} {index}: {rows} rows"
                + (f", {removed} removed by filter" if removed else "")
            )
        if text:
            print(text)
    print(f"\nreads: {total_ms:.1f} ms in all (execution time)")


if __name__ == "__main__":
    main()
