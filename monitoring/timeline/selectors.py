"""Everything the physician's timeline page shows, read in a fixed number of queries.

The charts get plain series (``monitoring.timeline.figures`` dataclasses); the summary gets
findings from the pure IMWG rules with the values they used. Entered-in-error results are
left out here and again by the figure builders.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

from django.utils import timezone
from django.utils.timezone import get_current_timezone_name

from monitoring.models import Flag, ResponseAssessment
from monitoring.rules import ctcae, imwg, schedule
from monitoring.selectors import open_flags_for
from monitoring.timeline.figures import (
    CountSeries,
    DiseaseSeries,
    DoseStep,
    Marker,
    Point,
    RegimenTrack,
    Span,
    ThresholdLine,
)
from monitoring.timeline.lab_rows import lab_rows
from monitoring.timeline.recent import Recent
from monitoring.timeline.side_rows import side_rows
from patients import lab_catalogue as catalogue
from patients.formatting import clinical_number
from patients.models import LabResult, Patient
from patients.rulebook import Finding, Threshold
from patients.selectors import cytogenetic_risk_for, rule_thresholds_cached
from therapy import dosing
from therapy import selectors as therapy_selectors

COUNT_LABELS = {
    "ANC": ("ANC", "10^9/L"),
    "PLT": ("Platelets", "10^9/L"),
    "HGB": ("Hemoglobin", "g/dL"),
    "WBC": ("WBC", "10^9/L"),
}
DISEASE_CODES = (
    "SPEP_M",
    "UPEP_M24",
    "FLC_KAPPA",
    "FLC_LAMBDA",
    "FLC_RATIO",
    "SIFE",
    "UIFE",
    "MARROW_PC",
)
MRD_CODES = ("MRD", "MRD_LEVEL")
ALL_CODES = (*COUNT_LABELS, *DISEASE_CODES, *MRD_CODES)

# Hold thresholds (label) and the CTCAE grade 3 boundary drawn on each count's row.
HOLD_KEYS = {"ANC": "dosing.hold.anc_below", "PLT": "dosing.hold.platelets_below"}
GRADE3_KEYS = {
    "ANC": "ctcae.v5.anc.grade3_below",
    "PLT": "ctcae.v5.plt.grade3_below",
    "HGB": "ctcae.v5.hgb.grade3_below",
    "WBC": "ctcae.v5.wbc.grade3_below",
}


@dataclass(frozen=True)
class MrdRow:
    on: date
    result: str
    method: str
    sensitivity_exponent: int | None
    level: Decimal | None


class LabRow(NamedTuple):
    """One lab result as the timeline reads it: a tuple, not a model instance (ten years of
    labs are hundreds of rows on every view of the page). ``collected_at`` is on the
    clinic's clock."""

    pk: int
    test_code: str
    collected_at: datetime
    canonical_value: Decimal | None
    canonical_unit: str
    qualitative: str
    ctcae_grade: int | None
    ctcae_version: str
    mrd_method: str
    mrd_sensitivity_exponent: int | None
    entered_in_error_at: datetime | None

    def get_mrd_method_display(self) -> str:
        return str(dict(LabResult.MrdMethod.choices).get(self.mrd_method, self.mrd_method))


@dataclass
class Timeline:
    patient: Patient
    today: date
    x_range: tuple[date, date]
    counts: list[CountSeries]
    thresholds: list[ThresholdLine]
    regimen: RegimenTrack
    disease: DiseaseSeries
    risk: Finding | None
    course: Any  # therapy CourseSnapshot of the active course today, or None
    course_summary: dict[str, Any]
    response: Finding | None
    confirmed: ResponseAssessment | None
    assessments: list[ResponseAssessment]
    mrd_rows: list[MrdRow]
    mrd: Finding
    discussion_prompt: Finding | None
    flags: list[Flag]
    suggestions: list[Any]
    marker_points: list[imwg.MarkerPoint] = field(default_factory=list)
    # Expected intervals (days, rule settings in force): a longer silence than twice these
    # is left blank on the charts instead of bridged by a line.
    cbc_interval_days: int | None = None
    response_interval_days: int | None = None


# The settings the page reads besides IMWG's (response, progression, MRD: all of them): the
# hold and CTCAE grade 3 lines on the counts and the two expected intervals. Reading only
# these halves the rows of the rule settings query (84 keys otherwise).
DRAWN_KEYS = frozenset(
    {
        *HOLD_KEYS.values(),
        *GRADE3_KEYS.values(),
        "schedule.cbc.interval_standard",
        "schedule.response_labs.interval",
    }
)


def _rules(clinic_id: int, state: tuple[str, ...] | None = None) -> dict[str, Threshold]:
    """The thresholds in force for the patient's clinic, as the flags use them (remembered
    while the rule settings are unchanged: the table's ``state``, read with the page's small
    rows, instead of the settings' rows)."""
    defaults = (
        *imwg.DEFAULTS,
        *(
            t
            for t in (*dosing.DEFAULTS, *ctcae.DEFAULTS, *schedule.DEFAULTS)
            if t.key in DRAWN_KEYS
        ),
    )
    return rule_thresholds_cached(defaults, clinic_id=clinic_id, state=state)


def timeline_for(patient: Patient, *, today: date) -> Timeline:
    """Steps: one query for every lab result the page draws; one for the therapy courses
    with their regimens, holds and dose changes; one for the transplants, confirmed
    assessments, notes and the rule settings' state (``side_rows``); flags and pending
    suggestions (one each, shared with the summary header)."""
    # Each time on the clinic's clock (the points show it as read there); the rows are read
    # again only when they changed (``lab_rows``).
    results, digest = lab_rows(patient, ALL_CODES, LabRow._fields, LabRow._make)
    side = side_rows(patient)  # also leaves the transplants on the patient (drawn, listed)
    rules = _rules(patient.clinic_id, side.rules_state)

    # The courses, holds and dose changes read once: drawn, and the active course's snapshot
    # today (None before a planned course starts).
    history = therapy_selectors.courses_with_history(patient)
    courses = therapy_selectors.course_timelines(patient, until=today, courses=history)
    course = therapy_selectors.course_snapshot_for(patient, as_of=today, courses=history)
    assessments = side.assessments
    confirmed = assessments[0] if assessments else None
    diagnosis = getattr(patient, "diagnosis", None)

    start = min(
        ([results[0].collected_at.date()] if results else [])  # oldest first
        + [c.start_date for c in courses]
        + [today - timedelta(days=90)]
    )
    x_range = (start - timedelta(days=7), today + timedelta(days=7))

    course_start = courses[-1].start_date if courses else None
    labs = _lab_parts(
        results,
        digest=digest,
        patient_id=patient.pk,
        recorded_chain=diagnosis.light_chain if diagnosis else None,
        course_start=course_start,
        rules=rules,
    )
    points, mrd_rows = labs.points, labs.mrd_rows
    mrd_inputs = [
        (row.on, row.result, row.sensitivity_exponent or 0)
        for row in mrd_rows
        if row.result in ("negative", "positive")
    ]
    cr_since = confirmed.assessed_on if confirmed and confirmed.category in ("CR", "sCR") else None
    return Timeline(
        patient=patient,
        today=today,
        x_range=x_range,
        counts=labs.counts,
        thresholds=_threshold_lines(rules),
        regimen=_regimen(courses, side, mrd_rows),
        disease=labs.disease,
        risk=cytogenetic_risk_for(diagnosis),
        course=course,
        course_summary=_course_summary(courses, course, today),
        response=labs.response,
        confirmed=confirmed,
        assessments=assessments,
        mrd_rows=mrd_rows,
        mrd=imwg.mrd_sustained(mrd_inputs, today, rules),
        discussion_prompt=imwg.mrd_discussion_prompt(
            mrd_results=mrd_inputs, cr_confirmed_since=cr_since, as_of=today, thresholds=rules
        ),
        # Read once with the summary header's (which shows them too): worst, then newest first.
        flags=sorted(
            sorted(open_flags_for(patient), key=lambda f: f.opened_at, reverse=True),
            key=lambda f: f.severity,
            reverse=True,
        ),
        suggestions=therapy_selectors.pending_suggestions_for(patient),
        marker_points=points,
        # The standard (from cycle 3) CBC interval, the longest of the course: a gap judged
        # against the weekly or fortnightly phases would break lines at every missed draw.
        cbc_interval_days=int(rules["schedule.cbc.interval_standard"].value),
        response_interval_days=int(rules["schedule.response_labs.interval"].value),
    )


class _LabParts(NamedTuple):
    """What the page derives from the lab results alone (with the thresholds in force)."""

    points: list[imwg.MarkerPoint]
    mrd_rows: list[MrdRow]
    counts: list[CountSeries]
    disease: DiseaseSeries
    response: Finding | None


# (patient, time zone, digest of the rows, chain, course start, thresholds) -> parts, for
# the patients seen lately: only when the rows have a digest (``lab_rows``).
_LAB_PARTS = Recent(64)


def _lab_parts(
    results: list[LabRow],
    *,
    digest: str | None,
    patient_id: int,
    recorded_chain: str | None,
    course_start: date | None,
    rules: dict[str, Threshold],
) -> _LabParts:
    """The marker points, MRD rows, count and disease series and the suggested response,
    worked out again only when an input changed: pure functions of the rows (equal digests,
    equal rows), the recorded light chain, the course start and the thresholds. The time
    zone is in the key because the rows are on the clinic's clock."""
    key = None
    if digest is not None:
        key = (
            patient_id,
            get_current_timezone_name(),
            digest,
            recorded_chain,
            course_start,
            tuple(sorted(rules.items())),
        )
        found = _LAB_PARTS.get(key)
        if found is not None:
            return found
    by_code: dict[str, list[LabRow]] = defaultdict(list)
    for result in results:
        by_code[result.test_code].append(result)
    points = _marker_points(by_code, involved=recorded_chain, rules=rules)
    parts = _LabParts(
        points=points,
        mrd_rows=_mrd_rows(by_code),
        counts=_counts(by_code),
        disease=_disease(points, by_code, recorded_chain, rules),
        response=_suggested_response(points, course_start, by_code, rules),
    )
    if key is not None:
        _LAB_PARTS.put(key, parts)
    return parts


def places_by_code() -> dict[str, int]:
    """Display precision of each test (lab catalogue), for the data tables."""
    return {test.code: test.decimal_places for test in catalogue.TESTS}


def _point(result: LabRow) -> Point:
    return Point(
        on=result.collected_at,  # on the clinic's clock (timeline_for), as everywhere on screen
        value=result.canonical_value,
        unit=result.canonical_unit,
        grade=result.ctcae_grade,
        grade_version=result.ctcae_version,
        result_id=result.pk,
        entered_in_error=result.entered_in_error_at is not None,
        places=_places(result.test_code),
    )


@cache
def _places(code: str) -> int | None:
    try:
        return catalogue.find_test(code).decimal_places
    except catalogue.UnknownTestError:
        return None


def _counts(by_code: dict[str, list[LabRow]]) -> list[CountSeries]:
    return [
        CountSeries(
            code,
            label,
            unit,
            tuple(_point(r) for r in by_code.get(code, []) if r.canonical_value is not None),
        )
        for code, (label, unit) in COUNT_LABELS.items()
    ]


def _threshold_lines(rules: dict[str, Threshold]) -> list[ThresholdLine]:
    lines = []
    for code, key in HOLD_KEYS.items():
        t = rules[key]
        lines.append(
            ThresholdLine(
                code, t.value, f"hold < {clinical_number(t.value)}", f"{t.status}: {t.source}"
            )
        )
    for code, key in GRADE3_KEYS.items():
        t = rules[key]
        lines.append(
            ThresholdLine(
                code, t.value, "CTCAE grade 3-4", f"CTCAE v5.0 (v{t.version})", kind="grade"
            )
        )
    return lines


def _marker_points(
    by_code: dict[str, list[LabResult]], *, involved: str | None, rules
) -> list[imwg.MarkerPoint]:
    """One IMWG marker point per collection date (``imwg.marker_points``, as the flag)."""
    return imwg.marker_points(
        (
            (r.collected_at.date(), r.test_code, r.canonical_value)  # on the clinic's clock
            for code in imwg.MARKER_CODES
            for r in by_code.get(code, [])
        ),
        recorded_chain=involved,
        thresholds=rules,
    )


def _disease(points, by_code, recorded_chain, rules) -> DiseaseSeries:
    # The series' involved chain (recorded, else the baseline ratio's), as the flag reads it.
    involved = points[0].involved if points else recorded_chain or None
    flc_code = {"kappa": "FLC_KAPPA", "lambda": "FLC_LAMBDA"}.get(involved or "", "FLC_KAPPA")
    ratio = [_point(r) for r in by_code.get("FLC_RATIO", []) if r.canonical_value is not None]
    if not ratio:  # computed from same-day kappa and lambda when the ratio was not stored
        ratio = [
            Point(
                p.on,
                (p.kappa_mg_l / p.lambda_mg_l).quantize(Decimal("0.01")),
                "ratio",
                places=_places("FLC_RATIO"),
            )
            for p in points
            if p.kappa_mg_l and p.lambda_mg_l
        ]
    serum = [p for p in points if p.spep_g_dl is not None]
    low = imwg.nadir(serum) if serum else None
    threshold = imwg.progression_threshold_g_dl(low.spep_g_dl, rules) if low is not None else None
    return DiseaseSeries(
        mprotein=tuple(
            _point(r) for r in by_code.get("SPEP_M", []) if r.canonical_value is not None
        ),
        involved_flc=tuple(
            _point(r) for r in by_code.get(flc_code, []) if r.canonical_value is not None
        ),
        flc_ratio=tuple(ratio),
        involved_label=f"Free {involved or 'kappa'} (involved)" if involved else "Free kappa",
        nadir=(
            Point(low.on, low.spep_g_dl, "g/dL", places=_places("SPEP_M"))
            if low is not None
            else None
        ),
        progression_threshold_g_dl=threshold,
        progression_source=(
            f"IMWG 2016: nadir + 25% and at least + {clinical_number(rules['imwg.pd.serum_min_rise'].value)} g/dL"
        ),
    )


def _suggested_response(points, course_start, by_code, rules) -> Finding | None:
    """IMWG category suggested from the series against the pre-maintenance baseline (the last
    assessment on or before the course start, else the first one)."""
    if len(points) < 2:
        return None
    before = [p for p in points if course_start and p.on <= course_start]
    baseline = before[-1] if before else points[0]
    later = [p for p in points if p.on > baseline.on]
    if not later:
        return None
    # IMWG CR needs serum AND urine immunofixation negative: one negative alone is not enough.
    latest_ife = {}
    for code in ("SIFE", "UIFE"):
        read = [r for r in by_code.get(code, []) if r.qualitative in ("negative", "positive")]
        if read:
            latest_ife[code] = read[-1].qualitative
    ife_negative = None
    if "positive" in latest_ife.values():
        ife_negative = False
    elif latest_ife.get("SIFE") == "negative" and latest_ife.get("UIFE") == "negative":
        ife_negative = True
    marrow = [r for r in by_code.get("MARROW_PC", []) if r.canonical_value is not None]
    return imwg.suggest_response(
        baseline=baseline,
        latest=later[-1],
        immunofixation_negative=ife_negative,
        marrow_plasma_cell_pct=marrow[-1].canonical_value if marrow else None,
        history=later[:-1],
        thresholds=rules,
    )


def _mrd_rows(by_code) -> list[MrdRow]:
    levels = {r.collected_at.date(): r.canonical_value for r in by_code.get("MRD_LEVEL", [])}
    return [
        MrdRow(
            on=r.collected_at.date(),
            result=r.qualitative,
            method=r.get_mrd_method_display() if r.mrd_method else "",
            sensitivity_exponent=r.mrd_sensitivity_exponent,
            level=levels.get(r.collected_at.date()),
        )
        for r in by_code.get("MRD", [])
    ]


def _regimen(courses, side, mrd_rows) -> RegimenTrack:
    steps, holds, cycle_starts, events = [], [], [], []
    discontinued_on = None
    for c in courses:
        steps += [DoseStep(on, dose, label) for on, dose, label in c.steps]
        holds += [Span(start, end, reason) for start, end, reason in c.holds]
        cycle_starts += list(c.cycle_starts)
        discontinued_on = c.discontinued_on
        kinds = {
            "start": "start",
            "dose_change": "dose_change",
            "hold_start": "hold",
            "hold_end": "resume",
            "discontinuation": "discontinuation",
        }
        events += [Marker(e.on, kinds[e.kind], e.label, e.detail) for e in c.events]
    for transplanted_on in (
        t.transplanted_on for t in side.transplants if t.entered_in_error_at is None
    ):
        events.append(Marker(transplanted_on, "transplant", "Autologous transplant"))
    events += [
        Marker(a.assessed_on, "response", f"Response confirmed: {a.category}", a.basis)
        for a in side.assessments
    ]
    events += [
        Marker(
            r.on,
            "mrd",
            f"MRD {r.result}",
            f"{r.method} 10^-{r.sensitivity_exponent}" if r.sensitivity_exponent else r.method,
        )
        for r in mrd_rows
    ]
    # Telephone and clinic notes: one marker per note (as ``patients.nursing.selectors.
    # note_events`` words them).
    events += [
        Marker(
            timezone.localtime(n.contact_at).date(),
            "note",
            f"{n.get_kind_display()}: {n.get_reason_display()}",
            n.text if len(n.text) <= 200 else n.text[:199] + "…",
        )
        for n in side.notes
    ]
    return RegimenTrack(
        steps=tuple(steps),
        holds=tuple(holds),
        cycle_starts=tuple(cycle_starts),
        discontinued_on=discontinued_on,
        events=tuple(events),
    )


def _course_summary(courses, course, today: date) -> dict[str, Any]:
    if not courses:
        return {}
    current = courses[-1]
    holds = len(current.holds)
    reductions = sum(
        1 for e in current.events if e.kind == "dose_change" and "reduced" in e.label.lower()
    )
    summary: dict[str, Any] = {
        "regimen": current.regimen_name,
        "start_date": current.start_date,
        "days_on_maintenance": (
            min(today, current.discontinued_on or today) - current.start_date
        ).days,
        "holds": holds,
        "reductions": reductions,
        "discontinued_on": current.discontinued_on,
    }
    if course is not None:
        summary.update(
            cycle=course.cycle,
            day=course.day,
            on_hold=course.on_hold,
            dosing_today=course.is_dosing_day,
            level=course.current_level.label if course.current_level else "—",
        )
    return summary
