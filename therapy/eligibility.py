"""The start-of-maintenance checklist (shared clinical reference, sec. 1).

Each item is pass / warn / fail / unknown with the value, its date and its source. The
checklist advises: a physician may start despite a failed item, recording why.

The count and renal numbers live in ``therapy.dosing.DEFAULTS`` and the pregnancy-test
numbers in ``therapy.rems_rules.DEFAULTS``; this module adds only its own keys. The
``thresholds`` argument may hold any of them, laid over all three sets of defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from patients.rulebook import Finding, SourceStatus, Threshold, thresholds_by_key
from therapy import dosing, rems_rules
from therapy.rems_rules import PregnancyTest

SEED_RENAL = "Seed documents and Lenalidomide US PI: CrCl > 30 mL/min for standard dosing"
SEED_RESPONSE = "Seed documents; IMWG response criteria (Kumar 2016): PR or better"

DEFAULTS: tuple[Threshold, ...] = (
    Threshold(
        "eligibility.crcl.standard_dosing_above",
        Decimal("30"),
        "mL/min",
        SourceStatus.SEED,
        SEED_RENAL,
    ),
    Threshold(
        "eligibility.labs.max_age_days",
        Decimal("30"),
        "days",
        SourceStatus.COMMON,
        "Baseline CBC and creatinine before the first prescription (seed); how recent is "
        "common practice, not a label number: configurable",
    ),
)

PASS, WARN, UNKNOWN, FAIL = "pass", "warn", "unknown", "fail"
# Worst last: an item nobody can confirm ranks above a warning, below a failure.
_SEVERITY = (PASS, WARN, UNKNOWN, FAIL)

# IMWG categories, best first; maintenance needs at least a partial response.
RESPONSES = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD")
RESPONSES_ELIGIBLE = RESPONSES[: RESPONSES.index("PR") + 1]


def settings(thresholds: Mapping[str, Threshold] | None) -> dict[str, Threshold]:
    """All defaults the checklist uses, with the caller's rule settings laid over them."""
    defaults = dosing.DEFAULTS + rems_rules.DEFAULTS + DEFAULTS
    return {**thresholds_by_key(defaults), **(thresholds or {})}


def _optional_decimal(value: object, field_name: str) -> Decimal | None:
    return None if value is None else dosing.to_decimal(value, field_name)


@dataclass(frozen=True, kw_only=True)
class EligibilityInputs:
    """Everything the checklist reads, each value with the date it was observed."""

    best_response: str | None
    crcl_ml_min: Decimal | None
    crcl_on: date | None
    crcl_basis: str = ""  # which creatinine and weight were used, e.g. "Cr 1.1 mg/dL 3 Mar"
    anc: Decimal | None
    anc_on: date | None
    platelets: Decimal | None
    platelets_on: date | None
    rems_enrollment_active: bool | None
    can_become_pregnant: bool | None
    pregnancy_tests: tuple[PregnancyTest, ...] = ()
    planned_prescription_at: datetime

    def __post_init__(self) -> None:
        if self.best_response is not None and self.best_response not in RESPONSES:
            raise ValueError(f"best_response must be one of {', '.join(RESPONSES)}")
        for name in ("crcl_ml_min", "anc", "platelets"):
            object.__setattr__(self, name, _optional_decimal(getattr(self, name), name))
        object.__setattr__(self, "pregnancy_tests", tuple(self.pregnancy_tests))


@dataclass(frozen=True)
class ChecklistItem:
    item_id: str
    label: str
    status: str  # pass | warn | fail | unknown
    value_text: str
    observed_on: date | None
    source: str
    finding: Finding


def _item(
    item_id: str,
    label: str,
    status: str,
    value_text: str,
    observed_on: date | None,
    source: str,
    values: dict[str, object],
    used: tuple[Threshold, ...] = (),
) -> ChecklistItem:
    finding = Finding(
        rule_id=f"eligibility.{item_id}",
        outcome=status,
        message=value_text,
        values=values,
        thresholds=used,
        source=source,
    )
    return ChecklistItem(item_id, label, status, value_text, observed_on, source, finding)


def eligibility_checklist(
    inputs: EligibilityInputs, thresholds: Mapping[str, Threshold] | None = None
) -> tuple[ChecklistItem, ...]:
    t = settings(thresholds)
    return (
        response_item(inputs),
        _recent_enough(crcl_item(inputs, t), inputs, t),
        _recent_enough(anc_item(inputs, t), inputs, t),
        _recent_enough(platelets_item(inputs, t), inputs, t),
        rems_enrollment_item(inputs),
        pregnancy_tests_item(inputs, t),
    )


def _recent_enough(
    item: ChecklistItem, inputs: EligibilityInputs, t: Mapping[str, Threshold]
) -> ChecklistItem:
    """A lab result older than the maximum age cannot vouch for today: it becomes unknown
    (which needs a new result or a written justification), whatever it showed."""
    limit = t["eligibility.labs.max_age_days"]
    if item.observed_on is None:
        return item
    age_days = (inputs.planned_prescription_at.date() - item.observed_on).days
    if age_days <= limit.value:
        return item
    return replace(
        item,
        status=UNKNOWN,
        value_text=(
            f"{item.value_text} — but measured {item.observed_on} ({age_days} days before the "
            f"prescription); the checklist needs a result from the last {limit.value} days"
        ),
    )


def overall(items: Iterable[ChecklistItem]) -> str:
    """The worst status: fail > unknown > warn > pass (pass for an empty checklist)."""
    return max((item.status for item in items), key=_SEVERITY.index, default=PASS)


def response_item(inputs: EligibilityInputs) -> ChecklistItem:
    response = inputs.best_response
    if response is None:
        status, text = UNKNOWN, "Best response not recorded"
    elif response in RESPONSES_ELIGIBLE:
        status, text = PASS, f"Best response {response} (PR or better)"
    else:
        status, text = FAIL, f"Best response {response}: maintenance needs PR or better"
    return _item(
        "response",
        "Response PR or better after induction",
        status,
        text,
        None,
        SEED_RESPONSE,
        {"best_response": response},
    )


def crcl_item(inputs: EligibilityInputs, t: Mapping[str, Threshold]) -> ChecklistItem:
    """CrCl > 30 for standard dosing; 30 < CrCl < 60 passes with a reduced dose (warn)."""
    crcl = inputs.crcl_ml_min
    standard = t["eligibility.crcl.standard_dosing_above"]
    normal = t["dosing.renal.normal_min_crcl"]
    basis = f" ({inputs.crcl_basis})" if inputs.crcl_basis else ""
    if crcl is None:
        status, text = UNKNOWN, "No creatinine clearance on record"
    elif crcl <= standard.value:
        status = FAIL
        text = f"CrCl {crcl} mL/min{basis}: at or below {standard.value}, renal dosing needed"
    elif crcl < normal.value:
        reduced = dosing.renal_band(crcl, on_dialysis=False, thresholds=t).values
        status = WARN
        text = f"CrCl {crcl} mL/min{basis}: reduced dose, {reduced['suggested_level'].label}"
    else:
        status, text = PASS, f"CrCl {crcl} mL/min{basis}"
    return _item(
        "crcl",
        "Creatinine clearance (Cockcroft-Gault)",
        status,
        text,
        inputs.crcl_on,
        SEED_RENAL,
        {"crcl_ml_min": crcl, "crcl_basis": inputs.crcl_basis},
        (standard, normal),
    )


def anc_item(inputs: EligibilityInputs, t: Mapping[str, Threshold]) -> ChecklistItem:
    return _count_item(
        "anc",
        "Absolute neutrophil count",
        inputs.anc,
        inputs.anc_on,
        t["dosing.start.label_min_anc"],
        t["dosing.start.recommended_anc_above"],
    )


def platelets_item(inputs: EligibilityInputs, t: Mapping[str, Threshold]) -> ChecklistItem:
    return _count_item(
        "platelets",
        "Platelets",
        inputs.platelets,
        inputs.platelets_on,
        t["dosing.start.label_min_platelets"],
        t["dosing.start.recommended_platelets_above"],
    )


def _count_item(
    item_id: str,
    label: str,
    value: Decimal | None,
    observed_on: date | None,
    label_min: Threshold,
    recommended_above: Threshold,
) -> ChecklistItem:
    """Fail below the label minimum (>= to start), warn up to and including the
    recommended value (seed: strictly above), pass above it."""
    if value is None:
        status, text = UNKNOWN, f"No {label.lower()} on record"
    elif value < label_min.value:
        status = FAIL
        text = f"{value} x10^9/L is below the label minimum of {label_min.value}"
    elif value <= recommended_above.value:
        status = WARN
        text = f"{value} x10^9/L meets the label minimum, not above the recommended {recommended_above.value}"
    else:
        status, text = PASS, f"{value} x10^9/L"
    source = f"{label_min.source}; {recommended_above.source}"
    return _item(
        item_id,
        label,
        status,
        text,
        observed_on,
        source,
        {item_id: value},
        (label_min, recommended_above),
    )


def rems_enrollment_item(inputs: EligibilityInputs) -> ChecklistItem:
    active = inputs.rems_enrollment_active
    status, text = {
        True: (PASS, "REMS enrollment active"),
        False: (FAIL, "No active REMS enrollment"),
        None: (UNKNOWN, "REMS enrollment not recorded"),
    }[active]
    return _item(
        "rems_enrollment",
        "Lenalidomide REMS enrollment",
        status,
        text,
        None,
        rems_rules.REMS_PROGRAM,
        {"rems_enrollment_active": active},
    )


def pregnancy_tests_item(inputs: EligibilityInputs, t: Mapping[str, Threshold]) -> ChecklistItem:
    """Only for patients who can become pregnant; no tests yet is "unknown", not "fail"."""
    label = "Pregnancy tests before the first prescription"
    if inputs.can_become_pregnant is False:
        return _item(
            "pregnancy_tests",
            label,
            PASS,
            "Not applicable: cannot become pregnant",
            None,
            rems_rules.PI_PREGNANCY,
            {"can_become_pregnant": False},
        )
    if inputs.can_become_pregnant is None:
        return _item(
            "pregnancy_tests",
            label,
            UNKNOWN,
            "Whether the patient can become pregnant is not recorded",
            None,
            rems_rules.PI_PREGNANCY,
            {"can_become_pregnant": None},
        )
    finding = rems_rules.pre_start_pregnancy_tests(
        tests=inputs.pregnancy_tests,
        prescription_at=inputs.planned_prescription_at,
        thresholds=t,
    )
    if finding.outcome == "met":
        status = PASS
    elif finding.outcome == "not_met" and not finding.values["tests_considered"]:
        status = UNKNOWN
    else:
        status = FAIL
    latest = max((test.collected_on for test in inputs.pregnancy_tests), default=None)
    return ChecklistItem(
        "pregnancy_tests", label, status, finding.message, latest, finding.source, finding
    )
