"""What every rule family of the evaluation shares: the wanted flag (``Desired``), the
outcome, the scope and the evidence a flag shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from monitoring.models import Flag
from monitoring.rules import ctcae
from patients import lab_catalogue as catalogue
from patients.formatting import clinical_number
from patients.models import LabResult, Patient
from patients.rulebook import Finding

if TYPE_CHECKING:
    from monitoring.evaluation.gather import _Batch


CBC_CODES = ("WBC", "ANC", "LYMPH", "HGB", "PLT")


IN_SCOPE_STATUSES = (Patient.Status.ACTIVE, Patient.Status.PRE_MAINTENANCE)


K = Flag.Kind


@dataclass
class Desired:
    """A flag the rules want open for one patient, with everything shown under it."""

    kind: str
    severity: int
    message: str
    finding: Finding
    evidence: list[dict]
    ctcae_grade: int | None = None
    ctcae_version: str = ""
    due_on: date | None = None
    notify: bool = False
    suggestion_kind: str = ""  # therapy dose suggestion raised with the flag


@dataclass
class Outcome:
    """What one evaluation did (returned by the task and the sweep, and asserted in tests)."""

    patients: int = 0
    created: int = 0
    changed: int = 0
    resolved: int = 0
    notifications: int = 0
    kinds_open: dict[int, set[str]] = field(default_factory=dict)

    def add(self, other: Outcome) -> None:
        self.patients += other.patients
        self.created += other.created
        self.changed += other.changed
        self.resolved += other.resolved
        self.notifications += other.notifications
        self.kinds_open.update(other.kinds_open)


def _in_scope(patient: Patient) -> bool:
    return patient.entered_in_error_at is None and patient.status in IN_SCOPE_STATUSES


def _evidence(result: LabResult) -> dict:
    return {
        "result_id": result.pk,
        "code": result.test_code,
        # As shown on the result (the catalogue's display precision); result_id keeps the
        # link to the exact stored value.
        "value": clinical_number(
            result.canonical_value, catalogue.find_test(result.test_code).decimal_places
        )
        if result.canonical_value is not None
        else result.qualitative,
        "unit": result.canonical_unit,
        "collected_at": result.collected_local.isoformat(),
    }


def _shown(result: LabResult) -> str:
    test = catalogue.find_test(result.test_code)
    value = clinical_number(result.canonical_value, test.decimal_places)
    return f"{test.name} {value} {test.canonical_unit}"


def _lln(result: LabResult, test) -> Decimal | None:
    """The reporting lab's LLN stored with the result; the catalogue default otherwise."""
    return result.ref_low if result.ref_low is not None else test.ref_low


def _graded(batch: _Batch, pid: int, code: str, t):
    """The CTCAE grade of the patient's latest count of ``code`` (None without one), worked
    out once per batch: the cytopenia flags and the next review date both read it."""
    key = (pid, code)
    if key not in batch.grades:
        rows = batch.latest.get(key)
        batch.grades[key] = (
            ctcae.grade(
                code,
                rows[0].canonical_value,
                lln=_lln(rows[0], catalogue.find_test(code)),
                version=ctcae.version_in_force(t),  # per clinic (rule setting ctcae.version)
                thresholds=t,
            )
            if rows
            else None
        )
    return batch.grades[key]


def _last_cbc(batch: _Batch, pid: int) -> list[LabResult]:
    """The results of the latest complete CBC (empty: none yet)."""
    return batch.cbc_draws.get(pid, [])
