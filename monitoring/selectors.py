"""Reads for the monitoring app: lab results, flags, worklists. Querysets come back with
their joins applied, and every list is a fixed number of queries whatever its length."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from monitoring.models import ClinicLabUnit, Flag, LabResult, MonitoringStatus, UserLabUnit
from monitoring.rules.catalogue import PANELS, find_test
from patients.models import Patient


def end_of_day(on: date) -> datetime:
    """The last instant of a local calendar day: results collected that day count for it."""
    return timezone.make_aware(datetime.combine(on + timedelta(days=1), time.min)) - timedelta(
        microseconds=1
    )


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def latest_results(
    patient_ids: list[int],
    codes: list[str] | tuple[str, ...],
    *,
    upto: datetime | None = None,
    before: datetime | None = None,
    per_code: int = 1,
) -> dict[tuple[int, str], list[LabResult]]:
    """The newest ``per_code`` valid results per (patient, test), newest first, in one query.

    ``row_number() over (partition by patient, test order by collected_at desc)``, served by
    the partial index labresult_valid_latest_idx.
    """
    results = LabResult.objects.valid().filter(patient_id__in=patient_ids, test_code__in=codes)
    if upto is not None:
        results = results.filter(collected_at__lte=upto)
    if before is not None:
        results = results.filter(collected_at__lt=before)
    ranked = results.annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("patient_id"), F("test_code")],
            order_by=[F("collected_at").desc(), F("pk").desc()],
        )
    ).filter(rank__lte=per_code)
    found: dict[tuple[int, str], list[LabResult]] = defaultdict(list)
    for result in ranked.order_by("patient_id", "test_code", "-collected_at"):
        found[(result.patient_id, result.test_code)].append(result)
    return dict(found)


def marker_history(patient_ids: list[int], *, upto: datetime) -> dict[int, list[LabResult]]:
    """Every valid response marker (M-protein, free light chains) per patient, oldest first."""
    codes = ("SPEP_M", "UPEP_M24", "FLC_KAPPA", "FLC_LAMBDA")
    rows = (
        LabResult.objects.valid()
        .filter(patient_id__in=patient_ids, test_code__in=codes, collected_at__lte=upto)
        .only("id", "patient_id", "test_code", "canonical_value", "canonical_unit", "collected_at")
        .order_by("patient_id", "collected_at")
    )
    history: dict[int, list[LabResult]] = defaultdict(list)
    for row in rows:
        history[row.patient_id].append(row)
    return dict(history)


def patient_results(
    patient: Patient,
    *,
    test: str | None = None,
    since: date | None = None,
    until: date | None = None,
    include_in_error: bool = False,
) -> QuerySet[LabResult]:
    results = LabResult.objects.filter(patient=patient).select_related(
        "entered_by", "entered_in_error_by"
    )
    if not include_in_error:
        results = results.valid()
    if test:
        results = results.filter(test_code=find_test(test).code)
    if since:
        results = results.filter(collected_at__gte=end_of_day(since - timedelta(days=1)))
    if until:
        results = results.filter(collected_at__lte=end_of_day(until))
    return results.order_by("-collected_at", "test_code", "-pk")


def latest_by_test(patient: Patient) -> list[LabResult]:
    """The newest valid result of every test the patient has, in catalogue order."""
    codes = [code for panel in PANELS.values() for code in panel.test_codes]
    found = latest_results([patient.pk], codes)
    return [found[(patient.pk, code)][0] for code in codes if (patient.pk, code) in found]


def collection_results(patient: Patient, collection_id) -> list[LabResult]:
    return list(
        LabResult.objects.filter(patient=patient, collection_id=collection_id).order_by("pk")
    )


def default_units(user, clinic_id: int | None, codes) -> dict[str, str]:
    """The unit to preselect per test: the user's last one, else the clinic's, else canonical."""
    units = {code: find_test(code).canonical_unit for code in codes}
    for row in ClinicLabUnit.objects.filter(clinic_id=clinic_id, test_code__in=codes):
        units[row.test_code] = row.unit
    for row in UserLabUnit.objects.filter(user=user, test_code__in=codes):
        units[row.test_code] = row.unit
    return units


def clinic_units(clinic_id: int | None, codes) -> dict[str, str]:
    """The clinic's default unit per test (else canonical): the unit lab entry skips on Tab."""
    units = {code: find_test(code).canonical_unit for code in codes}
    for row in ClinicLabUnit.objects.filter(clinic_id=clinic_id, test_code__in=codes):
        units[row.test_code] = row.unit
    return units


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
    """The physician inbox: flags that need a decision, most severe first."""
    return (
        _open_in_clinics([clinic_id])
        .filter(kind__in=Flag.DECISION_KINDS)
        .order_by("-severity", "opened_at", "pk")
    )


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
    """Open flags in the user's clinics: total, urgent-or-worse and needing a decision (1 query)."""
    return (
        Flag.objects.open()
        .filter(patient__clinic__staff=user, patient__entered_in_error_at__isnull=True)
        .aggregate(
            total=Count("pk"),
            urgent=Count("pk", filter=Q(severity__gte=Flag.Severity.URGENT)),
            decisions=Count("pk", filter=Q(kind__in=Flag.DECISION_KINDS)),
        )
    )
