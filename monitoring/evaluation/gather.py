"""Gathering a batch: everything the rules read for a set of patients, in a fixed number of
set-based queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from monitoring.evaluation.common import CBC_CODES, _in_scope
from monitoring.evaluation.next_review import _coming
from monitoring.rules import schedule
from monitoring.rules.registry import all_rule_defaults
from patients import lab_catalogue as catalogue
from patients.formatting import clinical_quantity
from patients.lab_selectors import (
    HCG_CODES,
    end_of_day,
    latest_results,
    local_date,
    marker_history,
)
from patients.models import LabResult, Patient
from patients.rulebook import Threshold
from patients.selectors import WeightUsed, rule_settings_coming, rule_thresholds, weight_history
from therapy import selectors as therapy_selectors


@dataclass
class _Batch:
    as_of: date
    upto: datetime
    patients: dict[int, Patient]
    thresholds: dict[int, dict[str, Threshold]]
    snapshots: dict[int, Any]
    rems: dict[int, Any]
    latest: dict[tuple[int, str], list[LabResult]]
    markers: dict[int, list[LabResult]]
    weights: dict[int, list[WeightUsed]]
    pregnancy: dict[int, LabResult]  # the latest valid hCG result per patient
    # The results of each patient's latest complete CBC (every required count, one draw).
    cbc_draws: dict[int, list[LabResult]] = field(default_factory=dict)
    # Accepted therapy suggestions per (patient, kind): a decided finding does not reopen.
    accepted: dict[tuple[int, str], Any] = field(default_factory=dict)
    pending: list[Any] = field(default_factory=list)  # pending therapy suggestions
    # Results of these patients marked entered-in-error: {id: (result, words)}.
    in_error: dict[int, str] = field(default_factory=dict)
    # Dates after as_of on which something already recorded starts to count (next_review_on):
    # per patient (a planned course's start, a result collected later), per clinic (a rule
    # setting coming into force).
    coming: dict[int, tuple[date, str]] = field(default_factory=dict)
    coming_rules: dict[int, date] = field(default_factory=dict)


def _gather(patient_ids: list[int], as_of: date) -> _Batch:
    upto = end_of_day(as_of)
    patients = {
        p.pk: p
        for p in Patient.objects.filter(pk__in=patient_ids).select_related("diagnosis", "clinic")
    }
    defaults = tuple(all_rule_defaults())
    thresholds = {
        clinic_id: rule_thresholds(defaults, clinic_id=clinic_id, as_of=as_of)
        for clinic_id in {p.clinic_id for p in patients.values()}
    }
    in_scope = [pid for pid, p in patients.items() if _in_scope(p)]
    latest = latest_results(in_scope, (*CBC_CODES, "CREAT"), upto=upto, per_code=2)
    with_creatinine = sorted({pid for (pid, code) in latest if code == "CREAT"})
    pregnancy: dict[int, LabResult] = {}
    for (pid, _code), rows in latest_results(in_scope, HCG_CODES, upto=upto, per_code=1).items():
        if rows and (pid not in pregnancy or rows[0].collected_at > pregnancy[pid].collected_at):
            pregnancy[pid] = rows[0]
    snapshots = therapy_selectors.course_snapshots(in_scope, as_of=as_of) if in_scope else {}
    pending, accepted = therapy_selectors.suggestion_states(sorted(patients))
    return _Batch(
        as_of=as_of,
        upto=upto,
        patients=patients,
        thresholds=thresholds,
        snapshots=snapshots,
        rems=therapy_selectors.rems_states(in_scope, as_of=as_of) if in_scope else {},
        latest=latest,
        markers=marker_history(in_scope, upto=upto),
        weights=weight_history(with_creatinine),
        pregnancy=pregnancy,
        cbc_draws=_complete_cbc_draws(in_scope, latest, patients, thresholds, upto),
        accepted=accepted,
        pending=pending,
        in_error=_in_error_words(sorted(patients)),
        coming=_coming(in_scope, as_of, upto) if in_scope else {},
        coming_rules=rule_settings_coming(
            {patients[pid].clinic_id for pid in in_scope}, after=as_of
        )
        if in_scope
        else {},
    )


def _in_error_words(patient_ids: list[int]) -> dict[int, str]:
    """Every result of these patients marked entered-in-error, in words (one query; such
    results are few): flags and suggestions resting on one are withdrawn."""
    words = {}
    for row in LabResult.objects.filter(
        patient_id__in=patient_ids, entered_in_error_at__isnull=False
    ).only(
        "id",
        "test_code",
        "canonical_value",
        "canonical_unit",
        "qualitative",
        "collected_at",
        "entered_in_error_reason",
    ):
        test = catalogue.find_test(row.test_code)
        value = (
            clinical_quantity(row.canonical_value, row.canonical_unit, test.decimal_places)
            if row.canonical_value is not None
            else row.get_qualitative_display()
        )
        words[row.pk] = (
            f"{test.name} {value} collected {local_date(row.collected_at)} was marked "
            f"entered-in-error ({row.entered_in_error_reason or 'no reason given'})"
        )
    return words


def _complete_cbc_draws(
    patient_ids: list[int],
    latest: dict[tuple[int, str], list[LabResult]],
    patients: dict[int, Patient],
    thresholds: dict[int, dict[str, Threshold]],
    upto: datetime,
) -> dict[int, list[LabResult]]:
    """The results of each patient's latest complete CBC draw.

    Read first from the newest results already loaded (the usual case: the last draw was
    a full CBC); only patients whose recent counts are partial (an ANC on its own) need
    one more query, for all of them at once.
    """
    found: dict[int, list[LabResult]] = {}
    search_further: list[int] = []
    for pid in patient_ids:
        required = schedule.cbc_required_codes(thresholds[patients[pid].clinic_id])
        rows = [r for code in required for r in latest.get((pid, code), [])]
        draw = _latest_complete(rows, required)
        if draw:
            found[pid] = draw
        elif rows:
            search_further.append(pid)
    if search_further:
        by_patient: dict[int, list[LabResult]] = defaultdict(list)
        for row in (
            LabResult.objects.valid()
            .filter(
                patient_id__in=search_further,
                test_code__in=schedule.CBC_COUNT_CODES,
                collected_at__lte=upto,
            )
            .order_by("patient_id", "-collected_at", "test_code", "-pk")
        ):
            by_patient[row.patient_id].append(row)
        for pid, rows in by_patient.items():
            required = schedule.cbc_required_codes(thresholds[patients[pid].clinic_id])
            draw = _latest_complete([r for r in rows if r.test_code in required], required)
            if draw:
                found[pid] = draw
    return found


def _latest_complete(rows: list[LabResult], required: tuple[str, ...]) -> list[LabResult]:
    draws: dict[datetime, dict[str, LabResult]] = defaultdict(dict)
    for row in rows:
        draws[row.collected_at].setdefault(row.test_code, row)
    for collected_at in sorted(draws, reverse=True):
        if set(required) <= set(draws[collected_at]):
            return [draws[collected_at][code] for code in required]
    return []
