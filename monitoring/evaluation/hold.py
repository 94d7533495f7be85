"""Lenalidomide hold guidance from ANC and platelets: the hold flag, raised, worded and
resolved here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitoring.evaluation.common import Desired, K, _evidence, _shown
from monitoring.rules import flags as flag_rules
from patients.rulebook import Finding
from therapy import dosing

if TYPE_CHECKING:
    from monitoring.evaluation.gather import _Batch


def _hold(batch: _Batch, pid: int, snap, t) -> tuple[dict[str, Desired], str, Finding | None]:
    """Hold guidance from the latest ANC and platelets (therapy.dosing).

    Returns the desired hold flag, the suggestion kind for a held course ("resume_lower"),
    and the finding; outcome "unknown" keeps whatever flag is open.
    """
    if not snap.includes_lenalidomide or snap.current_level is None:
        return {}, "", None
    anc = batch.latest.get((pid, "ANC"))
    plt = batch.latest.get((pid, "PLT"))
    if snap.held_for_cytopenia and anc and plt and anc[0].collected_at != plt[0].collected_at:
        # Recovery must be shown by one blood draw: the older count may predate the hold,
        # so it is treated as unknown (no resume suggestion from stale platelets, or ANC).
        if anc[0].collected_at > plt[0].collected_at:
            plt = None
        else:
            anc = None
    guidance = dosing.hematologic_dose_guidance(
        anc=anc[0].canonical_value if anc else None,
        platelets=plt[0].canonical_value if plt else None,
        current_level=snap.current_level,
        on_hold_for_cytopenia=snap.held_for_cytopenia,
        thresholds=t,
    )
    evidence = [_evidence(rows[0]) for rows in (anc, plt) if rows]
    counts = ", ".join(_shown(rows[0]) for rows in (anc, plt) if rows)
    if guidance.outcome == "discontinuation_review" or (
        guidance.outcome == "hold" and not snap.held_for_cytopenia
    ):
        kind = "discontinuation_review" if guidance.outcome == "discontinuation_review" else "hold"
        return (
            {
                K.HOLD_RECOMMENDED: Desired(
                    kind=K.HOLD_RECOMMENDED,
                    severity=flag_rules.URGENT,
                    message=f"{counts}: {guidance.message}. A physician decides.",
                    finding=guidance,
                    evidence=evidence,
                    suggestion_kind=kind,
                )
            },
            "",
            guidance,
        )
    if guidance.outcome == "resume_lower":
        return {}, "resume_lower", guidance
    return {}, "", guidance


def _hold_resolution(kind: str, batch: _Batch, pid: int):
    anc = batch.latest.get((pid, "ANC"))
    plt = batch.latest.get((pid, "PLT"))
    rows = [r[0] for r in (anc, plt) if r]
    snap = batch.snapshots.get(pid)
    if snap is not None and snap.on_hold:
        return "Lenalidomide is on hold.", [_evidence(r) for r in rows]
    return "Counts no longer meet the hold limits.", [_evidence(r) for r in rows]
