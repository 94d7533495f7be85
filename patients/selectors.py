"""Reads for the patients app. Other apps read patients through these functions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from patients.models import (
    Diagnosis,
    Patient,
    PatientAccess,
    RuleSetting,
    Transplant,
    WeightMeasurement,
)
from patients.panels import history_sources
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


def weight_nearest(patient: Patient, on: date) -> WeightUsed | None:
    """The valid weight measured nearest to ``on`` (before or after); ties go to the earlier."""
    weights = WeightMeasurement.objects.valid().filter(patient=patient)
    before = weights.filter(measured_on__lte=on).order_by("-measured_on").first()
    after = weights.filter(measured_on__gt=on).order_by("measured_on").first()
    candidates = [w for w in (before, after) if w is not None]
    if not candidates:
        return None
    best = min(candidates, key=lambda w: (abs((w.measured_on - on).days), w.measured_on))
    return WeightUsed(weight_kg=best.weight_kg, measured_on=best.measured_on)


def transplant_dates(patient: Patient) -> list[date]:
    return list(
        Transplant.objects.valid().filter(patient=patient).values_list("transplanted_on", flat=True)
    )


@dataclass(frozen=True)
class HistoryChange:
    when: object
    who: str
    record: str
    action: str
    changes: list[tuple[str, str, str]]
    reason: str


def patient_history(patient: Patient, *, limit: int = 200) -> list[HistoryChange]:
    """Every recorded change to this patient's clinical records, newest first, with old and
    new values (django-simple-history rows, diffed against the previous version)."""
    sources = [
        ("Demographics", Patient.history.filter(id=patient.pk)),
        ("Diagnosis", Diagnosis.history.filter(patient_id=patient.pk)),
        ("Transplant", Transplant.history.filter(patient_id=patient.pk)),
        ("Weight", WeightMeasurement.history.filter(patient_id=patient.pk)),
        *history_sources(patient),
    ]
    changes: list[HistoryChange] = []
    for label, history in sources:
        rows = list(
            history.select_related("history_user").order_by("id", "history_date", "history_id")
        )
        previous_by_object: dict[int, object] = {}
        for row in rows:
            previous = previous_by_object.get(row.id)
            diffs: list[tuple[str, str, str]] = []
            if previous is not None:
                delta = row.diff_against(previous, excluded_fields=["updated_at", "created_at"])
                diffs = [(c.field, _show(c.old), _show(c.new)) for c in delta.changes]
            previous_by_object[row.id] = row
            if previous is not None and not diffs:
                continue
            changes.append(
                HistoryChange(
                    when=row.history_date,
                    who=row.history_user.get_username() if row.history_user else "system",
                    record=label,
                    action={"+": "created", "~": "changed", "-": "deleted"}[row.history_type],
                    changes=diffs,
                    reason=row.history_change_reason or "",
                )
            )
    changes.sort(key=lambda c: c.when, reverse=True)
    return changes[:limit]


def _show(value) -> str:
    return "—" if value in (None, "") else str(value)


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
        result[key] = Threshold(
            key=key,
            value=row.value,
            unit=row.unit,
            status=row.status,
            source=row.source,
            version=row.version,
        )
    return result


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
