"""The Cohort page's analyses: pure functions from plain patient rows to results and tables.

No ORM and no ``now()``: ``as_of`` is passed in. Estimators live in ``estimators``; this
module decides who is in which analysis, from when, and until when, applies small-group
suppression, and lays the numbers out as tables (the same tables the CSV export writes).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from monitoring.cohort import estimators
from monitoring.cohort.estimators import CumulativeIncidence, DoseSegment, KaplanMeier, LogRank
from monitoring.cohort.selectors import CohortPatient
from patients.formatting import MISSING, clinical_number
from patients.risk import RULE_ID as RISK_RULE_ID
from patients.risk import SOURCE as RISK_SOURCE

MIN_GROUP = 5  # groups (and whole cohorts) under 5 patients are suppressed
DAYS_PER_MONTH = 30.4375
DAYS_PER_YEAR = 365.25
SURVIVAL_YEARS = (1, 2, 3, 5)
AT_RISK_MONTHS = (0, 12, 24, 36, 48, 60, 72)
MAX_CYCLE = 12

GROUPINGS: dict[str, str] = {
    "clinic": "Clinic",
    "start_year": "Year of maintenance start",
    "risk": "Cytogenetic risk",
    "iss": "ISS stage",
    "riss": "R-ISS stage",
    "transplant": "Transplant",
    "schedule": "Schedule",
    "start_dose": "Starting dose",
    "best_response": "Best response before maintenance",
    "mrd_at_start": "MRD at start",
}
ORIGINS: dict[str, str] = {
    "maintenance": "maintenance start",
    "diagnosis": "diagnosis",
    "transplant": "transplant",
}
RISK_RULE = f"{RISK_RULE_ID}: {RISK_SOURCE}"

# Why maintenance ended, in the five groups (course reasons map onto them).
END_REASONS = {
    "progression": "Progression",
    "toxicity": "Toxicity",
    "patient_choice": "Patient choice",
    "death": "Death",
    "mrd_guided_stop": "Other",
    "second_primary_malignancy": "Other",
    "other": "Other",
}
REASON_ORDER = ["Progression", "Toxicity", "Patient choice", "Death", "Other"]
RESPONSE_ORDER = ["sCR", "CR", "VGPR", "PR", "MR", "SD"]

# Published figures (the seed literature): shown beside the clinic's numbers, never mixed.
REFERENCES = [
    {
        "figure": "Median PFS with lenalidomide maintenance",
        "value": "58.2 months (34.6 without maintenance)",
        "source": "CMRG-DB real-world review, 1,256 patients",
    },
    {
        "figure": "Days 1-21 vs continuous (days 1-28) dosing",
        "value": "No difference in PFS",
        "source": "CMRG-DB real-world review",
    },
    {
        "figure": "Stopped maintenance before relapse",
        "value": "19.6%",
        "source": "CMRG-DB real-world review",
    },
    {
        "figure": "Needed a dose reduction",
        "value": "70%",
        "source": "Princess Margaret Cancer Centre real-world series",
    },
    {
        "figure": "Median PFS from the start of maintenance",
        "value": "About 42 months",
        "source": "Princess Margaret Cancer Centre real-world series",
    },
    {
        "figure": "MRD-positive patients converting to MRD-negative on maintenance",
        "value": "34.3%, after a mean of 18.5 months",
        "source": "Alonso et al.",
    },
    {
        "figure": "Benefit of maintenance over time",
        "value": "Diminished after 4-5 years",
        "source": "Myeloma XI",
    },
]


@dataclass(frozen=True)
class Params:
    filters: tuple[tuple[str, str], ...] = ()
    group_by: str = ""
    origin: str = "maintenance"
    landmark_days: int = 0


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass
class Curves:
    """One analysis drawn as curves, one per shown group."""

    km: dict[str, KaplanMeier] = field(default_factory=dict)
    cif: dict[str, CumulativeIncidence] = field(default_factory=dict)
    logrank: LogRank | None = None


@dataclass
class CohortResult:
    n: int
    suppressed: bool
    params: Params
    shown_groups: list[str] = field(default_factory=list)
    suppressed_groups: list[str] = field(default_factory=list)
    excluded_no_origin: int = 0
    excluded_before_landmark: int = 0
    delayed_entries: int = 0
    pfs: Curves = field(default_factory=Curves)
    os: Curves = field(default_factory=Curves)
    maintenance: Curves = field(default_factory=Curves)
    stop_before_progression: Curves = field(default_factory=Curves)
    reduction: Curves = field(default_factory=Curves)
    mrd_conversion: Curves = field(default_factory=Curves)
    severe_by_cycle: list[tuple[int, int, int, int]] = field(default_factory=list)
    reasons: dict[str, Counter] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)


# --- Formatting -------------------------------------------------------------------------------


def months(days: float | None) -> str:
    return MISSING if days is None else clinical_number(days / DAYS_PER_MONTH, 1)


def median_text(estimate: float | None) -> str:
    return "Not reached" if estimate is None else months(estimate)


def interval(lower: float | None, upper: float | None) -> str:
    """A CI in months; an open end (the curve never crosses 50% there) reads as a dash."""
    if lower is None and upper is None:
        return MISSING
    return f"{months(lower)} to {months(upper)}"


def percent(fraction: float | None) -> str:
    return MISSING if fraction is None else f"{clinical_number(fraction * 100, 1)}%"


def p_value(p: float) -> str:
    return "<0.001" if p < 0.001 else clinical_number(p, 3)


def count_of(numerator: int, denominator: int) -> str:
    return f"{numerator} of {denominator} ({percent(estimators.share(numerator, denominator))})"


# --- Selection --------------------------------------------------------------------------------


def filter_options(rows: Iterable[CohortPatient]) -> dict[str, list[str]]:
    """The values present for each filter, for the form's choices."""
    values: dict[str, set[str]] = {key: set() for key in GROUPINGS}
    for row in rows:
        for key in GROUPINGS:
            values[key].add(row.attrs[key])
    return {key: sorted(found) for key, found in values.items()}


def apply_filters(rows: list[CohortPatient], filters) -> list[CohortPatient]:
    for key, value in filters:
        if value:
            rows = [r for r in rows if r.attrs.get(key) == value]
    return rows


def _groups(rows: list[CohortPatient], group_by: str) -> list[tuple[str, list[CohortPatient]]]:
    if not group_by:
        return [("All patients", rows)]
    grouped: dict[str, list[CohortPatient]] = {}
    for row in rows:
        grouped.setdefault(row.attrs[group_by], []).append(row)
    return sorted(grouped.items())


def _day(on: date) -> int:
    return on.toordinal()


def _origin(row: CohortPatient, origin: str) -> date | None:
    return {
        "maintenance": row.start,
        "diagnosis": row.diagnosed_on,
        "transplant": row.transplanted_on,
    }[origin]


def _before(on: date | None, limit: date) -> date | None:
    return on if on is not None and on <= limit else None


def survival_follow(row: CohortPatient, *, endpoint: str, params: Params, as_of: date):
    """(Follow or None, why excluded): PFS ends at progression or death, OS at death;
    otherwise censored at last contact."""
    origin = _origin(row, params.origin)
    if origin is None:
        return None, "no_origin"
    contact = min(row.last_contact, as_of)
    death = _before(row.death_on, as_of)
    progression = _before(row.progression_on, as_of)
    events = [d for d in ([death, progression] if endpoint == "pfs" else [death]) if d]
    end = min(events) if events else contact
    follow = estimators.on_time_scale(
        origin=_day(origin),
        entered=_day(row.entered_on),
        end=_day(end),
        event=bool(events),
        landmark=params.landmark_days,
    )
    if follow is None:
        return None, "before_landmark"
    return follow, ""


# --- The analyses ----------------------------------------------------------------------------


def analyse(rows: list[CohortPatient], params: Params, *, as_of: date) -> CohortResult:
    rows = apply_filters(rows, params.filters)
    result = CohortResult(n=len(rows), suppressed=len(rows) < MIN_GROUP, params=params)
    if result.suppressed:
        return result
    groups = []
    for label, members in _groups(rows, params.group_by):
        if len(members) < MIN_GROUP:
            result.suppressed_groups.append(label)
        else:
            groups.append((label, members))
    result.shown_groups = [label for label, _ in groups]
    _survival(result, groups, params, as_of)
    _maintenance(result, groups, as_of)
    _dose(result, groups, as_of)
    _response(result, groups, as_of)
    result.tables["references"] = Table(
        "references",
        "Published reference figures (not this clinic's patients)",
        ["Figure", "Published value", "Source"],
        [[r["figure"], r["value"], r["source"]] for r in REFERENCES],
    )
    return result


def _survival(result: CohortResult, groups, params: Params, as_of: date) -> None:
    for endpoint, curves, title in (
        ("pfs", result.pfs, "Progression-free survival"),
        ("os", result.os, "Overall survival"),
    ):
        durations, events, entry, labels = [], [], [], []
        table_rows = []
        for label, members in groups:
            follows = []
            for row in members:
                follow, why = survival_follow(row, endpoint=endpoint, params=params, as_of=as_of)
                if follow is not None:
                    follows.append(follow)
                elif endpoint == "pfs" and why == "no_origin":
                    result.excluded_no_origin += 1
                elif endpoint == "pfs":
                    result.excluded_before_landmark += 1
            if endpoint == "pfs":
                result.delayed_entries += sum(f.entry > params.landmark_days for f in follows)
            if len(follows) < MIN_GROUP:
                table_rows.append([label, f"Fewer than {MIN_GROUP}"] + [MISSING] * 8)
                continue
            km = estimators.kaplan_meier(
                [f.duration for f in follows],
                [f.event for f in follows],
                [f.entry for f in follows],
            )
            curves.km[label] = km
            durations += [f.duration for f in follows]
            events += [f.event for f in follows]
            entry += [f.entry for f in follows]
            labels += [label] * len(follows)
            at_years = [km.at(y * DAYS_PER_YEAR) for y in SURVIVAL_YEARS]
            table_rows.append(
                [
                    label,
                    str(km.n),
                    str(km.events),
                    median_text(km.median.estimate),
                    interval(km.median.lower, km.median.upper),
                    interval(km.median_loglog.lower, km.median_loglog.upper),
                ]
                + [_survival_cell(s) for s in at_years]
            )
        if len(curves.km) > 1:
            curves.logrank = estimators.logrank(durations, events, labels, entry)
        columns = [
            "Group",
            "Patients",
            "Events",
            "Median (months)",
            "95% CI (log, R default)",
            "95% CI (log-log)",
        ] + [f"S({y} y) [95% CI]" for y in SURVIVAL_YEARS]
        note = ""
        if curves.logrank:
            t = curves.logrank
            note = (
                f"Log-rank test: chi-square {clinical_number(t.chi2, 2)}, "
                f"{t.df} degree{'s' if t.df != 1 else ''} of freedom, p = {p_value(t.p)}."
            )
        result.tables[endpoint] = Table(endpoint, title, columns, table_rows, note)


def _survival_cell(at) -> str:
    if at.survival is None:
        return MISSING
    return (
        f"{percent(at.survival)} [{percent(at.lower)} to {percent(at.upper)}]"
        if at.lower is not None
        else percent(at.survival)
    )


def _on_maintenance_until(row: CohortPatient, as_of: date) -> date:
    return row.course_end or min(row.last_contact, as_of)


def _maintenance(result: CohortResult, groups, as_of: date) -> None:
    """Time on maintenance (KM, stopping for any reason is the event; transfers censored),
    why it ended, and stopping before progression as a cumulative incidence with progression
    and death competing (Aalen-Johansen, never 1 - KM)."""
    time_rows, reason_rows = [], []
    for label, members in groups:
        durations, ended, cif_durations, causes = [], [], [], []
        reasons: Counter = Counter()
        for row in members:
            until = _on_maintenance_until(row, as_of)
            stopped = row.course_end is not None and not row.transferred
            durations.append(max((until - row.start).days, 0.5))
            ended.append(stopped)
            if stopped:
                reasons[END_REASONS.get(row.end_reason, "Other")] += 1
            elif row.transferred and row.course_end:
                reasons["Transferred (censored)"] += 1
            duration, cause = _stop_cause(row, as_of)
            cif_durations.append(duration)
            causes.append(cause)
        km = estimators.kaplan_meier(durations, ended)
        result.maintenance.km[label] = km
        result.stop_before_progression.cif[label] = estimators.cumulative_incidence(
            cif_durations, causes
        )
        result.reasons[label] = reasons
        cif = result.stop_before_progression.cif[label]
        time_rows.append(
            [
                label,
                str(km.n),
                str(km.events),
                median_text(km.median.estimate),
                interval(km.median.lower, km.median.upper),
            ]
            + [percent(cif.at("Stopped before progression", y * DAYS_PER_YEAR)) if
               "Stopped before progression" in cif.incidence else "0%" for y in (1, 3, 5)]
        )  # fmt: skip
        stopped_total = sum(reasons[r] for r in REASON_ORDER)
        reason_rows.append(
            [label, str(stopped_total)]
            + [count_of(reasons[r], stopped_total) if stopped_total else MISSING for r in REASON_ORDER]
            + [str(reasons["Transferred (censored)"])]
        )  # fmt: skip
    result.tables["maintenance"] = Table(
        "maintenance",
        "Time on maintenance",
        [
            "Group",
            "Patients",
            "Stopped",
            "Median time on maintenance (months)",
            "95% CI (log)",
            "Stopped before progression by 1 y",
            "by 3 y",
            "by 5 y",
        ],
        time_rows,
        "Stopping before progression: cumulative incidence (Aalen-Johansen) with progression "
        "and death as competing events, from the maintenance start.",
    )
    result.tables["reasons"] = Table(
        "reasons",
        "Why maintenance ended",
        ["Group", "Stopped", *REASON_ORDER, "Transferred (censored)"],
        reason_rows,
    )


def _stop_cause(row: CohortPatient, as_of: date) -> tuple[float, str]:
    """Time from the start to the first of: stopping for a reason other than progression or
    death, progression, death; censored at last contact (or at a transfer)."""
    contact = min(row.last_contact, as_of)
    candidates = []
    if row.course_end and not row.transferred and row.end_reason not in ("progression", "death"):
        candidates.append((row.course_end, 0, "Stopped before progression"))
    if row.progression_on and row.progression_on <= as_of:
        candidates.append((row.progression_on, 1, "Progression"))
    if row.death_on and row.death_on <= as_of:
        candidates.append((row.death_on, 2, "Death"))
    if candidates:
        on, _, cause = min(candidates)
        return max((on - row.start).days, 0.5), cause
    end = row.course_end if row.transferred and row.course_end else contact
    return max((end - row.start).days, 0.5), ""


def _segments(row: CohortPatient, until: date) -> list[DoseSegment]:
    """Dose levels over [start, until) with the days on hold in each."""
    bounds = [(row.start, row.start_mg_per_day)] + [
        (on, mg) for on, mg in row.dose_steps if row.start < on < until
    ]
    segments = []
    for i, (begin, mg) in enumerate(bounds):
        end = bounds[i + 1][0] if i + 1 < len(bounds) else until
        held = 0
        for hold_start, hold_end in row.holds:
            lo, hi = max(hold_start, begin), min(hold_end or until, end)
            held += max((hi - lo).days, 0)
        segments.append(DoseSegment(mg or 0.0, max((end - begin).days, 0), held))
    return segments


def _dose(result: CohortResult, groups, as_of: date) -> None:
    rows_out = []
    cycle_counts: dict[int, list[int]] = {k: [0, 0, 0] for k in range(1, MAX_CYCLE + 1)}
    for label, members in groups:
        lenalidomide = [r for r in members if r.start_mg_per_day]
        if len(lenalidomide) < MIN_GROUP:
            rows_out.append([label, f"Fewer than {MIN_GROUP}"] + [MISSING] * 6)
            continue
        reduced = sum(r.first_reduction_on is not None for r in lenalidomide)
        durations, causes, rdis = [], [], []
        holds, patient_days = 0, 0.0
        for row in lenalidomide:
            until = _on_maintenance_until(row, as_of)
            days = max((until - row.start).days, 0)
            patient_days += days
            holds += sum(1 for start, _ in row.holds if start < until)
            rdi = estimators.relative_dose_intensity(
                planned_mg_per_day=row.start_mg_per_day, segments=_segments(row, until)
            )
            if rdi is not None:
                rdis.append(rdi)
            if row.first_reduction_on and row.first_reduction_on <= until:
                durations.append(max((row.first_reduction_on - row.start).days, 0.5))
                causes.append("First reduction")
            else:
                durations.append(max(days, 0.5))
                causes.append("Stopped without a reduction" if row.course_end else "")
            severe: dict[int, set[str]] = {}
            for on, code in row.severe_counts:
                severe.setdefault((on - row.start).days // row.cycle_days + 1, set()).add(code)
            for k in range(1, MAX_CYCLE + 1):
                if days > (k - 1) * row.cycle_days:
                    cycle_counts[k][0] += 1
                    cycle_counts[k][1] += "ANC" in severe.get(k, ())
                    cycle_counts[k][2] += "PLT" in severe.get(k, ())
        cif = estimators.cumulative_incidence(durations, causes)
        result.reduction.cif[label] = cif
        quartiles = statistics.quantiles(rdis, n=4) if len(rdis) >= 2 else [None, None, None]
        rows_out.append(
            [
                label,
                str(len(lenalidomide)),
                count_of(reduced, len(lenalidomide)),
                " / ".join(
                    percent(cif.at("First reduction", m * DAYS_PER_MONTH))
                    if "First reduction" in cif.incidence
                    else "0%"
                    for m in (6, 12, 24)
                ),
                clinical_number(estimators.rate_per_patient_year(holds, patient_days), 2),
                percent(statistics.median(rdis)) if rdis else MISSING,
                f"{percent(quartiles[0])} to {percent(quartiles[2])}",
            ]
        )
    result.severe_by_cycle = [
        (k, n, anc, plt) for k, (n, anc, plt) in cycle_counts.items() if n >= MIN_GROUP
    ]
    result.tables["dose"] = Table(
        "dose",
        "Dose intensity (lenalidomide courses)",
        [
            "Group",
            "Patients",
            "At least one reduction",
            "First reduction by 6 / 12 / 24 months",
            "Holds per patient-year",
            "Relative dose intensity (median)",
            "Interquartile range",
        ],
        rows_out,
        "Time to first reduction: cumulative incidence with stopping maintenance as a "
        "competing event. Relative dose intensity: dose taken (holds excluded) over the "
        "starting dose for the same time.",
    )
    result.tables["cytopenia"] = Table(
        "cytopenia",
        "Grade 3-4 neutropenia and thrombocytopenia by cycle (CTCAE v5.0; shown groups together)",
        ["Cycle", "Patients reaching the cycle", "Grade 3-4 neutropenia", "Grade 3-4 thrombocytopenia"],
        [
            [str(k), str(n), count_of(anc, n), count_of(plt, n)]
            for k, n, anc, plt in result.severe_by_cycle
        ],
    )  # fmt: skip


def _first_negative(row: CohortPatient) -> date | None:
    return next((on for on, res in row.mrd if on > row.start and res == "negative"), None)


def _response(result: CohortResult, groups, as_of: date) -> None:
    depth_rows, mrd_rows = [], []
    for label, members in groups:
        assessed = [r for r in members if r.best_before in RESPONSE_ORDER and r.best_during]
        deeper = sum(
            RESPONSE_ORDER.index(r.best_during) < RESPONSE_ORDER.index(r.best_before)
            for r in assessed
        )
        depth_rows.append(
            [label, str(len(assessed)), count_of(deeper, len(assessed)) if assessed else MISSING]
        )
        positive = [r for r in members if r.attrs["mrd_at_start"] == "Positive"]
        if len(positive) < MIN_GROUP:
            mrd_rows.append([label, f"Fewer than {MIN_GROUP}"] + [MISSING] * 3)
            continue
        durations, causes, converted_days = [], [], []
        for row in positive:
            negative = _before(_first_negative(row), as_of)
            competing = [
                d for d in (_before(row.progression_on, as_of), _before(row.death_on, as_of)) if d
            ]
            if negative and (not competing or negative <= min(competing)):
                durations.append(max((negative - row.start).days, 0.5))
                causes.append("MRD-negative")
                converted_days.append((negative - row.start).days)
            elif competing:
                durations.append(max((min(competing) - row.start).days, 0.5))
                causes.append("Progression or death")
            else:
                contact = min(row.last_contact, as_of)
                durations.append(max((contact - row.start).days, 0.5))
                causes.append("")
        cif = estimators.cumulative_incidence(durations, causes)
        result.mrd_conversion.cif[label] = cif
        mrd_rows.append(
            [
                label,
                str(len(positive)),
                count_of(len(converted_days), len(positive)),
                months(statistics.mean(converted_days)) if converted_days else MISSING,
                " / ".join(
                    percent(cif.at("MRD-negative", y * DAYS_PER_YEAR))
                    if "MRD-negative" in cif.incidence
                    else "0%"
                    for y in (1, 2, 3)
                ),
            ]
        )
    result.tables["depth"] = Table(
        "depth",
        "Depth of response during maintenance",
        ["Group", "Patients with responses before and during", "Deeper response during maintenance"],
        depth_rows,
        "Best confirmed IMWG response during maintenance compared with the best response "
        "recorded before maintenance.",
    )  # fmt: skip
    result.tables["mrd"] = Table(
        "mrd",
        "MRD conversion among patients MRD-positive at the start",
        [
            "Group",
            "MRD-positive at start",
            "Became MRD-negative",
            "Mean months to conversion",
            "Cumulative incidence by 1 / 2 / 3 years",
        ],
        mrd_rows,
        "MRD is tested at visits, so a conversion is known only at the date of the first "
        "negative test (interval-censored between tests). Progression and death compete.",
    )


def tables_in_order(result: CohortResult) -> list[Table]:
    order = [
        "pfs",
        "os",
        "maintenance",
        "reasons",
        "dose",
        "cytopenia",
        "depth",
        "mrd",
        "references",
    ]
    return [result.tables[k] for k in order if k in result.tables]
