"""Flags and dose suggestions of the demo cohort, before and after a refactor.

Builds the demo cohort on a fresh SQLite file (``seed_demo`` at a fixed date), runs a full
sweep at a fixed ``as_of`` and writes every flag (patient MRN, kind, severity, status,
message, evidence result ids) and every dose suggestion to JSON; or, with ``--compare``,
compares the new dump with an earlier one and prints every difference (exit 1 on any).

    python bench/compare_flags.py --dump /tmp/flags_before.json
    python bench/compare_flags.py --compare /tmp/flags_before.json

Result ids are stable between runs: the seed is deterministic and the database is new.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from datetime import date, datetime, time
from pathlib import Path

AS_OF = date(2026, 11, 20)


def _fresh_database() -> Path:
    path = Path(tempfile.mkdtemp(prefix="compare_flags_")) / "db.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    return path


def _evidence_ids(evidence) -> list:
    return [e.get("result_id") for e in evidence or [] if isinstance(e, dict)]


def collect(patients: int) -> dict:
    from django.core.management import call_command
    from django.utils import timezone

    from monitoring.evaluation import sweep_run
    from monitoring.models import Flag
    from therapy.models import DoseSuggestion

    call_command("migrate", verbosity=0)
    call_command("seed_demo", patients=patients, as_of=AS_OF, verbosity=0)
    now = timezone.make_aware(datetime.combine(AS_OF, time(12)))
    sweep_run(as_of=AS_OF, now=now)
    flags = [
        {
            "mrn": f.patient.mrn,
            "kind": f.kind,
            "severity": f.severity,
            "status": f.status,
            "message": f.message,
            "evidence": _evidence_ids(f.evidence),
        }
        for f in Flag.objects.select_related("patient").order_by("patient__mrn", "kind", "pk")
    ]
    suggestions = [
        {
            "mrn": s.patient.mrn,
            "kind": s.kind,
            "status": s.status,
            "rule_id": s.rule_id,
            "message": s.message,
            "evidence": _evidence_ids(s.evidence),
        }
        for s in DoseSuggestion.objects.select_related("patient").order_by(
            "patient__mrn", "kind", "pk"
        )
    ]
    return {"as_of": AS_OF.isoformat(), "flags": flags, "suggestions": suggestions}


def differences(before: dict, after: dict) -> list[str]:
    found = []
    for part in ("flags", "suggestions"):
        old = {json.dumps(row, sort_keys=True) for row in before[part]}
        new = {json.dumps(row, sort_keys=True) for row in after[part]}
        found += [f"{part} only before: {row}" for row in sorted(old - new)]
        found += [f"{part} only after:  {row}" for row in sorted(new - old)]
        if len(before[part]) != len(after[part]):
            found.append(f"{part}: {len(before[part])} before, {len(after[part])} after")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--dump", type=Path, help="write the flags and suggestions here")
    what.add_argument("--compare", type=Path, help="compare with this earlier dump")
    parser.add_argument("--patients", type=int, default=150)
    args = parser.parse_args()

    database = _fresh_database()
    from harness import setup_django

    setup_django()
    try:
        found = collect(args.patients)
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(database.parent, ignore_errors=True)
    summary = f"{len(found['flags'])} flags, {len(found['suggestions'])} suggestions"
    if args.dump:
        args.dump.write_text(json.dumps(found, indent=1, sort_keys=True))
        print(f"{summary}, written to {args.dump}")
        return 0
    diffs = differences(json.loads(args.compare.read_text()), found)
    for line in diffs:
        print(line)
    print(f"{summary}, {len(diffs)} differences")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
