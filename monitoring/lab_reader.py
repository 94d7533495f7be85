"""What therapy reads from the labs (the ``therapy.ports.LabReader`` protocol).

Registered in ``MonitoringConfig.ready()``. Only valid results count: a result marked
entered-in-error is invisible to dosing and REMS rules, as it is to monitoring's own.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time
from decimal import Decimal

from django.utils import timezone

from patients.formatting import clinical_number
from patients.lab_selectors import end_of_day, latest_results
from patients.models import LabResult
from therapy.ports import LabValue, PregnancyTestResult

HCG_CODES = ("HCG_SERUM_QUAL", "HCG_SERUM_QUANT", "HCG_URINE_QUAL")
# A quantitative serum hCG reads negative below its reference limit (5 mIU/mL), which is
# then the test's detection limit for the REMS sensitivity check.
QUANT_HCG_SENSITIVITY = Decimal("5")


def _start_of_day(on: date) -> datetime:
    return timezone.make_aware(datetime.combine(on, time.min))


def _pregnancy_result(row: LabResult) -> PregnancyTestResult:
    sensitivity = row.hcg_sensitivity_miu_ml
    if sensitivity is None and row.test_code == "HCG_SERUM_QUANT":
        sensitivity = QUANT_HCG_SENSITIVITY
    return PregnancyTestResult(
        collected_at=row.collected_at,
        result=row.qualitative,
        sensitivity_miu_ml=sensitivity,
        result_id=row.pk,
    )


class MonitoringLabReader:
    def latest_values(
        self, patient_id: int, codes: list[str], *, as_of: date
    ) -> dict[str, LabValue]:
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

    def pregnancy_tests(
        self, patient_id: int, *, since: date, as_of: date
    ) -> list[PregnancyTestResult]:
        return self.pregnancy_tests_for([patient_id], since=since, as_of=as_of).get(patient_id, [])

    def pregnancy_tests_for(
        self, patient_ids: list[int], *, since: date, as_of: date
    ) -> dict[int, list[PregnancyTestResult]]:
        """Bulk variant (one query) for REMS states of many patients; oldest first."""
        rows = (
            LabResult.objects.valid()
            .filter(
                patient_id__in=patient_ids,
                test_code__in=HCG_CODES,
                qualitative__in=["negative", "positive"],
                collected_at__gte=_start_of_day(since),
                collected_at__lte=end_of_day(as_of),
            )
            .order_by("patient_id", "collected_at", "pk")
        )
        found: dict[int, list[PregnancyTestResult]] = defaultdict(list)
        for row in rows:
            found[row.patient_id].append(_pregnancy_result(row))
        return dict(found)

    def last_negative_pregnancy_tests(
        self, patient_ids: list[int], *, since: date, as_of: date
    ) -> dict[int, date]:
        """Batch form therapy's REMS states use: the last negative test date per patient."""
        found = {}
        for patient_id, tests in self.pregnancy_tests_for(
            patient_ids, since=since, as_of=as_of
        ).items():
            negatives = [t.collected_at for t in tests if t.result == "negative"]
            if negatives:
                found[patient_id] = timezone.localdate(max(negatives))
        return found
