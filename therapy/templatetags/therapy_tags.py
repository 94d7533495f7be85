from django import template

from patients.formatting import MISSING, clinical_date, clinical_datetime, clinical_number, yes_no
from patients.lab_catalogue import UnknownTestError, find_test
from therapy import eligibility

register = template.Library()

# Bootstrap colour of each checklist and REMS status.
STATUS_CLASSES = {
    eligibility.PASS: "success",
    eligibility.WARN: "warning",
    eligibility.FAIL: "danger",
    eligibility.UNKNOWN: "secondary",
    "compliant": "success",
    "action_needed": "danger",
}


@register.filter
def status_class(status: str) -> str:
    """Bootstrap colour of a checklist or REMS status."""
    return STATUS_CLASSES.get(status, "secondary")


@register.filter
def cite(threshold) -> str:
    """A threshold (stored dict or rulebook.Threshold) in words with its number formatted:
    'hold: ANC below 0.5 10^9/L (label: Lenalidomide US PI, v1)'."""
    get = threshold.get if isinstance(threshold, dict) else lambda k: getattr(threshold, k, None)
    value = clinical_number(get("value"))
    return (
        f"{threshold_name(get('key'))} {value} {get('unit') or ''}".rstrip()
        + f" ({get('status')}: {get('source')}, v{get('version')})"
    )


@register.filter
def threshold_name(key) -> str:
    """'dosing.hold.anc_below' -> 'hold: ANC below' (the module prefix left out; the full
    key stays in the rule details)."""
    parts = str(key or "").split(".")
    if len(parts) >= 3:
        return f"{humanize_code(parts[-2])}: {humanize_code(parts[-1])}"
    return humanize_code(parts[-1])


# Abbreviations a clinician reads in capitals.
_UPPER = {"anc", "cbc", "wbc", "plt", "hgb", "rems", "mrd", "flc", "ldh", "id"}
_SPELLED = {"crcl": "CrCl"}
# A value's key ending in its unit (``crcl_ml_min``): the unit goes after the value.
_UNIT_SUFFIXES = (
    ("_ml_min", "mL/min"),
    ("_mg_dl", "mg/dL"),
    ("_kg", "kg"),
    ("_years", "years"),
    ("_days", "days"),
)


# A finding's key that names a lab test other than by its catalogue code (therapy.dosing,
# therapy.eligibility); every other key is tried as a code ("anc", "creat").
_LAB_TEST_KEYS = {"platelets": "PLT"}


def _lab_unit(key: str) -> str:
    """' 10^9/L' for a key naming a numeric lab test ("anc", "platelets"), else ''."""
    try:
        test = find_test(_LAB_TEST_KEYS.get(key, key))
    except UnknownTestError:
        return ""
    return f" {test.canonical_unit}" if test.is_numeric and test.canonical_unit else ""


@register.filter
def humanize_code(value: str) -> str:
    """'action_needed' -> 'action needed', 'anc_below' -> 'ANC below'."""
    words = str(value).replace("_", " ").split()
    return " ".join(_SPELLED.get(w, w.upper() if w in _UPPER else w) for w in words)


@register.filter
def shown_values(finding: dict) -> list[tuple[str, str]]:
    """A stored finding's input values in words: dose levels by their label, numbers by the
    clinical formatter with the unit their key ends in, booleans as yes/no, a group of
    inputs (a CrCl's) each in words; a value that is not set is left out."""
    values = finding.get("values") if isinstance(finding, dict) else None
    return [(name[:1].upper() + name[1:], value) for name, value in _in_words(values)]


def _in_words(values) -> list[tuple[str, str]]:
    shown = []
    for key, value in (values if isinstance(values, dict) else {}).items():
        if isinstance(value, dict) and "label" in value:
            value = value["label"]
        if value in (None, "", [], {}):
            continue
        unit = ""
        if isinstance(value, bool):
            value = yes_no(value)
        elif isinstance(value, list):
            value = ", ".join(humanize_code(v) for v in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{name} {inner}" for name, inner in _in_words(value))
        elif _is_iso_date(value):
            value = clinical_date(value)
        else:
            value = clinical_number(value)
            # Only a number takes a unit: the one its key ends in, or its lab test's.
            for suffix, name in _UNIT_SUFFIXES:
                if key.endswith(suffix):
                    key, unit = key[: -len(suffix)], f" {name}"
                    break
            else:
                unit = _lab_unit(key)
        shown.append((humanize_code(key), f"{value}{unit}"))
    return shown


def _is_iso_date(value) -> bool:
    return isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-"


@register.filter
def evidence_text(evidence: dict) -> str:
    """One stored evidence item in words: 'ANC 0.3 10^9/L, collected 2026-11-01 09:30'."""
    if not isinstance(evidence, dict):
        return str(evidence)
    parts = [str(evidence.get("code") or "")]
    value = evidence.get("value")
    if value not in (None, ""):
        parts.append(clinical_number(value))
    if evidence.get("unit"):
        parts.append(str(evidence["unit"]))
    text = " ".join(p for p in parts if p)
    if evidence.get("collected_at"):
        text += f", collected {clinical_datetime(evidence['collected_at'])}"
    return text or MISSING


@register.filter
def rems_action(action: str) -> str:
    from therapy.selectors import rems_action_label

    return rems_action_label(str(action))


@register.filter
def risk_category(code) -> str:
    from therapy.selectors import rems_risk_category_label

    return rems_risk_category_label(code)
