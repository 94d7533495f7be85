"""Group commit: the messages that arrived together, stored in one transaction.

``receive_group`` gives the same outcome per message as ``hl7.receive`` called on each in
arrival order, with a constant number of queries and one commit for the group:

- messages refused before their row (too large, not HL7, no MSH-10, not ORU^R01) are
  refused one by one, as ``receive`` does, before the group;
- an MSH-10 already on record, or sent twice in the group, is a repeat of the first: not
  stored again, acknowledged with the first's outcome;
- the log rows are inserted in one statement; the mapping tables, the patients and the
  results already recorded at these draws are read once for the group;
- a message with one draw and every result new joins a shared call of
  ``ingest.lab_collections_record`` (each collection all or nothing, a refused one stores
  nothing: the message is held); a patient's message drawn before one of its earlier
  messages waits for the next call (``_store_shared``);
- any other message (corrections, withdrawals, a preliminary made final, several draws)
  goes through ``hl7.process`` in its own savepoint, after the shared calls, in arrival
  order, exactly as it would alone;
- the outcomes are written in one UPDATE and one insert of history rows; one evaluation
  task for all the group's patients is queued after the commit (a patient whose
  evaluation still waits in the queue is left out: ``patients.services.evaluations_send``).

If anything unexpected happens (another listener process stored the same MSH-10 in
between, a database error), the group is rolled back and each message is received alone.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

from monitoring import ingest
from monitoring.interop import hl7
from monitoring.interop.models import InterfaceMessage
from patients.models import LabResult, Patient

logger = logging.getLogger(__name__)

_OUTCOME_FIELDS = [
    "status",
    "ack_code",
    "problems",
    "reason",
    "result_ids",
    "clinic",
    "patient",
    "updated_at",
]


@dataclass
class _Message:
    index: int  # position in the group
    screened: hl7.Screened
    row: InterfaceMessage | None = None
    parsed: hl7.Parsed | None = None
    sender: object = None
    mrn: str = ""
    patient: Patient | None = None
    items: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    held: hl7.Held | None = None
    slow: bool = False  # through ``hl7.process`` in its own savepoint
    first: _Message | None = None  # the earlier message of the group with this MSH-10


def receive_group(raws: list[str], *, channel: str, now: datetime | None = None):
    """One ``hl7.Outcome`` per raw message, in order (see the module docstring)."""
    now = now or timezone.now()
    outcomes: list[hl7.Outcome | None] = [None] * len(raws)
    messages: list[_Message] = []
    for index, raw in enumerate(raws):
        screened = hl7.screen(raw, channel=channel, now=now)
        if isinstance(screened, hl7.Outcome):
            outcomes[index] = screened
        else:
            messages.append(_Message(index, screened))
    if len(messages) == 1:
        only = messages[0]
        outcomes[only.index] = hl7.receive_screened(only.screened, channel=channel, now=now)
    elif messages:
        try:
            with ingest.evaluations_per_patient(), transaction.atomic():
                done = _store_group(messages, channel=channel, now=now)
        except Exception:  # noqa: BLE001 (one message at a time is always correct)
            logger.warning("MLLP group of %s rolled back; received one by one", len(messages))
            for m in messages:
                outcomes[m.index] = hl7.receive_screened(m.screened, channel=channel, now=now)
        else:
            for index, outcome in done.items():
                outcomes[index] = outcome
    return outcomes


def _store_group(messages: list[_Message], *, channel: str, now: datetime):
    on_record = {
        (r.sending_facility, r.control_id): r
        for r in InterfaceMessage.objects.filter(
            sending_facility__in={m.screened.key[0] for m in messages},
            control_id__in={m.screened.key[1] for m in messages},
        )
    }
    firsts: dict[tuple[str, str], _Message] = {}
    new: list[_Message] = []
    for m in messages:
        if m.screened.key in on_record:
            continue
        if m.screened.key in firsts:
            m.first = firsts[m.screened.key]
            continue
        firsts[m.screened.key] = m
        m.row = hl7.new_row(m.screened, channel=channel, now=now)
        new.append(m)
    rows = InterfaceMessage.objects.bulk_create([m.row for m in new])
    if any(r.pk is None for r in rows):  # a database that does not return ids
        raise RuntimeError("bulk insert returned no ids")
    _map(new)
    _store_shared(new, now=now)
    for m in new:
        if m.slow:
            hl7.process(m.row, now=now, message=m.screened.message, savepoint=True)
    _write_outcomes([m for m in new if not m.slow], now=now)
    done = {}
    for m in messages:
        if m.row is not None:
            done[m.index] = hl7.Outcome(m.row, hl7.ack_for(m.row, m.screened.message))
        else:
            # A copy: ``_repeat`` reloads it, the first's outcome keeps its own row.
            existing = on_record.get(m.screened.key) or copy.copy(m.first.row)
            done[m.index] = hl7._repeat(existing, now)
    return done


def _map(new: list[_Message]) -> None:
    """Read, sender, patient (one query for the group) and OBX mapping of each message;
    a problem holds that message only."""
    tables = hl7.mappings()
    for m in new:
        try:
            m.parsed = hl7._read(m.screened.message)
            m.sender, m.mrn = hl7._sender_and_mrn(m.parsed, m.row, tables)
        except hl7.Held as held:
            m.held = held
    wanted = [m for m in new if m.held is None]
    found: dict[tuple[int, str], Patient] = {}
    if wanted:
        for patient in (
            Patient.objects.valid()
            .filter(
                clinic_id__in={m.sender.clinic_id for m in wanted},
                mrn__in={m.mrn for m in wanted},
            )
            .select_related("clinic")
        ):
            found[(patient.clinic_id, patient.mrn)] = patient  # unique per clinic
    for m in wanted:
        try:
            patient = found.get((m.sender.clinic_id, m.mrn))
            m.patient = hl7._checked_patient(m.parsed, m.sender, m.mrn, patient)
            m.row.clinic, m.row.patient = m.patient.clinic, m.patient
            m.items, m.notes = hl7._items(m.parsed, m.row, tables)
        except hl7.Held as held:
            m.held = held


def _store_shared(new: list[_Message], *, now: datetime) -> None:
    """Store the plain new draws through shared calls of the batch service, as
    ``hl7.process`` would one by one; mark the rest slow.

    A call takes each patient's messages in arrival order while their draws go forward in
    time; a patient's message drawn earlier than one already taken (and that patient's
    later messages) waits for the next call, which sees the first call's results on record,
    as the message would alone. A message that meets a result on record (a preliminary made
    final, a repeat of the draw) or is not a plain new draw is slow, and so are its
    patient's later messages (stored after it, in arrival order).
    """
    mapped = [m for m in new if m.held is None]
    if not mapped:
        return
    recorded = set(
        LabResult.objects.valid()
        .filter(
            patient_id__in={m.patient.pk for m in mapped},
            test_code__in={i.test.code for m in mapped for i in m.items},
            collected_at__in={i.collected_at for m in mapped for i in m.items},
        )
        .values_list("patient_id", "test_code", "collected_at")
    )
    slow_patients: set[int] = set()
    pending = mapped
    while pending:
        taken: list[_Message] = []
        later: list[_Message] = []
        last_draw: dict[int, datetime] = {}  # patient -> draw of its last message taken
        for m in pending:
            patient_id = m.patient.pk
            draws = {i.collected_at for i in m.items}
            plain = len(draws) == 1 and all(
                i.entry is not None and i.status not in ("D", "W") for i in m.items
            )
            known = any((patient_id, i.test.code, i.collected_at) in recorded for i in m.items)
            if patient_id in slow_patients or not plain or known:
                m.slow = True
                slow_patients.add(patient_id)
            elif patient_id in last_draw and min(draws) <= last_draw[patient_id]:
                later.append(m)
                last_draw[patient_id] = datetime.max.replace(tzinfo=UTC)  # the rest wait
            else:
                taken.append(m)
                last_draw[patient_id] = min(draws)
        _store_fast(taken, now=now)
        recorded |= {
            (m.patient.pk, i.test.code, i.collected_at)
            for m in taken
            if m.held is None
            for i in m.items
        }
        pending = later


def _store_fast(fast: list[_Message], *, now: datetime) -> None:
    if not fast:
        return
    outcome = ingest.lab_collections_record(
        collections=[
            ingest.Collection(
                patient=m.patient,
                collected_at=m.items[0].collected_at,
                entries=[i.entry for i in m.items],
            )
            for m in fast
        ],
        user=None,
        source=LabResult.Source.HL7,
        now=now,
    )
    for m, done in zip(fast, outcome.collections, strict=True):
        problems = hl7._collection_problems(m.items, done)
        if problems:
            m.held = hl7.Held(problems)
        else:
            m.row.status, m.row.ack_code = InterfaceMessage.Status.ACCEPTED, "AA"
            m.row.problems = [p.as_dict() for p in m.notes]
            m.row.reason = ""
            m.row.result_ids = [r.pk for r in done.results]


def _write_outcomes(decided: list[_Message], *, now: datetime) -> None:
    """The outcome of each message decided here, in one UPDATE, and its history row (one
    insert; "+" for a held message, as ``hl7._log_held`` logs it, "~" for an accepted one,
    as ``hl7.process`` saves it)."""
    if not decided:
        return
    stamp = timezone.now()
    for m in decided:
        if m.held is not None:
            hl7._hold(m.row, m.held)
        m.row.updated_at = stamp
        m.row._history_user = None
        m.row._change_reason = f"Received: {m.row.get_status_display()}"
    _update_rows(InterfaceMessage, [m.row for m in decided], _OUTCOME_FIELDS)
    history = InterfaceMessage.history.model
    tracked = [f.attname for f in history.tracked_fields]
    ingest.insert_rows(
        history,
        ids_wanted=False,
        objs=[
            history(
                history_date=stamp,
                history_user=None,
                history_change_reason=m.row._change_reason,
                history_type="~" if m.held is None else "+",
                **{name: getattr(m.row, name) for name in tracked},
            )
            for m in decided
        ],
    )


def _update_rows(model, objs: list, names: list[str]) -> None:
    """``bulk_update`` without its CASE expressions: one single-row UPDATE sent for all
    rows (``executemany``: parsed once, pipelined on PostgreSQL)."""
    meta = model._meta
    ops = connection.ops
    fields = [meta.get_field(name) for name in names]
    assignments = ", ".join(f"{ops.quote_name(f.column)} = %s" for f in fields)
    # Only quoted names and placeholders are formatted in; every value is a parameter.
    sql = f"UPDATE {ops.quote_name(meta.db_table)} SET {assignments} WHERE {ops.quote_name(meta.pk.column)} = %s"  # noqa: S608  # nosec B608
    params = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields] + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
