"""A real MLLP client (a socket) against the running listener, and a fuzz that never kills it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring.interop import mllp
from monitoring.interop import services as interop_services
from monitoring.interop.models import InterfaceMessage
from patients.models import LabResult
from tests.monitoring.interop.conftest import CBC, free_port, oru

VT, FS, CR = b"\x0b", b"\x1c", b"\r"
DRAWN = "20250602083000-0400"


@pytest.fixture
def listener(transactional_db):
    """The listener on a loopback port, in its own thread and event loop."""
    port = free_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box = {}

    async def run():
        box["server"] = await mllp.start("127.0.0.1", port, limit=4096)
        started.set()
        await box["server"].serve_forever()

    thread = threading.Thread(target=lambda: _run(loop, run()), daemon=True)
    thread.start()
    assert started.wait(10)
    yield port
    stop(loop, box["server"], thread)


def stop(loop, server, thread) -> None:
    """Close the database connection the listener's ORM thread holds (Django's
    thread-sensitive executor, one per process, keeps it open for DATABASE_CONN_MAX_AGE),
    then the server. Left open, it keeps the test database from being dropped."""

    async def close_db():
        await sync_to_async(connections.close_all, thread_sensitive=True)()

    asyncio.run_coroutine_threadsafe(close_db(), loop).result(10)
    loop.call_soon_threadsafe(server.close)
    thread.join(5)


def _run(loop, coroutine):
    asyncio.set_event_loop(loop)
    with contextlib.suppress(asyncio.CancelledError):
        loop.run_until_complete(coroutine)


def _read_ack(conn) -> str:
    data = b""
    while not data.endswith(FS + CR):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    assert data.startswith(VT), data
    return data[1:-2].decode()


def send(port: int, payload: bytes, *, framed: bool = True) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(VT + payload + FS + CR if framed else payload)
        return _read_ack(conn)


@pytest.fixture
def registered(transactional_db, clinic_a, patient):
    return interop_services.sender_register(
        facility="NORTHLAB", authority="NORTHMRN", clinic=clinic_a
    )


def test_message_sent_over_a_socket_is_stored_and_acknowledged(listener, registered, patient):
    ack = send(listener, oru([(DRAWN, CBC)]).encode())

    segments = [s.split("|") for s in ack.split("\r")]
    assert segments[0][0] == "MSH" and segments[0][8] == "ACK^R01^ACK"
    assert segments[1][:3] == ["MSA", "AA", "MSG0001"]
    assert LabResult.objects.filter(patient=patient).count() == 5


def test_several_messages_on_one_connection_get_one_ack_each(listener, registered, patient):
    with socket.create_connection(("127.0.0.1", listener), timeout=20) as conn:
        for n in range(3):
            text = oru([(f"2025060{n + 2}083000-0400", CBC)], control_id=f"M{n}")
            conn.sendall(VT + text.encode() + FS + CR)
            assert f"|MSA|AA|M{n}" in "|" + _read_ack(conn).replace("\r", "|")
    assert LabResult.objects.count() == 15


def test_held_message_answers_ae_with_err_naming_segment_and_field(listener, registered):
    ack = send(listener, oru([(DRAWN, CBC)], mrn="A-9999").encode())

    err = next(s.split("|") for s in ack.split("\r") if s.startswith("ERR"))
    assert "|MSA|AE|" in "|" + ack.replace("\r", "|")
    assert err[2] == "PID^1^3" and err[3].startswith("204^")


def test_oversized_message_is_refused_and_the_listener_goes_on(listener, registered):
    ack = send(listener, b"MSH|" + b"x" * 5000)
    assert "|MSA|AR|" in "|" + ack.replace("\r", "|")
    assert "larger than" in ack

    assert "|MSA|AA|" in "|" + send(listener, oru([(DRAWN, CBC)]).encode()).replace("\r", "|")


def test_unframed_block_is_refused(listener):
    ack = send(listener, b"MSH|^~\\&|garbage" + FS + CR, framed=False)
    assert "|MSA|AR|" in "|" + ack.replace("\r", "|")
    assert InterfaceMessage.objects.filter(status="refused").exists()


def test_invalid_utf8_is_refused(listener):
    ack = send(listener, b"MSH|^~\\&|\xff\xfe")
    assert "not valid UTF-8" in ack


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    payload=st.one_of(
        st.binary(max_size=600),
        st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.lists(
            st.sampled_from(
                [
                    "MSH|^~\\&|",
                    "PID|1||",
                    "OBR|1|",
                    "OBX|1|NM|",
                    "|",
                    "^",
                    "~",
                    "\\",
                    "\r",
                    "\n",
                    "ORU^R01",
                    "20250602",
                    "751-8^^LN",
                    "10*9/L",
                    "-1e999",
                    "NaN",
                ]
            ),
            max_size=40,
        ).map(lambda parts: "".join(parts).encode()),
    )
)
def test_fuzzed_blocks_never_crash_the_listener(listener, payload):
    # Inside a block, <FS><CR> would end the frame early; the sender's job to avoid it.
    payload = payload.replace(FS + CR, b"")
    ack = send(listener, payload)
    assert ack.startswith("MSH|") and "\rMSA|" in ack
    code = ack.split("\rMSA|")[1][:2]
    assert code in ("AA", "AE", "AR")
