"""Possible progression (IMWG): raised, worded and resolved here."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING

from monitoring.evaluation.common import Desired, K, _evidence
from monitoring.rules import flags as flag_rules
from monitoring.rules import imwg
from patients.models import LabResult, Patient

if TYPE_CHECKING:
    from monitoring.evaluation.gather import _Batch


def _progression(batch: _Batch, pid: int, patient: Patient, t) -> dict[str, Desired]:
    markers = batch.markers.get(pid, [])
    if len(markers) < 2:
        return {}
    diagnosis = getattr(patient, "diagnosis", None)
    points = imwg.marker_points(
        ((r.collected_on, r.test_code, r.canonical_value) for r in markers),
        recorded_chain=diagnosis.light_chain if diagnosis else None,
        thresholds=t,
    )
    finding = imwg.progression(points, thresholds=t)
    if finding.outcome != "progression":
        return {}
    by_day: dict[date, dict[str, LabResult]] = defaultdict(dict)
    for row in markers:
        by_day[row.collected_on][row.test_code] = row
    latest_day = points[-1].on
    nadir_on = finding.values.get("nadir_on")
    evidence = [_evidence(r) for r in by_day[latest_day].values()]
    if nadir_on and nadir_on in by_day:
        evidence += [_evidence(r) for r in by_day[nadir_on].values()]
    return {
        K.POSSIBLE_PROGRESSION: Desired(
            kind=K.POSSIBLE_PROGRESSION,
            severity=flag_rules.URGENT,
            message=f"Possible progression (IMWG): {finding.message}",
            finding=finding,
            evidence=evidence,
            notify=True,
        )
    }


def _progression_resolution(kind: str, batch: _Batch, pid: int):
    markers = batch.markers.get(pid, [])
    return "Latest markers are below the progression level.", [_evidence(r) for r in markers[-4:]]
