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
