"""HL7 v2 ORU^R01 in: parse (python-hl7), map, store through the lab entry service, ACK.

``receive`` is the one door for the MLLP listener and the file import. Each message:

1. is refused (ACK AR) when it is too large, not HL7, not ORU^R01 or has no MSH-10;
2. is acknowledged again, and not stored twice, when its sender already sent its MSH-10;
3. is otherwise logged (raw text kept) and mapped: sender -> clinic, MRN (+ date of birth)
   -> patient, OBX-3 -> catalogue test, OBX-6 -> catalogue unit, OBX-7 -> the lab's
   reference range, OBX-11 -> preliminary (P, R, S) / final (F, U) / corrected (C) /
   withdrawn (D, W); I and X lines (no result yet, none obtainable) are skipped with a
   warning ERR (severity W) and the message still ACK AA; so is an OBX-7 not understood
   (the catalogue range is used);
4. is stored all or nothing through ``monitoring.services.lab_results_record`` (the same
   plausibility, duplicate and unit checks as nurse entry), ACK AA; or, when anything
   cannot be mapped or is refused by those checks, held for the interface queue with
   nothing stored, ACK AE. Each ERR segment names the segment, field and problem.

Nothing is dropped: every message has a row (``InterfaceMessage``) with its history.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import hl7
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from monitoring import ingest, services
from monitoring.interop import errors, units
from monitoring.interop.models import (
    Hl7Sender,
    InterfaceMessage,
    LabCodeMapping,
    UnitMapping,
)
from patients import lab_catalogue as catalogue
from patients.models import LabResult, Patient
from patients.services import record_save

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = getattr(settings, "HL7_MAX_MESSAGE_BYTES", 1024 * 1024)
RECEIVING_APPLICATION = "MMM"

# HL7 table 0357 (message error condition codes) used in ERR-3.
SEGMENT_SEQUENCE_ERROR = "100"
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNKNOWN_KEY = "204"
DUPLICATE_KEY = "205"
APPLICATION_ERROR = "207"
_CODE_TEXT = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "207": "Application internal error",
}

_QUALITATIVE = {
    "neg": "negative",
    "negative": "negative",
    "not detected": "negative",
    "pos": "positive",
    "positive": "positive",
    "detected": "positive",
    "not done": "not_done",
}
# HL7 table 0085 (observation result status) as read here.
_PRELIMINARY = ("P", "R", "S")  # preliminary; results entered, not verified; partial
_NO_RESULT = {"I": "specimen in the lab, results pending", "X": "no result obtainable"}
_STATUSES = ("P", "R", "S", "F", "U", "C", "D", "W")
_NUMBER = r"-?\d+(?:\.\d+)?"
_RANGE = re.compile(rf"^\s*(?P<low>{_NUMBER})\s*(?:-|–|to)\s*(?P<high>{_NUMBER})\s*$")
_BELOW = re.compile(rf"^\s*<=?\s*(?P<high>{_NUMBER})\s*$")
_ABOVE = re.compile(rf"^\s*>=?\s*(?P<low>{_NUMBER})\s*$")


@dataclass(frozen=True)
class Problem:
    """One ERR segment: where (segment, its sequence, field) and what, in words."""

    segment: str
    sequence: int
    field: int
    code: str
    problem: str
    severity: str = "E"

    def as_dict(self) -> dict:
        return asdict(self)


class Held(Exception):  # noqa: N818 (a control-flow signal, not an error)
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(" ".join(p.problem for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Outcome:
    message: InterfaceMessage
    ack: str
    repeat: bool = False

    @property
    def ack_code(self) -> str:
        return self.message.ack_code


# --- Text -------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Drop a byte-order mark and blank lines; any of \\r, \\n, \\r\\n ends a segment."""
    text = text.lstrip("\ufeff").replace("\r\n", "\r").replace("\n", "\r")
    return "\r".join(line for line in text.split("\r") if line.strip())


def split_messages(text: str) -> list[str]:
    """The messages of a file (batch headers FHS/BHS/BTS/FTS dropped by python-hl7)."""
    return [m.rstrip("\r") for m in hl7.split_file(normalise(text))]


def _get(segment, field_: int, rep: int = 1, comp: int = 1, sub: int = 1) -> str:
    try:
        return str(segment.extract_field(1, field_, rep, comp, sub) or "")
    except (IndexError, KeyError, TypeError, ValueError, AttributeError):
        return ""


def _repetitions(segment, field_: int) -> int:
    try:
        value = segment(field_)
    except (IndexError, KeyError, TypeError, ValueError, AttributeError):
        return 0
    return len(value) if isinstance(value, list) and value and isinstance(value[0], list) else 1


def _escape(text: str) -> str:
    for plain, escaped in (
        ("\\", "\\E\\"),
        ("|", "\\F\\"),
        ("^", "\\S\\"),
        ("&", "\\T\\"),
        ("~", "\\R\\"),
    ):
        text = text.replace(plain, escaped)
    return text.replace("\r", " ").replace("\n", " ")


def build_ack(*, ack_code: str, problems: list[dict], msh: dict[str, str], control_id: str) -> str:
    """ACK^R01: MSH, MSA (code, the original MSH-10, first problem) and one ERR per problem."""
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%z")
    header = "|".join(
        [
            "MSH",
            "^~\\&",
            RECEIVING_APPLICATION,
            _escape(msh.get("receiving_facility", "")),
            _escape(msh.get("sending_application", "")),
            _escape(msh.get("sending_facility", "")),
            stamp,
            "",
            "ACK^R01^ACK",
            f"ACK{uuid.uuid4().hex[:16].upper()}",
            "P",
            "2.5.1",
        ]
    )
    first = problems[0]["problem"] if problems else ""
    segments = [header, "|".join(["MSA", ack_code, _escape(control_id), _escape(first[:80])])]
    for p in problems:
        where = f"{p['segment']}^{p['sequence']}^{p['field']}"
        code = f"{p['code']}^{_CODE_TEXT.get(p['code'], '')}^HL70357"
        segments.append(
            "|".join(
                ["ERR", "", where, code, p.get("severity", "E"), "", "", "", _escape(p["problem"])]
            )
        )
    return "\r".join(segments)


def _msh_fields(msh) -> dict[str, str]:
    return {
        "sending_application": _get(msh, 3),
        "sending_facility": _get(msh, 4),
        "receiving_facility": _get(msh, 6),
    }


def ack_for(row: InterfaceMessage, message=None) -> str:
    msh = {}
    with contextlib.suppress(Exception):  # a refused message may have no usable MSH
        message = message if message is not None else hl7.parse(normalise(row.raw))
        msh = _msh_fields(message.segment("MSH"))
    return build_ack(
        ack_code=row.ack_code, problems=row.problems, msh=msh, control_id=row.control_id
    )


# --- Receiving ----------------------------------------------------------------------------


def receive(raw: str, *, channel: str, now: datetime | None = None) -> Outcome:
    """Log, map and store one message (see the module docstring); never raises for input."""
    now = now or timezone.now()
    screened = screen(raw, channel=channel, now=now)
    if isinstance(screened, Outcome):
        return screened
    return receive_screened(screened, channel=channel, now=now)


@dataclass(frozen=True)
class Screened:
    """A message that passed the checks before its row: parsed, ORU^R01, with an MSH-10."""

    raw: str
    message: hl7.Message
    header: dict[str, str]  # sending_facility, control_id, message_type

    @property
    def key(self) -> tuple[str, str]:
        return self.header["sending_facility"], self.header["control_id"]


def screen(raw: str, *, channel: str, now: datetime) -> Screened | Outcome:
    """Too large, not HL7, no MSH-10, not ORU^R01: refused and logged (its own transaction),
    the Outcome returned; otherwise the parsed message, nothing written."""
    # PostgreSQL text cannot hold NUL; keep the rest of the message as received.
    raw = raw.replace("\x00", "\ufffd")
    size = len(raw.encode("utf-8", "surrogateescape"))
    if size > MAX_MESSAGE_BYTES:
        return refuse_unread(
            channel=channel, problem=errors.TOO_LARGE.format(limit=MAX_MESSAGE_BYTES), now=now
        )
    text = normalise(raw)
    try:
        message = hl7.parse(text)
        msh = message.segment("MSH")
    except Exception as error:  # noqa: BLE001 (python-hl7 raises many types on bad input)
        return _refused(
            channel,
            raw,
            [
                Problem(
                    "MSH",
                    1,
                    0,
                    SEGMENT_SEQUENCE_ERROR,
                    errors.NOT_HL7.format(error=type(error).__name__),
                )
            ],
            now,
        )
    facility, control_id = _get(msh, 4)[:180], _get(msh, 10)[:199]
    kind = f"{_get(msh, 9, 1, 1)}^{_get(msh, 9, 1, 2)}"
    header = {"sending_facility": facility, "control_id": control_id, "message_type": kind}
    # A repeated MSH-10 is found by the unique constraint when its row is inserted (the
    # IntegrityError branches below and in ``_refused``): no query before the insert.
    if not control_id:
        problem = Problem("MSH", 1, 10, REQUIRED_FIELD_MISSING, errors.NO_CONTROL_ID)
        return _refused(channel, raw, [problem], now, header)
    if kind != "ORU^R01":
        problem = Problem("MSH", 1, 9, UNSUPPORTED_MESSAGE_TYPE, errors.NOT_ORU.format(type=kind))
        return _refused(channel, raw, [problem], now, header)
    return Screened(raw, message, header)


def new_row(screened: Screened, *, channel: str, now: datetime) -> InterfaceMessage:
    """The log row of a screened message, held until ``process`` decides."""
    return InterfaceMessage(
        channel=channel,
        received_at=now,
        raw=screened.raw,
        status=InterfaceMessage.Status.HELD,
        ack_code="AE",
        **screened.header,
    )


def receive_screened(screened: Screened, *, channel: str, now: datetime) -> Outcome:
    """Store one screened message in its own transaction (one commit)."""
    row = new_row(screened, channel=channel, now=now)
    try:
        try:
            # One transaction (one commit) per message: the log row, the results, the
            # outcome, no savepoint; a held message is rolled back and logged held after.
            with transaction.atomic():
                # The history row is written once, by ``process``, with the outcome.
                row.skip_history_when_saving = True
                row.save()
                del row.skip_history_when_saving
                process(row, now=now, message=screened.message, savepoint=False)
        except _RolledBack as rolled_back:
            _log_held(row, rolled_back.held)
    except IntegrityError:
        # The same MSH-10 arrived twice at once on two connections: the other one stored it.
        facility, control_id = screened.key
        existing = InterfaceMessage.objects.get(sending_facility=facility, control_id=control_id)
        return _repeat(existing, now)
    return Outcome(row, ack_for(row, screened.message))


def refuse_unread(*, channel: str, problem: str, now: datetime | None = None) -> Outcome:
    """A message that could not even be read (too large, not text): logged, ACK AR."""
    now = now or timezone.now()
    return _refused(
        channel, f"(not kept: {problem})", [Problem("MSH", 1, 0, APPLICATION_ERROR, problem)], now
    )


def _refused(channel, raw, problems: list[Problem], now, header=None) -> Outcome:
    row = InterfaceMessage(
        channel=channel,
        received_at=now,
        raw=raw,
        status=InterfaceMessage.Status.REFUSED,
        ack_code="AR",
        reason=problems[0].problem,
        problems=[p.as_dict() for p in problems],
        **(header or {}),
    )
    try:
        with transaction.atomic():
            row._change_reason = "Refused"
            row.save()
    except IntegrityError:
        existing = InterfaceMessage.objects.get(
            sending_facility=row.sending_facility, control_id=row.control_id
        )
        return _repeat(existing, now)
    return Outcome(row, ack_for(row))


def _repeat(existing: InterfaceMessage, now) -> Outcome:
    InterfaceMessage.objects.filter(pk=existing.pk).update(
        repeat_count=F("repeat_count") + 1, last_repeat_at=now
    )
    existing.refresh_from_db()
    return Outcome(existing, ack_for(existing), repeat=True)


class _RolledBack(Exception):  # noqa: N818 (a control-flow signal, not an error)
    """``process`` without a savepoint was held: the caller rolls back and logs it held."""

    def __init__(self, held: Held) -> None:
        super().__init__(str(held))
        self.held = held


def process(
    row: InterfaceMessage,
    *,
    now: datetime | None = None,
    message=None,
    user=None,
    reason: str = "Received",
    savepoint: bool = True,
) -> InterfaceMessage:
    """Map and store a logged message all or nothing; hold it with its problems otherwise.

    ``savepoint=False`` (the listener's path, inside the transaction that inserted the row):
    no savepoint around the results; a held message raises ``_RolledBack`` and the caller
    rolls the whole transaction back and logs the row held (``_log_held``).
    """
    now = now or timezone.now()
    message = message if message is not None else hl7.parse(normalise(row.raw))
    manual = row.patient if row.matched_manually else None
    try:
        with transaction.atomic() if savepoint else contextlib.nullcontext():
            parsed = _read(message)
            tables = mappings()
            patient = manual or _match(parsed, row, tables)
            row.clinic, row.patient = patient.clinic, patient
            saved, notes = _store(parsed, patient, row, now, tables)
    except Exception as error:  # noqa: BLE001 (a message must never stop the listener)
        held = _as_held(error, row)
        if not savepoint:
            raise _RolledBack(held) from None
        _hold(row, held)
    else:
        row.status, row.ack_code = InterfaceMessage.Status.ACCEPTED, "AA"
        row.problems = [p.as_dict() for p in notes]
        row.reason = ""
        row.result_ids = [r.pk for r in saved]
        if user is not None:
            row.resolved_by, row.resolved_at = user, now
            row.resolution = "Accepted on retry"
    record_save(row, user=user, reason=f"{reason}: {row.get_status_display()}", check=False)
    return row


def _as_held(error: Exception, row: InterfaceMessage) -> Held:
    if isinstance(error, Held):
        return error
    logger.exception("HL7 message %s could not be processed", row.pk)
    problem = errors.INTERNAL.format(error=type(error).__name__)
    return Held([Problem("MSH", 1, 0, APPLICATION_ERROR, problem)])


def _hold(row: InterfaceMessage, held: Held) -> None:
    if (
        not row.matched_manually
        and row.patient is not None
        and any(p.segment == "PID" for p in held.problems)
    ):
        row.patient = None  # a date-of-birth mismatch is held, not attached
    row.status, row.ack_code = InterfaceMessage.Status.HELD, "AE"
    row.problems = [p.as_dict() for p in held.problems]
    row.reason = held.problems[0].problem
    row.result_ids = []


def _log_held(row: InterfaceMessage, held: Held) -> None:
    """After the rollback: the row inserted again, held, in its own transaction."""
    _hold(row, held)
    row.pk, row._state.adding = None, True
    row._history_user = None
    row._change_reason = f"Received: {row.get_status_display()}"
    with transaction.atomic():
        row.save()


# --- Reading the message ------------------------------------------------------------------


@dataclass
class Obx:
    sequence: int  # nth OBX of the message (ERR-2 segment sequence)
    value_type: str
    code: str
    code_system: str
    alt_code: str
    alt_system: str
    code_text: str
    value: str
    unit: str
    ref_range: str
    flags: str
    status: str
    observed_at: str


@dataclass
class Group:
    sequence: int  # nth OBR
    collected_at: str
    results: list[Obx] = field(default_factory=list)


@dataclass
class Parsed:
    facility: str
    ids: list[tuple[str, str]]  # (MRN, assigning authority) per PID-3 repetition
    dob: str
    groups: list[Group]


def _read(message) -> Parsed:
    msh = message.segment("MSH")
    pids = _segments(message, "PID")
    if len(pids) != 1:
        text = errors.ONE_PATIENT.format(count=len(pids)) if pids else errors.NO_PID
        raise Held([Problem("PID", 1, 0, SEGMENT_SEQUENCE_ERROR, text)])
    pid = pids[0]
    ids = [
        (
            message.unescape(_get(pid, 3, rep, 1)).strip(),
            message.unescape(_get(pid, 3, rep, 4)).strip(),
        )
        for rep in range(1, _repetitions(pid, 3) + 1)
    ]
    groups: list[Group] = []
    obx_count = 0
    for segment in message:
        name = str(segment[0])
        if name == "OBR":
            groups.append(Group(len(groups) + 1, _get(segment, 7)))
        elif name == "OBX":
            obx_count += 1
            if not groups:
                raise Held(
                    [
                        Problem(
                            "OBX",
                            obx_count,
                            0,
                            SEGMENT_SEQUENCE_ERROR,
                            errors.OBX_BEFORE_OBR.format(seq=obx_count),
                        )
                    ]
                )
            groups[-1].results.append(
                Obx(
                    sequence=obx_count,
                    value_type=_get(segment, 2),
                    code=message.unescape(_get(segment, 3, 1, 1)).strip(),
                    code_text=message.unescape(_get(segment, 3, 1, 2)).strip(),
                    code_system=_get(segment, 3, 1, 3).strip(),
                    alt_code=message.unescape(_get(segment, 3, 1, 4)).strip(),
                    alt_system=_get(segment, 3, 1, 6).strip(),
                    value=_value(message, segment),
                    unit=message.unescape(_get(segment, 6, 1, 1)).strip(),
                    ref_range=message.unescape(_get(segment, 7)).strip(),
                    flags="~".join(
                        _get(segment, 8, rep) for rep in range(1, _repetitions(segment, 8) + 1)
                    ).strip("~"),
                    status=_get(segment, 11).strip().upper(),
                    observed_at=_get(segment, 14).strip(),
                )
            )
    if obx_count == 0:
        raise Held([Problem("OBX", 1, 0, SEGMENT_SEQUENCE_ERROR, errors.NO_OBX)])
    return Parsed(_get(msh, 4), ids, _get(pid, 7).strip(), groups)


def _segments(message, name: str) -> list:
    return [s for s in message if str(s[0]) == name]


def _value(message, segment) -> str:
    kind = _get(segment, 2).strip().upper()
    if kind == "SN":
        comparator, number = _get(segment, 5, 1, 1), _get(segment, 5, 1, 2)
        separator = _get(segment, 5, 1, 3)
        if comparator in ("", "=") and not separator:
            return number.strip()
        return f"{comparator}{number}{separator}{_get(segment, 5, 1, 4)}"
    if kind in ("CE", "CWE", "CNE"):
        return message.unescape(_get(segment, 5, 1, 2) or _get(segment, 5, 1, 1)).strip()
    return message.unescape(_get(segment, 5, 1, 1)).strip()


# --- The mapping tables, cached --------------------------------------------------------


@dataclass(frozen=True)
class Mappings:
    """The sender registrations, local codes and unit spellings, as of ``version``."""

    version: tuple
    senders: dict[tuple[str, str], Hl7Sender]  # (facility, authority) -> active sender
    local_codes: dict[str, dict[str, str]]  # facility -> local code -> catalogue test code
    unit_overrides: dict[str, str]  # spelling -> catalogue unit


_cached: Mappings | None = None


def _version() -> tuple:
    """Row count, newest ``updated_at`` and highest id of each mapping table: one query.

    Any insert, edit (admin, services, shell: ``updated_at`` is set on save) or delete of a
    mapping changes it, so the next message reads the tables again. (A queryset
    ``update()`` that does not set ``updated_at`` is not seen: the mapping tables are only
    written through the services and admin, which save.)
    """
    parts = [
        f"SELECT COUNT(*), MAX(updated_at), MAX(id) FROM {model._meta.db_table}"  # noqa: S608  # nosec B608
        for model in (Hl7Sender, LabCodeMapping, UnitMapping)
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return tuple(tuple(str(v) for v in row) for row in cursor.fetchall())


def mappings() -> Mappings:
    """The mapping tables, read again only when they changed (one cheap query otherwise)."""
    global _cached  # noqa: PLW0603 (one cache per process; the listener is one thread)
    version = _version()
    cached = _cached
    if cached is not None and cached.version == version:
        return cached
    local_codes: dict[str, dict[str, str]] = defaultdict(dict)
    for facility, local_code, test_code in LabCodeMapping.objects.values_list(
        "facility", "local_code", "test_code"
    ):
        local_codes[facility][local_code] = test_code
    cached = Mappings(
        version=version,
        senders={
            (s.facility, s.authority): s
            for s in Hl7Sender.objects.filter(active=True).select_related("clinic")
        },
        local_codes=dict(local_codes),
        unit_overrides=dict(UnitMapping.objects.values_list("spelling", "unit")),
    )
    _cached = cached
    return cached


def _match(parsed: Parsed, row: InterfaceMessage, tables: Mappings) -> Patient:
    sender, mrn = _sender_and_mrn(parsed, row, tables)
    patient = (
        Patient.objects.valid()
        .filter(clinic=sender.clinic, mrn=mrn)
        .select_related("clinic")
        .first()
    )
    return _checked_patient(parsed, sender, mrn, patient)


def _sender_and_mrn(parsed: Parsed, row: InterfaceMessage, tables: Mappings):
    """The registered sender of the message's first known authority and its MRN."""
    authorities = [a for _, a in parsed.ids if a]
    senders = {
        a: tables.senders[(parsed.facility, a)]
        for a in authorities
        if (parsed.facility, a) in tables.senders
    }
    found = next(((mrn, senders[a]) for mrn, a in parsed.ids if a in senders), None)
    if found is None:
        shown = ", ".join(repr(a) for a in authorities) or "(none)"
        raise Held(
            [
                Problem(
                    "MSH",
                    1,
                    4,
                    UNKNOWN_KEY,
                    errors.UNREGISTERED.format(facility=parsed.facility, authority=shown),
                )
            ]
        )
    mrn, sender = found
    row.clinic = sender.clinic
    if not mrn:
        raise Held([Problem("PID", 1, 3, REQUIRED_FIELD_MISSING, errors.NO_MRN)])
    return sender, mrn


def _checked_patient(parsed: Parsed, sender, mrn: str, patient: Patient | None) -> Patient:
    """The patient found for (clinic, MRN), or Held: unknown, or the date of birth differs."""
    if patient is None:
        raise Held(
            [
                Problem(
                    "PID",
                    1,
                    3,
                    UNKNOWN_KEY,
                    errors.UNKNOWN_PATIENT.format(mrn=mrn, clinic=sender.clinic.name),
                )
            ]
        )
    if not parsed.dob:
        raise Held([Problem("PID", 1, 7, REQUIRED_FIELD_MISSING, errors.NO_DOB)])
    try:
        born = date(int(parsed.dob[0:4]), int(parsed.dob[4:6]), int(parsed.dob[6:8]))
    except ValueError:
        raise Held(
            [Problem("PID", 1, 7, DATA_TYPE_ERROR, errors.BAD_DOB.format(value=parsed.dob))]
        ) from None
    if born != patient.date_of_birth:
        raise Held(
            [
                Problem(
                    "PID",
                    1,
                    7,
                    UNKNOWN_KEY,
                    errors.DOB_MISMATCH.format(value=born.isoformat(), mrn=mrn),
                )
            ]
        )
    return patient


def _find_test(obx: Obx, facility: str, local_codes: dict[str, str]):
    """LOINC (OBX-3.1 or its alternate) first, then the sender's local code mapping."""
    for code, system in ((obx.code, obx.code_system), (obx.alt_code, obx.alt_system)):
        if code and system.upper() == "LN":
            try:
                test = catalogue.find_test(code)
            except catalogue.UnknownTestError:
                continue
            if code in test.loinc_codes:
                return test
    for code in (obx.code, obx.alt_code):
        if code in local_codes:
            return catalogue.find_test(local_codes[code])
    return None


def parse_range(text: str) -> tuple[Decimal | None, Decimal | None]:
    """OBX-7 "4.0-11.0", "<5", ">1.0" -> (low, high); ValueError when not understood."""
    for pattern in (_RANGE, _BELOW, _ABOVE):
        match = pattern.match(text)
        if match:
            groups = match.groupdict()
            low = Decimal(groups["low"]) if groups.get("low") else None
            high = Decimal(groups["high"]) if groups.get("high") else None
            if low is not None and high is not None and low > high:
                raise ValueError(text)
            return low, high
    raise ValueError(text)


def parse_time(text: str) -> datetime:
    """An HL7 DTM with its offset; without one, read in the clinic's zone."""
    moment = hl7.parse_datetime(text)
    if moment is None:
        raise ValueError(text)
    if moment.tzinfo is None:
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


@dataclass
class _Item:
    obx: Obx
    test: catalogue.LabTestDef
    status: str
    collected_at: datetime
    entry: services.LabEntry | None = None


def _store(
    parsed: Parsed, patient: Patient, row: InterfaceMessage, now: datetime, tables: Mappings
):
    items, notes = _items(parsed, row, tables)
    problems: list[Problem] = []
    saved: list[LabResult] = []
    by_time: dict[datetime, list[_Item]] = defaultdict(list)
    # One query for what is already recorded at these collection times (status handling).
    on_record = {
        (r.test_code, r.collected_at): r
        for r in LabResult.objects.valid().filter(
            patient=patient,
            test_code__in={i.test.code for i in items},
            collected_at__in={i.collected_at for i in items},
        )
    }
    replaced: dict[tuple[str, datetime], LabResult] = {}  # (test, time) -> superseded
    for item in items:
        existing = on_record.get((item.test.code, item.collected_at))
        label = f"message {row.control_id}, OBX {item.obx.sequence}"
        when = f"{timezone.localtime(item.collected_at):%Y-%m-%d %H:%M}"
        preliminary = (
            existing is not None and existing.result_status == LabResult.ResultStatus.PRELIMINARY
        )
        if item.status in ("D", "W"):
            if existing is None:
                problems.append(
                    _obx_problem(
                        item.obx,
                        11,
                        UNKNOWN_KEY,
                        errors.NOTHING_TO_WITHDRAW.format(
                            test=item.test.name, when=when, status=item.status
                        ),
                    )
                )
                continue
            why = "deleted" if item.status == "D" else "wrong result"
            services.lab_result_mark_entered_in_error(
                result=existing, user=None, reason=f"Withdrawn by the lab ({why}; {label})"
            )
            continue
        if item.status == "U" and item.entry is None:
            # Made final without the value again: the stored preliminary becomes final.
            if not preliminary:
                problems.append(
                    _obx_problem(
                        item.obx,
                        11,
                        UNKNOWN_KEY,
                        errors.NOTHING_TO_FINALISE.format(test=item.test.name, when=when),
                    )
                )
                continue
            existing.result_status = LabResult.ResultStatus.FINAL
            existing._change_reason = f"Made final by the lab (OBX-11 U; {label})"
            existing.save(update_fields=["result_status", "updated_at"])
            saved.append(existing)
            continue
        if item.status == "C" and existing is not None:
            # A correction, as a nurse's (with history): the old result is marked
            # entered-in-error and the new one corrects it, in this transaction, and the
            # patient is evaluated once after commit. A finding that still stands keeps
            # its flag (updated to the corrected value) instead of resolving as
            # "evidence withdrawn" and opening again.
            services.lab_result_retire_for_correction(
                result=existing, user=None, reason=f"by the lab (OBX-11 C; {label})", now=now
            )
        elif preliminary:
            # The lab's newer (usually final) result for the same draw: the preliminary is
            # superseded, not withdrawn, so flags and suggestions resting on it carry over.
            services.lab_result_supersede(
                result=existing, reason=f"the lab's newer result ({label})"
            )
            replaced[(item.test.code, item.collected_at)] = existing
        else:
            by_time[item.collected_at].append(item)
            continue
        item.entry = dataclasses.replace(
            item.entry, details={**item.entry.details, "corrects": existing}
        )
        by_time[item.collected_at].append(item)
    # Every OBR group (one draw each) in one call of the batch ingest service: one
    # evaluation queued for the patient. A message is stored all or nothing: any refused
    # draw holds it (Held rolls the others back with the transaction).
    groups = list(by_time.items())
    outcome = ingest.lab_collections_record(
        collections=[
            ingest.Collection(
                patient=patient, collected_at=collected_at, entries=[i.entry for i in items]
            )
            for collected_at, items in groups
        ],
        user=None,
        source=LabResult.Source.HL7,
        now=now,
    )
    for (_, group_items), done in zip(groups, outcome.collections, strict=True):
        problems += _collection_problems(group_items, done)
    if problems:
        raise Held(problems)
    saved += outcome.results
    if replaced:
        new_ids = {(r.test_code, r.collected_at): r.pk for r in saved}
        services.lab_results_evidence_repoint(
            patient=patient,
            replaced={old.pk: new_ids[key] for key, old in replaced.items() if key in new_ids},
        )
    return saved, notes


def _items(parsed: Parsed, row: InterfaceMessage, tables: Mappings):
    """Each OBX mapped (test, unit, status, time, entry) and the warnings; Held when any
    cannot be mapped (no database)."""
    unit_overrides = tables.unit_overrides
    local_codes = tables.local_codes.get(parsed.facility, {})
    problems: list[Problem] = []
    notes: list[Problem] = []
    items: list[_Item] = []
    for group in parsed.groups:
        for obx in group.results:
            item = _map(
                obx, group, parsed.facility, local_codes, unit_overrides, row, problems, notes
            )
            if item is not None:
                items.append(item)
    if problems:
        raise Held(problems)
    return items, notes


def _collection_problems(group_items: list[_Item], done: ingest.CollectionOutcome):
    """A refused collection's problems as ERR problems on its OBX lines."""
    if done.problems:
        by_code = {i.test.code: i.obx for i in group_items}
        return [
            _obx_problem(
                by_code.get(p.test_code, group_items[0].obx), 5, APPLICATION_ERROR, p.message
            )
            for p in done.problems
        ]
    if not done.stored:
        return [_obx_problem(group_items[0].obx, 14, APPLICATION_ERROR, done.message)]
    return []


def _obx_problem(obx: Obx, field_: int, code: str, text: str) -> Problem:
    return Problem("OBX", obx.sequence, field_, code, text)


def _map(obx, group, facility, local_codes, unit_overrides, row, problems, notes) -> _Item | None:
    test = _find_test(obx, facility, local_codes)
    if test is None:
        system = obx.code_system or "no coding system"
        problems.append(
            _obx_problem(
                obx,
                3,
                UNKNOWN_KEY,
                errors.UNKNOWN_CODE.format(code=obx.code, system=system, facility=facility),
            )
        )
        return None
    if test.code in services.COMPUTED_CODES:
        notes.append(
            Problem(
                "OBX",
                obx.sequence,
                3,
                APPLICATION_ERROR,
                errors.RATIO_COMPUTED.format(test=test.name),
                "W",
            )
        )
        return None
    before = len(problems)
    if obx.status in _NO_RESULT:
        # Specimen in the lab, or no result obtainable: nothing to store for this line, and
        # no reason to hold the rest of the message (ACK AA with a warning ERR).
        notes.append(
            Problem(
                "OBX",
                obx.sequence,
                11,
                APPLICATION_ERROR,
                errors.NO_RESULT_YET.format(
                    test=test.name, status=obx.status, meaning=_NO_RESULT[obx.status]
                ),
                "W",
            )
        )
        return None
    if obx.status not in _STATUSES:
        problems.append(
            _obx_problem(
                obx,
                11,
                TABLE_VALUE_NOT_FOUND,
                errors.BAD_STATUS.format(test=test.name, value=obx.status),
            )
        )
    # One draw, one time: the specimen collection time (OBR-7) for every OBX of the order;
    # OBX-14 (often the analysis time of each analyte) only when OBR-7 is absent.
    when_text, where = (group.collected_at, 7) if group.collected_at else (obx.observed_at, 14)
    collected_at = None
    if not when_text:
        problems.append(
            _obx_problem(obx, 14, REQUIRED_FIELD_MISSING, errors.NO_TIME.format(test=test.name))
        )
    else:
        try:
            collected_at = parse_time(when_text)
        except (ValueError, OverflowError):
            segment, seq = ("OBX", obx.sequence) if where == 14 else ("OBR", group.sequence)
            problems.append(
                Problem(
                    segment,
                    seq,
                    where,
                    DATA_TYPE_ERROR,
                    errors.BAD_TIME.format(test=test.name, value=when_text),
                )
            )
    if obx.status in ("D", "W") or (obx.status == "U" and not obx.value):
        return None if len(problems) > before else _Item(obx, test, obx.status, collected_at)
    value, unit, low, high = obx.value, "", None, None
    if not value:
        problems.append(
            _obx_problem(obx, 5, REQUIRED_FIELD_MISSING, errors.NO_VALUE.format(test=test.name))
        )
    elif len(value) > 30:
        problems.append(
            _obx_problem(
                obx, 5, DATA_TYPE_ERROR, errors.TOO_LONG.format(test=test.name, value=value[:30])
            )
        )
    if test.is_numeric:
        if value[:1] in ("<", ">"):
            problems.append(
                _obx_problem(
                    obx, 5, DATA_TYPE_ERROR, errors.COMPARATOR.format(test=test.name, value=value)
                )
            )
        if not obx.unit:
            problems.append(
                _obx_problem(obx, 6, REQUIRED_FIELD_MISSING, errors.NO_UNIT.format(test=test.name))
            )
        else:
            unit = units.catalogue_unit(obx.unit, unit_overrides) or ""
            if not unit:
                problems.append(
                    _obx_problem(
                        obx,
                        6,
                        TABLE_VALUE_NOT_FOUND,
                        errors.UNKNOWN_UNIT.format(test=test.name, unit=obx.unit),
                    )
                )
        if obx.ref_range:
            try:
                low, high = parse_range(obx.ref_range)
            except (ValueError, InvalidOperation):
                # Stored with the catalogue range (the text kept as reported), not held.
                notes.append(
                    Problem(
                        "OBX",
                        obx.sequence,
                        7,
                        DATA_TYPE_ERROR,
                        errors.RANGE_IGNORED.format(test=test.name, value=obx.ref_range),
                        "W",
                    )
                )
    else:
        value = _QUALITATIVE.get(value.lower(), value.lower())
    if len(problems) > before:
        return None
    entry = services.LabEntry(
        test.code,
        value,
        unit,
        ref_low=low,
        ref_high=high,
        details={
            "result_status": LabResult.ResultStatus.PRELIMINARY
            if obx.status in _PRELIMINARY
            else LabResult.ResultStatus.FINAL,
            "lab_abnormal_flags": obx.flags[:40],
            "ref_range_as_reported": obx.ref_range[:60],
            "interface_message_id": row.pk,
        },
    )
    return _Item(obx, test, obx.status, collected_at, entry)
