"""Reads for the therapy app. The monitoring app codes against the names marked CONTRACT.

Every batch selector runs a fixed number of queries whatever the number of patients
(pinned in tests/therapy/test_query_counts.py).
"""

from __future__ import annotations

import calendar as month_calendar
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import CharField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.utils import timezone

from patients.formatting import clinical_number
from patients.lab_selectors import (
    last_negative_pregnancy_tests,
    latest_values,
    local_date,
    pregnancy_tests,
)
from patients.models import Patient
from patients.rulebook import Finding, Threshold
from patients.selectors import (
    WeightUsed,
    latest_transplant,
    rule_thresholds,
    weight_history,
    weight_nearest,
)
from therapy import cycles, dosing, eligibility, rems_rules
from therapy.dosing import DoseLevel, format_mg
from therapy.eligibility import ChecklistItem, EligibilityInputs
from therapy.models import (
    DoseChange,
    DoseSuggestion,
    Hold,
    MaintenanceCourse,
    Regimen,
    RemsAuthorization,
    RemsEnrollment,
    RemsSurvey,
    parse_days,
)

ELIGIBILITY_DEFAULTS = dosing.DEFAULTS + rems_rules.DEFAULTS + eligibility.DEFAULTS


def _valid_holds() -> Prefetch:
    return Prefetch("holds", queryset=Hold.objects.valid().order_by("start_date", "pk"))


def _valid_changes() -> Prefetch:
    return Prefetch(
        "dose_changes", queryset=DoseChange.objects.valid().order_by("effective_from", "pk")
    )


# --- CONTRACT: courses -------------------------------------------------------------------


def active_course_for(patient: Patient) -> MaintenanceCourse | None:
    """CONTRACT. The patient's active (valid) maintenance course, or None."""
    return (
        MaintenanceCourse.objects.active()
        .filter(patient=patient)
        .select_related("regimen", "patient")
        .first()
    )


@dataclass(frozen=True)
class CourseSnapshot:
    """CONTRACT. Where an active course stands on one date."""

    course_id: int
    patient_id: int
    start_date: date
    cycle: int
    day: int | None  # None while on hold
    is_dosing_day: bool
    on_hold: bool
    held_for_cytopenia: bool
    current_level: DoseLevel | None  # None when the regimen has no lenalidomide
    regimen_name: str
    includes_lenalidomide: bool
    # The pure cycle calendar (holds pause it): monitoring reads the phase at a past date.
    calendar: cycles.CourseCalendar | None = None
    # The holds for a cytopenia (start, first day off hold): CBCs are weekly while one lasts.
    cytopenia_holds: tuple[cycles.Hold, ...] = ()


def course_snapshots(patient_ids: list[int], *, as_of: date) -> dict[int, CourseSnapshot]:
    """CONTRACT. Active courses of these patients on ``as_of``, keyed by patient id.

    Three queries whatever the number of patients (courses with regimen, holds, dose
    changes). A course starting after ``as_of`` has no cycle yet and is left out.
    """
    courses = (
        MaintenanceCourse.objects.active()
        .filter(patient_id__in=list(patient_ids), start_date__lte=as_of)
        .select_related("regimen")
        .prefetch_related(_valid_holds(), _valid_changes())
    )
    return {course.patient_id: snapshot_of(course, as_of=as_of) for course in courses}


def course_snapshot_for(
    patient: Patient, *, as_of: date, courses: list[MaintenanceCourse] | None = None
) -> CourseSnapshot | None:
    """The patient's active course on ``as_of`` (as ``course_snapshots``), read once per
    patient object and date: a page's summary header and its body both show it. A caller
    that has read ``courses_with_history`` passes it, and no query is made."""
    known = patient.__dict__.setdefault("_course_snapshots", {})
    if as_of not in known:
        if courses is None:
            known[as_of] = course_snapshots([patient.pk], as_of=as_of).get(patient.pk)
        else:
            started = [c for c in courses if c.is_active and c.start_date <= as_of]
            known[as_of] = snapshot_of(started[-1], as_of=as_of) if started else None
    return known[as_of]


def snapshot_of(course: MaintenanceCourse, *, as_of: date) -> CourseSnapshot:
    """The snapshot of one course whose holds and dose changes are loaded (or loadable)."""
    holds = list(course.holds.all())
    changes = list(course.dose_changes.all())
    calendar = course_calendar(course, holds, changes)
    day = calendar.day(as_of)
    level = level_on(course, changes, as_of)
    covering = _hold_covering(holds, as_of)
    is_dosing = day.is_dosing_day
    if level is None and not day.on_hold:
        is_dosing = day.day in parse_days(course.regimen.dosing_days_spec or "")
    return CourseSnapshot(
        course_id=course.pk,
        patient_id=course.patient_id,
        start_date=course.start_date,
        cycle=day.cycle,
        day=day.day,
        is_dosing_day=is_dosing,
        on_hold=day.on_hold,
        held_for_cytopenia=bool(covering and covering.for_cytopenia),
        current_level=level,
        regimen_name=course.regimen.name,
        includes_lenalidomide=course.start_dose_mg is not None,
        calendar=calendar,
        cytopenia_holds=tuple(
            cycles.Hold(hold.start_date, hold.end_date) for hold in holds if hold.for_cytopenia
        ),
    )


def course_calendar(
    course: MaintenanceCourse, holds: Iterable[Hold], changes: Iterable[DoseChange]
) -> cycles.CourseCalendar:
    """The pure cycle calendar of a course (holds pause it; schedule changes apply from their date)."""
    if course.start_dosing_days is not None:
        schedule = [cycles.ScheduleChange(course.start_date, course.start_dosing_days)]
        schedule += [
            cycles.ScheduleChange(change.effective_from, change.to_dosing_days)
            for change in changes
        ]
    else:
        schedule = [cycles.ScheduleChange(course.start_date, course.cycle_days)]
    return cycles.CourseCalendar(
        start=course.start_date,
        schedule=schedule,
        holds=[cycles.Hold(hold.start_date, hold.end_date) for hold in holds],
        cycle_days=course.cycle_days,
    )


def level_on(
    course: MaintenanceCourse, changes: Iterable[DoseChange], on: date
) -> DoseLevel | None:
    """The lenalidomide level in force on a date: the last dose change by then, else the start."""
    level = course.start_level
    for change in changes:
        if change.effective_from <= on:
            level = DoseLevel(change.to_dose_mg, change.to_dosing_days, course.cycle_days)
    return level


def _hold_covering(holds: Iterable[Hold], on: date) -> Hold | None:
    for hold in holds:
        if hold.start_date <= on and (hold.end_date is None or on < hold.end_date):
            return hold
    return None


# --- CONTRACT: therapy history -----------------------------------------------------------


@dataclass(frozen=True)
class TherapyEvent:
    """CONTRACT. One point on the therapy timeline."""

    kind: str  # start | dose_change | hold_start | hold_end | discontinuation
    on: date
    label: str
    detail: str
    dose_mg: Decimal | None


# Same-day order: a course starts, a hold ends and dosing resumes, the dose changes, a new
# hold starts, the course ends.
_EVENT_ORDER = {"start": 0, "hold_end": 1, "dose_change": 2, "hold_start": 3, "discontinuation": 4}


def therapy_events(patient: Patient) -> list[TherapyEvent]:
    """CONTRACT. Every course's start, dose changes, holds and discontinuation, in date order
    (entered-in-error rows left out). Three queries."""
    courses = (
        MaintenanceCourse.objects.valid()
        .filter(patient=patient)
        .select_related("regimen")
        .prefetch_related(_valid_holds(), _valid_changes())
        .order_by("start_date", "pk")
    )
    events: list[TherapyEvent] = []
    for course in courses:
        events += _course_events(course)
    events.sort(key=lambda e: (e.on, _EVENT_ORDER[e.kind]))
    return events


def _course_events(course: MaintenanceCourse) -> list[TherapyEvent]:
    start_level = course.start_level
    events = [
        TherapyEvent(
            kind="start",
            on=course.start_date,
            label=f"Started {course.regimen.name}",
            detail=start_level.label if start_level else course.prophylaxis_text,
            dose_mg=start_level.dose_mg if start_level else None,
        )
    ]
    changes = list(course.dose_changes.all())
    for change in changes:
        down = change.to_level.mg_per_cycle < change.from_level.mg_per_cycle
        events.append(
            TherapyEvent(
                kind="dose_change",
                on=change.effective_from,
                label=f"Dose {'reduced' if down else 'changed'}: "
                f"{change.from_level.label} -> {change.to_level.label}",
                detail=change.get_reason_display() + (f": {change.note}" if change.note else ""),
                dose_mg=change.to_dose_mg,
            )
        )
    for hold in course.holds.all():
        events.append(
            TherapyEvent(
                kind="hold_start",
                on=hold.start_date,
                label=f"Hold: {hold.get_reason_display()}",
                detail=hold.note,
                dose_mg=None,
            )
        )
        if hold.end_date is not None:
            resumed = level_on(course, changes, hold.end_date)
            events.append(
                TherapyEvent(
                    kind="hold_end",
                    on=hold.end_date,
                    label="Hold ended, dosing resumed"
                    + (f" at {resumed.label}" if resumed else ""),
                    detail=hold.end_note,
                    dose_mg=resumed.dose_mg if resumed else None,
                )
            )
    if course.discontinued_on is not None:
        events.append(
            TherapyEvent(
                kind="discontinuation",
                on=course.discontinued_on,
                label=f"Discontinued: {course.get_discontinuation_reason_display()}",
                detail=course.discontinuation_note,
                dose_mg=None,
            )
        )
    return events


@dataclass(frozen=True)
class CourseTimeline:
    """What the physician's timeline draws of one course: dose steps, holds, cycle starts."""

    regimen_name: str
    start_date: date
    discontinued_on: date | None
    steps: tuple[tuple[date, Decimal | None, str], ...]  # (from, dose mg or None when held, label)
    holds: tuple[tuple[date, date | None, str], ...]  # (start, end or None if ongoing, reason)
    cycle_starts: tuple[date, ...]
    events: tuple[TherapyEvent, ...]


def courses_with_history(patient: Patient) -> list[MaintenanceCourse]:
    """Every valid course of the patient, oldest first, with its regimen, valid holds and
    dose changes loaded (three queries whatever the length of the history): what
    ``course_timelines`` draws and ``snapshot_of`` reads."""
    return list(
        MaintenanceCourse.objects.valid()
        .filter(patient=patient)
        .select_related("regimen")
        .prefetch_related(_valid_holds(), _valid_changes())
        .order_by("start_date", "pk")
    )


def course_timelines(
    patient: Patient, *, until: date, courses: list[MaintenanceCourse] | None = None
) -> list[CourseTimeline]:
    """Every valid course of the patient, as plain series for the timeline charts. Three
    queries (courses, holds, dose changes), whatever the length of the history; none when
    the caller passes the ``courses_with_history`` it has read already."""
    if courses is None:
        courses = courses_with_history(patient)
    result = []
    for course in courses:
        holds = list(course.holds.all())
        changes = list(course.dose_changes.all())
        end = min(until, course.discontinued_on) if course.discontinued_on else until
        steps: list[tuple[date, Decimal | None, str]] = []
        start_level = course.start_level
        steps.append(
            (
                course.start_date,
                start_level.dose_mg if start_level else None,
                format_level(start_level),
            )
        )
        for change in changes:
            steps.append((change.effective_from, change.to_dose_mg, change.to_level.label))
        for hold in holds:
            steps.append((hold.start_date, None, f"held: {hold.get_reason_display()}"))
            if hold.end_date is not None:
                level = level_on(course, changes, hold.end_date)
                steps.append((hold.end_date, level.dose_mg if level else None, format_level(level)))
        steps.sort(key=lambda step: step[0])
        calendar = course_calendar(course, holds, changes)
        cycle_starts = []
        n = 1
        while (start := calendar.cycle_start(n)) is not None and start <= end and n < 1000:
            cycle_starts.append(start)
            n += 1
        result.append(
            CourseTimeline(
                regimen_name=course.regimen.name,
                start_date=course.start_date,
                discontinued_on=course.discontinued_on,
                steps=tuple(steps),
                holds=tuple((h.start_date, h.end_date, h.get_reason_display()) for h in holds),
                cycle_starts=tuple(cycle_starts),
                events=tuple(_course_events(course)),
            )
        )
    return result


# --- CONTRACT: suggestions -----------------------------------------------------------------


def pending_suggestions(patient_ids: Iterable[int]) -> QuerySet[DoseSuggestion]:
    """CONTRACT. Pending dose suggestions of these patients, newest first."""
    return (
        DoseSuggestion.objects.pending()
        .filter(patient_id__in=list(patient_ids))
        .select_related("patient", "course__regimen")
        .order_by("-raised_on", "-pk")
    )


def suggestion_states(
    patient_ids: Iterable[int],
) -> tuple[list[DoseSuggestion], dict[tuple[int, str], DoseSuggestion]]:
    """CONTRACT. In one query: the pending suggestions of these patients, and the latest
    accepted one per (patient, kind) (a rule raising the same finding on the same results
    again has been decided already)."""
    pending: list[DoseSuggestion] = []
    accepted: dict[tuple[int, str], DoseSuggestion] = {}
    rows = (
        DoseSuggestion.objects.filter(
            patient_id__in=list(patient_ids),
            status__in=[DoseSuggestion.Status.PENDING, DoseSuggestion.Status.ACCEPTED],
        )
        .only("id", "patient_id", "kind", "status", "evidence", "decided_at")
        .order_by("patient_id", "kind", "-decided_at", "-pk")
    )
    for row in rows:
        if row.status == DoseSuggestion.Status.PENDING:
            pending.append(row)
        else:
            accepted.setdefault((row.patient_id, row.kind), row)
    return pending, accepted


def suggestion_for(patient: Patient, public_id) -> DoseSuggestion | None:
    """CONTRACT. One of the patient's dose suggestions by its public id (None: not theirs)."""
    return DoseSuggestion.objects.filter(patient=patient, public_id=public_id).first()


def suggestions_for(patient: Patient, *, limit: int = 20) -> list[DoseSuggestion]:
    return list(
        DoseSuggestion.objects.filter(patient=patient)
        .select_related("decided_by", "created_hold", "created_dose_change")
        .order_by("-raised_on", "-pk")[:limit]
    )


# --- CONTRACT: REMS ------------------------------------------------------------------------


@dataclass(frozen=True)
class RemsState:
    """CONTRACT. A patient's REMS status on one date."""

    patient_id: int
    risk_category: str | None  # the confirmed category; None when not enrolled
    status: Finding  # rems_rules.rems_status: values["actions"] lists what is needed
    # Dates after as_of on which the status can change with nothing new recorded, earliest
    # first, each with the rule (rems_rules.status_changes; an unenrolled minor's category).
    changes: tuple[tuple[date, str], ...] = ()


def rems_states(patient_ids: list[int], *, as_of: date) -> dict[int, RemsState]:
    """CONTRACT. REMS status of each patient on ``as_of``.

    One query for patients, enrollment, latest authorization, latest survey and active
    course start; one rule-settings query per clinic among them; pregnancy tests from the
    lab record (``patients.lab_selectors``, one query for the batch).
    """
    patients = list(_rems_rows(patient_ids, as_of=as_of))
    thresholds = _thresholds_by_clinic({p.clinic_id for p in patients}, rems_rules.DEFAULTS)
    categories = {p.pk: _category_of(p, as_of, thresholds[p.clinic_id]) for p in patients}
    need_tests = [
        p.pk for p in patients if rems_rules.is_fcbp(categories[p.pk]) and p.therapy_start
    ]
    earliest = min((p.therapy_start for p in patients if p.pk in need_tests), default=as_of)
    tests = (
        last_negative_pregnancy_tests(need_tests, since=earliest - timedelta(days=14), as_of=as_of)
        if need_tests
        else {}
    )
    states = {}
    for p in patients:
        enrollment = _enrollment_of(p)
        snapshot = rems_rules.RemsSnapshot(
            risk_category=categories[p.pk],
            enrolled_on=enrollment.enrolled_on if enrollment and enrollment.is_active else None,
            agreement_signed=bool(enrollment and enrollment.agreement_signed_on),
            authorization_obtained_on=p.auth_obtained_on,
            authorization_expires_on=p.auth_expires_on,
            last_survey_on=p.last_survey_on,
            prescriber_certification_expires_on=(
                enrollment.prescriber_certification_expires_on if enrollment else None
            ),
            therapy_start=p.therapy_start,
            last_negative_pregnancy_test=tests.get(p.pk),
            # Unknown regularity: test every 2 weeks (the protective schedule).
            menses_regular=p.menses_regular is True,
        )
        status = rems_rules.rems_status(snapshot, as_of=as_of, thresholds=thresholds[p.clinic_id])
        changes = rems_rules.status_changes(
            snapshot, as_of=as_of, thresholds=thresholds[p.clinic_id]
        )
        if enrollment is None and (adult_on := _adult_on(p, thresholds[p.clinic_id])) > as_of:
            # Not enrolled: the suggested category turns adult on that birthday.
            changes = tuple(sorted((*changes, (adult_on, "risk category: adult"))))
        states[p.pk] = RemsState(
            patient_id=p.pk,
            risk_category=enrollment.patient_risk_category if enrollment else None,
            status=status,
            changes=changes,
        )
    return states


def _adult_on(patient: Patient, thresholds: dict[str, Threshold]) -> date:
    """The birthday on which ``suggest_risk_category`` counts the patient as an adult."""
    years = math.ceil(rems_rules.settings(thresholds)["rems.adult_age_years"].value)
    born = patient.date_of_birth
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # born on 29 February: a year later it is 1 March (Patient.age_on)
        return date(born.year + years, 3, 1)


def _rems_rows(patient_ids: list[int], *, as_of: date) -> QuerySet[Patient]:
    latest_auth = (
        RemsAuthorization.objects.valid()
        .filter(patient=OuterRef("pk"), obtained_on__lte=as_of)
        .order_by("-obtained_on", "-pk")
    )
    latest_survey = (
        RemsSurvey.objects.valid()
        .filter(patient=OuterRef("pk"), completed_on__lte=as_of)
        .order_by("-completed_on", "-pk")
    )
    # A planned course (starting after as_of) has no pregnancy-test schedule yet.
    active_start = MaintenanceCourse.objects.active().filter(
        patient=OuterRef("pk"), start_date__lte=as_of
    )
    return (
        Patient.objects.filter(pk__in=list(patient_ids))
        .select_related("rems_enrollment")
        .annotate(
            auth_obtained_on=Subquery(latest_auth.values("obtained_on")[:1]),
            auth_expires_on=Subquery(latest_auth.values("expires_on")[:1]),
            last_survey_on=Subquery(latest_survey.values("completed_on")[:1]),
            therapy_start=Subquery(active_start.values("start_date")[:1]),
        )
    )


def _enrollment_of(patient: Patient) -> RemsEnrollment | None:
    try:
        return patient.rems_enrollment
    except RemsEnrollment.DoesNotExist:
        return None


def _thresholds_by_clinic(
    clinic_ids: set[int], defaults: tuple[Threshold, ...]
) -> dict[int, dict[str, Threshold]]:
    return {clinic_id: rule_thresholds(defaults, clinic_id=clinic_id) for clinic_id in clinic_ids}


def can_become_pregnant_of(patient: Patient) -> bool | None:
    """The assessed potential; when not assessed, a recorded hysterectomy or bilateral
    oophorectomy decides "cannot" (label definition, ``rems_rules``); else unknown."""
    potential = patient.reproductive_potential
    if patient.sex_at_birth == Patient.Sex.MALE:
        return False
    if potential == Patient.ReproductivePotential.CAN_BECOME_PREGNANT:
        return True
    if potential == Patient.ReproductivePotential.CANNOT_BECOME_PREGNANT:
        return False
    if rems_rules.surgery_rules_out_pregnancy(
        hysterectomy=patient.hysterectomy, bilateral_oophorectomy=patient.bilateral_oophorectomy
    ):
        return False
    return None


def suggested_risk_category(
    patient: Patient, *, as_of: date, thresholds: dict[str, Threshold] | None = None
) -> Finding:
    assessed = {
        Patient.ReproductivePotential.CAN_BECOME_PREGNANT: True,
        Patient.ReproductivePotential.CANNOT_BECOME_PREGNANT: False,
    }.get(patient.reproductive_potential)
    return rems_rules.suggest_risk_category(
        sex_at_birth=patient.sex_at_birth,
        age_years=patient.age_on(as_of),
        can_become_pregnant=assessed,
        hysterectomy=patient.hysterectomy,
        bilateral_oophorectomy=patient.bilateral_oophorectomy,
        thresholds=thresholds,
    )


def _category_of(patient: Patient, as_of: date, thresholds: dict[str, Threshold]) -> str:
    enrollment = _enrollment_of(patient)
    if enrollment is not None:
        return enrollment.patient_risk_category
    return suggested_risk_category(patient, as_of=as_of, thresholds=thresholds).outcome


def rems_record(patient: Patient) -> dict:
    """The REMS page: enrollment, authorizations and surveys (valid ones first)."""
    return {
        "enrollment": RemsEnrollment.objects.filter(patient=patient)
        .select_related("risk_category_confirmed_by")
        .first(),
        "authorizations": list(
            RemsAuthorization.objects.filter(patient=patient).order_by("-obtained_on", "-pk")
        ),
        "surveys": list(
            RemsSurvey.objects.filter(patient=patient).order_by("-completed_on", "-pk")
        ),
    }


@dataclass(frozen=True)
class RemsRow:
    patient: Patient
    state: RemsState


class LazyRemsRows:
    """REMS rows computed only for the slice that is read (a page, or all for a CSV)."""

    def __init__(self, patients: QuerySet[Patient], *, as_of: date) -> None:
        self.patients = patients
        self.as_of = as_of

    def __len__(self) -> int:
        return self.patients.count()

    def count(self) -> int:
        return len(self)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        chunk = list(self.patients[index])
        states = rems_states([p.pk for p in chunk], as_of=self.as_of)
        return [RemsRow(patient=p, state=states[p.pk]) for p in chunk]

    def __iter__(self):
        return iter(self[0 : len(self)])


# Most urgent first: a patient who may not be dispensed to today before one whose paperwork
# is merely coming due. Unknown actions sort after the known ones.
REMS_ACTION_URGENCY = (
    "pregnancy_test_overdue",
    "authorization_expired",
    "no_authorization",
    "enrollment_missing",
    "prescriber_certification_expired",
    "pregnancy_test_due",
    "authorization_expiring",
    "prescriber_certification_expiring",
    "survey_due",
)
REMS_SORTS = ("urgency", "name")


def rems_action_label(action: str) -> str:
    """'survey_due' -> 'Survey due' (the words on the list, the filter and the CSV)."""
    return action.replace("_", " ").capitalize()


def rems_risk_category_label(code: str | None) -> str:
    return rems_rules.RiskCategory.LABELS.get(code or "", "Not enrolled")


def _urgency(row: RemsRow) -> tuple:
    actions = row.state.status.values.get("actions") or []
    ranks = [
        REMS_ACTION_URGENCY.index(a) if a in REMS_ACTION_URGENCY else len(REMS_ACTION_URGENCY)
        for a in actions
    ]
    expires = str(row.state.status.values.get("authorization_expires_on") or date.max)
    return (
        row.state.status.outcome == "compliant",
        min(ranks, default=len(REMS_ACTION_URGENCY) + 1),
        expires,
        row.patient.family_name.lower(),
        row.patient.given_name.lower(),
        row.patient.pk,
    )


def rems_list(
    *,
    user,
    as_of: date,
    clinic_id: int | None = None,
    status: str = "",
    include_inactive: bool = False,
    search: str = "",
    sort: str = "urgency",
) -> list[RemsRow] | LazyRemsRows:
    """Every patient of the user's clinics with a REMS status, most urgent first (or by
    name). Filtering or sorting by status needs the computed status, so that list is built
    in memory (a fixed number of queries); by name, only the rows on screen are computed."""
    patients = Patient.objects.for_user(user).valid().select_related("clinic")
    if clinic_id:
        patients = patients.filter(clinic_id=clinic_id)
    if not include_inactive:
        patients = patients.filter(
            status__in=[Patient.Status.ACTIVE, Patient.Status.PRE_MAINTENANCE]
        )
    if search:
        patients = patients.search(search)
    patients = patients.order_by("family_name", "given_name", "pk")
    if not status and sort == "name":
        # Unfiltered, only the rows on screen need a status: the paginator asks for a count
        # and one slice, so 25 statuses are computed, not one per patient of the clinic.
        return LazyRemsRows(patients, as_of=as_of)
    patients = list(patients)
    states = rems_states([p.pk for p in patients], as_of=as_of)
    rows = [RemsRow(patient=p, state=states[p.pk]) for p in patients]
    if status in ("compliant", "action_needed"):
        rows = [row for row in rows if row.state.status.outcome == status]
    elif status in rems_rules.ACTIONS:
        rows = [row for row in rows if status in row.state.status.values["actions"]]
    if sort != "name":
        rows.sort(key=_urgency)
    return rows


# --- Eligibility -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Eligibility:
    items: tuple[ChecklistItem, ...]
    overall: str
    as_of: date

    @property
    def failed(self) -> tuple[ChecklistItem, ...]:
        return tuple(item for item in self.items if item.status == eligibility.FAIL)

    @property
    def renal_dose(self) -> ChecklistItem | None:
        """The creatinine-clearance item when it names a renal starting dose (start page)."""
        item = next((i for i in self.items if i.item_id == "crcl"), None)
        if item and item.status == eligibility.WARN and item.finding.values.get("suggested_level"):
            return item
        return None

    @property
    def unresolved(self) -> tuple[ChecklistItem, ...]:
        """Failed items and items that could not be checked (no result): starting despite
        either needs a written justification; a missing pregnancy test is never a pass."""
        return tuple(
            item for item in self.items if item.status in (eligibility.FAIL, eligibility.UNKNOWN)
        )


LAB_CODES = sorted({"ANC", "PLT", "CREAT", *eligibility.BASELINE_LAB_CODES})


def eligibility_for(
    patient: Patient, *, as_of: date, prescription_at: datetime | None = None
) -> Eligibility:
    """The start-of-maintenance checklist from the record and the latest lab results."""
    prescription_at = prescription_at or timezone.make_aware(datetime.combine(as_of, time(9, 0)))
    # In the clinic's time zone: the rules take its calendar date (a 21:00 prescription in
    # New York is still that day, not the next UTC day).
    prescription_at = timezone.localtime(prescription_at)
    thresholds = rule_thresholds(ELIGIBILITY_DEFAULTS, clinic_id=patient.clinic_id)
    labs = latest_values(patient.pk, LAB_CODES, as_of=as_of)
    crcl, crcl_on, basis = _crcl(patient, labs.get("CREAT"))
    anc, plt = labs.get("ANC"), labs.get("PLT")
    diagnosis = getattr(patient, "diagnosis", None)
    enrollment = RemsEnrollment.objects.filter(patient=patient).first()
    tests = pregnancy_tests([patient.pk], since=as_of - timedelta(days=14), as_of=as_of).get(
        patient.pk, []
    )
    transplant = latest_transplant(patient, on_or_before=as_of)
    inputs = EligibilityInputs(
        best_response=(diagnosis.best_response_pre_maintenance or None) if diagnosis else None,
        crcl_ml_min=crcl,
        crcl_on=crcl_on,
        crcl_basis=basis,
        anc=anc.value if anc else None,
        anc_on=timezone.localdate(anc.collected_at) if anc else None,
        platelets=plt.value if plt else None,
        platelets_on=timezone.localdate(plt.collected_at) if plt else None,
        rems_enrollment_active=enrollment.is_active if enrollment else False,
        can_become_pregnant=can_become_pregnant_of(patient),
        pregnancy_tests=tuple(
            rems_rules.PregnancyTest(
                collected_on=timezone.localdate(test.collected_at),
                result=test.result,
                sensitivity_miu_ml=test.sensitivity_miu_ml,
                collected_at=test.collected_at,
            )
            for test in tests
        ),
        planned_prescription_at=prescription_at,
        on_dialysis=bool(diagnosis and diagnosis.on_dialysis),
        transplant_on=transplant.transplanted_on if transplant else None,
        transplant_kind=transplant.kind if transplant else "autologous",
        baseline_labs={
            code: timezone.localdate(labs[code].collected_at)
            for code in eligibility.BASELINE_LAB_CODES
            if code in labs
        },
    )
    items = eligibility.eligibility_checklist(inputs, thresholds)
    return Eligibility(items=items, overall=eligibility.overall(items), as_of=as_of)


@dataclass(frozen=True)
class CrclUsed:
    """A Cockcroft-Gault creatinine clearance with the inputs it used."""

    finding: Finding  # dosing.crcl_cockcroft_gault: values["crcl_ml_min"], the formula's inputs
    creatinine_on: date
    weight: WeightUsed

    @property
    def crcl_ml_min(self) -> Decimal:
        return self.finding.values["crcl_ml_min"]


def crcl_with_weight(
    patient: Patient,
    *,
    creatinine_mg_dl: Decimal,
    collected_at: datetime,
    weights: list[WeightUsed],
) -> CrclUsed | None:
    """THE creatinine clearance of one creatinine result: Cockcroft-Gault with the patient's
    age on the clinic date of the draw and the weight measured nearest that date (None
    without a weight). ``weights`` come from ``patients.selectors.weight_history``, one
    query for a whole batch; the sweep and the start-of-maintenance checklist both call it."""
    on = local_date(collected_at)
    weight = weight_nearest(weights, on)
    if weight is None:
        return None
    finding = dosing.crcl_cockcroft_gault(
        age_years=patient.age_on(on),
        weight_kg=weight.weight_kg,
        creatinine_mg_dl=creatinine_mg_dl,
        sex_at_birth=patient.sex_at_birth,
    )
    return CrclUsed(finding=finding, creatinine_on=on, weight=weight)


def _crcl(patient: Patient, creatinine) -> tuple[Decimal | None, date | None, str]:
    """The checklist's CrCl from the latest creatinine, with its basis in words."""
    if creatinine is None:
        return None, None, ""
    used = crcl_with_weight(
        patient,
        creatinine_mg_dl=creatinine.value,
        collected_at=creatinine.collected_at,
        weights=weight_history([patient.pk]).get(patient.pk, []),
    )
    on = local_date(creatinine.collected_at)
    if used is None:
        return (
            None,
            on,
            f"creatinine {clinical_number(creatinine.value)} mg/dL on {on}; no weight on record",
        )
    basis = (
        f"creatinine {clinical_number(creatinine.value)} mg/dL on {on}, "
        f"weight {clinical_number(used.weight.weight_kg)} kg on {used.weight.measured_on}"
    )
    return used.crcl_ml_min, on, basis


# --- Course pages ---------------------------------------------------------------------------


def courses_for(patient: Patient) -> list[MaintenanceCourse]:
    return list(
        MaintenanceCourse.objects.filter(patient=patient)
        .select_related("regimen", "started_by")
        .prefetch_related(_valid_holds(), _valid_changes())
        .order_by("-start_date", "-pk")
    )


def course_with_history(patient: Patient, course_public_id) -> MaintenanceCourse | None:
    return (
        MaintenanceCourse.objects.filter(patient=patient, public_id=course_public_id)
        .select_related("regimen")
        .prefetch_related(_valid_holds(), _valid_changes())
        .first()
    )


def open_hold(course: MaintenanceCourse) -> Hold | None:
    return next((hold for hold in course.holds.all() if hold.end_date is None), None)


@dataclass(frozen=True)
class CalendarCell:
    on: date | None  # None pads the first and last week
    cycle: int | None = None
    day: int | None = None
    is_dosing_day: bool = False
    on_hold: bool = False
    is_today: bool = False
    is_cycle_start: bool = False


def month_grid(
    course: MaintenanceCourse, *, year: int, month: int, today: date
) -> list[list[CalendarCell]]:
    """Weeks (Monday first) of one month with each day's cycle, day and dosing status."""
    calendar = course_calendar(course, course.holds.all(), course.dose_changes.all())
    spec = None if course.start_dose_mg is not None else parse_days(course.regimen.dosing_days_spec)
    end = course.discontinued_on
    weeks = []
    for week in month_calendar.Calendar().monthdatescalendar(year, month):
        cells = []
        for on in week:
            if on.month != month:
                cells.append(CalendarCell(on=None))
                continue
            if on < course.start_date or (end and on > end):
                cells.append(CalendarCell(on=on, is_today=on == today))
                continue
            day = calendar.day(on)
            dosing = day.is_dosing_day if spec is None else (not day.on_hold and day.day in spec)
            cells.append(
                CalendarCell(
                    on=on,
                    cycle=day.cycle,
                    day=day.day,
                    is_dosing_day=dosing,
                    on_hold=day.on_hold,
                    is_today=on == today,
                    is_cycle_start=day.day == 1,
                )
            )
        weeks.append(cells)
    return weeks


def regimen_catalogue() -> QuerySet[Regimen]:
    return Regimen.objects.prefetch_related("components__agent").order_by("display_order", "name")


def format_level(level: DoseLevel | None) -> str:
    return level.label if level else "—"


__all__ = [
    "CourseSnapshot",
    "RemsState",
    "TherapyEvent",
    "active_course_for",
    "course_snapshots",
    "format_mg",
    "pending_suggestions",
    "rems_states",
    "therapy_events",
]


def planned_course_starts(patient_ids: Iterable[int], *, after: date) -> dict[int, date]:
    """CONTRACT. The start date of each patient's planned course (active, starting after
    ``after``): the day its schedule begins to count (monitoring's next review)."""
    return dict(
        MaintenanceCourse.objects.active()
        .filter(patient_id__in=list(patient_ids), start_date__gt=after)
        .values_list("patient_id", "start_date")
    )


def therapy_dates_coming(patient_ids: Iterable[int], *, after: date) -> dict[int, tuple[date, str]]:
    """CONTRACT. Per patient, the first date after ``after`` on which a therapy fact already
    recorded starts to count, with what it is: a planned course starts, a dose change or a
    hold starts or ends, a REMS authorization or survey dated later (monitoring's next
    review). One query (such facts are few) whatever the number of patients."""
    patient_ids = list(patient_ids)
    courses = MaintenanceCourse.objects.active().filter(patient_id__in=patient_ids)
    holds = Hold.objects.valid().filter(course__in=courses)
    dated = (
        ("planned course starts", courses, "patient_id", "start_date"),
        (
            "dose change takes effect",
            DoseChange.objects.valid().filter(course__in=courses),
            "course__patient_id",
            "effective_from",
        ),
        ("hold starts", holds, "course__patient_id", "start_date"),
        ("hold ends", holds, "course__patient_id", "end_date"),
        (
            "REMS authorization dated later",
            RemsAuthorization.objects.valid().filter(patient_id__in=patient_ids),
            "patient_id",
            "obtained_on",
        ),
        (
            "REMS survey dated later",
            RemsSurvey.objects.valid().filter(patient_id__in=patient_ids),
            "patient_id",
            "completed_on",
        ),
    )
    parts = [
        rows.filter(**{f"{date_field}__gt": after})
        .annotate(what=Value(what, output_field=CharField()))
        .values_list(patient_field, date_field, "what")
        .order_by()
        for what, rows, patient_field, date_field in dated
    ]
    coming: dict[int, tuple[date, str]] = {}
    for pid, on, what in parts[0].union(*parts[1:], all=True):
        if pid not in coming or (on, what) < coming[pid]:
            coming[pid] = (on, what)
    return coming
