"""``manage.py hl7_sender --facility NAME --authority NAME --clinic CODE``: register a sender."""

from django.core.management.base import BaseCommand, CommandError

from monitoring.interop import services as interop_services
from patients.models import Clinic


class Command(BaseCommand):
    help = "Register an HL7 sender: its facility (MSH-4) and MRN authority (PID-3.4) -> a clinic."

    def add_arguments(self, parser):
        parser.add_argument("--facility", required=True, help="sending facility, MSH-4")
        parser.add_argument("--authority", required=True, help="assigning authority, PID-3.4")
        parser.add_argument("--clinic", required=True, help="clinic code")

    def handle(self, *args, facility, authority, clinic, **options):
        found = Clinic.objects.filter(code=clinic).first()
        if found is None:
            codes = ", ".join(Clinic.objects.values_list("code", flat=True)) or "none yet"
            raise CommandError(f"No clinic with code {clinic!r} (clinics: {codes}).")
        sender = interop_services.sender_register(
            facility=facility, authority=authority, clinic=found
        )
        self.stdout.write(f"Registered HL7 sender: {sender}.")
