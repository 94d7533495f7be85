"""One formatter for every clinical number a person reads: on pages, in flag messages and
evidence, in emails and in CSV exports.

Rules: no exponent ever, no trailing zeros, at most ``places`` decimals (rounded half-up, as a
laboratory report rounds). ``places`` comes from the lab catalogue's display precision for a
test; thresholds and doses pass ``None`` and are shown exactly as stored, trimmed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import timezone

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


def clinical_datetime(value) -> str:
    """A time in the clinic's time zone as ``YYYY-MM-DD HH:MM``; accepts an aware datetime or
    an ISO 8601 string (stored evidence keeps ``2026-11-01T09:30:00-05:00``)."""
    moment = _as_datetime(value)
    if moment is None:
        return MISSING if value in (None, "") else str(value)
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return moment.strftime("%Y-%m-%d %H:%M")


def clinical_date(value) -> str:
    """A date as ``YYYY-MM-DD`` (a datetime is first put in the clinic's time zone)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    moment = _as_datetime(value)
    if moment is None:
        return MISSING if value in (None, "") else str(value)
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return moment.date().isoformat()


def _as_datetime(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def person(user) -> str:
    """Who did something, as every page and history names them: the full name, else the
    username; "system" when nobody did (a sweep, an interface)."""
    if user is None:
        return "system"
    return person_named(user.get_username(), user.first_name, user.last_name)


def person_named(username: str | None, first_name: str = "", last_name: str = "") -> str:
    """``person`` from a row's columns (a user's username, first and last name; None when
    no user did it), for lists read as tuples."""
    if username is None:
        return "system"
    return f"{first_name or ''} {last_name or ''}".strip() or username


def yes_no(value) -> str:
    """A stored boolean in words."""
    return "yes" if value else "no"


def clinical_power_of_ten(value, places: int | None = None) -> str:
    """A small fraction as a clinician reads an MRD level: ``Decimal('0.0000020')`` ->
    ``'2 × 10^-6'`` (written out, never ``2E-6``); 0.001 and above as a plain number."""
    shown = clinical_number(value, places)
    if shown == MISSING:
        return shown
    try:
        number = Decimal(shown)
    except InvalidOperation:
        return shown
    if number == 0 or abs(number) >= Decimal("0.001"):
        return shown
    exponent = number.adjusted()  # 0.000002 -> -6
    mantissa = clinical_number(number.scaleb(-exponent), 2)
    return f"{mantissa} × 10^{exponent}"
