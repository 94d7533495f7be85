"""The start-of-maintenance checklist (shared clinical reference, sec. 1).

Each item is pass / warn / fail / unknown with the value, its date and its source. The
checklist advises: a physician may start despite a failed item, recording why.

The count and renal numbers live in ``therapy.dosing.DEFAULTS`` and the pregnancy-test
numbers in ``therapy.rems_rules.DEFAULTS``; this module adds only its own keys. The
``thresholds`` argument may hold any of them, laid over all three sets of defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from patients.formatting import clinical_number
from patients.rulebook import Finding, SourceStatus, Threshold, in_force
from therapy import dosing, rems_rules
from therapy.rems_rules import PregnancyTest

SEED_RENAL = "Seed documents and Lenalidomide US PI: CrCl > 30 mL/min for standard dosing"
SEED_RESPONSE = "Seed documents; IMWG response criteria (Kumar 2016): PR or better"
TRANSPLANT_WINDOW = (
    "Lenalidomide US PI (maintenance after auto-HSCT, once hematologic recovery) and common "
    "practice: usually day 90-110 after ASCT (clinical reference sec. 1)"
)
SEED_BASELINE = (
    "Seed documents, clinical reference sec. 1 baseline labs: CBC, chemistry with creatinine, "
    "response labs (M-protein, FLC)"
)

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
    # Time since transplant (reference sec. 1: "usually day 90-110 after ASCT").
    Threshold(
        "eligibility.transplant.window_first_day",
        Decimal("90"),
        "days",
        SourceStatus.COMMON,
        TRANSPLANT_WINDOW,
    ),
    Threshold(
        "eligibility.transplant.window_last_day",
        Decimal("110"),
        "days",
        SourceStatus.COMMON,
        TRANSPLANT_WINDOW,
    ),
    Threshold(
        "eligibility.response_labs.max_age_days",
        Decimal("90"),
        "days",
        SourceStatus.COMMON,
        "Seed: baseline M-protein and FLC before maintenance; how recent is not in the "
        "reference: 3 months, the response-lab interval of sec. 4; configurable",
    ),
)

# The baseline labs of reference sec. 1, by catalogue code: the CBC and the chemistry must
# be as recent as ``eligibility.labs.max_age_days``, the response labs as recent as
# ``eligibility.response_labs.max_age_days``. (The pregnancy test has its own item.)
BASELINE_LABS: tuple[tuple[str, str, str], ...] = (
    ("WBC", "white cells", "eligibility.labs.max_age_days"),
    ("ANC", "neutrophils", "eligibility.labs.max_age_days"),
    ("HGB", "hemoglobin", "eligibility.labs.max_age_days"),
    ("PLT", "platelets", "eligibility.labs.max_age_days"),
    ("CREAT", "creatinine", "eligibility.labs.max_age_days"),
    ("SPEP_M", "serum M-protein", "eligibility.response_labs.max_age_days"),
    ("FLC_KAPPA", "free kappa", "eligibility.response_labs.max_age_days"),
    ("FLC_LAMBDA", "free lambda", "eligibility.response_labs.max_age_days"),
)
BASELINE_LAB_CODES = tuple(code for code, _, _ in BASELINE_LABS)

PASS, WARN, UNKNOWN, FAIL = "pass", "warn", "unknown", "fail"
# Worst last: an item nobody can confirm ranks above a warning, below a failure.
_SEVERITY = (PASS, WARN, UNKNOWN, FAIL)

# IMWG categories, best first; maintenance needs at least a partial response.
RESPONSES = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD")
RESPONSES_ELIGIBLE = RESPONSES[: RESPONSES.index("PR") + 1]


def settings(thresholds: Mapping[str, Threshold] | None) -> dict[str, Threshold]:
    """All defaults the checklist uses, with the caller's rule settings laid over them."""
    return in_force(dosing.DEFAULTS + rems_rules.DEFAULTS + DEFAULTS, thresholds)


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
    on_dialysis: bool = False
    transplant_on: date | None = None  # the latest transplant before the prescription
    transplant_kind: str = "autologous"
    # Collection date of the latest result of each baseline lab (BASELINE_LABS), by code.
    baseline_labs: Mapping[str, date] = field(default_factory=dict)

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
        transplant_item(inputs, t),
        baseline_labs_item(inputs, t),
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
    text = (
        f"{item.value_text} — but measured {item.observed_on} ({age_days} days before the "
        f"prescription); the checklist needs a result from the last "
        f"{clinical_number(limit.value)} days"
    )
    # The finding says the same as the item (a stored snapshot keeps the finding).
    finding = replace(
        item.finding, outcome=UNKNOWN, message=text, thresholds=(*item.finding.thresholds, limit)
    )
    return replace(item, status=UNKNOWN, value_text=text, finding=finding)


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
    """Pass at or above the normal band (60); below it the label's renal start dose
    (``dosing.renal_band``): 5 mg from 30 to < 60, 2.5 mg below 30, 2.5 mg after dialysis
    on dialysis days (warn, the dose is named). Below 11 mL/min (7 on dialysis) the label
    did not study a dose: fail, so a start needs a written justification."""
    crcl = inputs.crcl_ml_min
    standard = t["eligibility.crcl.standard_dosing_above"]
    normal = t["dosing.renal.normal_min_crcl"]
    basis = f" ({inputs.crcl_basis})" if inputs.crcl_basis else ""
    used: tuple[Threshold, ...] = (standard, normal)
    values: dict[str, object] = {
        "crcl_ml_min": crcl,
        "crcl_basis": inputs.crcl_basis,
        "on_dialysis": inputs.on_dialysis,
        "suggested_level": None,
    }
    if crcl is None:
        status, text = UNKNOWN, "No creatinine clearance on record"
    elif crcl >= normal.value and not inputs.on_dialysis:
        status, text = PASS, f"CrCl {clinical_number(crcl)} mL/min{basis}"
    else:
        renal = dosing.renal_band(crcl, inputs.on_dialysis, t)
        used += tuple(x for x in renal.thresholds if x not in used)
        if renal.values["not_studied"]:
            status, text = FAIL, f"{renal.message}{basis}"
        else:
            status = WARN
            values["suggested_level"] = renal.values["suggested_level"]
            if inputs.on_dialysis:
                why = "on dialysis, renal dose"
            elif crcl <= standard.value:
                why = f"at or below {clinical_number(standard.value)} mL/min, renal dose"
            else:
                why = f"below {clinical_number(normal.value)} mL/min, reduced dose"
            level = renal.values["suggested_level"]
            text = (
                f"CrCl {clinical_number(crcl)} mL/min{basis}: {why} "
                f"{dosing.format_mg(level.dose_mg)} mg once daily ({level.label})"
            )
            if inputs.on_dialysis:
                text += ", given after dialysis on dialysis days"
    return _item(
        "crcl",
        "Creatinine clearance (Cockcroft-Gault)",
        status,
        text,
        inputs.crcl_on,
        f"{SEED_RENAL}; {dosing.PI_RENAL}",
        values,
        used,
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
        text = (
            f"{clinical_number(value)} x10^9/L is below the label minimum of "
            f"{clinical_number(label_min.value)}"
        )
    elif value <= recommended_above.value:
        status = WARN
        text = (
            f"{clinical_number(value)} x10^9/L meets the label minimum, not above the "
            f"recommended {clinical_number(recommended_above.value)}"
        )
    else:
        status, text = PASS, f"{clinical_number(value)} x10^9/L"
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


def transplant_item(inputs: EligibilityInputs, t: Mapping[str, Threshold]) -> ChecklistItem:
    """Maintenance usually starts on day 90-110 after ASCT (reference sec. 1): pass inside
    the window (both ends included), warn before or after it, or with no transplant on
    record. The day count runs from the transplant (day 0) to the planned prescription."""
    first = t["eligibility.transplant.window_first_day"]
    last = t["eligibility.transplant.window_last_day"]
    window = f"usual window day {clinical_number(first.value)}-{clinical_number(last.value)}"
    on = inputs.transplant_on
    day = None if on is None else (inputs.planned_prescription_at.date() - on).days
    if on is None:
        status = WARN
        text = (
            "No transplant on record: maintenance may follow induction without one; "
            "record the date if there was a transplant"
        )
    else:
        kind = inputs.transplant_kind.capitalize()
        text = f"{kind} transplant on {on}: day {day} at the planned prescription ({window})"
        if day < first.value:
            status, text = WARN, f"{text}: earlier than usual, check hematologic recovery"
        elif day > last.value:
            status, text = WARN, f"{text}: later than usual"
        else:
            status = PASS
    return _item(
        "transplant",
        "Time since transplant",
        status,
        text,
        on,
        TRANSPLANT_WINDOW,
        {"transplant_on": on, "transplant_kind": inputs.transplant_kind, "day": day},
        (first, last),
    )


def baseline_labs_item(inputs: EligibilityInputs, t: Mapping[str, Threshold]) -> ChecklistItem:
    """The baseline labs of reference sec. 1 (CBC, creatinine, M-protein and FLC): pass
    when each has a result recent enough, warn naming what is missing or too old."""
    today = inputs.planned_prescription_at.date()
    missing, too_old = [], []
    for code, name, age_key in BASELINE_LABS:
        on = inputs.baseline_labs.get(code)
        if on is None:
            missing.append(name)
        elif (today - on).days > t[age_key].value:
            too_old.append(f"{name} {on}")
    used = (t["eligibility.labs.max_age_days"], t["eligibility.response_labs.max_age_days"])
    ages = (
        f"CBC and creatinine within {clinical_number(used[0].value)} days, "
        f"M-protein and FLC within {clinical_number(used[1].value)} days"
    )
    problems = []
    if missing:
        problems.append(f"missing: {', '.join(missing)}")
    if too_old:
        problems.append(f"too old: {', '.join(too_old)}")
    if problems:
        status, text = WARN, f"Baseline labs incomplete ({ages}); {'; '.join(problems)}"
    else:
        status, text = PASS, f"CBC, creatinine, M-protein and FLC on record ({ages})"
    dates = [d for d in inputs.baseline_labs.values() if d is not None]
    return _item(
        "baseline_labs",
        "Baseline labs",
        status,
        text,
        min(dates, default=None),
        SEED_BASELINE,
        {"baseline_labs": dict(inputs.baseline_labs), "missing": missing, "too_old": too_old},
        used,
    )
