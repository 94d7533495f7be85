"""Reads for the Cohort page: one plain row per patient on maintenance in the given clinics.

Nine queries whatever the cohort size (patients, transplants, courses, holds, dose changes,
assessments, lab first/last dates, MRD results, grade 3-4 counts), each filtered by clinic
through a join rather than a list of ids. The rows are plain values (no model instances),
so the analysis is pure and the rows can be cached, keyed by the data's last change.

Event definitions (stated on the page, one home here):
* progression: the first confirmed IMWG progression (a physician's PD assessment), a
  course stopped for progression, or the start of a next line (a later course on another
  regimen), whichever comes first on or after the maintenance start;
* death: the date of death on the patient record;
* last contact: the latest dated record (lab collection, assessment, course, hold or dose
  change, death);
* entered care: the earliest dated record in this clinic (lab, assessment or course start),
  used for delayed entry when the time origin is earlier.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.cache import cache
from django.db.models import Max, Min
from django.utils import timezone

from monitoring.models import ResponseAssessment
from patients.formatting import clinical_number
from patients.models import Diagnosis, LabResult, Patient, Transplant
from patients.risk import Cytogenetics, cytogenetic_risk
from therapy.models import DoseChange, Hold, MaintenanceCourse

NOT_TESTED = "Not tested"
UNKNOWN = "Unknown"
MRD_WINDOW_BEFORE_DAYS = 90  # an MRD result up to 90 days before the start counts as "at start"
MRD_WINDOW_AFTER_DAYS = 30


@dataclass(frozen=True)
class CohortPatient:
    """What the analyses need about one patient; ``attrs`` holds the filter/grouping values."""

    attrs: dict[str, str]
    start: date
    cycle_days: int
    entered_on: date
    last_contact: date
    diagnosed_on: date | None = None
    transplanted_on: date | None = None
    course_end: date | None = None
    end_reason: str = ""
    transferred: bool = False
    progression_on: date | None = None
    death_on: date | None = None
    start_mg_per_day: float | None = None
    # (effective_from, mg per day) for each dose change, in order.
    dose_steps: tuple[tuple[date, float], ...] = ()
    first_reduction_on: date | None = None
    holds: tuple[tuple[date, date | None], ...] = ()
    mrd: tuple[tuple[date, str], ...] = ()
    best_before: str = ""
    best_during: str = ""
    # (collected on, "ANC" | "PLT") for grade 3-4 counts on maintenance.
    severe_counts: tuple[tuple[date, str], ...] = field(default=())


def _mg_per_day(dose_mg, dosing_days, cycle_days) -> float | None:
    if dose_mg is None or not dosing_days or not cycle_days:
        return None
    return float(dose_mg) * dosing_days / cycle_days


def _schedule(dosing_days: int | None) -> str:
    return f"Days 1-{dosing_days}" if dosing_days else "No lenalidomide"


def _risk(diagnosis: dict) -> str:
    finding = cytogenetic_risk(
        Cytogenetics(
            **{k: diagnosis[k] for k in ("del_17p", "t_4_14", "t_14_16", "t_14_20", "gain_1q")},
            del_1p=diagnosis["del_1p"],
            riss_stage=diagnosis["riss_stage"] or "",
        )
    )
    return {"high": "High", "standard": "Standard"}.get(finding.outcome, UNKNOWN)


SOURCES = (
    Patient,
    Diagnosis,
    Transplant,
    MaintenanceCourse,
    Hold,
    DoseChange,
    ResponseAssessment,
    LabResult,
)


def data_version() -> str:
    """A key that changes whenever a record the page reads changes: the highest primary key
    of each source table (rows added) and of its history table (every change through the
    services writes a history row, including entered-in-error). Both are index lookups, so
    checking costs the same for 100 or 10,000 patients."""
    parts = []
    for model in SOURCES:
        newest = model.objects.aggregate(newest=Max("pk"))["newest"]
        changed = model.history.model.objects.aggregate(changed=Max("pk"))["changed"]
        parts.append(f"{newest or 0}.{changed or 0}")
    return "|".join(parts)


def cohort_rows(
    clinic_ids: list[int], *, as_of: date, version: str | None = None
) -> list[CohortPatient]:
    """The rows for these clinics, cached until the data changes (or the day does)."""
    version = version or data_version()
    key = cache_key("rows", sorted(clinic_ids), as_of, version)
    rows = cache.get(key)
    if rows is None:
        rows = _cohort_rows(clinic_ids, as_of=as_of)
        cache.set(key, rows, timeout=6 * 3600)
    return rows


def cache_key(*parts) -> str:
    """A short cache key for any parts (memcached and Redis limit key length and characters)."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return f"cohort:{parts[0]}:{digest}"


def _local(moment) -> date:
    return timezone.localtime(moment).date()


def _cohort_rows(clinic_ids: list[int], *, as_of: date) -> list[CohortPatient]:
    patients = {
        p["pk"]: p
        for p in Patient.objects.valid()
        .filter(clinic_id__in=clinic_ids)
        .values("pk", "clinic__name", "status", "date_of_death")
    }
    diagnoses = {
        d["patient_id"]: d
        for d in Diagnosis.objects.filter(patient__clinic_id__in=clinic_ids).values(
            "patient_id",
            "diagnosed_on",
            "iss_stage",
            "riss_stage",
            "best_response_pre_maintenance",
            "del_17p",
            "t_4_14",
            "t_14_16",
            "t_14_20",
            "gain_1q",
            "del_1p",
        )
    }
    transplants: dict[int, list[date]] = defaultdict(list)
    for patient_id, on in (
        Transplant.objects.valid()
        .filter(patient__clinic_id__in=clinic_ids)
        .values_list("patient_id", "transplanted_on")
    ):
        transplants[patient_id].append(on)

    courses: dict[int, list[dict]] = defaultdict(list)
    for c in (
        MaintenanceCourse.objects.valid()
        .filter(patient__clinic_id__in=clinic_ids)
        .order_by("start_date", "pk")
        .values(
            "pk",
            "patient_id",
            "regimen_id",
            "start_date",
            "cycle_days",
            "start_dose_mg",
            "start_dosing_days",
            "status",
            "discontinued_on",
            "discontinuation_reason",
        )
    ):
        courses[c["patient_id"]].append(c)
    first_course = {pid: cs[0] for pid, cs in courses.items() if pid in patients}
    course_ids = {c["pk"] for c in first_course.values()}

    holds: dict[int, list[tuple[date, date | None]]] = defaultdict(list)
    for course_id, start, end in (
        Hold.objects.valid()
        .filter(course__patient__clinic_id__in=clinic_ids)
        .order_by("start_date")
        .values_list("course_id", "start_date", "end_date")
    ):
        if course_id in course_ids:
            holds[course_id].append((start, end))
    changes: dict[int, list[tuple]] = defaultdict(list)
    for row in (
        DoseChange.objects.valid()
        .filter(course__patient__clinic_id__in=clinic_ids)
        .order_by("effective_from", "pk")
        .values_list(
            "course_id",
            "effective_from",
            "from_dose_mg",
            "from_dosing_days",
            "to_dose_mg",
            "to_dosing_days",
        )
    ):
        if row[0] in course_ids:
            changes[row[0]].append(row[1:])

    assessments: dict[int, list[tuple[date, str]]] = defaultdict(list)
    for patient_id, on, category in (
        ResponseAssessment.objects.valid()
        .filter(patient__clinic_id__in=clinic_ids)
        .order_by("assessed_on")
        .values_list("patient_id", "assessed_on", "category")
    ):
        assessments[patient_id].append((on, category))

    lab_span = {
        row["patient_id"]: (_local(row["first"]), _local(row["last"]))
        for row in LabResult.objects.valid()
        .filter(patient__clinic_id__in=clinic_ids)
        .values("patient_id")
        .annotate(first=Min("collected_at"), last=Max("collected_at"))
    }
    mrd: dict[int, list[tuple[date, str]]] = defaultdict(list)
    for patient_id, at, result in (
        LabResult.objects.valid()
        .filter(patient__clinic_id__in=clinic_ids, test_code="MRD")
        .exclude(qualitative__in=["", "not_done"])
        .order_by("collected_at")
        .values_list("patient_id", "collected_at", "qualitative")
    ):
        mrd[patient_id].append((_local(at), result))
    severe: dict[int, list[tuple[date, str]]] = defaultdict(list)
    for patient_id, at, code in (
        LabResult.objects.valid()
        .filter(patient__clinic_id__in=clinic_ids, test_code__in=["ANC", "PLT"], ctcae_grade__gte=3)
        .values_list("patient_id", "collected_at", "test_code")
    ):
        severe[patient_id].append((_local(at), code))

    rows = []
    for patient_id, course in first_course.items():
        patient = patients[patient_id]
        rows.append(
            _row(
                patient,
                diagnoses.get(patient_id),
                sorted(t for t in transplants[patient_id] if t <= course["start_date"]),
                course,
                courses[patient_id][1:],
                holds[course["pk"]],
                changes[course["pk"]],
                assessments[patient_id],
                lab_span.get(patient_id),
                mrd[patient_id],
                severe[patient_id],
                as_of,
            )
        )
    return rows


RESPONSE_ORDER = ["sCR", "CR", "VGPR", "PR", "MR", "SD"]


def _row(
    patient, diagnosis, transplants, course, later, holds, changes, assessments, lab_span, mrd,
    severe, as_of,
) -> CohortPatient:  # fmt: skip
    start = course["start_date"]
    end = course["discontinued_on"]
    reason = course["discontinuation_reason"]
    on_course_until = end or as_of
    # Progression: first PD on/after start, a stop for progression, or a next line.
    candidates = [on for on, category in assessments if category == "PD" and on >= start]
    if reason == MaintenanceCourse.DiscontinuationReason.PROGRESSION and end:
        candidates.append(end)
    candidates += [c["start_date"] for c in later if c["regimen_id"] != course["regimen_id"]]
    progression_on = min(candidates) if candidates else None
    death_on = patient["date_of_death"]

    dated = [start] + [on for on, _ in assessments]
    if lab_span:
        dated += list(lab_span)
    dated += [d for h in holds for d in h if d] + [c[0] for c in changes]
    if end:
        dated.append(end)
    entered_on = min(d for d in dated if d)
    last_contact = max(d for d in dated if d and d <= as_of) if dated else start
    if death_on:
        last_contact = max(last_contact, death_on)

    start_mg = _mg_per_day(
        course["start_dose_mg"], course["start_dosing_days"], course["cycle_days"]
    )
    steps, first_reduction = [], None
    for effective, from_mg, from_days, to_mg, to_days in changes:
        before = float(from_mg) * from_days
        after = float(to_mg) * to_days
        steps.append((effective, after / course["cycle_days"]))
        if after < before and first_reduction is None:
            first_reduction = effective

    during = [
        category
        for on, category in assessments
        if start < on <= on_course_until and category in RESPONSE_ORDER
    ]
    best_during = min(during, key=RESPONSE_ORDER.index) if during else ""

    at_start = [
        result
        for on, result in mrd
        if -MRD_WINDOW_BEFORE_DAYS <= (on - start).days <= MRD_WINDOW_AFTER_DAYS
    ]
    mrd_at_start = at_start[-1].capitalize() if at_start else NOT_TESTED
    diagnosis = diagnosis or {}
    attrs = {
        "clinic": patient["clinic__name"],
        "start_year": str(start.year),
        "risk": _risk(diagnosis) if diagnosis else UNKNOWN,
        "iss": diagnosis.get("iss_stage") or UNKNOWN,
        "riss": diagnosis.get("riss_stage") or UNKNOWN,
        "transplant": "Yes" if transplants else "No",
        "schedule": _schedule(course["start_dosing_days"]),
        "start_dose": f"{clinical_number(course['start_dose_mg'])} mg"
        if course["start_dose_mg"]
        else "No lenalidomide",
        "best_response": diagnosis.get("best_response_pre_maintenance") or "Not recorded",
        "mrd_at_start": mrd_at_start,
    }
    return CohortPatient(
        attrs=attrs,
        start=start,
        cycle_days=course["cycle_days"],
        entered_on=entered_on,
        last_contact=last_contact,
        diagnosed_on=diagnosis.get("diagnosed_on"),
        transplanted_on=transplants[-1] if transplants else None,
        course_end=end,
        end_reason=reason or "",
        transferred=patient["status"] == Patient.Status.TRANSFERRED,
        progression_on=progression_on,
        death_on=death_on,
        start_mg_per_day=start_mg,
        dose_steps=tuple(steps),
        first_reduction_on=first_reduction,
        holds=tuple(holds),
        mrd=tuple(
            (on, result)
            for on, result in mrd
            if on >= start - timedelta(days=MRD_WINDOW_BEFORE_DAYS)
        ),
        best_before=diagnosis.get("best_response_pre_maintenance") or "",
        best_during=best_during,
        severe_counts=tuple((on, code) for on, code in severe if start <= on <= on_course_until),
    )
