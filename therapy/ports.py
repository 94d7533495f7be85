"""What therapy needs from the lab results that the monitoring app stores.

Dependencies point monitoring -> therapy, so therapy cannot import monitoring. Therapy
declares here what it reads (latest values, pregnancy tests); monitoring registers the
implementation in its ``AppConfig.ready()``. Until then the null reader answers "no
result", which the rules show as "unknown", never as "pass".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class LabValue:
    code: str  # catalogue code, e.g. "ANC", "PLT", "CREAT"
    value: Decimal  # in the catalogue's canonical unit
    unit: str
    collected_at: datetime
    result_id: int


@dataclass(frozen=True)
class PregnancyTestResult:
    collected_at: datetime
    result: str  # "negative" | "positive"
    sensitivity_miu_ml: Decimal | None
    result_id: int


class LabReader(Protocol):
    def latest_values(
        self, patient_id: int, codes: list[str], *, as_of: date
    ) -> dict[str, LabValue]: ...

    def pregnancy_tests(
        self, patient_id: int, *, since: date, as_of: date
    ) -> list[PregnancyTestResult]: ...


class NullLabReader:
    def latest_values(
        self, patient_id: int, codes: list[str], *, as_of: date
    ) -> dict[str, LabValue]:
        return {}

    def pregnancy_tests(
        self, patient_id: int, *, since: date, as_of: date
    ) -> list[PregnancyTestResult]:
        return []


_reader: LabReader = NullLabReader()


def register_lab_reader(reader: LabReader) -> None:
    global _reader
    _reader = reader


def lab_reader() -> LabReader:
    return _reader


# Optional batch read for list pages and sweeps (``therapy.selectors.rems_states``): the
# latest negative pregnancy test date of each patient, collected on or before ``as_of``.
# A reader without it is asked patient by patient (only for patients who can become
# pregnant and are on therapy), so implementing it only saves queries.
def last_negative_pregnancy_tests(
    reader: LabReader, patient_ids: list[int], *, since: date, as_of: date
) -> dict[int, date]:
    batch = getattr(reader, "last_negative_pregnancy_tests", None)
    if batch is not None:
        return batch(patient_ids, since=since, as_of=as_of)
    found: dict[int, date] = {}
    for patient_id in patient_ids:
        negatives = [
            test.collected_at
            for test in reader.pregnancy_tests(patient_id, since=since, as_of=as_of)
            if test.result == "negative"
        ]
        if negatives:
            found[patient_id] = _local_date(max(negatives))
    return found


def _local_date(moment: datetime) -> date:
    from django.utils import timezone

    return timezone.localdate(moment) if timezone.is_aware(moment) else moment.date()
