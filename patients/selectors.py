"""Reads for the patients app. Other apps read patients through these functions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from patients.formatting import clinical_number
from patients.history import HistoryEntry, entries_from_history, newest_first
from patients.models import (
    Diagnosis,
    Patient,
    PatientAccess,
    RuleSetting,
    Transplant,
    WeightMeasurement,
)
from patients.panels import history_entries
from patients.risk import Cytogenetics, cytogenetic_risk
from patients.rulebook import Finding, Threshold


def patient_list(
    *, user, search: str = "", clinic_id: int | None = None, status: str = ""
) -> QuerySet[Patient]:
    patients = Patient.objects.for_user(user).valid().select_related("clinic", "diagnosis")
    if search:
        patients = patients.search(search)
    if clinic_id:
        patients = patients.filter(clinic_id=clinic_id)
    if status:
        patients = patients.filter(status=status)
    return patients.order_by("family_name", "given_name", "pk")


def patient_summary(patient: Patient) -> Patient:
    """The patient with what the summary header shows, in a fixed number of queries."""
    return (
        Patient.objects.select_related("clinic", "diagnosis")
        .prefetch_related(
            Prefetch(
                "transplants", queryset=Transplant.objects.valid().order_by("transplanted_on")
            ),
            Prefetch(
                "weights", queryset=WeightMeasurement.objects.valid().order_by("-measured_on")
            ),
        )
        .get(pk=patient.pk)
    )


def diagnosis_for(patient: Patient) -> Diagnosis | None:
    return Diagnosis.objects.filter(patient=patient).first()


def cytogenetic_risk_for(diagnosis: Diagnosis | None) -> Finding | None:
    if diagnosis is None:
        return None
    return cytogenetic_risk(
        Cytogenetics(
            del_17p=diagnosis.del_17p,
            t_4_14=diagnosis.t_4_14,
            t_14_16=diagnosis.t_14_16,
            t_14_20=diagnosis.t_14_20,
            gain_1q=diagnosis.gain_1q,
            del_1p=diagnosis.del_1p,
            riss_stage=diagnosis.riss_stage,
        )
    )


@dataclass(frozen=True)
class WeightUsed:
    weight_kg: Decimal
    measured_on: date


def weight_history(patient_ids: Iterable[int]) -> dict[int, list[WeightUsed]]:
    """Every valid weight of each patient, oldest first (ties by entry order): one query
    for a whole batch. ``weight_nearest`` picks from it."""
    found: dict[int, list[WeightUsed]] = {}
    rows = (
        WeightMeasurement.objects.valid()
        .filter(patient_id__in=list(patient_ids))
        .order_by("patient_id", "measured_on", "pk")
        .values_list("patient_id", "measured_on", "weight_kg")
    )
    for patient_id, measured_on, weight_kg in rows:
        found.setdefault(patient_id, []).append(
            WeightUsed(weight_kg=weight_kg, measured_on=measured_on)
        )
    return found


def weight_nearest(weights: list[WeightUsed], on: date) -> WeightUsed | None:
    """The weight measured nearest to ``on`` (before or after); a tie goes to the earlier
    date, then to the first entered. ``weights`` comes from ``weight_history``."""
    if not weights:
        return None
    return min(weights, key=lambda w: (abs((w.measured_on - on).days), w.measured_on))


def latest_transplant(patient: Patient, *, on_or_before: date) -> Transplant | None:
    """The most recent valid transplant up to a date (the checklist counts days from it)."""
    return (
        Transplant.objects.valid()
        .filter(patient=patient, transplanted_on__lte=on_or_before)
        .order_by("-transplanted_on", "-pk")
        .first()
    )


def transplant_dates(patient: Patient) -> list[date]:
    return list(
        Transplant.objects.valid().filter(patient=patient).values_list("transplanted_on", flat=True)
    )


def patient_history(patient: Patient, *, limit: int = 300) -> list[HistoryEntry]:
    """Everything that happened to this patient, in words, newest first: the patient's own
    records here, and what the apps above add (labs, flags, courses, holds, doses, REMS)
    through ``patients.panels.register_history_entries``."""
    entries = [
        *entries_from_history(
            Patient.history.filter(id=patient.pk),
            label="Demographics",
            area="Record",
            headline=_registration_headline,
        ),
        *entries_from_history(
            Diagnosis.history.filter(patient_id=patient.pk),
            label="Diagnosis",
            area="Record",
            headline=lambda row, previous, details: (
                None if previous else f"Diagnosis recorded: {row.instance}"
            ),
        ),
        *entries_from_history(
            Transplant.history.filter(patient_id=patient.pk),
            label="Transplant",
            area="Record",
            headline=lambda row, previous, details: (
                None
                if previous
                else f"{row.get_kind_display()} transplant on {row.transplanted_on:%Y-%m-%d} recorded"
            ),
        ),
        *entries_from_history(
            WeightMeasurement.history.filter(patient_id=patient.pk),
            label="Weight",
            area="Record",
            headline=lambda row, previous, details: (
                None
                if previous
                else f"Weight {clinical_number(row.weight_kg)} kg on {row.measured_on:%Y-%m-%d} recorded"
            ),
        ),
        *history_entries(patient),
    ]
    return newest_first(entries, limit=limit)


def _registration_headline(row, previous, details) -> str | None:
    if previous is None:
        return f"Patient registered: {row.family_name}, {row.given_name} (MRN {row.mrn})"
    return "Demographics changed" if details else None


def access_log(patient: Patient, *, limit: int = 100) -> QuerySet[PatientAccess]:
    return PatientAccess.objects.filter(patient=patient).select_related("user")[:limit]


def rule_thresholds(
    keys_defaults: tuple[Threshold, ...], *, clinic_id: int | None = None, as_of: date | None = None
) -> dict[str, Threshold]:
    """The thresholds in force on ``as_of`` (default today): the newest version of each key
    already effective then (a clinic's own row first), falling back to the code default when
    no row has been seeded. A version dated in the future does not apply yet."""
    keys = [t.key for t in keys_defaults]
    as_of = as_of or timezone.localdate()
    rows = RuleSetting.objects.filter(key__in=keys, effective_from__lte=as_of).order_by(
        "key", "-version"
    )
    chosen: dict[str, RuleSetting] = {}
    for row in rows:
        if row.clinic_id is not None and row.clinic_id != clinic_id:
            continue
        current = chosen.get(row.key)
        if current is None or (row.clinic_id is not None and current.clinic_id is None):
            chosen[row.key] = row
    result = {t.key: t for t in keys_defaults}
    for key, row in chosen.items():
        # The column keeps four places (30.0000): the number as the code writes it when it
        # is the same, else as stored without trailing zeros.
        default = result.get(key)
        same = default is not None and default.value == row.value
        value = default.value if same else Decimal(clinical_number(row.value))
        result[key] = Threshold(
            key=key,
            value=value,
            unit=row.unit,
            status=row.status,
            source=row.source,
            version=row.version,
        )
    return result


# ``rule_thresholds_cached``: (defaults, clinic, date, table state) -> thresholds in force.
_THRESHOLDS_CACHE: dict[tuple, dict[str, Threshold]] = {}


def rule_thresholds_cached(
    keys_defaults: tuple[Threshold, ...],
    *,
    clinic_id: int | None = None,
    as_of: date | None = None,
    state: tuple[str, ...] | None = None,
) -> dict[str, Threshold]:
    """``rule_thresholds``, remembered by this process while the rule settings table is
    unchanged: one small query reads the table's state (its rows' count, newest id, newest
    change, sums of values and versions), and only a new state reads the settings again.
    Any version added, edited through ``save()`` or removed changes that state, so the
    next request sees it; the date is part of the key, so a version dated in the future
    applies from its day. (Stored versions are never edited in place: admin shows them
    read-only, and a change is a new version.) ``state``: the table's state as
    ``rule_settings_state`` gives it, when the caller read it with other rows (the
    timeline's one query for its small reads)."""
    as_of = as_of or timezone.localdate()
    key = (tuple(keys_defaults), clinic_id, as_of, state or rule_settings_state())
    found = _THRESHOLDS_CACHE.get(key)
    if found is None:
        found = rule_thresholds(keys_defaults, clinic_id=clinic_id, as_of=as_of)
        if len(_THRESHOLDS_CACHE) > 64:  # old states and dates: never read again
            _THRESHOLDS_CACHE.clear()
        _THRESHOLDS_CACHE[key] = found
    return dict(found)


def rule_settings_state() -> tuple[str, ...]:
    """The rule settings table's state: its rows' count, newest id, newest change, sums of
    values and versions (as text)."""
    table = connection.ops.quote_name(RuleSetting._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), MAX(id), MAX(updated_at), SUM(value), SUM(version) "  # noqa: S608  # nosec B608
            f"FROM {table}"
        )
        return tuple(str(value) for value in cursor.fetchone())


def rule_settings_in_force() -> list[RuleSetting]:
    """The newest version of each threshold, clinic overrides listed with their clinic."""
    newest: dict[tuple[str, int | None], RuleSetting] = {}
    for row in RuleSetting.objects.select_related("clinic").order_by(
        "key", "clinic_id", "-version"
    ):
        newest.setdefault((row.key, row.clinic_id), row)
    return list(newest.values())


def rule_settings_coming(clinic_ids: Iterable[int], *, after: date) -> dict[int, date]:
    """Per clinic, the first date after ``after`` on which a rule setting version comes into
    force (its own or a default): the thresholds in force change that day."""
    clinic_ids = set(clinic_ids)
    rows = RuleSetting.objects.filter(
        Q(clinic__isnull=True) | Q(clinic_id__in=clinic_ids), effective_from__gt=after
    ).values_list("clinic_id", "effective_from")
    coming: dict[int, date] = {}
    for clinic_id, effective_from in rows:
        for target in clinic_ids if clinic_id is None else {clinic_id}:
            coming[target] = min(coming.get(target, effective_from), effective_from)
    return coming
