"""Reads of the lab record: results and unit preferences. Every app reads lab results
through these functions (monitoring's rules and pages, therapy's dosing and REMS checks);
every list is a fixed number of queries whatever its length, batches included.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from patients.formatting import clinical_number
from patients.lab_catalogue import PANELS, find_test
from patients.models import RESPONSE_MARKER_CODES, ClinicLabUnit, LabResult, Patient, UserLabUnit
from patients.rows import ids_in


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
    the partial unique index behind ``monitoring_labresult_one_valid_per_test_and_time``.
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
    # Ties broken by pk, as in the window: the same rows in the same order whatever the
    # batch (a second sweep over unchanged data must write nothing).
    for result in ranked.order_by("patient_id", "test_code", "-collected_at", "-pk"):
        found[(result.patient_id, result.test_code)].append(result)
    return dict(found)


def marker_history(patient_ids: list[int], *, upto: datetime) -> dict[int, list[LabResult]]:
    """Every valid response marker (M-protein, free light chains) per patient, oldest first."""
    rows = (
        LabResult.objects.valid()
        .filter(
            patient_id__in=patient_ids, test_code__in=RESPONSE_MARKER_CODES, collected_at__lte=upto
        )
        .only("id", "patient_id", "test_code", "canonical_value", "canonical_unit", "collected_at")
        # One draw holds several markers at the same instant: test code, then pk, break the
        # tie so "the latest marker" (evidence, messages) is the same whatever the batch.
        .order_by("patient_id", "collected_at", "test_code", "pk")
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


# --- What therapy's rules read ----------------------------------------------------------


@dataclass(frozen=True)
class LabValue:
    code: str  # catalogue code, e.g. "ANC", "PLT", "CREAT"
    value: Decimal  # in the catalogue's canonical unit
    unit: str
    collected_at: datetime
    result_id: int


def latest_values(patient_id: int, codes, *, as_of: date) -> dict[str, LabValue]:
    """The newest valid numeric value of each test on or before ``as_of`` (one query)."""
    found = latest_results([patient_id], codes, upto=end_of_day(as_of))
    values = {}
    for (_, code), rows in found.items():
        row = rows[0]
        if row.canonical_value is None:
            continue
        values[code] = LabValue(
            code=code,
            # The same number without the column's ten stored decimals, so therapy's
            # checklist text reads "0.64", not "0.6400000000" (equal in value).
            value=Decimal(clinical_number(row.canonical_value)),
            unit=row.canonical_unit,
            collected_at=row.collected_at,
            result_id=row.pk,
        )
    return values


HCG_CODES = ("HCG_SERUM_QUAL", "HCG_SERUM_QUANT", "HCG_URINE_QUAL")
# A quantitative serum hCG reads negative below its reference limit (5 mIU/mL), which is
# then the test's detection limit for the REMS sensitivity check.
QUANT_HCG_SENSITIVITY = Decimal("5")


@dataclass(frozen=True)
class PregnancyTestResult:
    collected_at: datetime
    result: str  # "negative" | "positive"
    sensitivity_miu_ml: Decimal | None
    result_id: int


def pregnancy_tests(
    patient_ids: list[int], *, since: date, as_of: date
) -> dict[int, list[PregnancyTestResult]]:
    """Each patient's valid negative or positive pregnancy tests collected from ``since``
    to ``as_of`` (clinic days), oldest first: one query for the whole batch."""
    rows = (
        LabResult.objects.valid()
        .filter(
            ids_in("patient_id", patient_ids),
            test_code__in=HCG_CODES,
            qualitative__in=["negative", "positive"],
            collected_at__gte=timezone.make_aware(datetime.combine(since, time.min)),
            collected_at__lte=end_of_day(as_of),
        )
        .order_by("patient_id", "collected_at", "pk")
        # Tuples, not LabResult objects: the REMS list reads every test of a whole clinic.
        .values_list(
            "pk", "patient_id", "test_code", "qualitative", "collected_at", "hcg_sensitivity_miu_ml"
        )
    )
    found: dict[int, list[PregnancyTestResult]] = defaultdict(list)
    for pk, patient_id, test_code, qualitative, collected_at, sensitivity in rows:
        if sensitivity is None and test_code == "HCG_SERUM_QUANT":
            sensitivity = QUANT_HCG_SENSITIVITY
        found[patient_id].append(
            PregnancyTestResult(
                collected_at=collected_at,
                result=qualitative,
                sensitivity_miu_ml=sensitivity,
                result_id=pk,
            )
        )
    return dict(found)


def last_negative_pregnancy_tests(
    patient_ids: list[int], *, since: date, as_of: date
) -> dict[int, date]:
    """The clinic date of each patient's last negative pregnancy test (``pregnancy_tests``
    window): one query for the whole batch."""
    found = {}
    for patient_id, tests in pregnancy_tests(patient_ids, since=since, as_of=as_of).items():
        negatives = [t.collected_at for t in tests if t.result == "negative"]
        if negatives:
            found[patient_id] = local_date(max(negatives))
    return found
