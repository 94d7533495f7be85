"""Eligibility for maintenance and creatinine clearance with the weight it used (CONTRACT:
``crcl_with_weight``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from patients.formatting import clinical_number
from patients.lab_selectors import (
    latest_values,
    local_date,
    pregnancy_tests,
)
from patients.models import Patient
from patients.rulebook import Finding
from patients.selectors import (
    WeightUsed,
    latest_transplant,
    rule_thresholds,
    weight_history,
    weight_nearest,
)
from therapy import dosing, eligibility, rems_rules
from therapy.eligibility import ChecklistItem, EligibilityInputs
from therapy.models import RemsEnrollment
from therapy.selectors.rems import can_become_pregnant_of

ELIGIBILITY_DEFAULTS = dosing.DEFAULTS + rems_rules.DEFAULTS + eligibility.DEFAULTS


@dataclass(frozen=True)
class Eligibility:
    items: tuple[ChecklistItem, ...]
    overall: str
    as_of: date

    @property
    def failed(self) -> tuple[ChecklistItem, ...]:
        return tuple(item for item in self.items if item.status == eligibility.FAIL)

    @property
    def renal_dose(self) -> ChecklistItem | None:
        """The creatinine-clearance item when it names a renal starting dose (start page)."""
        item = next((i for i in self.items if i.item_id == "crcl"), None)
        if item and item.status == eligibility.WARN and item.finding.values.get("suggested_level"):
            return item
        return None

    @property
    def unresolved(self) -> tuple[ChecklistItem, ...]:
        """Failed items and items that could not be checked (no result): starting despite
        either needs a written justification; a missing pregnancy test is never a pass."""
        return tuple(
            item for item in self.items if item.status in (eligibility.FAIL, eligibility.UNKNOWN)
        )


LAB_CODES = sorted({"ANC", "PLT", "CREAT", *eligibility.BASELINE_LAB_CODES})


def eligibility_for(
    patient: Patient, *, as_of: date, prescription_at: datetime | None = None
) -> Eligibility:
    """The start-of-maintenance checklist from the record and the latest lab results."""
    prescription_at = prescription_at or timezone.make_aware(datetime.combine(as_of, time(9, 0)))
    # In the clinic's time zone: the rules take its calendar date (a 21:00 prescription in
    # New York is still that day, not the next UTC day).
    prescription_at = timezone.localtime(prescription_at)
    thresholds = rule_thresholds(ELIGIBILITY_DEFAULTS, clinic_id=patient.clinic_id)
    labs = latest_values(patient.pk, LAB_CODES, as_of=as_of)
    crcl, crcl_on, basis = _crcl(patient, labs.get("CREAT"))
    anc, plt = labs.get("ANC"), labs.get("PLT")
    diagnosis = getattr(patient, "diagnosis", None)
    enrollment = RemsEnrollment.objects.filter(patient=patient).first()
    tests = pregnancy_tests([patient.pk], since=as_of - timedelta(days=14), as_of=as_of).get(
        patient.pk, []
    )
    transplant = latest_transplant(patient, on_or_before=as_of)
    inputs = EligibilityInputs(
        best_response=(diagnosis.best_response_pre_maintenance or None) if diagnosis else None,
        crcl_ml_min=crcl,
        crcl_on=crcl_on,
        crcl_basis=basis,
        anc=anc.value if anc else None,
        anc_on=timezone.localdate(anc.collected_at) if anc else None,
        platelets=plt.value if plt else None,
        platelets_on=timezone.localdate(plt.collected_at) if plt else None,
        rems_enrollment_active=enrollment.is_active if enrollment else False,
        can_become_pregnant=can_become_pregnant_of(patient),
        pregnancy_tests=tuple(
            rems_rules.PregnancyTest(
                collected_on=timezone.localdate(test.collected_at),
                result=test.result,
                sensitivity_miu_ml=test.sensitivity_miu_ml,
                collected_at=test.collected_at,
            )
            for test in tests
        ),
        planned_prescription_at=prescription_at,
        on_dialysis=bool(diagnosis and diagnosis.on_dialysis),
        transplant_on=transplant.transplanted_on if transplant else None,
        transplant_kind=transplant.kind if transplant else "autologous",
        baseline_labs={
            code: timezone.localdate(labs[code].collected_at)
            for code in eligibility.BASELINE_LAB_CODES
            if code in labs
        },
    )
    items = eligibility.eligibility_checklist(inputs, thresholds)
    return Eligibility(items=items, overall=eligibility.overall(items), as_of=as_of)


@dataclass(frozen=True)
class CrclUsed:
    """A Cockcroft-Gault creatinine clearance with the inputs it used."""

    finding: Finding  # dosing.crcl_cockcroft_gault: values["crcl_ml_min"], the formula's inputs
    creatinine_on: date
    weight: WeightUsed

    @property
    def crcl_ml_min(self) -> Decimal:
        return self.finding.values["crcl_ml_min"]


def crcl_with_weight(
    patient: Patient,
    *,
    creatinine_mg_dl: Decimal,
    collected_at: datetime,
    weights: list[WeightUsed],
) -> CrclUsed | None:
    """THE creatinine clearance of one creatinine result: Cockcroft-Gault with the patient's
    age on the clinic date of the draw and the weight measured nearest that date (None
    without a weight). ``weights`` come from ``patients.selectors.weight_history``, one
    query for a whole batch; the sweep and the start-of-maintenance checklist both call it."""
    on = local_date(collected_at)
    weight = weight_nearest(weights, on)
    if weight is None:
        return None
    finding = dosing.crcl_cockcroft_gault(
        age_years=patient.age_on(on),
        weight_kg=weight.weight_kg,
        creatinine_mg_dl=creatinine_mg_dl,
        sex_at_birth=patient.sex_at_birth,
    )
    return CrclUsed(finding=finding, creatinine_on=on, weight=weight)


def _crcl(patient: Patient, creatinine) -> tuple[Decimal | None, date | None, str]:
    """The checklist's CrCl from the latest creatinine, with its basis in words."""
    if creatinine is None:
        return None, None, ""
    used = crcl_with_weight(
        patient,
        creatinine_mg_dl=creatinine.value,
        collected_at=creatinine.collected_at,
        weights=weight_history([patient.pk]).get(patient.pk, []),
    )
    on = local_date(creatinine.collected_at)
    if used is None:
        return (
            None,
            on,
            f"creatinine {clinical_number(creatinine.value)} mg/dL on {on}; no weight on record",
        )
    basis = (
        f"creatinine {clinical_number(creatinine.value)} mg/dL on {on}, "
        f"weight {clinical_number(used.weight.weight_kg)} kg on {used.weight.measured_on}"
    )
    return used.crcl_ml_min, on, basis
