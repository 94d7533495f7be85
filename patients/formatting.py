"""One formatter for every clinical number a person reads: on pages, in flag messages and
evidence, in emails and in CSV exports.

Rules: no exponent ever, no trailing zeros, at most ``places`` decimals (rounded half-up, as a
laboratory report rounds). ``places`` comes from the lab catalogue's display precision for a
test; thresholds and doses pass ``None`` and are shown exactly as stored, trimmed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

#: Shown when there is no value, so a blank cell never looks like a zero.
MISSING = "—"


def clinical_number(value, places: int | None = None) -> str:
    """``Decimal('1.9900000000')`` -> ``'1.99'``; ``Decimal('0E-10')`` -> ``'0'``;
    ``Decimal('101.0000000000')`` -> ``'101'``; ``(Decimal('0.0004'), 2)`` -> ``'0'``;
    ``None`` -> ``'—'``. Non-numbers are returned as text unchanged."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, bool):
        return str(value)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return str(value)
    if not number.is_finite():
        return str(value)
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def clinical_quantity(value, unit: str | None, places: int | None = None) -> str:
    """A number with its unit: ``'1.99 g/dL'``; no unit for a missing value."""
    shown = clinical_number(value, places)
    if shown == MISSING or not unit:
        return shown
    return f"{shown} {unit}"
