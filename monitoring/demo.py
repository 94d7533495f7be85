"""Synthetic lab histories for the demo cohort, then a sweep so flags exist on first run.

No real person. Every value comes from ``random.Random`` keyed by the seed and the
patient's MRN, and from the patient's course as the therapy demo seeded it, so the same
seed and date give the same labs:

* CBC (with creatinine and calcium) every 14 days in cycles 1-2, every 28 days after,
  weekly during a hold for a cytopenia; a few CBCs are missed, and some patients' latest
  CBC is overdue. Counts dip with lenalidomide (deeper at higher doses and in sensitive
  patients); a hold for neutropenia or thrombocytopenia starts on a grade 3-4 count and
  the weekly CBCs after it recover; a few patients have a fresh dip on their last CBC.
* Response labs every ~3 months: serum M-protein falling towards a nadir for responders
  (a few rising again: progression), free light chains (the ratio is computed), albumin,
  LDH and beta-2 microglobulin; urine M-protein for light-chain disease.
* Pregnancy tests on the REMS schedule for patients who can become pregnant (a few late).
* A yearly MRD result for some patients.

Rows are bulk inserted without history rows (bulk seed data has no edit history); a
patient who already has demo labs is skipped, so re-running adds nothing.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from monitoring.evaluation import sweep_run
from monitoring.rules import ctcae
from patients import lab_catalogue as catalogue
from patients.models import LabResult, Patient
from patients.rulebook import thresholds_by_key

DEMO_MRN = r"^[NS][0-9]{6}$"
HISTORY_YEARS = 3
BATCH_PATIENTS = 250

_CTCAE = thresholds_by_key(ctcae.DEFAULTS)


@dataclass
class _Hold:
    start: date
    end: date | None
    cytopenia: str  # "neutropenia", "thrombocytopenia" or "" (other reason)


@dataclass
class _Course:
    start: date
    end: date | None
    dose_mg: Decimal
    holds: list[_Hold] = field(default_factory=list)


def _courses(patient_ids: list[int]) -> dict[int, _Course]:
    """Each patient's most recent course, as the therapy demo seeded it (one query each)."""
    from therapy.models import Hold, MaintenanceCourse

    courses: dict[int, tuple[int, _Course]] = {}
    rows = (
        MaintenanceCourse.objects.valid()
        .filter(patient_id__in=patient_ids)
        .order_by("patient_id", "start_date")
        .values_list("pk", "patient_id", "start_date", "discontinued_on", "start_dose_mg")
    )
    for pk, patient_id, start, end, dose in rows:
        courses[patient_id] = (pk, _Course(start, end, dose or Decimal(0)))
    by_course = dict(courses.values())
    holds = (
        Hold.objects.valid()
        .filter(course_id__in=list(by_course))
        .order_by("start_date")
        .values_list("course_id", "start_date", "end_date", "reason")
    )
    for course_id, start, end, reason in holds:
        cytopenia = reason if reason in ("neutropenia", "thrombocytopenia") else ""
        by_course[course_id].holds.append(_Hold(start, end, cytopenia))
    return {patient_id: course for patient_id, (_, course) in courses.items()}


def _grade(code: str, value: Decimal) -> tuple[int | None, str]:
    """CTCAE v5.0 grade with the catalogue LLN (same thresholds as ``ctcae.grade``)."""
    if code not in ctcae.GRADABLE_CODES:
        return None, ""
    scale = ctcae.SCALES[ctcae.DEFAULT_VERSION][code]
    for grade in scale.graded_by_value:
        if value < _CTCAE[ctcae._key(ctcae.DEFAULT_VERSION, code, grade)].value:
            return grade, f"grade {grade}"
    lln = catalogue.find_test(code).ref_low
    if value < lln:
        return 1, "grade 1"
    return 0, "normal"


class _Writer:
    """Builds LabResult rows for one patient with the derived fields filled in."""

    def __init__(self, patient_id: int, tz, as_of: date):
        self.patient_id = patient_id
        self.tz = tz
        self.as_of = as_of
        self.rows: list[LabResult] = []

    def moment(self, on: date, rng: random.Random) -> datetime:
        return datetime.combine(on, time(rng.randint(7, 11), rng.choice((0, 15, 30, 45))), self.tz)

    def add(self, code: str, on: date, when: datetime, value=None, qualitative: str = "", **extra):
        test = catalogue.find_test(code)
        row = LabResult(
            patient_id=self.patient_id,
            test_code=code,
            panel=test.panel,
            collected_at=when,
            entered_at=when + timedelta(hours=3),
            source=LabResult.Source.DEMO,
            canonical_unit=test.canonical_unit,
            qualitative=qualitative,
            ref_low=test.ref_low,
            ref_high=test.ref_high,
            **extra,
        )
        if value is not None:
            value = Decimal(value).quantize(Decimal(1).scaleb(-test.decimal_places))
            if test.plausible_low is not None:
                value = max(value, test.plausible_low)
            row.canonical_value = value
            row.value_as_entered = f"{value}"
            row.unit_as_entered = test.canonical_unit
            row.out_of_range = catalogue.out_of_range(code, value) or ""
            grade, label = _grade(code, value)
            if grade is not None:
                row.ctcae_grade, row.ctcae_label, row.ctcae_version = grade, label, "5.0"
        self.rows.append(row)
        return row


def _cbc_dates(
    course: _Course, first: date, last: date, rng: random.Random, *, late: bool
) -> list[date]:
    """CBC days on the monitoring schedule, with the odd missed draw."""
    days: list[date] = []
    on = max(course.start, first)
    while on <= last:
        held = next(
            (h for h in course.holds if h.cytopenia and h.start <= on < (h.end or date.max)), None
        )
        if rng.random() > 0.05 or held:
            days.append(on)
        cycle = (on - course.start).days // 28 + 1
        step = 7 if held else (14 if cycle <= 2 else 28)
        on += timedelta(days=step + rng.choice((-1, 0, 0, 0, 1, 2)))
    # Hold starts are always drawn: the count that prompted the hold.
    days += [h.start for h in course.holds if h.cytopenia and first <= h.start <= last]
    days = sorted(set(days))
    if late and days:
        # The most recent draws were missed: the CBC is now overdue.
        cutoff = last - timedelta(days=rng.randint(40, 60))
        days = [d for d in days if d <= cutoff] or days[:1]
    return days


def _patient_labs(
    patient: Patient, course: _Course | None, *, seed: int, as_of: date, tz
) -> list[LabResult]:
    # Synthetic data, not security: a seeded generator is the point.
    rng = random.Random(f"{seed}:{patient.mrn}")  # noqa: S311  # nosec B311
    writer = _Writer(patient.pk, tz, as_of)
    female = patient.sex_at_birth == "female"
    diagnosis = getattr(patient, "diagnosis", None)
    dialysis = bool(diagnosis and diagnosis.on_dialysis)
    first = as_of - timedelta(days=365 * HISTORY_YEARS)
    if course is None:
        # Awaiting maintenance: the baseline work-up.
        start = as_of - timedelta(days=rng.randint(3, 20))
        course = _Course(start=start, end=start, dose_mg=Decimal(0))
    last = min(course.end or as_of, as_of)
    if last < course.start:
        return []

    # The patient's own baseline and how strongly lenalidomide lowers their counts.
    anc0 = rng.gauss(3.3, 0.7)
    plt0 = rng.gauss(215, 40)
    hgb0 = rng.gauss(12.6 if female else 13.6, 0.8)
    lym0 = rng.gauss(1.5, 0.35)
    creat0 = rng.uniform(5.0, 8.0) if dialysis else rng.gauss(0.8 if female else 1.0, 0.12)
    sensitivity = rng.lognormvariate(0, 0.35) * float(course.dose_mg or 0) / 10
    renal_decline = rng.random() < 0.04 and not dialysis
    fresh_dip = patient.status == "active" and rng.random() < 0.05
    late = patient.status == "active" and rng.random() < 0.07

    cbc_days = _cbc_dates(course, first, last, rng, late=late)
    for index, on in enumerate(cbc_days):
        when = writer.moment(on, rng)
        day_in_cycle = (on - course.start).days % 28
        suppression = sensitivity * (0.15 + 0.3 * math.sin(math.pi * min(day_in_cycle, 21) / 21))
        anc = max(0.05, anc0 * (1 - min(suppression, 0.8)) * rng.gauss(1, 0.1))
        plt = max(5.0, plt0 * (1 - min(suppression * 0.7, 0.8)) * rng.gauss(1, 0.08))
        hgb = hgb0 - 0.6 * sensitivity + rng.gauss(0, 0.3)
        for hold in course.holds:
            if not hold.cytopenia:
                continue
            if on == hold.start:  # the count that prompted the hold: grade 3-4
                if hold.cytopenia == "neutropenia":
                    anc = rng.uniform(0.2, 0.49)
                else:
                    plt = rng.uniform(12, 29)
            elif hold.start < on < (hold.end or date.max):
                weeks = (on - hold.start).days / 7
                if hold.cytopenia == "neutropenia":
                    anc = min(anc, 0.35 + 0.45 * weeks + rng.gauss(0, 0.1))
                else:
                    plt = min(plt, 22 + 18 * weeks + rng.gauss(0, 4))
        if fresh_dip and index == len(cbc_days) - 1:
            anc, plt = rng.choice([(rng.uniform(0.3, 0.95), plt), (anc, rng.uniform(18, 45))])
        lymph = max(0.1, lym0 * rng.gauss(1, 0.12) - 0.2 * sensitivity)
        wbc = anc + lymph + max(0.2, rng.gauss(0.6, 0.15))
        writer.add("ANC", on, when, f"{max(anc, 0.02):.2f}")
        writer.add("PLT", on, when, f"{plt:.0f}")
        writer.add("HGB", on, when, f"{max(hgb, 6.5):.1f}")
        writer.add("WBC", on, when, f"{wbc:.1f}")
        writer.add("LYMPH", on, when, f"{lymph:.2f}")
        creat = creat0 * rng.gauss(1, 0.05)
        if renal_decline and index >= len(cbc_days) - 2:
            creat = creat0 * 2.1
        writer.add("CREAT", on, when, f"{creat:.2f}")
        writer.add("CALCIUM", on, when, f"{rng.gauss(9.4, 0.3):.1f}")

    _response_labs(writer, patient, course, rng, first=first, last=last)
    if patient.reproductive_potential == "can_become_pregnant":
        _pregnancy_tests(writer, patient, course, rng, first=first, last=last)
    if rng.random() < 0.3:
        on = course.start + timedelta(days=rng.randint(300, 420))
        if on <= last:
            result = "negative" if rng.random() < 0.45 else "positive"
            writer.add(
                "MRD",
                on,
                writer.moment(on, rng),
                qualitative=result,
                mrd_method="NGS",
                mrd_sensitivity_exponent=rng.choice([5, 6]),
            )
    return writer.rows


def _response_labs(
    writer: _Writer, patient: Patient, course: _Course, rng, *, first: date, last: date
) -> None:
    diagnosis = getattr(patient, "diagnosis", None)
    heavy = diagnosis.heavy_chain if diagnosis else "IgG"
    involved = (diagnosis.light_chain if diagnosis else "") or "kappa"
    if heavy == "non_secretory":
        return
    secretory = heavy in ("IgG", "IgA", "IgD", "IgM")
    m0 = rng.uniform(0.3, 1.8)  # g/dL at maintenance start (after induction and transplant)
    flc0 = rng.uniform(40, 400) if not secretory else rng.uniform(15, 60)
    half_life = rng.uniform(120, 400)  # days
    nadir_floor = rng.choice([0, 0, 0.05, 0.1, 0.2])
    progressing = rng.random() < 0.08
    on = max(course.start, first)
    assessments = []
    while on <= last:
        assessments.append(on)
        on += timedelta(days=rng.randint(84, 98))
    for index, on in enumerate(assessments):
        when = writer.moment(on, rng)
        t = (on - course.start).days
        fall = math.exp(-t / half_life)
        rise = 0.0
        if progressing and index >= len(assessments) - 2 and len(assessments) >= 4:
            rise = 0.7 * (index - len(assessments) + 3)  # the last two climb from the nadir
        if secretory:
            spep = max(nadir_floor, m0 * fall) + rise * max(0.6, m0)
            writer.add("SPEP_M", on, when, f"{spep:.2f}")
        involved_flc = max(18.0, flc0 * fall) + (rise * 150 if not secretory else 0)
        other = rng.uniform(8, 20)
        kappa, lambda_ = (involved_flc, other) if involved == "kappa" else (other, involved_flc)
        k = writer.add("FLC_KAPPA", on, when, f"{kappa:.1f}")
        lam = writer.add("FLC_LAMBDA", on, when, f"{lambda_:.1f}")
        ratio = catalogue.flc_ratio(k.canonical_value, lam.canonical_value)
        row = writer.add("FLC_RATIO", on, when, f"{ratio:.4f}")
        row.value_as_entered = f"{k.canonical_value} / {lam.canonical_value}"
        row.unit_as_entered = ""
        if heavy == "light_chain_only":
            writer.add(
                "UPEP_M24", on, when, f"{max(0, 400 * fall + rise * 300 + rng.gauss(0, 10)):.0f}"
            )
        writer.add("ALBUMIN", on, when, f"{rng.gauss(4.0, 0.3):.1f}")
        writer.add("LDH", on, when, f"{rng.gauss(190, 30):.0f}")
        writer.add("B2M", on, when, f"{rng.gauss(2.0, 0.4) + 0.8 * rise:.1f}")


def _pregnancy_tests(
    writer: _Writer, patient: Patient, course: _Course, rng, *, first: date, last: date
) -> None:
    """REMS schedule: weekly for 4 weeks, then every 4 (regular) or 2 (irregular) weeks."""
    interval_after = 28 if patient.menses_regular else 14
    on = course.start - timedelta(days=1)
    late = rng.random() < 0.25
    cutoff = last - timedelta(days=rng.randint(20, 40)) if late else last
    while on <= cutoff:
        if on >= first:
            when = writer.moment(on, rng)
            code = rng.choice(["HCG_SERUM_QUAL", "HCG_URINE_QUAL"])
            writer.add(code, on, when, qualitative="negative", hcg_sensitivity_miu_ml=Decimal(25))
        weekly = (on - course.start).days < 28
        on += timedelta(days=7 if weekly else interval_after)


def _insert(rows: list[LabResult]) -> None:
    """Bulk insert; on PostgreSQL with COPY (several times faster for millions of rows).

    COPY cannot skip conflicts, so a batch that collides with a result entered by hand
    falls back to ``bulk_create(ignore_conflicts=True)``.
    """
    if connection.vendor == "postgresql":
        fields = [f for f in LabResult._meta.concrete_fields if not f.primary_key]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        # Plain Python values (Decimal, aware datetime, UUID, str) adapt directly; only the
        # timestamps Django would fill in on save are set here.
        now = timezone.now()
        stamped = {"created_at", "updated_at"}
        attnames = [f.attname for f in fields]
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                copy_sql = f"COPY {LabResult._meta.db_table} ({columns}) FROM STDIN"  # noqa: S608 - model metadata, no input
                with cursor.cursor.copy(copy_sql) as copy:
                    for row in rows:
                        values = row.__dict__
                        copy.write_row(
                            [now if name in stamped else values[name] for name in attnames]
                        )
            return
        except IntegrityError:
            pass
    with transaction.atomic():
        LabResult.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)


def seed_monitoring(
    *, seed: int, as_of: date, progress: Callable[[int], None] | None = None
) -> int:
    """Labs for every demo patient without any yet, then the sweep; returns results added."""
    tz = timezone.get_current_timezone()
    have_labs = set(
        LabResult.objects.filter(source=LabResult.Source.DEMO)
        .values_list("patient_id", flat=True)
        .distinct()
    )
    patients = list(
        Patient.objects.filter(mrn__regex=DEMO_MRN)
        .exclude(pk__in=have_labs)
        .select_related("diagnosis")
        .order_by("pk")
    )
    added = 0
    for start in range(0, len(patients), BATCH_PATIENTS):
        batch = patients[start : start + BATCH_PATIENTS]
        courses = _courses([p.pk for p in batch])
        rows = []
        for patient in batch:
            rows += _patient_labs(patient, courses.get(patient.pk), seed=seed, as_of=as_of, tz=tz)
        _insert(rows)
        added += len(rows)
        if progress:
            progress(len(batch))
    sweep_run(as_of=as_of)
    return added
