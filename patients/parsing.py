"""Strict parsers for what people and machines type: clinical numbers, query parameters,
free text and clinical times. Pure functions (no ORM, no request); one home for each rule,
shared by the forms, the API and the lab interfaces.

Every refusal is a ``DomainError`` (``ParseError`` or ``QueryParamError``) whose message a
nurse can act on; no other exception leaves these functions.

Policy for numbers (issue 9):
* ASCII digits 0-9, at most one decimal point, an optional leading minus;
* strict thousands grouping ("12,500") is the only comma accepted; any other comma is read
  as a decimal comma and refused, because "0,4" read as 4 hides a grade 4 neutropenia;
* no underscores, no exponents ("1e1", "1E+999999999"), no infinity or NaN;
* digits from other scripts (Arabic-Indic "٠٫٣", full-width "０.３", superscript "²") are
  all refused with one message: we never guess which script a lab report was typed in;
* the number of digits is checked before any arithmetic, so no input can make ``Decimal``
  overflow, underflow to zero, or take long.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal

from patients.errors import DomainError

MAX_INTEGER_DIGITS = 12
MAX_FRACTION_DIGITS = 10
MAX_NUMBER_LENGTH = 30

NOT_A_NUMBER = "{test}: {value!r} is not a number. Type digits with a decimal point, e.g. 1.25."
DECIMAL_COMMA = (
    "{test}: {value!r} has a comma. Type the decimal point as a full stop (0,4 -> 0.4); "
    "a comma is accepted only between thousands (12,500)."
)
NOT_ASCII_DIGITS = (
    "{test}: {value!r} contains digits other than 0-9. Type the number with the digits "
    "0-9 and a full stop as the decimal point."
)
EXPONENT = (
    "{test}: {value!r} is written with an exponent. Type the number in full "
    "(for example 0.0004, not 4e-4)."
)
TOO_MANY_DIGITS = (
    "{test}: {value!r} has too many digits. A lab value has at most "
    f"{MAX_INTEGER_DIGITS} digits before the decimal point and {MAX_FRACTION_DIGITS} after it."
)

_PLAIN = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_THOUSANDS = re.compile(r"-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_EXPONENT = re.compile(r"[-+]?[0-9.]*[0-9][0-9.]*[eE][-+]?[0-9]*")


class ParseError(DomainError):
    """A value that cannot be read strictly (the message says why)."""


class AmbiguousTimeError(ParseError):
    """A wall-clock time that happened twice (the night the clocks go back)."""


def _has_foreign_digits(text: str) -> bool:
    return any(
        (ch.isdigit() or ch.isnumeric() or unicodedata.category(ch) == "Nd")
        and ch not in "0123456789"
        for ch in text
    )


def parse_clinical_number(text: object, *, label: str = "Value") -> Decimal:
    """The exact ``Decimal`` of a number typed by a person or sent by a lab interface.

    Accepts "0.4", "12", ".5", "-3", "12,500"; the digits as typed are kept ("0.40" stays
    0.40). Raises ``ParseError`` for anything else, with the message for that mistake.
    """
    if not isinstance(text, str):
        raise ParseError(NOT_A_NUMBER.format(test=label, value=text))
    value = text.strip()
    shown = value if len(value) <= MAX_NUMBER_LENGTH else value[:MAX_NUMBER_LENGTH] + "…"
    if not value or len(value) > MAX_NUMBER_LENGTH * 2:
        raise ParseError(NOT_A_NUMBER.format(test=label, value=shown))
    if _has_foreign_digits(value):
        raise ParseError(NOT_ASCII_DIGITS.format(test=label, value=shown))
    if "," in value:
        if not _THOUSANDS.fullmatch(value):
            raise ParseError(DECIMAL_COMMA.format(test=label, value=shown))
        value = value.replace(",", "")
    if _EXPONENT.fullmatch(value):
        raise ParseError(EXPONENT.format(test=label, value=shown))
    if not _PLAIN.fullmatch(value):
        raise ParseError(NOT_A_NUMBER.format(test=label, value=shown))
    whole, _, fraction = value.lstrip("-").partition(".")
    if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS or len(fraction) > MAX_FRACTION_DIGITS:
        raise ParseError(TOO_MANY_DIGITS.format(test=label, value=shown))
    return Decimal(value)


def format_plain(number: Decimal) -> str:
    """A Decimal as plain digits, never an exponent (the inverse of the parser)."""
    return format(number, "f")


# --- Query parameters -------------------------------------------------------------------------
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
MAX_ID = 2**63 - 1

BAD_DATE = (
    "{name} must be a date written YYYY-MM-DD between {earliest} and {latest}; got {value!r}."
)
BAD_MONTH = "{name} must be a month written YYYY-MM between {earliest} and {latest}; got {value!r}."
BAD_ID = "{name} must be a whole number between 1 and {largest}; got {value!r}."
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_ID = re.compile(r"[0-9]{1,19}")


class QueryParamError(DomainError):
    """A query parameter outside what the page or route accepts: answered with a 400."""


def _short(value: str) -> str:
    return value if len(value) <= 40 else value[:40] + "…"


def parse_query_date(
    value: str, *, name: str, earliest: date = EARLIEST_DATE, latest: date = LATEST_DATE
) -> date:
    match = _DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    try:
        parsed = date(*(int(part) for part in match.groups())) if match else None
    except ValueError:
        parsed = None
    if parsed is None or not earliest <= parsed <= latest:
        raise QueryParamError(
            BAD_DATE.format(name=name, earliest=earliest, latest=latest, value=_short(str(value))),
            field=name,
        )
    return parsed


def parse_query_month(
    value: str, *, name: str = "month", earliest: date = EARLIEST_DATE, latest: date = LATEST_DATE
) -> date:
    """The first day of the month written YYYY-MM."""
    match = _MONTH.fullmatch(value.strip()) if isinstance(value, str) else None
    parsed = None
    if match and 1 <= int(match.group(2)) <= 12 and 1 <= int(match.group(1)) <= 9999:
        parsed = date(int(match.group(1)), int(match.group(2)), 1)
    if parsed is None or not earliest.replace(day=1) <= parsed <= latest:
        raise QueryParamError(
            BAD_MONTH.format(
                name=name,
                earliest=f"{earliest:%Y-%m}",
                latest=f"{latest:%Y-%m}",
                value=_short(str(value)),
            ),
            field=name,
        )
    return parsed


def parse_query_id(value: str, *, name: str) -> int:
    """A database id: ASCII digits only (``"²".isdigit()`` is true, ``int("²")`` fails)."""
    text = value.strip() if isinstance(value, str) else ""
    if not _ID.fullmatch(text) or not 1 <= int(text) <= MAX_ID:
        raise QueryParamError(
            BAD_ID.format(name=name, largest=MAX_ID, value=_short(str(value))), field=name
        )
    return int(text)


# --- Free text ----------------------------------------------------------------------------------
TEXT_NOT_A_STRING = "{name} must be text."
TEXT_HAS_NUL = "{name} contains a NUL (0x00) character, which no field accepts. Remove it."
TEXT_HAS_SURROGATE = (
    "{name} contains an unpaired UTF-16 surrogate (\\ud800-\\udfff), which is not a character. "
    "Send the text as valid Unicode."
)


def check_text(value: object, *, name: str) -> str:
    """The text itself, or ``ParseError`` for non-text, NUL and lone surrogates (which
    no database column or e-mail can hold)."""
    if not isinstance(value, str):
        raise ParseError(TEXT_NOT_A_STRING.format(name=name), field=name)
    if "\x00" in value:
        raise ParseError(TEXT_HAS_NUL.format(name=name), field=name)
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ParseError(TEXT_HAS_SURROGATE.format(name=name), field=name)
    return value


# --- Clinical times -----------------------------------------------------------------------------
NO_OFFSET_DATE_ONLY = (
    "{name} needs a time as well as a date (YYYY-MM-DDTHH:MM, with an offset such as "
    "-05:00 or read in the clinic's time zone)."
)
AMBIGUOUS_TIME = (
    "{when} happened twice in {zone} when the clocks went back. Say which one: "
    "{first} (daylight time, UTC{first_offset}) or {second} (standard time, UTC{second_offset})."
)
NONEXISTENT_TIME = (
    "{when} did not exist in {zone}: the clocks went forward an hour. Check the time."
)
EARLIER, LATER = "earlier", "later"
TIME_OUT_OF_RANGE = "{name} must be between {earliest} and {latest}; got {when}."


def check_time_range(moment: datetime, *, name: str = "Time") -> datetime:
    """Refuse a time outside the accepted dates before any zone arithmetic can overflow."""
    if not EARLIEST_DATE <= moment.date() <= LATEST_DATE:
        raise ParseError(
            TIME_OUT_OF_RANGE.format(
                name=name,
                earliest=EARLIEST_DATE,
                latest=LATEST_DATE,
                when=f"{moment:%Y-%m-%d %H:%M}",
            ),
            field=name,
        )
    return moment


def make_clinic_aware(
    naive: datetime, zone: tzinfo, *, which: str = "", name: str = ""
) -> datetime:
    """A wall-clock time read in the clinic's zone.

    The hour repeated when daylight saving time ends is ambiguous: ``which`` ("earlier",
    the daylight-time one, or "later") must say which was meant, else ``ParseError``. A
    time skipped when the clocks go forward is refused.
    """
    check_time_range(naive, name=name or "Time")
    first = naive.replace(fold=0, tzinfo=zone)
    second = naive.replace(fold=1, tzinfo=zone)
    when = f"{naive:%Y-%m-%d %H:%M}"
    zone_name = str(zone)
    if first.utcoffset() == second.utcoffset():
        return first
    # Round-tripping through UTC tells a skipped time (it moves) from a repeated one.
    back = first.astimezone(UTC).astimezone(zone)
    if back.replace(tzinfo=None) != naive:
        raise ParseError(NONEXISTENT_TIME.format(when=when, zone=zone_name), field=name or None)
    if which == EARLIER:
        return first
    if which == LATER:
        return second
    raise AmbiguousTimeError(
        AMBIGUOUS_TIME.format(
            when=when,
            zone=zone_name,
            first=f"{first:%H:%M %Z}",
            second=f"{second:%H:%M %Z}",
            first_offset=first.isoformat()[-6:],
            second_offset=second.isoformat()[-6:],
        ),
        field=name or None,
    )
