"""Reads for the monitoring app: flags and worklists (lab results: ``patients.lab_selectors``). Querysets come back with
their joins applied, and every list is a fixed number of queries whatever its length."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import BooleanField, Count, Q, QuerySet
from django.db.models.expressions import RawSQL

from monitoring.models import Flag, MonitoringStatus, Notification
from patients.formatting import person_named
from patients.lab_selectors import end_of_day
from patients.models import Patient
from patients.roles import PHYSICIAN
from patients.rows import TupleRow, fields_of

# --- Flags ----------------------------------------------------------------------------


def patient_flags(
    patient: Patient, *, status: str = "", kind: str = "", open_only: bool = False
) -> QuerySet[Flag]:
    flags = Flag.objects.filter(patient=patient).select_related("patient", "acknowledged_by")
    if open_only:
        flags = flags.open()
    if status:
        flags = flags.filter(status=status)
    if kind:
        flags = flags.filter(kind=kind)
    return flags.order_by("-opened_at", "-pk")


def open_flags_for(patient: Patient) -> list[Flag]:
    """The patient's open flags, worst first, read once per patient object: a page's summary
    header and its body (record, timeline) both show them."""
    known = patient.__dict__
    if "_open_flags" not in known:
        known["_open_flags"] = list(
            Flag.objects.open()
            .filter(patient=patient)
            .order_by("-severity", "kind")
            .only(
                "id",
                "kind",
                "status",
                "severity",
                "ctcae_grade",
                "message",
                "basis",
                "opened_at",
                "patient_id",
            )
        )
    return known["_open_flags"]


def _open_in_clinics(clinic_ids) -> QuerySet[Flag]:
    return (
        Flag.objects.open()
        .filter(patient__clinic_id__in=clinic_ids, patient__entered_in_error_at__isnull=True)
        .select_related("patient", "patient__clinic", "acknowledged_by")
    )


def cytopenia_flags(clinic_id: int) -> QuerySet[Flag]:
    """Open cytopenia flags, most severe and oldest first."""
    return (
        _open_in_clinics([clinic_id])
        .filter(kind__in=Flag.CYTOPENIA_KINDS)
        .order_by("-severity", "opened_at", "pk")
    )


def pregnancy_flags(clinic_id: int) -> QuerySet[Flag]:
    return (
        _open_in_clinics([clinic_id])
        .filter(
            kind__in=[
                Flag.Kind.PREGNANCY_TEST_POSITIVE,
                Flag.Kind.PREGNANCY_TEST_DUE,
                Flag.Kind.REMS_ACTION_NEEDED,
            ]
        )
        .order_by("-severity", "due_on", "pk")
    )


def decision_flags(clinic_id: int) -> QuerySet[Flag]:
    """The physician inbox: flags that need a decision and nobody has acknowledged yet,
    most severe first."""
    return (
        _open_in_clinics([clinic_id])
        .filter(kind__in=Flag.DECISION_KINDS, status=Flag.Status.OPEN)
        .order_by("-severity", "opened_at", "pk")
    )


# The nurse worklist: everything but the physician's decisions (a positive pregnancy test
# is both: the nurse acts on it today).
WORKLIST_KINDS = tuple(
    kind
    for kind in Flag.Kind.values
    if kind not in Flag.DECISION_KINDS or kind == Flag.Kind.PREGNANCY_TEST_POSITIVE
)
# Flags that email the care team when raised (grade 3-4 cytopenias, progression, a
# positive pregnancy test): the page says so when nobody could be emailed.
NOTIFYING_KINDS = (
    *Flag.CYTOPENIA_KINDS,
    Flag.Kind.POSSIBLE_PROGRESSION,
    Flag.Kind.PREGNANCY_TEST_POSITIVE,
)


@dataclass
class WorklistRow:
    """One patient on the worklist with all of their open items, the worst first."""

    patient: Patient
    flags: list[Flag] = field(default_factory=list)
    cbc: MonitoringStatus | None = None  # a CBC due soon (not yet flagged overdue)
    worst: int = 0


class WorklistEntry(NamedTuple):
    """Why a patient is on the worklist: the worst open item's severity, and whether a CBC
    is due soon that is not flagged overdue yet."""

    patient_id: int
    worst: int | None
    cbc_due: bool


class Worklist:
    """The worklist's patients in order, as small tuples from one query whatever the size of
    the clinic (the database orders them; no patient is read but a page's). It is what a
    ``Paginator`` pages: ``count()`` and slices.

    Worst open item first; then the CBC due soonest; then the oldest open item; then the pk.
    Open flags come from flag_open_patient_counts_idx alone (an index-only scan on
    PostgreSQL: no flag row read), CBCs due from monstatus_cbc_due_idx.
    """

    def __init__(self, clinic_id: int, *, as_of: date, window_days: int = 7):
        flag, status, patient = (
            Flag._meta.db_table,
            MonitoringStatus._meta.db_table,
            Patient._meta.db_table,
        )
        kinds = ", ".join(["%s"] * len(WORKLIST_KINDS))
        open_statuses = ", ".join(["%s"] * len(Flag.OPEN_STATUSES))
        # Each open item is one row: a flag (severity, opened) or a CBC due soon (due date);
        # the clinic's patients are joined once, to the items of every clinic (an index-only
        # scan of the open flags and the CBC-due index: cheaper than reading them per patient).
        # Table names from the models, every value a parameter.
        self._items = (
            "SELECT item.patient_id, item.worst, item.cbc_due_on, item.opened_at FROM ("  # noqa: S608  # nosec B608
            f"""
              SELECT f.patient_id AS patient_id, f.severity AS worst, NULL AS cbc_due_on,
                     f.opened_at AS opened_at
              FROM {flag} f
              WHERE f.status = %s AND f.kind IN ({kinds})
              UNION ALL
              SELECT s.patient_id, NULL, s.cbc_due_on, NULL
              FROM {status} s
              WHERE s.on_course = %s AND s.cbc_due_on <= %s
                AND NOT EXISTS (
                  SELECT 1 FROM {flag} o WHERE o.patient_id = s.patient_id
                  AND o.kind = %s AND o.status IN ({open_statuses}))
            ) item JOIN {patient} p ON p.id = item.patient_id
            WHERE p.clinic_id = %s AND p.entered_in_error_at IS NULL
        """
        )
        self._params = [
            Flag.Status.OPEN,
            *WORKLIST_KINDS,
            True,
            as_of + timedelta(days=window_days),
            Flag.Kind.CBC_OVERDUE,
            *Flag.OPEN_STATUSES,
            clinic_id,
        ]
        self._entries: list[tuple] | None = None

    def _all(self) -> list[WorklistEntry]:
        if self._entries is None:
            with connection.cursor() as cursor:
                cursor.execute(
                    # The inner query as above: table names from the models, values parameters.
                    "SELECT item.patient_id, MAX(item.worst), MAX(item.cbc_due_on) IS NOT NULL"  # noqa: S608  # nosec B608
                    f"""
                    FROM ({self._items}) item
                    GROUP BY item.patient_id
                    ORDER BY MAX(item.worst) DESC NULLS LAST, MAX(item.cbc_due_on) NULLS LAST,
                             MIN(item.opened_at) NULLS LAST, item.patient_id
                    """,
                    self._params,
                )
                # The database's tuples as they come: a clinic's worklist can hold thousands
                # of patients, and only a page of them becomes entries (``__getitem__``).
                self._entries = cursor.fetchall()
        return self._entries

    def count(self) -> int:
        return len(self._all())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: int | slice) -> WorklistEntry | list[WorklistEntry]:
        if isinstance(index, slice):
            return [_worklist_entry(row) for row in self._all()[index]]
        return _worklist_entry(self._all()[index])


def _worklist_entry(row: tuple) -> WorklistEntry:
    patient_id, worst, due = row
    return WorklistEntry(patient_id, worst, bool(due))


def worklist_patients(clinic_id: int, *, as_of: date, window_days: int = 7) -> Worklist:
    """Patients with something to do, worst first: open (unacknowledged) worklist flags,
    or a CBC due within ``window_days`` that is not flagged overdue yet. Page it (a
    ``Paginator``); ``worklist_rows`` then reads the page's patients and items."""
    return Worklist(clinic_id, as_of=as_of, window_days=window_days)


def worklist_rows(entries: list[WorklistEntry], *, as_of: date) -> list[WorklistRow]:
    """The patients and items of one page of worklist entries (three queries whatever the
    page size; the "nobody notified" check rides on the flags' query)."""
    patients = Patient.objects.in_bulk([e.patient_id for e in entries])
    rows = {
        e.patient_id: WorklistRow(patient=patients[e.patient_id], worst=e.worst or 0)
        for e in entries
    }
    flags = with_notification_reach(
        Flag.objects.filter(patient_id__in=rows, status=Flag.Status.OPEN, kind__in=WORKLIST_KINDS)
        # Never shown on the worklist: what a resolved flag and the rule's inputs keep.
        .defer("thresholds", "resolving_evidence")
        .order_by("-severity", "opened_at", "pk")
    )
    flags = list(flags)
    for flag in flags:
        flag.patient = patients[flag.patient_id]  # already read: no join, no extra query
    flags = mark_nobody_notified(flags)
    for flag in flags:
        rows[flag.patient_id].flags.append(flag)
    due = {e.patient_id for e in entries if e.cbc_due}
    for status in MonitoringStatus.objects.filter(patient_id__in=due, on_course=True):
        rows[status.patient_id].cbc = status
    return list(rows.values())


class DoneItem(TupleRow):
    """One line of the collapsed "done today" list (templates/monitoring/_done_today.html):
    a ``values_list`` row of these columns (``patient__family_name`` is read as
    ``patient_family_name``)."""

    COLUMNS = (
        "kind",
        "ctcae_grade",
        "acknowledged_at",
        "acknowledgement_note",
        "patient__public_id",
        "patient__family_name",
        "patient__given_name",
        "acknowledged_by__username",
        "acknowledged_by__first_name",
        "acknowledged_by__last_name",
    )
    __slots__ = fields_of(COLUMNS)

    @property
    def kind_label(self) -> str:
        return Flag.Kind(self.kind).label

    @property
    def acknowledged_by(self) -> str:
        """Who acknowledged it, as the list names them: full name, else username, else
        "system" (acknowledged by no user)."""
        return person_named(
            self.acknowledged_by_username,
            self.acknowledged_by_first_name,
            self.acknowledged_by_last_name,
        )


def done_today(clinic_id: int, *, kinds, on: date, limit: int = 50) -> list[DoneItem]:
    """Flags acknowledged today (clinic time) in these kinds, newest first: the collapsed
    "done today" section of the worklist and inbox. Only the values shown, as tuples (no
    flag, patient and user instances for a list that is often empty)."""
    rows = (
        Flag.objects.filter(
            kind__in=kinds,
            status=Flag.Status.ACKNOWLEDGED,
            acknowledged_at__gte=end_of_day(on - timedelta(days=1)),
            patient__clinic_id=clinic_id,
            patient__entered_in_error_at__isnull=True,
        )
        .order_by("-acknowledged_at", "-pk")
        .values_list(*DoneItem.COLUMNS)
    )
    return [DoneItem(*row) for row in rows[:limit]]


def with_notification_reach(flags: QuerySet[Flag]) -> QuerySet[Flag]:
    """The flags with what ``mark_nobody_notified`` needs, read in the same query: whether
    an email went out (``emailed``) and whether the patient's clinic has an active physician
    with an email address (``reachable``)."""
    emailed, reachable = _reach_sql(connection.vendor)
    # Quoted model names only (``_reach_sql``); the values are parameters.
    return flags.annotate(
        emailed=RawSQL(emailed, (), output_field=BooleanField()),  # noqa: S611  # nosec B611
        reachable=RawSQL(  # noqa: S611  # nosec B611
            reachable, (PHYSICIAN, True), output_field=BooleanField()
        ),
    )


@cache
def _reach_sql(vendor: str) -> tuple[str, str]:
    """The two ``EXISTS`` of ``with_notification_reach``, written once per process from the
    models' tables and columns (an ``Exists(queryset)`` is compiled afresh on every page,
    several milliseconds for two small subqueries). The flag is the query's own table."""
    quote = connection.ops.quote_name
    user = get_user_model()
    staff = Patient._meta.get_field("clinic").related_model._meta.get_field("staff")
    groups = user._meta.get_field("groups")
    group = groups.related_model._meta
    notification = Notification._meta

    def column(model, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    flag_id = f"{quote(Flag._meta.db_table)}.{column(Flag, 'id')}"
    flag_patient = f"{quote(Flag._meta.db_table)}.{column(Flag, 'patient')}"
    emailed = (
        f"EXISTS (SELECT 1 FROM {quote(notification.db_table)} n "  # noqa: S608  # nosec B608
        f"WHERE n.{column(Notification, 'flag')} = {flag_id})"
    )
    reachable = (
        f"EXISTS (SELECT 1 FROM {quote(Patient._meta.db_table)} p "  # noqa: S608  # nosec B608
        f"JOIN {quote(staff.m2m_db_table())} s "
        f"ON s.{quote(staff.m2m_column_name())} = p.{column(Patient, 'clinic')} "
        f"JOIN {quote(user._meta.db_table)} u "
        f"ON u.{column(user, 'id')} = s.{quote(staff.m2m_reverse_name())} "
        f"JOIN {quote(groups.m2m_db_table())} ug "
        f"ON ug.{quote(groups.m2m_column_name())} = u.{column(user, 'id')} "
        f"JOIN {quote(group.db_table)} g ON g.{quote('id')} = ug.{quote(groups.m2m_reverse_name())} "
        f"WHERE p.{column(Patient, 'id')} = {flag_patient} "
        f"AND g.{quote('name')} = %s AND u.{column(user, 'is_active')} = %s "
        f"AND u.{column(user, 'email')} <> '')"
    )
    return emailed, reachable


def mark_nobody_notified(flags: list[Flag]) -> list[Flag]:
    """Set ``flag.nobody_notified`` on urgent flags that email the care team when nobody
    could be emailed: no outbox row, and no active physician of the clinic has an email
    address. Two queries, only when such flags are listed and were not read
    ``with_notification_reach``."""
    candidates = [
        f for f in flags if f.kind in NOTIFYING_KINDS and f.severity >= Flag.Severity.URGENT
    ]
    for flag in flags:
        flag.nobody_notified = False
    if not candidates:
        return flags
    if all(hasattr(f, "emailed") for f in candidates):  # read with the flags: no query
        for flag in candidates:
            flag.nobody_notified = not flag.emailed and not flag.reachable
        return flags
    notified = set(
        Notification.objects.filter(flag__in=candidates).values_list("flag_id", flat=True)
    )
    reachable = set(
        get_user_model()
        .objects.filter(
            clinics__id__in={f.patient.clinic_id for f in candidates},
            groups__name=PHYSICIAN,
            is_active=True,
        )
        .exclude(email="")
        .values_list("clinics__id", flat=True)
    )
    for flag in candidates:
        flag.nobody_notified = flag.pk not in notified and flag.patient.clinic_id not in reachable
    return flags


def cbc_due(clinic_id: int, *, as_of: date, window_days: int = 7) -> QuerySet[MonitoringStatus]:
    """Patients on a course whose CBC is overdue or due within ``window_days``, soonest first."""
    return (
        MonitoringStatus.objects.filter(
            patient__clinic_id=clinic_id,
            patient__entered_in_error_at__isnull=True,
            on_course=True,
            cbc_due_on__lte=as_of + timedelta(days=window_days),
        )
        .select_related("patient")
        .order_by("cbc_due_on", "patient_id")
    )


def open_flag_counts(user) -> dict[str, int]:
    """Flags still to do in the user's clinics (open, not acknowledged): total,
    urgent-or-worse and needing a decision (1 query). Acknowledged flags leave the badges."""
    to_do = Q(status=Flag.Status.OPEN)
    # A nurse's "notify physician" request waits in the inbox until the physician has seen it,
    # even when the flag itself was acknowledged.
    nurse_request = Q(physician_notified_at__isnull=False, physician_seen_at__isnull=True)
    # Counted on patient_id and only columns of flag_open_patient_counts_idx: an index-only scan on
    # PostgreSQL, so every page pays the same small cost whatever the flags hold (their JSON
    # is never read) and however many resolved flags there are (pinned by a test).
    return Flag.objects.filter(
        status__in=Flag.OPEN_STATUSES,
        patient__clinic__staff=user,
        patient__entered_in_error_at__isnull=True,
    ).aggregate(
        total=Count("patient", filter=to_do),
        urgent=Count("patient", filter=to_do & Q(severity__gte=Flag.Severity.URGENT)),
        decisions=Count(
            "patient", filter=(to_do & Q(kind__in=Flag.DECISION_KINDS)) | nurse_request
        ),
    )
