"""``manage.py import_hl7 FILE...``: import ORU^R01 messages from files, one line per message.

A file may hold several messages (and FHS/BHS batch headers), a byte-order mark, and
\\r, \\n or \\r\\n segment endings. Each message goes through the same service as the MLLP
listener: stored, held for the interface queue, or refused, and always logged.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from monitoring.interop import errors as interop_errors
from monitoring.interop import hl7 as ingest
from monitoring.interop.models import InterfaceMessage


class Command(BaseCommand):
    help = "Import HL7 v2 ORU^R01 messages from files (one output line per message)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args, files, **options):
        counts = {"AA": 0, "AE": 0, "AR": 0}
        for path in files:
            try:
                data = path.read_bytes()
            except OSError as error:
                raise CommandError(f"{path}: {error.strerror}") from None
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                outcome = ingest.refuse_unread(
                    channel=InterfaceMessage.Channel.FILE, problem=interop_errors.NOT_UTF8
                )
                counts["AR"] += 1
                self.stdout.write(f"{path}: refused (AR): {outcome.message.reason}")
                continue
            messages = ingest.split_messages(text) or [text]
            for number, raw in enumerate(messages, start=1):
                outcome = ingest.receive(raw, channel=InterfaceMessage.Channel.FILE)
                row = outcome.message
                counts[outcome.ack_code] = counts.get(outcome.ack_code, 0) + 1
                what = (
                    "repeat of an earlier message, not stored again"
                    if outcome.repeat
                    else (f"{row.get_status_display().lower()}")
                )
                detail = f": {row.reason}" if row.reason else f", {len(row.result_ids)} results"
                self.stdout.write(
                    f"{path}#{number} {row.control_id or '-'} {outcome.ack_code} {what}{detail}"
                )
        self.stdout.write(
            f"{sum(counts.values())} messages: {counts['AA']} accepted, {counts['AE']} held, "
            f"{counts['AR']} refused."
        )
