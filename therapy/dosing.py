"""Lenalidomide maintenance dosing rules: dose levels, renal dosing and count holds.

Pure functions (shared clinical reference, sections 2 and 3). Nothing here changes a
dose: every result is a suggestion a physician confirms. Numbers a clinic may change are
``Threshold`` rows in ``DEFAULTS``; every function takes an optional ``thresholds``
mapping (the current rule settings) laid over those defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from patients.formatting import clinical_number
from patients.rulebook import Finding, SourceStatus, Threshold, in_force

PI_HEME = "Lenalidomide US PI, dose modifications for hematologic toxicity (maintenance)"
PI_RENAL = "Lenalidomide US PI, starting dose adjustment for renal impairment (maintenance)"
PI_START = "Lenalidomide US PI, maintenance therapy following auto-HSCT"
SEED_START = "Seed documents: recommended counts before starting maintenance"
CG_SOURCE = "Cockcroft-Gault (1976), as in clinical reference sec. 3: actual body weight"

LABEL, SEED, COMMON = SourceStatus.LABEL, SourceStatus.SEED, SourceStatus.COMMON
COUNT = "10^9/L"

DEFAULTS: tuple[Threshold, ...] = tuple(
    Threshold(key, Decimal(value), unit, status, source)
    for key, value, unit, status, source in (
        # Hematologic holds: the label interrupts below these counts ...
        ("dosing.hold.anc_below", "0.5", COUNT, LABEL, PI_HEME),
        ("dosing.hold.platelets_below", "30", COUNT, LABEL, PI_HEME),
        # ... and resumes at the next lower level once counts are back at these values.
        ("dosing.resume.anc_at_least", "0.5", COUNT, LABEL, PI_HEME),
        ("dosing.resume.platelets_at_least", "30", COUNT, LABEL, PI_HEME),
        # While held for a cytopenia the label asks for a weekly CBC.
        ("dosing.hold.cbc_interval_days", "7", "days", LABEL, PI_HEME),
        # Renal bands by Cockcroft-Gault CrCl; below the not-studied values the label has
        # no data at all.
        ("dosing.renal.normal_min_crcl", "60", "mL/min", LABEL, PI_RENAL),
        ("dosing.renal.severe_below_crcl", "30", "mL/min", LABEL, PI_RENAL),
        ("dosing.renal.not_studied_below_crcl", "11", "mL/min", LABEL, PI_RENAL),
        ("dosing.renal.not_studied_dialysis_below_crcl", "7", "mL/min", LABEL, PI_RENAL),
        # Once-daily renal starting doses (the maintenance column: common values).
        ("dosing.renal.moderate_dose_mg", "5", "mg", COMMON, PI_RENAL),
        ("dosing.renal.severe_dose_mg", "2.5", "mg", COMMON, PI_RENAL),
        ("dosing.renal.dialysis_dose_mg", "2.5", "mg", COMMON, PI_RENAL),
        ("dosing.start.standard_dose_mg", "10", "mg", LABEL, PI_START),
        # Counts before the first dose: the label minimum ("at least") ...
        ("dosing.start.label_min_anc", "1.0", COUNT, LABEL, PI_START),
        ("dosing.start.label_min_platelets", "75", COUNT, LABEL, PI_START),
        # ... and the seed documents' recommendation ("above", strictly).
        ("dosing.start.recommended_anc_above", "1.5", COUNT, SEED, SEED_START),
        ("dosing.start.recommended_platelets_above", "100", COUNT, SEED, SEED_START),
    )
)


def settings(thresholds: Mapping[str, Threshold] | None) -> dict[str, Threshold]:
    """The defaults with the caller's rule settings laid over them."""
    return in_force(DEFAULTS, thresholds)


def to_decimal(value: object, field: str) -> Decimal:
    """Convert an int, str or Decimal at the edge; floats go through str() to avoid 0.1 noise."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{field} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{field} must be a finite number, got {value!r}")
    return number


# --- Dose levels ------------------------------------------------------------------------


@dataclass(frozen=True)
class DoseLevel:
    """A once-daily dose given on days 1..dosing_days of each cycle."""

    dose_mg: Decimal
    dosing_days: int
    cycle_days: int = 28

    def __post_init__(self) -> None:
        dose = to_decimal(self.dose_mg, "dose_mg")
        if dose <= 0:
            raise ValueError("dose_mg must be positive")
        if not 1 <= self.dosing_days <= self.cycle_days:
            raise ValueError("dosing_days must be between 1 and cycle_days")
        object.__setattr__(self, "dose_mg", dose)

    @property
    def label(self) -> str:
        return f"{format_mg(self.dose_mg)} mg days 1-{self.dosing_days} of {self.cycle_days}"

    @property
    def mg_per_cycle(self) -> Decimal:
        return self.dose_mg * self.dosing_days

    def as_json(self) -> dict:
        """As stored with a finding (``rulebook.jsonable``)."""
        return {
            "dose_mg": format_mg(self.dose_mg),
            "dosing_days": self.dosing_days,
            "cycle_days": self.cycle_days,
            "label": self.label,
        }


def format_mg(dose_mg: Decimal) -> str:
    """10 -> "10", 2.50 -> "2.5" (never "1E+1")."""
    return f"{dose_mg.normalize():f}"


LEVEL_15_28 = DoseLevel(Decimal("15"), 28)
LEVEL_10_28 = DoseLevel(Decimal("10"), 28)  # label maintenance start
LEVEL_10_21 = DoseLevel(Decimal("10"), 21)  # common practice (Myeloma XI, GIMEMA)
LEVEL_5_28 = DoseLevel(Decimal("5"), 28)
LEVEL_5_21 = DoseLevel(Decimal("5"), 21)  # label floor
LEVEL_2_5_28 = DoseLevel(Decimal("2.5"), 28)  # renal dosing; seed 10 -> 5 -> 2.5

# The label's reduction ladder for maintenance; the last rung is the floor.
LADDER: tuple[DoseLevel, ...] = (LEVEL_15_28, LEVEL_10_28, LEVEL_5_28, LEVEL_5_21)
FLOOR = LADDER[-1]

SELECTABLE_LEVELS: tuple[DoseLevel, ...] = (
    LEVEL_15_28,
    LEVEL_10_28,
    LEVEL_10_21,
    LEVEL_5_28,
    LEVEL_5_21,
    LEVEL_2_5_28,
)

# Reductions for the selectable levels that are not on the ladder:
# - 10 mg days 1-21 keeps its 21-day schedule and drops to 5 mg, which is the label floor
#   (the label only says "next lower dose"; switching a 21-day patient to 28 days of 5 mg
#   would not be lower in its schedule, and 5 mg days 1-21 is the lowest level allowed).
# - 2.5 mg days 1-28 is a renal starting dose below the label floor: nothing lower exists,
#   so a further hold there leads to a discontinuation review. The seed's 10 -> 5 -> 2.5
#   path stays available as a level the physician selects, never an automatic step.
_OFF_LADDER_NEXT: dict[DoseLevel, DoseLevel | None] = {
    LEVEL_10_21: LEVEL_5_21,
    LEVEL_2_5_28: None,
}


def is_on_ladder(level: DoseLevel) -> bool:
    return level in LADDER


def next_lower(level: DoseLevel) -> DoseLevel | None:
    """The level to resume at after a hold, or None when there is no lower level.

    On the ladder: the next rung (None at the floor). For 10 mg days 1-21 and 2.5 mg see
    ``_OFF_LADDER_NEXT``. Any other level: the highest rung giving less drug per cycle.
    """
    if is_on_ladder(level):
        position = LADDER.index(level)
        return LADDER[position + 1] if level != FLOOR else None
    if level in _OFF_LADDER_NEXT:
        return _OFF_LADDER_NEXT[level]
    lower = [rung for rung in LADDER if rung.mg_per_cycle < level.mg_per_cycle]
    return lower[0] if lower else None


# --- Renal function -------------------------------------------------------------------

UMOL_PER_MG_DL_CREATININE = Decimal("88.4")
FEMALE_FACTOR = Decimal("0.85")
SEXES = ("female", "male")


def creatinine_umol_to_mg_dl(creatinine_umol_l: Decimal | int | str) -> Decimal:
    """Serum creatinine umol/L -> mg/dL (divide by 88.4, reference sec. 3 and 8)."""
    value = to_decimal(creatinine_umol_l, "creatinine_umol_l")
    if value <= 0:
        raise ValueError("creatinine_umol_l must be positive")
    return value / UMOL_PER_MG_DL_CREATININE


def crcl_cockcroft_gault(
    *,
    age_years: Decimal | int | str,
    weight_kg: Decimal | int | str,
    creatinine_mg_dl: Decimal | int | str,
    sex_at_birth: str,
) -> Finding:
    """CrCl (mL/min) = (140 - age) x weight / (72 x creatinine), x 0.85 if female."""
    age = _positive(age_years, "age_years")
    weight = _positive(weight_kg, "weight_kg")
    creatinine = _positive(creatinine_mg_dl, "creatinine_mg_dl")
    if age >= 140:
        raise ValueError("age_years must be below 140 for Cockcroft-Gault")
    if sex_at_birth not in SEXES:
        raise ValueError("sex_at_birth must be 'female' or 'male'")

    crcl = (140 - age) * weight / (72 * creatinine)
    if sex_at_birth == "female":
        crcl *= FEMALE_FACTOR
    crcl = crcl.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return Finding(
        rule_id="dosing.crcl_cockcroft_gault",
        outcome="computed",
        message=f"Cockcroft-Gault CrCl {crcl} mL/min",
        values={
            "crcl_ml_min": crcl,
            "age_years": age,
            "weight_kg": weight,
            "creatinine_mg_dl": creatinine,
            "sex_at_birth": sex_at_birth,
        },
        source=CG_SOURCE,
    )


def _positive(value: object, field: str) -> Decimal:
    number = to_decimal(value, field)
    if number <= 0:
        raise ValueError(f"{field} must be positive, got {value!r}")
    return number


RENAL_BANDS = ("normal", "moderate", "severe", "dialysis")


def renal_band(
    crcl_ml_min: Decimal | int | str,
    on_dialysis: bool,
    thresholds: Mapping[str, Threshold] | None = None,
) -> Finding:
    """The label's renal band for a maintenance starting dose, with the suggested level.

    >= 60 normal (standard start); 30 to < 60 moderate (5 mg daily); < 30 severe
    (2.5 mg daily); on dialysis 2.5 mg daily given after dialysis on dialysis days.
    Below 11 mL/min (7 on dialysis) the label has no data: values["not_studied"] is True
    and the message says the dose was not studied instead of suggesting one.
    """
    t = settings(thresholds)
    crcl = to_decimal(crcl_ml_min, "crcl_ml_min")
    band, dose_key = _band_and_dose_key(crcl, on_dialysis, t)
    level = DoseLevel(t[dose_key].value, 28)
    not_studied_key = (
        "dosing.renal.not_studied_dialysis_below_crcl"
        if on_dialysis
        else "dosing.renal.not_studied_below_crcl"
    )
    not_studied = crcl < t[not_studied_key].value

    shown = clinical_number(crcl)
    if not_studied:
        limit = clinical_number(t[not_studied_key].value)
        where = " on dialysis" if on_dialysis else ""
        message = (
            f"CrCl {shown} mL/min{where}: below {limit} mL/min the dose was not studied "
            "(label); no renal dose can be suggested"
        )
    else:
        message = (
            f"CrCl {shown} mL/min: {band} renal band, suggested start "
            f"{format_mg(level.dose_mg)} mg once daily ({level.label})"
        )
        if band == "dialysis":
            message += ", given after dialysis on dialysis days"
    used = [
        t["dosing.renal.normal_min_crcl"],
        t["dosing.renal.severe_below_crcl"],
        t[not_studied_key],
        t[dose_key],
    ]
    return Finding(
        rule_id="dosing.renal_band",
        outcome=band,
        message=message,
        values={
            "crcl_ml_min": crcl,
            "on_dialysis": on_dialysis,
            "suggested_level": level,
            "not_studied": not_studied,
        },
        thresholds=tuple(used),
        source=PI_RENAL,
    )


def _band_and_dose_key(
    crcl: Decimal, on_dialysis: bool, t: Mapping[str, Threshold]
) -> tuple[str, str]:
    if on_dialysis:
        return "dialysis", "dosing.renal.dialysis_dose_mg"
    if crcl >= t["dosing.renal.normal_min_crcl"].value:
        return "normal", "dosing.start.standard_dose_mg"
    if crcl >= t["dosing.renal.severe_below_crcl"].value:
        return "moderate", "dosing.renal.moderate_dose_mg"
    return "severe", "dosing.renal.severe_dose_mg"


def renal_band_crossed(
    previous_crcl: Decimal | int | str | None,
    current_crcl: Decimal | int | str,
    on_dialysis: bool,
    thresholds: Mapping[str, Threshold] | None = None,
    *,
    previous_on_dialysis: bool | None = None,
) -> Finding | None:
    """Suggest a renal dose review when CrCl moves into another band; None otherwise.

    Never changes the active dose (reference sec. 3). Without a previous value there is
    nothing to cross. ``previous_on_dialysis`` defaults to ``on_dialysis``.
    """
    if previous_crcl is None:
        return None
    was_on_dialysis = on_dialysis if previous_on_dialysis is None else previous_on_dialysis
    before = renal_band(previous_crcl, was_on_dialysis, thresholds)
    now = renal_band(current_crcl, on_dialysis, thresholds)
    if before.outcome == now.outcome:
        return None
    return Finding(
        rule_id="dosing.renal_band_crossed",
        outcome="renal_dose_review",
        message=(
            f"Renal band changed from {before.outcome} to {now.outcome}: review the dose "
            f"(a new start would be {now.values['suggested_level'].label}); dose not changed"
        ),
        values={
            "previous_crcl_ml_min": before.values["crcl_ml_min"],
            "current_crcl_ml_min": now.values["crcl_ml_min"],
            "previous_band": before.outcome,
            "current_band": now.outcome,
            "suggested_level": now.values["suggested_level"],
            "not_studied": now.values["not_studied"],
        },
        thresholds=now.thresholds,
        source=PI_RENAL,
    )


# --- Hematologic holds ------------------------------------------------------------------


def hematologic_dose_guidance(
    *,
    anc: Decimal | int | str | None,
    platelets: Decimal | int | str | None,
    current_level: DoseLevel,
    on_hold_for_cytopenia: bool,
    thresholds: Mapping[str, Threshold] | None = None,
) -> Finding:
    """Hold, resume lower, discontinuation review or continue, from ANC and platelets.

    Label (maintenance): interrupt at ANC < 0.5 or platelets < 30 with a weekly CBC;
    when both recover (>= 0.5 and >= 30) resume at the next lower level; at 5 mg days
    1-28 that is 5 mg days 1-21, the floor. A hold trigger at the floor, or with no lower
    level to resume at, suggests a discontinuation review.
    A known count below its limit decides on its own; otherwise a missing count gives
    "unknown" because recovery (or its absence) cannot be confirmed.
    """
    t = settings(thresholds)
    anc_value = None if anc is None else to_decimal(anc, "anc")
    plt_value = None if platelets is None else to_decimal(platelets, "platelets")
    # Not yet held: the hold limits apply. Already held: counts must reach the resume limits.
    if on_hold_for_cytopenia:
        low_keys = ("dosing.resume.anc_at_least", "dosing.resume.platelets_at_least")
    else:
        low_keys = ("dosing.hold.anc_below", "dosing.hold.platelets_below")
    too_low = _below(anc_value, t[low_keys[0]]) or _below(plt_value, t[low_keys[1]])
    used = (t[low_keys[0]], t[low_keys[1]], t["dosing.hold.cbc_interval_days"])
    resume_level = next_lower(current_level)
    values = {
        "anc": anc_value,
        "platelets": plt_value,
        "current_level": current_level,
        "on_hold_for_cytopenia": on_hold_for_cytopenia,
        "suggested_level": resume_level,
    }

    def finding(outcome: str, message: str, **extra: object) -> Finding:
        return Finding(
            rule_id="dosing.hematologic_dose_guidance",
            outcome=outcome,
            message=message,
            values={**values, **extra},
            thresholds=used,
            source=PI_HEME,
        )

    cbc_days = int(t["dosing.hold.cbc_interval_days"].value)
    interrupted = too_low or on_hold_for_cytopenia
    if not too_low and (anc_value is None or plt_value is None):
        return finding("unknown", "ANC and platelets are both needed", suggested_level=None)
    if interrupted and resume_level is None:
        return finding(
            "discontinuation_review",
            f"Cytopenia at {current_level.label} with no lower level to resume at: "
            f"interrupt and review whether to discontinue; CBC every {cbc_days} days",
            cbc_interval_days=cbc_days,
        )
    if too_low:
        return finding(
            "hold",
            f"Interrupt lenalidomide; CBC every {cbc_days} days; "
            f"on recovery resume at {resume_level.label}",
            cbc_interval_days=cbc_days,
        )
    if on_hold_for_cytopenia:
        return finding("resume_lower", f"Counts recovered: resume at {resume_level.label}")
    return finding(
        "continue", f"Counts allow {current_level.label} to continue", suggested_level=None
    )


def _below(value: Decimal | None, threshold: Threshold) -> bool:
    return value is not None and value < threshold.value
