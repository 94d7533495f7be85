"""Course reads: the active course and its snapshot for the rules (CONTRACT), the cycle
calendar, the therapy history and timelines, the course pages, the therapy dates still
to come."""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from django.db import connection
from django.db.models import Case, CharField, F, Prefetch, Q, QuerySet, Value, When

from patients.models import Patient
from patients.rows import TupleRow, fields_of, ids_in, union_layout
from therapy import cycles
from therapy.dosing import DoseLevel
from therapy.models import (
    DoseChange,
    Hold,
    MaintenanceCourse,
    Regimen,
    RemsAuthorization,
    RemsSurvey,
    parse_days,
)


def _valid_holds() -> Prefetch:
    return Prefetch("holds", queryset=Hold.objects.valid().order_by("start_date", "pk"))


def _valid_changes() -> Prefetch:
    return Prefetch(
        "dose_changes", queryset=DoseChange.objects.valid().order_by("effective_from", "pk")
    )


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

    Three queries whatever the number of patients (courses with their regimen's name and
    dosing days, valid holds, valid dose changes), read as tuples: no model instance is
    built (the sweep reads every course of a batch). A course starting after ``as_of`` has
    no cycle yet and is left out. The same snapshot as ``snapshot_of`` on the course.
    """
    rows = (
        MaintenanceCourse.objects.active()
        .filter(ids_in("patient_id", patient_ids), start_date__lte=as_of)
        .values_list(*_CourseRow.COLUMNS)
    )
    courses = [_CourseRow(*row) for row in rows]
    if not courses:
        return {}
    ids = [course.pk for course in courses]
    holds = _rows_by_course(
        Hold.objects.valid(), ids, _HoldRow, ("start_date", "end_date", "reason")
    )
    changes = _rows_by_course(
        DoseChange.objects.valid(),
        ids,
        _ChangeRow,
        ("effective_from", "to_dose_mg", "to_dosing_days"),
    )
    return {
        course.patient_id: _snapshot(
            course,
            regimen_name=course.regimen_name,
            dosing_days_spec=course.regimen_dosing_days_spec,
            holds=holds[course.pk],
            changes=changes[course.pk],
            as_of=as_of,
        )
        for course in courses
    }


def _rows_by_course(
    queryset: QuerySet, course_ids: list[int], row: type, columns: tuple[str, ...]
) -> dict[int, list]:
    """Each course's rows of ``queryset`` (holds or dose changes) as tuple rows, in date
    order (their first column, then id), one query for all the courses."""
    by_course: dict[int, list] = {pk: [] for pk in course_ids}
    for course_id, *values in (
        queryset.filter(ids_in("course_id", course_ids))
        .order_by(columns[0], "pk")
        .values_list("course_id", *columns)
    ):
        by_course[course_id].append(row(*values))
    return by_course


class _CourseRow(TupleRow):
    """The columns of a course (and its regimen) a snapshot reads, from one tuple."""

    COLUMNS = (
        "id",
        "patient_id",
        "start_date",
        "start_dose_mg",
        "start_dosing_days",
        "cycle_days",
        "regimen__name",
        "regimen__dosing_days_spec",
    )
    __slots__ = fields_of(COLUMNS)

    @property
    def start_level(self) -> DoseLevel | None:  # as ``MaintenanceCourse.start_level``
        if self.start_dose_mg is None:
            return None
        return DoseLevel(self.start_dose_mg, self.start_dosing_days, self.cycle_days)


class _HoldRow:
    __slots__ = ("start_date", "end_date", "reason")

    def __init__(self, start_date: date, end_date: date | None, reason: str) -> None:
        self.start_date, self.end_date, self.reason = start_date, end_date, reason

    @property
    def for_cytopenia(self) -> bool:  # as ``Hold.for_cytopenia``
        return self.reason in Hold.CYTOPENIA


class _ChangeRow:
    __slots__ = ("effective_from", "to_dose_mg", "to_dosing_days")

    def __init__(self, effective_from: date, to_dose_mg: Decimal, to_dosing_days: int) -> None:
        self.effective_from, self.to_dose_mg, self.to_dosing_days = (
            effective_from,
            to_dose_mg,
            to_dosing_days,
        )


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
    return _snapshot(
        course,
        regimen_name=course.regimen.name,
        dosing_days_spec=course.regimen.dosing_days_spec,
        holds=list(course.holds.all()),
        changes=list(course.dose_changes.all()),
        as_of=as_of,
    )


def _snapshot(
    course,
    *,
    regimen_name: str,
    dosing_days_spec: str | None,
    holds: list,
    changes: list,
    as_of: date,
) -> CourseSnapshot:
    """A course's snapshot from its columns (a model or a ``_CourseRow``), its valid holds
    by start date and its valid dose changes by effective date."""
    calendar = course_calendar(course, holds, changes)
    day = calendar.day(as_of)
    level = level_on(course, changes, as_of)
    covering = _hold_covering(holds, as_of)
    is_dosing = day.is_dosing_day
    if level is None and not day.on_hold:
        is_dosing = day.day in parse_days(dosing_days_spec or "")
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
        regimen_name=regimen_name,
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
    dose changes loaded, in one query whatever the length of the history (a UNION ALL of
    the four tables' rows): what ``course_timelines`` draws and ``snapshot_of`` reads.
    ``course.regimen``, ``course.holds.all()`` and ``course.dose_changes.all()`` then answer
    from memory, as after ``select_related`` and the prefetches (holds by start date, dose
    changes by effective date, then pk)."""
    rows: dict[type, list] = {model: [] for model in _UNION_MODELS.values()}
    for row in _course_history_rows(patient):
        rows[type(row)].append(row)
    regimens = {regimen.pk: regimen for regimen in rows[Regimen]}
    courses = sorted(rows[MaintenanceCourse], key=lambda c: (c.start_date, c.pk))
    holds: dict[int, list[Hold]] = {c.pk: [] for c in courses}
    changes: dict[int, list[DoseChange]] = {c.pk: [] for c in courses}
    for hold in sorted(rows[Hold], key=lambda h: (h.start_date, h.pk)):
        holds[hold.course_id].append(hold)
    for change in sorted(rows[DoseChange], key=lambda c: (c.effective_from, c.pk)):
        changes[change.course_id].append(change)
    for course in courses:
        MaintenanceCourse._meta.get_field("regimen").set_cached_value(
            course, regimens[course.regimen_id]
        )
        _set_prefetched(course, "holds", holds[course.pk])
        _set_prefetched(course, "dose_changes", changes[course.pk])
    return courses


# The rows ``courses_with_history`` reads, by the kind its query labels them with.
_UNION_MODELS = {
    "course": MaintenanceCourse,
    "regimen": Regimen,
    "dosechange": DoseChange,
    "hold": Hold,
}
_VALID_COURSES = (
    "SELECT c.id FROM {course} c WHERE c.patient_id = %s AND c.entered_in_error_at IS NULL"
)
_UNION_WHERE = {
    "course": "r.patient_id = %s AND r.entered_in_error_at IS NULL",
    "regimen": "r.id IN (SELECT c.regimen_id FROM {course} c WHERE c.patient_id = %s AND "
    "c.entered_in_error_at IS NULL)",
    "dosechange": f"r.entered_in_error_at IS NULL AND r.course_id IN ({_VALID_COURSES})",
    "hold": f"r.entered_in_error_at IS NULL AND r.course_id IN ({_VALID_COURSES})",
}


def _course_history_rows(patient: Patient) -> list:
    """The patient's valid courses, their regimens and their valid holds and dose changes
    as model instances, from one query (``patients.rows.union_layout``). The SQL is written
    once per process: the ORM took longer to compile such a union than the round trips it
    saves."""
    layout = union_layout(tuple(_UNION_MODELS.items()), connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(_course_history_sql(connection.vendor), [patient.pk] * len(_UNION_MODELS))
        fetched = cursor.fetchall()
    return [layout.instance(kind, values) for kind, *values in fetched]


@cache
def _course_history_sql(vendor: str) -> str:
    """One part per model, joined by UNION ALL; the patient id is the only input."""
    layout = union_layout(tuple(_UNION_MODELS.items()), vendor)
    course = connection.ops.quote_name(MaintenanceCourse._meta.db_table)
    return " UNION ALL ".join(
        layout.part(kind, where.format(course=course)) for kind, where in _UNION_WHERE.items()
    )


def _set_prefetched(course: MaintenanceCourse, name: str, rows: list) -> None:
    """What ``prefetch_related`` leaves on a course: ``course.<name>.all()`` answers from
    ``rows`` without a query, and each row's ``course`` is this course."""
    for row in rows:
        row._meta.get_field("course").set_cached_value(row, course)
    queryset = getattr(course, name).get_queryset()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    course._prefetched_objects_cache = getattr(course, "_prefetched_objects_cache", {})
    course._prefetched_objects_cache[name] = queryset


def course_timelines(
    patient: Patient, *, until: date, courses: list[MaintenanceCourse] | None = None
) -> list[CourseTimeline]:
    """Every valid course of the patient, as plain series for the timeline charts. One
    query (``courses_with_history``), whatever the length of the history; none when
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
    courses = MaintenanceCourse.objects.active().filter(ids_in("patient_id", patient_ids))
    holds = Hold.objects.valid().filter(course__in=courses)
    dated = (
        ("planned course starts", courses, "patient_id", "start_date"),
        (
            "dose change takes effect",
            DoseChange.objects.valid().filter(course__in=courses),
            "course__patient_id",
            "effective_from",
        ),
        (
            "REMS authorization dated later",
            RemsAuthorization.objects.valid().filter(ids_in("patient_id", patient_ids)),
            "patient_id",
            "obtained_on",
        ),
        (
            "REMS survey dated later",
            RemsSurvey.objects.valid().filter(ids_in("patient_id", patient_ids)),
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
    # A hold counts from the day it starts, then from the day it ends (always later): one
    # row a hold, its first date after ``after`` (one scan of the holds, not one a date).
    starts_later = Q(start_date__gt=after)
    parts.append(
        holds.filter(starts_later | Q(end_date__gt=after))
        .annotate(
            on=Case(When(starts_later, then=F("start_date")), default=F("end_date")),
            what=Case(
                When(starts_later, then=Value("hold starts")),
                default=Value("hold ends"),
                output_field=CharField(),
            ),
        )
        .values_list("course__patient_id", "on", "what")
        .order_by()
    )
    coming: dict[int, tuple[date, str]] = {}
    for pid, on, what in parts[0].union(*parts[1:], all=True):
        if pid not in coming or (on, what) < coming[pid]:
            coming[pid] = (on, what)
    return coming
