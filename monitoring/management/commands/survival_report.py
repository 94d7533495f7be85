"""``manage.py survival_report``: the Cohort page's estimator on any CSV, so an analyst can
check its numbers against R (``survfit``/``survdiff`` with the default ``conf.type = "log"``).

The event column follows R's ``Surv``: 0/1 (1 = event), 1/2 (2 = event), or TRUE/FALSE.
"""

from __future__ import annotations

import csv
import json
import math

from django.core.management.base import BaseCommand, CommandError

from monitoring.cohort import estimators

TRUE_WORDS = {"true", "t", "yes"}
FALSE_WORDS = {"false", "f", "no"}


def _events(raw: list[str], column: str) -> list[bool]:
    words = {v.strip().lower() for v in raw}
    if words <= TRUE_WORDS | FALSE_WORDS:
        return [v.strip().lower() in TRUE_WORDS for v in raw]
    try:
        numbers = [float(v) for v in raw]
    except ValueError as error:
        raise CommandError(
            f"Column {column!r} must hold 0/1, 1/2 or TRUE/FALSE event codes: {error}."
        ) from error
    codes = set(numbers)
    if codes <= {0.0, 1.0}:
        return [n == 1 for n in numbers]
    if codes <= {1.0, 2.0}:
        return [n == 2 for n in numbers]  # R's Surv: 1 = censored, 2 = event
    raise CommandError(
        f"Column {column!r} must hold 0/1 or 1/2 event codes, found {sorted(codes)}."
    )


def _times(raw: list[str], column: str) -> list[float]:
    try:
        times = [float(v) for v in raw]
    except ValueError as error:
        raise CommandError(f"Column {column!r} must hold numbers: {error}.") from error
    if any(not math.isfinite(t) or t < 0 for t in times):
        raise CommandError(f"Column {column!r} must hold finite times that are not negative.")
    return times


def report(rows: list[dict], *, time: str, event: str, group: str | None) -> dict:
    """The JSON report {"groups": {name: {n, events, median, ci}}, "logrank": {...} or None}
    (CI: R's default log type), and the log-log CI of each group for the text report."""
    for column in filter(None, (time, event, group)):
        if rows and column not in rows[0]:
            raise CommandError(f"The CSV has no column {column!r}.")
    # Rows with a missing time or event are left out, as R's na.action does.
    rows = [
        r for r in rows if r[time].strip() not in ("", "NA") and r[event].strip() not in ("", "NA")
    ]
    if not rows:
        raise CommandError("The CSV has no rows with a time and an event.")
    times = _times([r[time] for r in rows], time)
    events = _events([r[event] for r in rows], event)
    labels = [r[group] for r in rows] if group else ["all"] * len(rows)
    groups, loglog = {}, {}
    for name in sorted(set(labels)):
        picked = [i for i, label in enumerate(labels) if label == name]
        km = estimators.kaplan_meier([times[i] for i in picked], [events[i] for i in picked])
        groups[name] = {
            "n": km.n,
            "events": km.events,
            "median": km.median.estimate,
            "ci": [km.median.lower, km.median.upper],
        }
        loglog[name] = [km.median_loglog.lower, km.median_loglog.upper]
    test = estimators.logrank(times, events, labels) if group else None
    logrank = {"chi2": test.chi2, "df": test.df, "p": test.p} if test else None
    return {"groups": groups, "logrank": logrank}, loglog


def _fmt(value) -> str:
    return "NA" if value is None else f"{value:g}"


class Command(BaseCommand):
    help = "Kaplan-Meier medians (95% CI, R's default log type) and the log-rank test for a CSV."

    def add_arguments(self, parser):
        parser.add_argument("--csv", required=True, help="path to a CSV file with a header row")
        parser.add_argument("--time", required=True, help="column with the follow-up time")
        parser.add_argument("--event", required=True, help="column with the event indicator")
        parser.add_argument("--group", default=None, help="column to compare groups by")
        parser.add_argument("--format", choices=["json", "text"], default="text")

    def handle(self, *args, **options):
        try:
            with open(options["csv"], newline="", encoding="utf-8-sig") as handle:
                rows = list(csv.DictReader(handle))
        except OSError as error:
            raise CommandError(f"Cannot read {options['csv']}: {error.strerror}.") from error
        result, loglog = report(
            rows, time=options["time"], event=options["event"], group=options["group"]
        )
        if options["format"] == "json":
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(
            f"{'group':<16} {'n':>6} {'events':>7} {'median':>9}  95% CI (log)   95% CI (log-log)"
        )
        for name, g in result["groups"].items():
            lo, hi = g["ci"]
            llo, lhi = loglog[name]
            self.stdout.write(
                f"{name:<16} {g['n']:>6} {g['events']:>7} {_fmt(g['median']):>9}  "
                f"{_fmt(lo)}-{_fmt(hi):<10} {_fmt(llo)}-{_fmt(lhi)}"
            )
        if result["logrank"]:
            t = result["logrank"]
            self.stdout.write(
                f"Log-rank: chi-square {t['chi2']:.2f} on {t['df']} df, p = {t['p']:.3g}"
            )
