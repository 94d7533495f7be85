from django import template

from therapy import eligibility
from therapy.findings import cite as cite_threshold

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
    """A threshold (stored dict or rulebook.Threshold) as 'key = value unit (source, vN)'."""
    if hasattr(threshold, "cite"):
        return threshold.cite()
    return cite_threshold(threshold)


@register.filter
def humanize_code(value: str) -> str:
    return str(value).replace("_", " ")


@register.filter
def shown_values(finding: dict) -> list[tuple[str, str]]:
    """A stored finding's input values, for display (dose levels shown by their label)."""
    values = finding.get("values") if isinstance(finding, dict) else None
    shown = []
    for key, value in (values if isinstance(values, dict) else {}).items():
        if isinstance(value, dict) and "label" in value:
            value = value["label"]
        if value in (None, "", []):
            value = "—"
        shown.append((key.replace("_", " "), str(value)))
    return shown
