"""The MLLP listener: python-hl7's asyncio MLLP server, one ACK per message, never a crash.

Each framed block (<VT> message <FS><CR>) is handed to ``hl7.receive`` in Django's
thread-sensitive executor (the ORM is synchronous), and its ACK written back in the same
framing. A block over the size limit or not framed right is refused with an ACK AR and
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
from monitoring.interop import hl7 as ingest
from monitoring.interop.models import InterfaceMessage

logger = logging.getLogger(__name__)

NOT_FRAMED = "The block does not start with the MLLP start character <VT> (0x0B)."
IDLE_TIMEOUT_SECONDS = getattr(settings, "MLLP_IDLE_TIMEOUT_SECONDS", 60)
MAX_CONNECTIONS = getattr(settings, "MLLP_MAX_CONNECTIONS", 50)
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


def _refuse(problem: str) -> bytes:
    close_old_connections()
    try:
        outcome = ingest.refuse_unread(channel=InterfaceMessage.Channel.MLLP, problem=problem)
        return outcome.ack.encode("utf-8")
    except Exception:  # noqa: BLE001
        logger.exception("MLLP refusal could not be logged")
        return FALLBACK_ACK.encode("utf-8")


def _handler(*, idle_timeout: float, max_connections: int):
    """The connection callback with the idle timeout and the cap on open connections."""
    open_connections = 0

    async def handler(reader, writer) -> None:
        nonlocal open_connections
        if open_connections >= max_connections:
            logger.warning("MLLP connection refused: %s already open", open_connections)
            writer.close()
            return
        open_connections += 1
        try:
            await _connection(reader, writer, idle_timeout=idle_timeout)
        finally:
            open_connections -= 1

    return handler


async def _connection(reader, writer, *, idle_timeout: float = IDLE_TIMEOUT_SECONDS) -> None:
    handle = sync_to_async(handle_block, thread_sensitive=True)
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
):
    """Start listening; returns the asyncio server (``server.close()`` to stop).

    With ``reuse_port`` several listener processes share the port and the kernel spreads
    connections over them; one connection (and so its order of messages) stays on one.
    """
    return await start_hl7_server(
        _handler(
            idle_timeout=idle_timeout or IDLE_TIMEOUT_SECONDS,
            max_connections=max_connections or MAX_CONNECTIONS,
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
) -> None:
    server = await start(
        host,
        port,
        limit=limit,
        reuse_port=reuse_port,
        idle_timeout=idle_timeout,
        max_connections=max_connections,
    )
    if ready is not None:
        ready(server)
    async with server:
        await server.serve_forever()
