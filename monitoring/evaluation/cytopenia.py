"""Cytopenia flags (CTCAE grade of the latest count): raised, worded and resolved here."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from monitoring.evaluation.common import Desired, _evidence, _graded, _shown
from monitoring.rules import flags as flag_rules

if TYPE_CHECKING:
    from monitoring.evaluation.gather import _Batch


def _cytopenias(batch: _Batch, pid: int, t, interval_days: int | None) -> dict[str, Desired]:
    """Graded cytopenias; a count older than the CBC interval in force is marked stale."""
    desired = {}
    for code, kind in flag_rules.CYTOPENIA_KIND_BY_CODE.items():
        graded = _graded(batch, pid, code, t)
        if graded is None:
            continue
        latest = batch.latest[(pid, code)][0]
        if not flag_rules.cytopenia_flagged(graded.grade, t):
            continue
        collected_on = latest.collected_on
        stale = flag_rules.count_is_stale(
            count_age_days=(batch.as_of - collected_on).days,
            interval_days=interval_days,
            thresholds=t,
        )
        message = (
            f"{_shown(latest)} (collected {collected_on}): "
            f"{graded.label} {kind} (CTCAE v{graded.version})."
            + (" Preliminary result." if latest.result_status == "preliminary" else "")
        )
        finding = graded.finding
        if stale:
            message += (
                f" Stale: this count is older than the {interval_days}-day CBC interval now "
                "in force; repeat the CBC."
            )
            finding = dataclasses.replace(
                finding,
                values={**finding.values, "stale": True, "cbc_interval_days": interval_days},
                thresholds=(*finding.thresholds, t["flags.cytopenia.stale_after_intervals"]),
            )
        desired[kind] = Desired(
            kind=kind,
            severity=flag_rules.cytopenia_severity(graded.grade),
            message=message,
            finding=finding,
            evidence=[_evidence(latest)],
            ctcae_grade=graded.grade,
            ctcae_version=graded.version,
            notify=flag_rules.notify_for_grade(graded.grade, t),
        )
    return desired


def _cytopenia_resolution(kind: str, batch: _Batch, pid: int):
    code = {v: k for k, v in flag_rules.CYTOPENIA_KIND_BY_CODE.items()}[kind]
    rows = batch.latest.get((pid, code))
    if rows:
        return f"Recovered: {_shown(rows[0])} on {rows[0].collected_on}.", [_evidence(rows[0])]
    return "The result behind this flag was entered in error.", []
