"""Move patients whose planned maintenance course has started to "active on maintenance"
(the same service as the daily beat task); ``--as-of`` for back-fills and tests."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from therapy import services


class Command(BaseCommand):
    help = "Patients whose planned course has started become active on maintenance."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today in the clinic zone)")

    def handle(self, *args, as_of=None, **options):
        try:
            day = date.fromisoformat(as_of) if as_of else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--as-of must be a date written YYYY-MM-DD; got {as_of!r}") from exc
        changed = services.courses_activate_started(as_of=day)
        self.stdout.write(f"{changed} patient(s) now active on maintenance as of {day}.")
