"""``manage.py run_monitoring_sweep [--as-of YYYY-MM-DD] [--full]``: the beat sweep,
synchronously. Incremental (the patients due) unless ``--full`` (everyone: the nightly
safety net, which warns about changes to patients that were not due)."""

from datetime import date
from time import monotonic

from django.core.management.base import BaseCommand
from django.utils import timezone

from monitoring.evaluation import sweep_run
from monitoring.notifications import notifications_deliver


class Command(BaseCommand):
    help = "Evaluate every patient's monitoring rules now (same as the hourly Celery sweep)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default today)"
        )
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--full", action="store_true", help="evaluate every patient, due or not"
        )
        parser.add_argument(
            "--no-email", action="store_true", help="queue emails but do not send them"
        )

    def handle(self, *args, as_of, batch_size, no_email, full, **options):
        as_of = as_of or timezone.localdate()
        started = monotonic()
        outcome = sweep_run(as_of=as_of, batch_size=batch_size, full=full)
        sent = 0 if no_email else notifications_deliver(limit=10_000)
        self.stdout.write(
            f"Sweep as of {as_of}: {outcome.patients} patients, {outcome.created} flags opened, "
            f"{outcome.changed} changed, {outcome.resolved} resolved, {sent} emails sent "
            f"({monotonic() - started:.1f} s)."
        )
