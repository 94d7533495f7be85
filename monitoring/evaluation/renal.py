"""Renal dose review (Cockcroft-Gault CrCl, renal band): raised, worded and resolved here."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import TYPE_CHECKING

from monitoring.evaluation.common import Desired, K, _evidence
from monitoring.rules import flags as flag_rules
from patients.formatting import clinical_number
from patients.models import LabResult, Patient
from therapy import dosing
from therapy.selectors import crcl_with_weight

if TYPE_CHECKING:
    from monitoring.evaluation.gather import _Batch


def _band_words(crcl: Decimal, on_dialysis: bool, t) -> str:
    """The renal band in words with the label's reference dose (reference sec. 3)."""
    band = dosing.renal_band(crcl, on_dialysis, t)
    level = band.values["suggested_level"]
    normal = clinical_number(t["dosing.renal.normal_min_crcl"].value)
    severe = clinical_number(t["dosing.renal.severe_below_crcl"].value)
    where = {
        "normal": f"CrCl {normal} mL/min or more",
        "moderate": f"CrCl {severe} to below {normal} mL/min",
        "severe": f"CrCl below {severe} mL/min, not on dialysis",
        "dialysis": "on dialysis",
    }[band.outcome]
    dose = f"{dosing.format_mg(level.dose_mg)} mg once daily"
    if band.outcome == "dialysis":
        dose += ", given after dialysis on dialysis days"
    words = f"Renal band: {band.outcome} ({where}); label reference dose {dose}."
    if band.values["not_studied"]:
        key = (
            "dosing.renal.not_studied_dialysis_below_crcl"
            if on_dialysis
            else "dosing.renal.not_studied_below_crcl"
        )
        words += (
            f" CrCl below {clinical_number(t[key].value)} mL/min was not studied (label): "
            "decide with care."
        )
    return words + " A physician reviews the dose; it has not been changed."


def _renal_above_band(
    snap, rows: list[LabResult], current, current_crcl, on_dialysis: bool, t
) -> dict[str, Desired]:
    """On a course at a dose above the label's reference dose for CrCl below 30 mL/min (or
    on dialysis): a renal dose review, even without a band crossing (reference sec. 3)."""
    band = dosing.renal_band(current_crcl, on_dialysis, t)
    level = snap.current_level if snap is not None else None
    if band.outcome not in ("severe", "dialysis") or level is None:
        return {}
    if level.dose_mg <= band.values["suggested_level"].dose_mg:
        return {}
    finding = dataclasses.replace(
        band,
        rule_id="dosing.renal_band.after_start",
        outcome="renal_dose_review",
        values={**band.values, "current": current.values, "current_level": level},
    )
    return {
        K.RENAL_DOSE_REVIEW: Desired(
            kind=K.RENAL_DOSE_REVIEW,
            severity=flag_rules.ATTENTION,
            message=(
                f"Creatinine clearance {clinical_number(current_crcl, 1)} mL/min (Cockcroft-Gault, "
                f"creatinine {clinical_number(rows[0].canonical_value, 2)} mg/dL on "
                f"{rows[0].collected_on}) while dosing "
                f"{dosing.format_mg(level.dose_mg)} mg. "
                f"{_band_words(current_crcl, on_dialysis, t)}"
            ),
            finding=finding,
            evidence=[_evidence(rows[0])],
            suggestion_kind="renal_dose_review",
        )
    }


def _renal(
    batch: _Batch, pid: int, patient: Patient, t, snap=None
) -> tuple[dict[str, Desired], Decimal | None, dict]:
    rows = batch.latest.get((pid, "CREAT"), [])
    weights = batch.weights.get(pid, [])
    on_dialysis = bool(getattr(getattr(patient, "diagnosis", None), "on_dialysis", False))

    computed = [
        crcl_with_weight(
            patient,
            creatinine_mg_dl=r.canonical_value,
            collected_at=r.collected_at,
            weights=weights,
        )
        for r in rows
    ]
    if not computed or computed[0] is None:
        return {}, None, {}
    current, current_weight = computed[0].finding, computed[0].weight
    current_crcl = current.values["crcl_ml_min"]
    band = dosing.renal_band(current_crcl, on_dialysis, t).outcome
    info = {"current_band": band}
    above = _renal_above_band(snap, rows, current, current_crcl, on_dialysis, t)
    if len(computed) < 2 or computed[1] is None:
        return above, current_crcl, info
    previous, previous_weight = computed[1].finding, computed[1].weight
    crossed = dosing.renal_band_crossed(
        previous.values["crcl_ml_min"], current_crcl, on_dialysis, t
    )
    if crossed is None:
        return above, current_crcl, info
    used = (
        f"creatinine {clinical_number(rows[0].canonical_value, 2)} mg/dL on "
        f"{rows[0].collected_on} with weight {clinical_number(current_weight.weight_kg, 1)} kg "
        f"of {current_weight.measured_on}; before: creatinine {clinical_number(rows[1].canonical_value, 2)} "
        f"mg/dL with weight {clinical_number(previous_weight.weight_kg, 1)} kg of "
        f"{previous_weight.measured_on}"
    )
    finding = dataclasses.replace(
        crossed,
        values={
            **crossed.values,
            "current": current.values,
            "previous": previous.values,
            "current_weight_on": current_weight.measured_on,
            "previous_weight_on": previous_weight.measured_on,
        },
    )
    return (
        {
            K.RENAL_DOSE_REVIEW: Desired(
                kind=K.RENAL_DOSE_REVIEW,
                severity=flag_rules.ATTENTION,
                message=(
                    f"Creatinine clearance {clinical_number(previous.values['crcl_ml_min'], 1)} -> "
                    f"{clinical_number(current_crcl, 1)} mL/min (Cockcroft-Gault: {used}). Renal "
                    f"band changed from {crossed.values['previous_band']} to "
                    f"{crossed.values['current_band']}. {_band_words(current_crcl, on_dialysis, t)}"
                ),
                finding=finding,
                evidence=[_evidence(rows[0]), _evidence(rows[1])],
                suggestion_kind="renal_dose_review",
            )
        },
        current_crcl,
        info,
    )


def _renal_resolution(kind: str, batch: _Batch, pid: int):
    rows = batch.latest.get((pid, "CREAT"), [])
    return "No renal band change since the review.", [_evidence(r) for r in rows[:1]]
