"""Reads for the monitoring app: flags and worklists (lab results: ``patients.lab_selectors``). Querysets come back with
their joins applied, and every list is a fixed number of queries whatever its length."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Subquery

from monitoring.models import Flag, MonitoringStatus, Notification
from patients.lab_selectors import end_of_day
from patients.models import Patient
from patients.roles import PHYSICIAN

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
    return list(
        Flag.objects.open()
        .filter(patient=patient)
        .order_by("-severity", "kind")
        .only(
            "id", "kind", "status", "severity", "ctcae_grade", "message", "opened_at", "patient_id"
        )
    )


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


def worklist_patients(clinic_id: int, *, as_of: date, window_days: int = 7) -> QuerySet[Patient]:
    """Patients with something to do, worst first: open (unacknowledged) worklist flags,
    or a CBC due within ``window_days`` that is not flagged overdue yet. One query per page;
    ``worklist_rows`` fills in the items."""
    todo = Q(flags__status=Flag.Status.OPEN, flags__kind__in=WORKLIST_KINDS)
    overdue_flagged = Flag.objects.open().filter(
        patient=OuterRef("patient_id"), kind=Flag.Kind.CBC_OVERDUE
    )
    due = MonitoringStatus.objects.filter(
        patient=OuterRef("pk"),
        on_course=True,
        cbc_due_on__lte=as_of + timedelta(days=window_days),
    ).exclude(Exists(overdue_flagged))
    return (
        Patient.objects.filter(clinic_id=clinic_id, entered_in_error_at__isnull=True)
        .annotate(
            worst=Max("flags__severity", filter=todo),
            first_opened=Min("flags__opened_at", filter=todo),
            cbc_due_on=Subquery(due.values("cbc_due_on")[:1]),
        )
        .filter(Q(worst__isnull=False) | Q(cbc_due_on__isnull=False))
        .order_by(
            F("worst").desc(nulls_last=True),
            F("cbc_due_on").asc(nulls_last=True),
            "first_opened",
            "pk",
        )
    )


def worklist_rows(patients, *, as_of: date) -> list[WorklistRow]:
    """The items of one page of worklist patients (two queries whatever the page size)."""
    rows = {p.pk: WorklistRow(patient=p, worst=p.worst or 0) for p in patients}
    flags = (
        Flag.objects.filter(patient_id__in=rows, status=Flag.Status.OPEN, kind__in=WORKLIST_KINDS)
        .select_related("patient")
        .order_by("-severity", "opened_at", "pk")
    )
    flags = mark_nobody_notified(list(flags))
    for flag in flags:
        rows[flag.patient_id].flags.append(flag)
    for status in MonitoringStatus.objects.filter(patient_id__in=rows, on_course=True):
        row = rows[status.patient_id]
        if getattr(row.patient, "cbc_due_on", None) is not None:
            row.cbc = status
    return list(rows.values())


def done_today(clinic_id: int, *, kinds, on: date, limit: int = 50) -> list[Flag]:
    """Flags acknowledged today (clinic time) in these kinds, newest first: the collapsed
    "done today" section of the worklist and inbox."""
    return list(
        _open_in_clinics([clinic_id])
        .filter(
            kind__in=kinds,
            status=Flag.Status.ACKNOWLEDGED,
            acknowledged_at__gte=end_of_day(on - timedelta(days=1)),
        )
        .order_by("-acknowledged_at", "-pk")[:limit]
    )


def mark_nobody_notified(flags: list[Flag]) -> list[Flag]:
    """Set ``flag.nobody_notified`` on urgent flags that email the care team when nobody
    could be emailed: no outbox row, and no active physician of the clinic has an email
    address. Two queries, only when such flags are listed."""
    candidates = [
        f for f in flags if f.kind in NOTIFYING_KINDS and f.severity >= Flag.Severity.URGENT
    ]
    for flag in flags:
        flag.nobody_notified = False
    if not candidates:
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
    return Flag.objects.filter(
        status__in=Flag.OPEN_STATUSES,
        patient__clinic__staff=user,
        patient__entered_in_error_at__isnull=True,
    ).aggregate(
        total=Count("pk", filter=to_do),
        urgent=Count("pk", filter=to_do & Q(severity__gte=Flag.Severity.URGENT)),
        decisions=Count("pk", filter=(to_do & Q(kind__in=Flag.DECISION_KINDS)) | nurse_request),
    )
