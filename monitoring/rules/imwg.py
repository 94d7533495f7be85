"""IMWG response and progression from myeloma markers (Kumar 2016; clinical reference sec. 7).

Everything here is a *suggestion* a physician confirms. Labs alone cannot establish CR or
sCR: those need negative immunofixation and a marrow result, so when the M-protein has
become undetectable and those results are missing the answer is "needs_confirmation".

Units: serum M-protein in g/dL, urine M-protein in mg/24h, free light chains in mg/L
(the FLC criteria written in mg/dL are stored in mg/L: 10 mg/dL = 100 mg/L). The FLC
difference (dFLC) is the involved chain minus the uninvolved chain.

Measurability is judged on the baseline assessment: the markers measurable then are the
ones a response is read from, and the FLC criteria apply only when neither serum nor
urine M-protein was measurable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from decimal import Context, Decimal, localcontext
from typing import Literal

from patients.formatting import clinical_number
from patients.lab_catalogue import flc_ratio
from patients.rulebook import Finding, SourceStatus, Threshold, in_force


def _n(value) -> str:
    """A marker value as a clinician reads it: 1.47, not 1.4700000000."""
    return clinical_number(value, 2)


Involved = Literal["kappa", "lambda"]

KUMAR_2016 = "IMWG consensus criteria for response and MRD (Kumar et al., Lancet Oncol 2016)"
SEED_EVIDENCE = (
    "Seed: about a third of MRD-positive patients convert to negative on maintenance "
    "(mean 18.5 months); patients MRD-negative for 24 months may be candidates to discuss "
    "stopping; sustained CR > 2 years may prompt a 'drug holiday' discussion; Myeloma XI "
    "benefit diminished between 4 and 5 years. These are discussion prompts, never orders."
)

# Best to worst. Each category's criteria include the next one's (a CR also meets VGPR).
RESPONSE_CATEGORIES = ("sCR", "CR", "VGPR", "PR", "MR")

_EXACT = Context(prec=34)
_HUNDRED = Decimal(100)


def _imwg(key: str, value: str, unit: str, source: str) -> Threshold:
    return Threshold(
        key=f"imwg.{key}",
        value=Decimal(value),
        unit=unit,
        status=SourceStatus.GUIDELINE,
        source=f"{KUMAR_2016}: {source}",
    )


DEFAULTS: tuple[Threshold, ...] = (
    _imwg("measurable.serum_m_protein", "1.0", "g/dL", "measurable: serum M-protein >= 1 g/dL"),
    _imwg("measurable.urine_m_protein", "200", "mg/24h", "measurable: urine >= 200 mg/24h"),
    _imwg("measurable.involved_flc", "100", "mg/L", "measurable: involved FLC >= 10 mg/dL"),
    _imwg("flc_ratio.normal_low", "0.26", "ratio", "normal kappa/lambda ratio 0.26-1.65"),
    _imwg("flc_ratio.normal_high", "1.65", "ratio", "normal kappa/lambda ratio 0.26-1.65"),
    _imwg("pd.rise_from_nadir", "25", "%", "PD: >= 25% increase from the lowest value"),
    _imwg("pd.serum_min_rise", "0.5", "g/dL", "PD: serum absolute increase >= 0.5 g/dL"),
    _imwg("pd.serum_high_nadir", "5", "g/dL", "PD: from a nadir >= 5 g/dL a 1 g/dL rise suffices"),
    _imwg("pd.serum_min_rise_high_nadir", "1.0", "g/dL", "PD: increase >= 1 g/dL if nadir >= 5"),
    _imwg("pd.urine_min_rise", "200", "mg/24h", "PD: urine absolute increase >= 200 mg/24h"),
    _imwg("pd.flc_difference_min_rise", "100", "mg/L", "PD: dFLC absolute increase > 10 mg/dL"),
    _imwg("vgpr.serum_fall", "90", "%", "VGPR: >= 90% fall in serum M-protein"),
    _imwg("vgpr.urine_below", "100", "mg/24h", "VGPR: urine M-protein < 100 mg/24h"),
    _imwg("vgpr.flc_difference_fall", "90", "%", "VGPR (FLC-only disease): > 90% fall in dFLC"),
    _imwg("pr.serum_fall", "50", "%", "PR: >= 50% fall in serum M-protein"),
    _imwg("pr.urine_fall", "90", "%", "PR: urine M-protein fall >= 90%"),
    _imwg("pr.urine_below", "200", "mg/24h", "PR: or urine M-protein < 200 mg/24h"),
    _imwg("pr.flc_difference_fall", "50", "%", "PR (FLC-only disease): >= 50% fall in dFLC"),
    _imwg("mr.serum_fall", "25", "%", "MR: 25-49% fall in serum M-protein"),
    _imwg("mr.urine_fall", "50", "%", "MR: urine M-protein fall 50-89%"),
    _imwg("cr.marrow_plasma_cells_below", "5", "%", "CR: < 5% plasma cells in marrow"),
    _imwg("mrd.min_sensitivity_exponent", "5", "10^-n", "MRD negative at >= 10^-5"),
    _imwg("mrd.sustained_months", "12", "months", "sustained MRD negative: >= 1 year apart"),
    Threshold(
        key="seed.discussion.mrd_negative_months",
        value=Decimal(24),
        unit="months",
        status=SourceStatus.SEED,
        source="Seed: MRD-negative for 24 months may be candidates to discuss stopping",
    ),
    Threshold(
        key="seed.discussion.cr_months",
        value=Decimal(24),
        unit="months",
        status=SourceStatus.SEED,
        source="Seed: sustained CR > 2 years may prompt a 'drug holiday' discussion",
    ),
)


@dataclass(frozen=True)
class MarkerPoint:
    """One response assessment: serum and urine M-protein and the free light chains."""

    on: date
    spep_g_dl: Decimal | None = None
    upep_mg_24h: Decimal | None = None
    kappa_mg_l: Decimal | None = None
    lambda_mg_l: Decimal | None = None
    involved: Involved | None = None


def _table(thresholds: Mapping[str, Threshold] | None) -> Mapping[str, Threshold]:
    return in_force(DEFAULTS, thresholds)


def _percent_change(before: Decimal | None, after: Decimal | None) -> Decimal | None:
    """(after - before) / before x 100, exact; negative is a fall. None without a baseline."""
    if before is None or after is None or before <= 0:
        return None
    with localcontext(_EXACT):
        return (after - before) / before * _HUNDRED


def _fall_pct(before: Decimal | None, after: Decimal | None) -> Decimal | None:
    change = _percent_change(before, after)
    return None if change is None else -change


def _shown_pct(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.1"))


# --- Free light chains ---------------------------------------------------------------


def flc_difference(point: MarkerPoint, involved: Involved | None = None) -> Decimal | None:
    """Involved minus uninvolved free light chain, mg/L (divide by 10 for mg/dL).

    ``involved`` defaults to the point's own; None when the chain or a value is missing.
    """
    chain = involved or point.involved
    if chain is None or point.kappa_mg_l is None or point.lambda_mg_l is None:
        return None
    if chain == "kappa":
        return point.kappa_mg_l - point.lambda_mg_l
    return point.lambda_mg_l - point.kappa_mg_l


def _ratio_is_normal(point: MarkerPoint, table: Mapping[str, Threshold]) -> bool | None:
    ratio = flc_ratio(point.kappa_mg_l, point.lambda_mg_l)
    if ratio is None:
        return None
    low = table["imwg.flc_ratio.normal_low"].value
    high = table["imwg.flc_ratio.normal_high"].value
    return low <= ratio <= high


def _involved_chain(point: MarkerPoint, table: Mapping[str, Threshold]) -> Involved | None:
    """The recorded involved chain, else the one an abnormal ratio points to."""
    if point.involved is not None:
        return point.involved
    ratio = flc_ratio(point.kappa_mg_l, point.lambda_mg_l)
    if ratio is None:
        return None
    if ratio > table["imwg.flc_ratio.normal_high"].value:
        return "kappa"
    if ratio < table["imwg.flc_ratio.normal_low"].value:
        return "lambda"
    return None


MARKER_CODES = ("SPEP_M", "UPEP_M24", "FLC_KAPPA", "FLC_LAMBDA")
_POINT_FIELD = {
    "SPEP_M": "spep_g_dl",
    "UPEP_M24": "upep_mg_24h",
    "FLC_KAPPA": "kappa_mg_l",
    "FLC_LAMBDA": "lambda_mg_l",
}


def involved_chain(
    points: Sequence[MarkerPoint],
    recorded: str | None,
    thresholds: Mapping[str, Threshold] | None = None,
) -> Involved | None:
    """The involved (clonal) light chain for a whole series: the one recorded with the
    diagnosis; without it, the one the baseline's abnormal kappa/lambda ratio points to
    (above 1.65 kappa, below 0.26 lambda; reference sec. 7). Judged once, on the first
    assessment, so it never switches from one draw to the next."""
    if recorded in ("kappa", "lambda"):
        return recorded
    ordered = sorted(points, key=lambda point: point.on)
    if not ordered:
        return None
    return _involved_chain(replace(ordered[0], involved=None), _table(thresholds))


def marker_points(
    readings: Iterable[tuple[date, str, Decimal | None]],
    *,
    recorded_chain: str | None,
    thresholds: Mapping[str, Threshold] | None = None,
) -> list[MarkerPoint]:
    """Lab readings ``(collected on, test code, canonical value)``, oldest first, into one
    IMWG assessment per collection date, every point carrying the series' involved chain
    (``involved_chain``). A later reading of a code on the same day replaces an earlier
    one; readings without a value (and other codes) are skipped. The one conversion used
    by the progression flag and the timeline chart, so they cannot disagree."""
    values: dict[date, dict[str, Decimal]] = {}
    for on, code, value in readings:
        field = _POINT_FIELD.get(code)
        if field is not None and value is not None:
            values.setdefault(on, {})[field] = value
    points = [MarkerPoint(on=on, **fields) for on, fields in sorted(values.items())]
    chain = involved_chain(points, recorded_chain, thresholds)
    return [replace(point, involved=chain) for point in points]


# --- Measurable disease --------------------------------------------------------------


@dataclass(frozen=True)
class _Measurable:
    serum: bool
    urine: bool
    flc: bool
    involved: Involved | None

    @property
    def any(self) -> bool:
        return self.serum or self.urine or self.flc

    @property
    def flc_only(self) -> bool:
        return self.flc and not (self.serum or self.urine)

    @property
    def by(self) -> list[str]:
        markers = {
            "serum M-protein": self.serum,
            "urine M-protein": self.urine,
            "free light chains": self.flc,
        }
        return [name for name, measurable in markers.items() if measurable]


def _measurable(baseline: MarkerPoint, table: Mapping[str, Threshold]) -> _Measurable:
    serum_limit = table["imwg.measurable.serum_m_protein"].value
    urine_limit = table["imwg.measurable.urine_m_protein"].value
    flc_limit = table["imwg.measurable.involved_flc"].value
    involved = _involved_chain(baseline, table)
    involved_mg_l = _involved_level(baseline, involved)
    return _Measurable(
        serum=baseline.spep_g_dl is not None and baseline.spep_g_dl >= serum_limit,
        urine=baseline.upep_mg_24h is not None and baseline.upep_mg_24h >= urine_limit,
        flc=(
            involved_mg_l is not None
            and involved_mg_l >= flc_limit
            and _ratio_is_normal(baseline, table) is False
        ),
        involved=involved,
    )


def _involved_level(point: MarkerPoint, involved: Involved | None) -> Decimal | None:
    if involved == "kappa":
        return point.kappa_mg_l
    if involved == "lambda":
        return point.lambda_mg_l
    return None


def measurable_disease(
    baseline: MarkerPoint, thresholds: Mapping[str, Threshold] | None = None
) -> Finding:
    """Serum M >= 1 g/dL, urine M >= 200 mg/24h, or involved FLC >= 10 mg/dL with abnormal ratio."""
    table = _table(thresholds)
    measurable = _measurable(baseline, table)
    involved_mg_l = _involved_level(baseline, measurable.involved)
    has_any_result = any(
        value is not None
        for value in (baseline.spep_g_dl, baseline.upep_mg_24h, baseline.kappa_mg_l)
    )
    if measurable.any:
        outcome, message = "measurable", f"Measurable by {', '.join(measurable.by)}."
    elif has_any_result:
        outcome, message = "not_measurable", "No marker reaches the IMWG measurable level."
    else:
        outcome, message = "not_assessable", "No serum, urine or light chain result."
    return Finding(
        rule_id="imwg.measurable_disease",
        outcome=outcome,
        message=message,
        values={
            "on": baseline.on,
            "spep_g_dl": baseline.spep_g_dl,
            "upep_mg_24h": baseline.upep_mg_24h,
            "involved": measurable.involved,
            "involved_flc_mg_l": involved_mg_l,
            "involved_flc_mg_dl": None if involved_mg_l is None else involved_mg_l / 10,
            "flc_ratio": flc_ratio(baseline.kappa_mg_l, baseline.lambda_mg_l),
            "measurable_by": measurable.by,
        },
        thresholds=tuple(
            table[key]
            for key in (
                "imwg.measurable.serum_m_protein",
                "imwg.measurable.urine_m_protein",
                "imwg.measurable.involved_flc",
                "imwg.flc_ratio.normal_low",
                "imwg.flc_ratio.normal_high",
            )
        ),
        source=KUMAR_2016,
    )


# --- Progression ---------------------------------------------------------------------


def _lowest(
    points: Sequence[MarkerPoint], value_of: Callable[[MarkerPoint], Decimal | None]
) -> tuple[MarkerPoint, Decimal] | None:
    """The point with the lowest value (the earliest on a tie)."""
    measured = [(point, value_of(point)) for point in sorted(points, key=lambda p: p.on)]
    with_value = [(point, value) for point, value in measured if value is not None]
    if not with_value:
        return None
    return min(with_value, key=lambda pair: pair[1])


def nadir(points: Sequence[MarkerPoint]) -> MarkerPoint | None:
    """The assessment with the lowest serum M-protein (the earliest on a tie)."""
    lowest = _lowest(points, lambda point: point.spep_g_dl)
    return None if lowest is None else lowest[0]


def progression_threshold_g_dl(
    nadir_g_dl: Decimal, thresholds: Mapping[str, Threshold] | None = None
) -> Decimal:
    """Serum M-protein at or above which PD is met (the line drawn on the chart).

    Below a 5 g/dL nadir: nadir + max(25% of nadir, 0.5 g/dL). From a 5 g/dL nadir an
    absolute rise of 1 g/dL is sufficient on its own (IMWG footnote), so the line is
    nadir + 1 g/dL; read as "25% and 1 g/dL" the 1 g/dL could never matter.
    """
    table = _table(thresholds)
    if nadir_g_dl >= table["imwg.pd.serum_high_nadir"].value:
        return nadir_g_dl + table["imwg.pd.serum_min_rise_high_nadir"].value
    rise_pct = table["imwg.pd.rise_from_nadir"].value
    floor = table["imwg.pd.serum_min_rise"].value
    return nadir_g_dl + max(nadir_g_dl * rise_pct / _HUNDRED, floor)


@dataclass(frozen=True)
class _RiseCheck:
    marker: str
    unit: str
    nadir: Decimal
    nadir_on: date
    threshold: Decimal
    latest: Decimal
    met: bool


def _serum_check(
    points: Sequence[MarkerPoint], latest: MarkerPoint, table: Mapping[str, Threshold]
) -> _RiseCheck | None:
    lowest = _lowest(points, lambda point: point.spep_g_dl)
    if lowest is None or latest.spep_g_dl is None:
        return None
    threshold = progression_threshold_g_dl(lowest[1], table)
    return _RiseCheck(
        "serum M-protein",
        "g/dL",
        lowest[1],
        lowest[0].on,
        threshold,
        latest.spep_g_dl,
        met=latest.spep_g_dl >= threshold,
    )


def _urine_check(
    points: Sequence[MarkerPoint], latest: MarkerPoint, table: Mapping[str, Threshold]
) -> _RiseCheck | None:
    lowest = _lowest(points, lambda point: point.upep_mg_24h)
    if lowest is None or latest.upep_mg_24h is None:
        return None
    rise_pct = table["imwg.pd.rise_from_nadir"].value
    floor = table["imwg.pd.urine_min_rise"].value
    threshold = lowest[1] + max(lowest[1] * rise_pct / _HUNDRED, floor)
    return _RiseCheck(
        "urine M-protein",
        "mg/24h",
        lowest[1],
        lowest[0].on,
        threshold,
        latest.upep_mg_24h,
        met=latest.upep_mg_24h >= threshold,
    )


def _flc_check(
    points: Sequence[MarkerPoint],
    latest: MarkerPoint,
    involved: Involved | None,
    table: Mapping[str, Threshold],
) -> _RiseCheck | None:
    lowest = _lowest(points, lambda point: flc_difference(point, involved))
    latest_difference = flc_difference(latest, involved)
    if lowest is None or latest_difference is None:
        return None
    nadir_mg_l = lowest[1]
    rise_pct = table["imwg.pd.rise_from_nadir"].value
    # The absolute rise must *exceed* 10 mg/dL (100 mg/L); a negative nadir has no 25% part.
    min_rise = table["imwg.pd.flc_difference_min_rise"].value
    pct_rise = max(nadir_mg_l * rise_pct / _HUNDRED, Decimal(0))
    rise = latest_difference - nadir_mg_l
    return _RiseCheck(
        "FLC difference",
        "mg/L",
        nadir_mg_l,
        lowest[0].on,
        nadir_mg_l + max(pct_rise, min_rise),
        latest_difference,
        met=rise > min_rise and rise >= pct_rise,
    )


def progression(
    points: Sequence[MarkerPoint], *, thresholds: Mapping[str, Threshold] | None = None
) -> Finding:
    """PD suggested by the latest assessment against the nadir of all assessments.

    Steps: sort by date (the first is the baseline, the last is judged); check serum and
    urine M-protein against their nadirs; when neither was measurable at baseline, check
    the FLC difference instead; PD if any check is met. Confirm on a repeat assessment.
    """
    table = _table(thresholds)
    ordered = sorted(points, key=lambda point: point.on)
    pd_thresholds = tuple(
        table[key]
        for key in (
            "imwg.pd.rise_from_nadir",
            "imwg.pd.serum_min_rise",
            "imwg.pd.serum_high_nadir",
            "imwg.pd.serum_min_rise_high_nadir",
            "imwg.pd.urine_min_rise",
            "imwg.pd.flc_difference_min_rise",
        )
    )
    checks: list[_RiseCheck] = []
    if len(ordered) >= 2:
        baseline, latest = ordered[0], ordered[-1]
        measurable = _measurable(baseline, table)
        for check in (_serum_check(ordered, latest, table), _urine_check(ordered, latest, table)):
            if check is not None:
                checks.append(check)
        if not (measurable.serum or measurable.urine):
            flc = _flc_check(ordered, latest, measurable.involved, table)
            if flc is not None:
                checks.append(flc)

    serum = next((check for check in checks if check.marker == "serum M-protein"), None)
    decided_by = next((check for check in checks if check.met), None)
    values: dict[str, object] = {
        "nadir_g_dl": serum.nadir if serum else None,
        "nadir_on": serum.nadir_on if serum else None,
        "threshold_g_dl": serum.threshold if serum else None,
        "latest_g_dl": serum.latest if serum else None,
        "latest_on": ordered[-1].on if ordered else None,
        "criterion": decided_by.marker if decided_by else None,
        "checks": [asdict(check) for check in checks],
    }
    if not checks:
        outcome = "not_assessable"
        message = "Progression cannot be assessed: no marker measured at two assessments."
    elif decided_by is not None:
        outcome = "progression"
        message = (
            f"Suggests progression: {decided_by.marker} {_n(decided_by.latest)} {decided_by.unit} "
            f"reaches {_n(decided_by.threshold)} {decided_by.unit} (nadir {_n(decided_by.nadir)} on "
            f"{decided_by.nadir_on.isoformat()}). Confirm on a repeat assessment."
        )
    else:
        outcome = "no_progression"
        message = "; ".join(
            f"{check.marker} {_n(check.latest)} {check.unit} below the progression level "
            f"{_n(check.threshold)} {check.unit}"
            for check in checks
        )
    return Finding(
        rule_id="imwg.progression",
        outcome=outcome,
        message=message,
        values=values,
        thresholds=pd_thresholds,
        source=KUMAR_2016,
    )


# --- Response ------------------------------------------------------------------------

_SUGGESTION_NOTE = "A suggestion from labs; the physician confirms the response."

_RESPONSE_KEYS = (
    "imwg.measurable.serum_m_protein",
    "imwg.measurable.urine_m_protein",
    "imwg.measurable.involved_flc",
    "imwg.flc_ratio.normal_low",
    "imwg.flc_ratio.normal_high",
    "imwg.vgpr.serum_fall",
    "imwg.vgpr.urine_below",
    "imwg.vgpr.flc_difference_fall",
    "imwg.pr.serum_fall",
    "imwg.pr.urine_fall",
    "imwg.pr.urine_below",
    "imwg.pr.flc_difference_fall",
    "imwg.mr.serum_fall",
    "imwg.mr.urine_fall",
    "imwg.cr.marrow_plasma_cells_below",
)


def suggest_response(
    *,
    baseline: MarkerPoint,
    latest: MarkerPoint,
    immunofixation_negative: bool | None,
    marrow_plasma_cell_pct: Decimal | None,
    marrow_clonal_cells_absent: bool | None = None,
    history: Sequence[MarkerPoint] = (),
    thresholds: Mapping[str, Threshold] | None = None,
) -> Finding:
    """Suggest an IMWG category for ``latest`` against ``baseline``.

    ``immunofixation_negative`` covers serum and urine immunofixation together;
    ``history`` holds the assessments in between, so that PD is judged from the true nadir.

    Steps: not measurable at baseline -> "not_measurable"; a baseline-measurable marker
    missing from the latest assessment -> "needs_confirmation"; PD from the nadir -> "PD";
    M-protein undetectable -> immunofixation and marrow decide VGPR / CR / sCR or
    "needs_confirmation"; otherwise the percentage falls decide VGPR, PR, MR or SD.
    """
    table = _table(thresholds)
    measurable = _measurable(baseline, table)
    involved = measurable.involved
    values: dict[str, object] = {
        "baseline_on": baseline.on,
        "latest_on": latest.on,
        "measurable_by": measurable.by,
        "serum_change_pct": _shown_pct(_percent_change(baseline.spep_g_dl, latest.spep_g_dl)),
        "urine_change_pct": _shown_pct(_percent_change(baseline.upep_mg_24h, latest.upep_mg_24h)),
        "flc_difference_change_pct": _shown_pct(
            _percent_change(flc_difference(baseline, involved), flc_difference(latest, involved))
        ),
        "immunofixation_negative": immunofixation_negative,
        "marrow_plasma_cell_pct": marrow_plasma_cell_pct,
    }

    response_thresholds = tuple(table[key] for key in _RESPONSE_KEYS)

    def suggest(
        category: str,
        criterion: str,
        message: str = "",
        used: tuple[Threshold, ...] | None = None,
    ) -> Finding:
        text = message or f"Suggested response: {category} ({criterion}). {_SUGGESTION_NOTE}"
        return Finding(
            rule_id="imwg.response",
            outcome=category,
            message=text,
            values={**values, "criterion": criterion},
            thresholds=used or response_thresholds,
            source=KUMAR_2016,
        )

    if not measurable.any:
        return suggest(
            "not_measurable",
            "no measurable marker at baseline",
            "No measurable serum M-protein, urine M-protein or light chains at baseline: "
            "response cannot be suggested from labs.",
        )

    missing = _missing_latest(measurable, latest, involved)
    if missing:
        return suggest(
            "needs_confirmation",
            "missing latest result",
            f"Enter {', '.join(missing)} for {latest.on.isoformat()} to suggest a response.",
        )

    pd = progression([baseline, *history, latest], thresholds=table)
    if pd.outcome == "progression":
        return suggest("PD", f"{pd.values['criterion']} rise from nadir", pd.message, pd.thresholds)

    if _m_protein_undetectable(measurable, latest, table):
        complete = _complete_response(
            latest,
            immunofixation_negative=immunofixation_negative,
            marrow_plasma_cell_pct=marrow_plasma_cell_pct,
            marrow_clonal_cells_absent=marrow_clonal_cells_absent,
            table=table,
        )
        if complete is not None:
            category, criterion, message = complete
            return suggest(category, criterion, message)

    category, criterion = _partial_response(measurable, baseline, latest, table)
    return suggest(category, criterion)


def _missing_latest(
    measurable: _Measurable, latest: MarkerPoint, involved: Involved | None
) -> list[str]:
    missing = []
    if measurable.serum and latest.spep_g_dl is None:
        missing.append("serum M-protein")
    if measurable.urine and latest.upep_mg_24h is None:
        missing.append("24-hour urine M-protein")
    if measurable.flc_only and flc_difference(latest, involved) is None:
        missing.append("free kappa and lambda")
    return missing


def _m_protein_undetectable(
    measurable: _Measurable, latest: MarkerPoint, table: Mapping[str, Threshold]
) -> bool:
    """No M-spike on electrophoresis; for FLC-only disease also a normal FLC ratio."""
    measured = [v for v in (latest.spep_g_dl, latest.upep_mg_24h) if v is not None]
    if any(value > 0 for value in measured):
        return False
    if measurable.flc_only:
        return _ratio_is_normal(latest, table) is True
    return bool(measured)


def _complete_response(
    latest: MarkerPoint,
    *,
    immunofixation_negative: bool | None,
    marrow_plasma_cell_pct: Decimal | None,
    marrow_clonal_cells_absent: bool | None,
    table: Mapping[str, Threshold],
) -> tuple[str, str, str] | None:
    """VGPR / CR / sCR / needs_confirmation once the M-spike is gone; None to fall through."""
    if immunofixation_negative is False:
        return (
            "VGPR",
            "M-protein seen only on immunofixation",
            f"Suggested response: VGPR (M-protein seen only on immunofixation). {_SUGGESTION_NOTE}",
        )
    if immunofixation_negative is None or marrow_plasma_cell_pct is None:
        wanted = []
        if immunofixation_negative is None:
            wanted.append("serum and urine immunofixation")
        if marrow_plasma_cell_pct is None:
            wanted.append("bone marrow plasma cell percentage")
        return (
            "needs_confirmation",
            "CR needs immunofixation and marrow",
            "M-protein is undetectable. CR or sCR cannot be suggested from serum alone: "
            f"enter {' and '.join(wanted)} for the physician to confirm.",
        )
    marrow_limit = table["imwg.cr.marrow_plasma_cells_below"].value
    if marrow_plasma_cell_pct >= marrow_limit:
        return None
    if _ratio_is_normal(latest, table) is True and marrow_clonal_cells_absent is True:
        return (
            "sCR",
            "CR with normal FLC ratio and no clonal marrow plasma cells",
            f"Suggested response: sCR. {_SUGGESTION_NOTE}",
        )
    note = ""
    if marrow_clonal_cells_absent is None:
        note = " sCR also needs marrow clonality (IHC or flow) and a normal FLC ratio."
    return (
        "CR",
        f"negative immunofixation and marrow plasma cells < {marrow_limit}%",
        f"Suggested response: CR.{note} {_SUGGESTION_NOTE}",
    )


def _partial_response(
    measurable: _Measurable,
    baseline: MarkerPoint,
    latest: MarkerPoint,
    table: Mapping[str, Threshold],
) -> tuple[str, str]:
    """VGPR, PR, MR or SD from the percentage falls of the baseline-measurable markers."""

    def limit(key: str) -> Decimal:
        return table[f"imwg.{key}"].value

    urine_now = latest.upep_mg_24h
    urine_fall = _fall_pct(baseline.upep_mg_24h, urine_now)

    serum_fall = _fall_pct(baseline.spep_g_dl, latest.spep_g_dl)
    if measurable.serum and serum_fall is not None:
        # Urine conditions apply whenever urine was measured; the fall-based MR condition
        # only when urine was measurable at baseline.
        urine_ok_vgpr = urine_now is None or urine_now < limit("vgpr.urine_below")
        urine_ok_pr = (
            urine_now is None
            or urine_now < limit("pr.urine_below")
            or (urine_fall is not None and urine_fall >= limit("pr.urine_fall"))
        )
        urine_ok_mr = not measurable.urine or (
            urine_fall is not None and urine_fall >= limit("mr.urine_fall")
        )
        shown = f"serum M-protein fall {_shown_pct(serum_fall)}%"
        if serum_fall >= limit("vgpr.serum_fall") and urine_ok_vgpr:
            return "VGPR", f"{shown} ≥ {limit('vgpr.serum_fall')}%"
        if serum_fall >= limit("pr.serum_fall") and urine_ok_pr:
            return "PR", f"{shown} ≥ {limit('pr.serum_fall')}%"
        if serum_fall >= limit("mr.serum_fall") and urine_ok_mr:
            return "MR", f"{shown} ≥ {limit('mr.serum_fall')}%"
        return "SD", f"{shown}: below the MR level or urine criterion not met"

    if measurable.urine and urine_now is not None and urine_fall is not None:
        shown = f"urine M-protein {urine_now} mg/24h (fall {_shown_pct(urine_fall)}%)"
        if urine_now < limit("vgpr.urine_below"):
            return "VGPR", f"{shown} < {limit('vgpr.urine_below')} mg/24h"
        if urine_now < limit("pr.urine_below") or urine_fall >= limit("pr.urine_fall"):
            return "PR", f"{shown}: ≥ {limit('pr.urine_fall')}% or < {limit('pr.urine_below')}"
        if urine_fall >= limit("mr.urine_fall"):
            return "MR", f"{shown} ≥ {limit('mr.urine_fall')}%"
        return "SD", f"{shown}: below the MR level"

    involved = measurable.involved
    flc_fall = _fall_pct(flc_difference(baseline, involved), flc_difference(latest, involved))
    if not measurable.flc or flc_fall is None:
        return "SD", "no marker comparable between baseline and latest"
    shown = f"FLC difference fall {_shown_pct(flc_fall)}%"
    if flc_fall >= limit("vgpr.flc_difference_fall"):
        return "VGPR", f"{shown} ≥ {limit('vgpr.flc_difference_fall')}%"
    if flc_fall >= limit("pr.flc_difference_fall"):
        return "PR", f"{shown} ≥ {limit('pr.flc_difference_fall')}%"
    return "SD", f"{shown}: below the PR level (IMWG defines no MR by light chains)"


def confirmed(categories_in_order: Sequence[str]) -> str | None:
    """The category confirmed by the two most recent assessments, or None.

    Two identical categories confirm themselves. Two different response categories
    confirm the lesser one, since a better response also meets the lesser criteria
    (PR then VGPR confirms PR). Anything else is not yet confirmed.
    """
    if len(categories_in_order) < 2:
        return None
    previous, latest = categories_in_order[-2], categories_in_order[-1]
    if previous == latest and latest in (*RESPONSE_CATEGORIES, "SD", "PD"):
        return latest
    if previous in RESPONSE_CATEGORIES and latest in RESPONSE_CATEGORIES:
        return max(previous, latest, key=RESPONSE_CATEGORIES.index)
    return None


# --- MRD -----------------------------------------------------------------------------

MrdResult = tuple[date, str, int]  # (collected on, "negative" | "positive", sensitivity 10^-n)


def whole_months_between(start: date, end: date) -> int:
    """Completed calendar months from start to end (Jan 31 -> Feb 28 is 0 months)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    return months - 1 if end.day < start.day else months


def mrd_sustained(
    results: Sequence[MrdResult],
    as_of: date,
    thresholds: Mapping[str, Threshold] | None = None,
) -> Finding:
    """Whether MRD negativity is sustained as of a date.

    Steps: keep results up to ``as_of``; take the run of results after the last positive;
    count only negatives at a sensitivity of 10^-5 or better; sustained when the first and
    the latest of those are at least 12 months apart.
    """
    table = _table(thresholds)
    min_exponent = int(table["imwg.mrd.min_sensitivity_exponent"].value)
    sustained_months = int(table["imwg.mrd.sustained_months"].value)
    for _, result, _ in results:
        if result not in ("negative", "positive"):
            raise ValueError(f"MRD result must be 'negative' or 'positive', got {result!r}.")

    # A positive and a negative on the same day read as positive whatever their order: the
    # disease is detectable on that day (the conservative reading), so the positive sorts last.
    known = sorted((r for r in results if r[0] <= as_of), key=lambda r: (r[0], r[1] == "positive"))
    positives = [on for on, result, _ in known if result == "positive"]
    last_positive_on = positives[-1] if positives else None
    run = [r for r in known if last_positive_on is None or r[0] > last_positive_on]
    # Only negatives follow the last positive; those below the sensitivity floor don't count.
    negatives = [on for on, _, exponent in run if exponent >= min_exponent]
    too_insensitive = [on for on, _, exponent in run if exponent < min_exponent]

    first_on = negatives[0] if negatives else None
    last_on = negatives[-1] if negatives else None
    months = whole_months_between(first_on, last_on) if first_on and last_on else 0
    if not known:
        outcome, message = "no_results", "No MRD result recorded."
    elif known[-1][1] == "positive":
        outcome = "positive"
        message = f"MRD positive on {known[-1][0].isoformat()}."
    elif not negatives:
        outcome = "insufficient_sensitivity"
        message = f"MRD negative only at a sensitivity below 10^-{min_exponent}."
    elif months >= sustained_months:
        outcome = "sustained_negative"
        message = f"MRD negative since {first_on.isoformat()}, sustained {months} months."
    else:
        outcome = "negative_not_sustained"
        message = (
            f"MRD negative since {first_on.isoformat()}; sustained needs negative results "
            f"{sustained_months} months apart."
        )
    return Finding(
        rule_id="imwg.mrd_sustained",
        outcome=outcome,
        message=message,
        values={
            "first_negative_on": first_on,
            "last_negative_on": last_on,
            "months_sustained": months,
            "last_positive_on": last_positive_on,
            "ignored_low_sensitivity_on": too_insensitive,
            "as_of": as_of,
        },
        thresholds=(
            table["imwg.mrd.min_sensitivity_exponent"],
            table["imwg.mrd.sustained_months"],
        ),
        source=KUMAR_2016,
    )


def mrd_discussion_prompt(
    *,
    mrd_results: Sequence[MrdResult],
    cr_confirmed_since: date | None,
    as_of: date,
    thresholds: Mapping[str, Threshold] | None = None,
) -> Finding | None:
    """A prompt to *discuss* whether to continue maintenance, or None. Never an order.

    Raised when MRD negativity has been sustained for 24 months (first to latest negative
    result) or a confirmed CR has lasted 24 months as of ``as_of``.
    """
    table = _table(thresholds)
    mrd_limit = table["seed.discussion.mrd_negative_months"]
    cr_limit = table["seed.discussion.cr_months"]
    mrd = mrd_sustained(mrd_results, as_of, table)
    mrd_months = mrd.values["months_sustained"]
    cr_months = whole_months_between(cr_confirmed_since, as_of) if cr_confirmed_since else None

    reasons = []
    if mrd.outcome == "sustained_negative" and mrd_months >= mrd_limit.value:
        reasons.append(f"MRD negative for {mrd_months} months")
    if cr_months is not None and cr_months >= cr_limit.value:
        reasons.append(f"in CR for {cr_months} months")
    if not reasons:
        return None
    return Finding(
        rule_id="imwg.discussion_prompt",
        outcome="discuss",
        message=(
            f"Discussion prompt, not an order: {' and '.join(reasons)}. The physician and "
            "patient may discuss whether to continue maintenance."
        ),
        values={
            "mrd_months_sustained": mrd_months,
            "mrd_first_negative_on": mrd.values["first_negative_on"],
            "cr_confirmed_since": cr_confirmed_since,
            "cr_months": cr_months,
            "as_of": as_of,
        },
        thresholds=(mrd_limit, cr_limit),
        source=SEED_EVIDENCE,
    )
