"""``manage.py seed_demo``: the synthetic demo clinic set-up and cohort (idempotent).

It lives in the monitoring app because that app sits at the top of the dependency chain
(monitoring -> therapy -> patients) and so may seed all three.
"""

from datetime import date

from django.core.management.base import BaseCommand
from django.utils import timezone
from tqdm import tqdm

from monitoring import demo as monitoring_demo
from monitoring.cohort import demo as cohort_demo
from monitoring.rules.registry import all_rule_defaults
from patients import demo as patient_demo
from patients.services import rule_settings_seed
from therapy import demo as therapy_demo


class Command(BaseCommand):
    help = (
        "Create the demo clinics, role users and a deterministic synthetic cohort (safe to re-run)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=150, help="cohort size (default 150)")
        parser.add_argument(
            "--seed", type=int, default=20261121, help="random seed (same seed, same cohort)"
        )
        parser.add_argument(
            "--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default today)"
        )
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, patients, seed, as_of, batch_size, **options):
        as_of = as_of or timezone.localdate()
        _, logins = patient_demo.ensure_clinics_and_users()
        added = rule_settings_seed(defaults=all_rule_defaults(), effective_from=date(2026, 1, 1))
        self.stdout.write(f"Rule settings: {added} thresholds seeded from the clinical reference.")
        show_bar = patients >= 1000 and options["verbosity"] > 0
        with tqdm(total=patients, unit="patients", disable=not show_bar) as bar:
            created = patient_demo.seed_patients(
                count=patients, seed=seed, as_of=as_of, batch_size=batch_size, progress=bar.update
            )
        self.stdout.write(
            f"Demo cohort: {created} new patients ({patients} requested, seed {seed}, as of {as_of})."
        )
        courses = therapy_demo.seed_therapy(seed=seed, as_of=as_of)
        labs = monitoring_demo.seed_monitoring(seed=seed, as_of=as_of)
        self.stdout.write(f"Demo therapy: {courses} new courses; demo labs: {labs} new results.")
        outcomes = cohort_demo.seed_outcomes(seed=seed, as_of=as_of)
        self.stdout.write(f"Demo outcomes (assessments, MRD): {outcomes} new patients.")
        self.stdout.write(f"Demo logins (password for all: {patient_demo.DEMO_PASSWORD}):")
        for username, role in logins:
            self.stdout.write(f"  {username:<18} {role}")
