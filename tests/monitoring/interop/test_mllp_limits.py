"""The MLLP listener's limits with real sockets: an idle connection is closed, connections
beyond the cap are closed on accept, and the listener goes on serving."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from monitoring.interop import mllp
from tests.monitoring.interop.conftest import free_port
from tests.monitoring.interop.test_mllp_listener import CR, FS, VT, _read_ack, _run, stop

IDLE = 0.5
CAP = 2


@pytest.fixture
def limited(transactional_db):
    port = free_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box = {}

    async def run():
        box["server"] = await mllp.start(
            "127.0.0.1", port, limit=4096, idle_timeout=IDLE, max_connections=CAP
        )
        started.set()
        await box["server"].serve_forever()

    thread = threading.Thread(target=lambda: _run(loop, run()), daemon=True)
    thread.start()
    assert started.wait(10)
    yield port
    time.sleep(IDLE * 2)  # every open connection ends (idle) before the loop stops
    stop(loop, box["server"], thread)


def closed_by_listener(conn: socket.socket, within: float) -> bool:
    """True when the listener closes the connection (EOF or reset) within the time."""
    conn.settimeout(within)
    try:
        return conn.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_idle_connection_is_closed_after_the_timeout(limited):
    with socket.create_connection(("127.0.0.1", limited), timeout=5) as conn:
        started = time.monotonic()
        assert closed_by_listener(conn, within=IDLE * 10)
        assert time.monotonic() - started >= IDLE * 0.8


def test_half_sent_message_does_not_hold_the_connection_open(limited):
    with socket.create_connection(("127.0.0.1", limited), timeout=5) as conn:
        conn.sendall(VT + b"MSH|^~\\&|LIS|NORTHLAB")  # never finished
        assert closed_by_listener(conn, within=IDLE * 10)


def test_connections_beyond_the_cap_are_closed_and_the_listener_goes_on(limited):
    held = [socket.create_connection(("127.0.0.1", limited), timeout=5) for _ in range(CAP)]
    try:
        time.sleep(0.1)  # both accepted and counted
        with socket.create_connection(("127.0.0.1", limited), timeout=5) as extra:
            assert closed_by_listener(extra, within=IDLE / 2)
        assert not closed_by_listener(held[0], within=0.05)  # the served ones stay open
    finally:
        for conn in held:
            conn.close()
    time.sleep(0.2)  # the listener notices the closes and frees the slots
    with socket.create_connection(("127.0.0.1", limited), timeout=5) as conn:
        conn.sendall(VT + b"not hl7" + FS + CR)
        assert "MSA|AR" in _read_ack(conn)
