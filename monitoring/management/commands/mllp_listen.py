"""``manage.py mllp_listen [--host 127.0.0.1] [--port 2575] [--processes N]``: the HL7 v2
MLLP listener.

Messages arriving together on any connections are stored in one transaction (group
commit, ``--group-max`` messages at most, ``--group-window`` ms of waiting for the other
connections); each is answered, as if alone, after the commit.

With ``--processes N`` (N > 1) the command forks N - 1 more listener processes sharing the
port (``SO_REUSEPORT``; each with its own database connection, opened after the fork); the
kernel spreads connections over them and one connection's messages stay in order on one
process. Stopping the first process (Ctrl-C or SIGTERM) stops the others.
"""

import asyncio
import os
import signal
import sys

from django.core.management.base import BaseCommand
from django.db import connections

from monitoring.interop import hl7 as ingest
from monitoring.interop import mllp


class Command(BaseCommand):
    help = "Receive ORU^R01 lab results over MLLP and answer each with an ACK (long-running)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="default: loopback only")
        parser.add_argument("--port", type=int, default=2575)
        parser.add_argument(
            "--max-bytes", type=int, default=ingest.MAX_MESSAGE_BYTES, help="message size limit"
        )
        parser.add_argument(
            "--idle-timeout",
            type=float,
            default=mllp.IDLE_TIMEOUT_SECONDS,
            help="seconds a connection may stay silent before it is closed",
        )
        parser.add_argument(
            "--max-connections",
            type=int,
            default=mllp.MAX_CONNECTIONS,
            help="connections served at once; one more is closed on accept",
        )
        parser.add_argument(
            "--group-window",
            type=float,
            default=mllp.GROUP_WINDOW_SECONDS * 1000,
            help="milliseconds to wait for messages of other connections before a group "
            "commit (only while some connection has none waiting)",
        )
        parser.add_argument(
            "--group-max",
            type=int,
            default=mllp.GROUP_MAX_MESSAGES,
            help="messages stored in one transaction at most; 1 stores each alone",
        )
        parser.add_argument(
            "--reuse-port",
            action="store_true",
            help="let several listener processes share the port (SO_REUSEPORT)",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="listener processes on the port (implies --reuse-port); default 1",
        )

    def handle(
        self,
        *args,
        host,
        port,
        max_bytes,
        reuse_port,
        idle_timeout,
        max_connections,
        processes=1,
        group_window=mllp.GROUP_WINDOW_SECONDS * 1000,
        group_max=mllp.GROUP_MAX_MESSAGES,
        **options,
    ):
        ingest.MAX_MESSAGE_BYTES = max_bytes  # the same limit for the stream and the parser
        children: list[int] = []
        if processes > 1:
            reuse_port = True
            connections.close_all()  # never share a database connection across a fork
            for _ in range(processes - 1):
                pid = os.fork()
                if pid == 0:
                    children = []  # a child serves; it has no children of its own
                    break
                children.append(pid)
            if children:
                # SIGTERM on the first process stops it through the finally below.
                signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

        def ready(server):
            where = ", ".join(str(s.getsockname()[:2]) for s in server.sockets)
            self.stdout.write(
                f"MLLP listener on {where}; limit {max_bytes} bytes per message, "
                f"{max_connections} connections, {idle_timeout:g} s idle; "
                f"group commit of up to {group_max} messages, {group_window:g} ms window."
            )
            self.stdout.flush()

        try:
            asyncio.run(
                mllp.serve_forever(
                    host,
                    port,
                    limit=max_bytes,
                    ready=ready,
                    reuse_port=reuse_port,
                    idle_timeout=idle_timeout,
                    max_connections=max_connections,
                    group_window=group_window / 1000,
                    group_max=group_max,
                )
            )
        except KeyboardInterrupt:
            self.stdout.write("MLLP listener stopped.")
        finally:
            for pid in children:
                try:
                    os.kill(pid, signal.SIGTERM)
                    os.waitpid(pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass
