"""The MLLP listener: python-hl7's asyncio MLLP server, one ACK per message, never a crash.

Each framed block (<VT> message <FS><CR>) is handed to the group committer
(``GroupCommit``): the messages that arrive together on all connections are stored in one
transaction (``group.receive_group``, each message still all or nothing and answered as
if alone) in Django's thread-sensitive executor (the ORM is synchronous), and each ACK
is written back, in the same framing, after the commit. A block over the size limit or not framed right is refused with an ACK AR and
logged; an oversized block closes the connection (the rest of it cannot be told apart
from the next message). Any unexpected error answers AR and the listener goes on.

Limits: a connection that sends nothing for ``MLLP_IDLE_TIMEOUT_SECONDS`` (default 60) is
closed, and at most ``MLLP_MAX_CONNECTIONS`` (default 50) are served at once; one more is
closed as soon as it is accepted (the peer reconnects later), so idle or stalled peers
cannot hold the listener's sockets or its memory.
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from hl7.mllp import InvalidBlockError, start_hl7_server

from monitoring.interop import errors as interop_errors
from monitoring.interop import group
from monitoring.interop import hl7 as ingest
from monitoring.interop.models import InterfaceMessage

logger = logging.getLogger(__name__)

NOT_FRAMED = "The block does not start with the MLLP start character <VT> (0x0B)."
IDLE_TIMEOUT_SECONDS = getattr(settings, "MLLP_IDLE_TIMEOUT_SECONDS", 60)
MAX_CONNECTIONS = getattr(settings, "MLLP_MAX_CONNECTIONS", 50)
GROUP_WINDOW_SECONDS = getattr(settings, "MLLP_GROUP_WINDOW_SECONDS", 0.005)
GROUP_MAX_MESSAGES = getattr(settings, "MLLP_GROUP_MAX_MESSAGES", 100)
FALLBACK_ACK = "MSH|^~\\&|MMM||||||ACK^R01^ACK|ACK0|P|2.5.1\rMSA|AR||Internal error\r"


def handle_block(block: bytes) -> bytes:
    """One framed message -> its ACK (bytes, UTF-8). Never raises."""
    close_old_connections()
    try:
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            outcome = ingest.refuse_unread(
                channel=InterfaceMessage.Channel.MLLP, problem=interop_errors.NOT_UTF8
            )
        else:
            outcome = ingest.receive(text, channel=InterfaceMessage.Channel.MLLP)
        return outcome.ack.encode("utf-8")
    except Exception:  # noqa: BLE001 (the listener must outlive any one message)
        logger.exception("MLLP message could not be handled")
        return FALLBACK_ACK.encode("utf-8")
    finally:
        close_old_connections()


def handle_blocks(blocks: list[bytes]) -> list[bytes]:
    """Framed messages from any connections -> their ACKs, in order, stored in one
    transaction (``group.receive_group``). Never raises."""
    if len(blocks) == 1:
        return [handle_block(blocks[0])]
    close_old_connections()
    try:
        acks: list[bytes | None] = [None] * len(blocks)
        texts: list[str] = []
        readable: list[int] = []
        for index, block in enumerate(blocks):
            try:
                texts.append(block.decode("utf-8"))
                readable.append(index)
            except UnicodeDecodeError:
                outcome = ingest.refuse_unread(
                    channel=InterfaceMessage.Channel.MLLP, problem=interop_errors.NOT_UTF8
                )
                acks[index] = outcome.ack.encode("utf-8")
        outcomes = group.receive_group(texts, channel=InterfaceMessage.Channel.MLLP)
        for index, outcome in zip(readable, outcomes, strict=True):
            acks[index] = outcome.ack.encode("utf-8")
        return acks
    except Exception:  # noqa: BLE001 (the listener must outlive any one group)
        logger.exception("MLLP group of %s messages could not be handled", len(blocks))
        return [FALLBACK_ACK.encode("utf-8")] * len(blocks)
    finally:
        close_old_connections()


class GroupCommit:
    """Messages from all connections, stored a group at a time in one transaction.

    A connection hands its message over and waits for its ACK (written after the commit).
    While a group is being stored, the next one gathers; before storing, the committer
    waits up to ``window`` seconds for more only while some open connection has no
    message waiting yet (one busy connection never waits), and takes at most
    ``max_messages`` at once.
    """

    def __init__(self, *, window: float, max_messages: int) -> None:
        self.window = window
        self.max_messages = max(1, max_messages)
        self.connections = 0  # open now (kept by the connection handler)
        self._pending: list[tuple[bytes, asyncio.Future]] = []
        self._arrived = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._store = sync_to_async(handle_blocks, thread_sensitive=True)

    async def submit(self, block: bytes) -> bytes:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((block, future))
        self._arrived.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await future

    def _full(self) -> bool:
        return len(self._pending) >= min(self.max_messages, self.connections)

    async def _gather(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.window
        while not self._full() and (remaining := deadline - loop.time()) > 0:
            self._arrived.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._arrived.wait()
            except TimeoutError:
                return

    async def _run(self) -> None:
        while self._pending:  # ends when nothing waits; ``submit`` starts it again
            if self.window > 0:
                await self._gather()
            taken = self._pending[: self.max_messages]
            del self._pending[: self.max_messages]
            try:
                acks = await self._store([block for block, _ in taken])
            except Exception:  # noqa: BLE001
                logger.exception("MLLP group could not be stored")
                acks = [FALLBACK_ACK.encode("utf-8")] * len(taken)
            for (_, future), ack in zip(taken, acks, strict=True):
                if not future.done():  # its connection may have gone
                    future.set_result(ack)


def _refuse(problem: str) -> bytes:
    close_old_connections()
    try:
        outcome = ingest.refuse_unread(channel=InterfaceMessage.Channel.MLLP, problem=problem)
        return outcome.ack.encode("utf-8")
    except Exception:  # noqa: BLE001
        logger.exception("MLLP refusal could not be logged")
        return FALLBACK_ACK.encode("utf-8")


def _handler(*, idle_timeout: float, max_connections: int, committer: GroupCommit):
    """The connection callback with the idle timeout and the cap on open connections."""

    async def handler(reader, writer) -> None:
        if committer.connections >= max_connections:
            logger.warning("MLLP connection refused: %s already open", committer.connections)
            writer.close()
            return
        committer.connections += 1
        try:
            await _connection(reader, writer, idle_timeout=idle_timeout, handle=committer.submit)
        finally:
            committer.connections -= 1

    return handler


async def _connection(
    reader, writer, *, idle_timeout: float = IDLE_TIMEOUT_SECONDS, handle=None
) -> None:
    handle = handle or sync_to_async(handle_block, thread_sensitive=True)
    refuse = sync_to_async(_refuse, thread_sensitive=True)
    try:
        while True:
            try:
                async with asyncio.timeout(idle_timeout):  # no extra task, unlike wait_for
                    block = await reader.readblock()
            except TimeoutError:
                logger.info("MLLP connection closed after %s s without a message", idle_timeout)
                break
            except asyncio.IncompleteReadError:
                break  # the peer closed the connection
            except InvalidBlockError:
                writer.writeblock(await refuse(NOT_FRAMED))
                await writer.drain()
                continue
            except ValueError:  # over the stream limit: the message was not read
                problem = interop_errors.TOO_LARGE.format(limit=ingest.MAX_MESSAGE_BYTES)
                writer.writeblock(await refuse(problem))
                await writer.drain()
                break
            writer.writeblock(await handle(block))
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    except Exception:  # noqa: BLE001
        logger.exception("MLLP connection failed")
    finally:
        writer.close()


async def start(
    host: str = "127.0.0.1",
    port: int = 2575,
    *,
    limit: int | None = None,
    reuse_port=False,
    idle_timeout: float | None = None,
    max_connections: int | None = None,
    group_window: float | None = None,
    group_max: int | None = None,
):
    """Start listening; returns the asyncio server (``server.close()`` to stop).

    With ``reuse_port`` several listener processes share the port and the kernel spreads
    connections over them; one connection (and so its order of messages) stays on one.
    ``group_window`` (seconds) and ``group_max`` (messages) shape the group commit
    (``GroupCommit``); ``group_max=1`` stores each message in its own transaction.
    """
    committer = GroupCommit(
        window=GROUP_WINDOW_SECONDS if group_window is None else group_window,
        max_messages=group_max or GROUP_MAX_MESSAGES,
    )
    return await start_hl7_server(
        _handler(
            idle_timeout=idle_timeout or IDLE_TIMEOUT_SECONDS,
            max_connections=max_connections or MAX_CONNECTIONS,
            committer=committer,
        ),
        host,
        port,
        limit=limit or ingest.MAX_MESSAGE_BYTES,
        reuse_port=reuse_port or None,
    )


async def serve_forever(
    host: str,
    port: int,
    *,
    limit: int | None = None,
    ready=None,
    reuse_port=False,
    idle_timeout: float | None = None,
    max_connections: int | None = None,
    group_window: float | None = None,
    group_max: int | None = None,
) -> None:
    server = await start(
        host,
        port,
        limit=limit,
        reuse_port=reuse_port,
        idle_timeout=idle_timeout,
        max_connections=max_connections,
        group_window=group_window,
        group_max=group_max,
    )
    if ready is not None:
        ready(server)
    async with server:
        await server.serve_forever()
