"""Group commit: messages that arrive together are stored in one transaction, and each is
answered exactly as if it had come alone."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from unittest import mock

import pytest

from monitoring.interop import group, mllp
from monitoring.interop.models import InterfaceMessage
from patients.models import LabResult
from tests.factories import PatientFactory
from tests.monitoring.interop.conftest import CBC, Res, oru
from tests.monitoring.interop.test_mllp_listener import FS, VT, _read_ack, listener  # noqa: F401

pytestmark = pytest.mark.django_db

DRAWN = "20250602083000-0400"
LATER = "20250609083000-0400"


@pytest.fixture
def other(clinic_a):
    return PatientFactory(clinic=clinic_a, mrn="A-2002")


def receive_group(*texts):
    return group.receive_group(list(texts), channel="mllp")


def codes(outcomes):
    return [o.ack_code for o in outcomes]


def msa(outcome):
    return outcome.ack.split("\r")[1].split("|")


def stored(patient):
    return LabResult.objects.valid().filter(patient=patient).count()


def test_a_held_message_does_not_hold_the_other_message_of_its_group(sender, patient, other):
    unknown_test = [Res("99999-9", "1.0", "10*9/L", system="LN")]

    held, accepted = receive_group(
        oru([(DRAWN, unknown_test)], control_id="G1"),
        oru([(DRAWN, CBC)], control_id="G2", mrn=other.mrn),
    )

    assert (held.ack_code, accepted.ack_code) == ("AE", "AA")
    assert msa(held)[:3] == ["MSA", "AE", "G1"] and "99999-9" in msa(held)[3]
    assert held.ack.count("\rERR|") == 1
    assert stored(patient) == 0 and stored(other) == 5
    assert held.message.status == InterfaceMessage.Status.HELD
    assert held.message.result_ids == []
    assert sorted(accepted.message.result_ids) == sorted(
        LabResult.objects.filter(patient=other).values_list("pk", flat=True)
    )


def test_a_message_refused_by_the_entry_checks_stores_nothing_and_the_other_is_stored(
    sender, patient, other
):
    receive_group(oru([(DRAWN, CBC)], control_id="FIRST"))  # alone: on record
    hundredfold = [Res("777-3", "21000", "10*9/L", "150-400")]  # platelets 210 -> 21000

    refused, accepted = receive_group(
        oru([(LATER, [*CBC[:3], *hundredfold])], control_id="G1"),
        oru([(LATER, CBC)], control_id="G2", mrn=other.mrn),
    )

    assert codes([refused, accepted]) == ["AE", "AA"]
    assert "100" in refused.message.reason or "fold" in refused.message.reason.lower()
    assert stored(patient) == 5  # the first message only: none of the refused one's four
    assert stored(other) == 5


def test_a_malformed_message_is_refused_ar_beside_an_accepted_one(sender, patient):
    refused, accepted = receive_group(
        oru([(DRAWN, CBC)], control_id="G1", message_type="ADT^A01^ADT_A01"),
        oru([(DRAWN, CBC)], control_id="G2"),
    )

    assert codes([refused, accepted]) == ["AR", "AA"]
    assert stored(patient) == 5


def test_the_same_control_id_twice_in_one_group_is_stored_once(sender, patient):
    first, again = receive_group(
        oru([(DRAWN, CBC)], control_id="SAME"), oru([(DRAWN, CBC)], control_id="SAME")
    )

    assert codes([first, again]) == ["AA", "AA"]
    assert msa(again)[:3] == ["MSA", "AA", "SAME"]
    assert again.repeat and not first.repeat
    row = InterfaceMessage.objects.get(control_id="SAME")
    assert row.repeat_count == 1
    assert stored(patient) == 5


def test_a_control_id_already_on_record_is_acknowledged_again_not_stored(sender, patient):
    receive_group(oru([(DRAWN, CBC)], control_id="OLD"))

    again, new = receive_group(
        oru([(DRAWN, CBC)], control_id="OLD"), oru([(LATER, CBC)], control_id="NEW")
    )

    assert codes([again, new]) == ["AA", "AA"] and again.repeat
    assert InterfaceMessage.objects.count() == 2
    assert stored(patient) == 10


def test_the_same_draw_under_two_control_ids_in_one_group_is_refused_as_a_duplicate(
    sender, patient
):
    first, second = receive_group(
        oru([(DRAWN, CBC)], control_id="A1"), oru([(DRAWN, CBC)], control_id="A2")
    )

    assert codes([first, second]) == ["AA", "AE"]
    assert "already recorded" in second.message.reason
    assert stored(patient) == 5


def test_a_patients_messages_out_of_time_order_are_each_stored(sender, patient):
    later, earlier = receive_group(
        oru([(LATER, CBC)], control_id="L"), oru([(DRAWN, CBC)], control_id="E")
    )

    assert codes([later, earlier]) == ["AA", "AA"]
    assert stored(patient) == 10


def test_a_message_drawn_earlier_is_not_checked_against_a_later_draw_of_its_group(sender, patient):
    """Alone, each would pass the 100-fold check (nothing before either); one shared call
    would check the later draw (platelets 3) against the earlier (300) and refuse it."""
    later, earlier = receive_group(
        oru([(LATER, [Res("777-3", "3", "10*9/L", "150-400")])], control_id="L"),
        oru([(DRAWN, [Res("777-3", "300", "10*9/L", "150-400")])], control_id="E"),
    )

    assert codes([later, earlier]) == ["AA", "AA"], (later.message.reason, earlier.message.reason)
    assert stored(patient) == 2


def test_a_correction_in_a_group_replaces_the_result_on_record(sender, patient, other):
    receive_group(oru([(DRAWN, CBC)], control_id="ORIG"))
    corrected = [Res("718-7", "12.8", "g/dL", "12.0-16.0", status="C")]

    correction, new = receive_group(
        oru([(DRAWN, corrected)], control_id="CORR"),
        oru([(DRAWN, CBC)], control_id="NEW", mrn=other.mrn),
    )

    assert codes([correction, new]) == ["AA", "AA"]
    hgb = LabResult.objects.valid().get(patient=patient, test_code="HGB")
    assert hgb.canonical_value == Decimal("12.8") and hgb.corrects_id is not None
    assert stored(patient) == 5 and stored(other) == 5


def test_one_evaluation_of_all_its_patients_is_queued_per_group(
    sender, patient, other, django_capture_on_commit_callbacks
):
    with (
        mock.patch("monitoring.tasks.enqueue_patients_evaluation") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        receive_group(
            oru([(DRAWN, CBC)], control_id="P1"),
            oru([(LATER, CBC)], control_id="P2"),
            oru([(DRAWN, CBC)], control_id="O1", mrn=other.mrn),
        )

    assert [c.args[0] for c in enqueue.call_args_list] == [sorted([patient.pk, other.pk])]


def test_accepted_and_held_messages_each_have_one_history_row(sender, patient):
    unknown_test = [Res("99999-9", "1.0", "10*9/L", system="LN")]

    receive_group(
        oru([(DRAWN, CBC)], control_id="OK"), oru([(DRAWN, unknown_test)], control_id="NO")
    )

    ok = InterfaceMessage.objects.get(control_id="OK")
    held = InterfaceMessage.objects.get(control_id="NO")
    assert [h.history_change_reason for h in ok.history.all()] == ["Received: Accepted"]
    assert [h.history_change_reason for h in held.history.all()] == ["Received: Held for review"]


def test_a_group_that_fails_is_rolled_back_and_each_message_received_alone(sender, patient, other):
    with mock.patch.object(group, "_store_shared", side_effect=RuntimeError("boom")):
        outcomes = receive_group(
            oru([(DRAWN, CBC)], control_id="F1"),
            oru([(DRAWN, CBC)], control_id="F2", mrn=other.mrn),
        )

    assert codes(outcomes) == ["AA", "AA"]
    assert InterfaceMessage.objects.count() == 2  # the group's rows were rolled back
    assert stored(patient) == 5 and stored(other) == 5


@pytest.mark.parametrize("size", [2, 4])
def test_a_group_takes_the_same_queries_whatever_its_size(
    sender, clinic_a, django_assert_num_queries, db_vendor, size
):
    """Savepoint, MSH-10s on record, log rows, mapping version, patients, results at these
    draws; the batch ingest's thresholds, duplicates, previous values, savepoint, results,
    history, release, dirty mark; the outcomes, their history; release (17). On PostgreSQL
    the results' ids are drawn from their sequence before the results are copied in (18)."""
    patients = [PatientFactory(clinic=clinic_a, mrn=f"Q-{i}") for i in range(size)]
    receive_group(oru([(DRAWN, CBC)], control_id="WARM"))  # the mapping cache
    texts = [oru([(LATER, CBC)], control_id=f"Q{i}", mrn=p.mrn) for i, p in enumerate(patients)]

    with django_assert_num_queries(18 if db_vendor == "postgresql" else 17):
        outcomes = receive_group(*texts)

    assert codes(outcomes) == ["AA"] * size


@pytest.mark.usefixtures("transactional_db")
def test_several_connections_at_once_are_each_answered_and_stored_once(
    listener,  # noqa: F811
    sender,
    clinic_a,
):
    patients = [PatientFactory(clinic=clinic_a, mrn=f"S-{i}") for i in range(6)]
    answers: dict[str, str] = {}

    def feed(i, patient):
        with socket.create_connection(("127.0.0.1", listener), timeout=30) as conn:
            for n, drawn in enumerate((DRAWN, LATER, "20250616083000-0400")):
                control_id = f"C{i}-{n}"
                conn.sendall(
                    VT
                    + oru([(drawn, CBC)], control_id=control_id, mrn=patient.mrn).encode()
                    + FS
                    + b"\r"
                )
                answers[control_id] = _read_ack(conn).split("\r")[1]

    threads = [threading.Thread(target=feed, args=(i, p)) for i, p in enumerate(patients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(answers) == 18
    assert all(msa.startswith(f"MSA|AA|{cid}") for cid, msa in answers.items())
    assert InterfaceMessage.objects.filter(status="accepted").count() == 18
    assert LabResult.objects.valid().count() == 18 * 5


def test_the_committer_stores_waiting_messages_of_several_connections_together(transactional_db):
    """While one group is stored the next gathers: three messages waiting, one call."""
    import asyncio

    calls = []

    def store(blocks):
        calls.append(len(blocks))
        return [b"ACK " + b for b in blocks]

    async def run():
        with mock.patch.object(mllp, "handle_blocks", store):
            committer = mllp.GroupCommit(window=0, max_messages=100)
        committer.connections = 3
        return await asyncio.gather(*(committer.submit(b"m%d" % i) for i in range(3)))

    # In its own thread: a browser test earlier in the same xdist worker leaves Playwright's
    # event loop set as running in this one, and asyncio.run() refuses to nest.
    with ThreadPoolExecutor(max_workers=1) as pool:
        acks = pool.submit(asyncio.run, run()).result(timeout=30)

    assert acks == [b"ACK m0", b"ACK m1", b"ACK m2"]
    assert calls == [3]
