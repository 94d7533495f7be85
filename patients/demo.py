"""A deterministic synthetic cohort: clinics, role users and patients. No real person.

Every value comes from ``random.Random(seed)`` and the patient's index, so the same seed
and date give the same cohort, and re-running adds nothing (patients are keyed by MRN).
Large cohorts (``--patients 10000``) are written with bulk inserts in batches.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from patients.models import Clinic, Diagnosis, Patient, Transplant, WeightMeasurement
from patients.roles import ANALYST, NURSE, PHYSICIAN, REMS_ADMINISTRATOR, ensure_roles

# Synthetic demo accounts: the password is printed on purpose.
DEMO_PASSWORD = "mmm-demo-2026"  # noqa: S105  # nosec B105

CLINICS = [("north", "North Hematology Clinic"), ("south", "South Cancer Centre")]
# Fictional numbers (555-01xx is reserved for fiction), printed on dosing calendars.
CLINIC_PHONES = {"north": "+1 555 0100", "south": "+1 555 0123"}
ROLE_USERS = [
    ("nurse", NURSE, "Nora", "Nurse"),
    ("physician", PHYSICIAN, "Phil", "Physician"),
    ("rems", REMS_ADMINISTRATOR, "Remy", "Administrator"),
    ("analyst", ANALYST, "Ana", "Analyst"),
]

GIVEN_FEMALE = [
    "Ada",
    "Beatrix",
    "Carmen",
    "Dalia",
    "Elin",
    "Farah",
    "Greta",
    "Hana",
    "Ines",
    "Jun",
    "Kaja",
    "Lena",
    "Mira",
    "Noor",
    "Olga",
    "Priya",
    "Rosa",
    "Sana",
    "Tove",
    "Vera",
]
GIVEN_MALE = [
    "Aaron",
    "Bruno",
    "Caleb",
    "Dev",
    "Emil",
    "Felix",
    "Goran",
    "Hugo",
    "Ivan",
    "Jonas",
    "Kenji",
    "Luca",
    "Marek",
    "Nils",
    "Omar",
    "Pavel",
    "Rafael",
    "Samir",
    "Tomas",
    "Viktor",
]
FAMILY = [
    "Abbott",
    "Brandt",
    "Castillo",
    "Dimitrov",
    "Eriksen",
    "Fontaine",
    "Gallo",
    "Haddad",
    "Ibarra",
    "Jansen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Sato",
    "Thorne",
    "Ulloa",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zeller",
]
INDUCTIONS = ["VRd x4", "Dara-VRd x4", "KRd x4", "VCd x4", "Dara-VTd x4"]


@dataclass(frozen=True)
class DemoPatient:
    index: int
    clinic_code: str
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str
    height_cm: Decimal
    weight_kg: Decimal
    status: str
    reproductive_potential: str
    menses_in_past_24_months: bool | None
    menses_regular: bool | None
    diagnosed_on: date
    heavy_chain: str
    light_chain: str
    iss: str
    riss: str
    cytogenetics: dict[str, bool | None]
    induction: str
    best_response: str
    prior_vte: bool
    neuropathy_grade: int
    on_dialysis: bool
    transplanted_on: date
    date_of_death: date | None


@dataclass(frozen=True)
class DemoOutcome:
    """What happens to a demo patient after the maintenance start, at rates like the seed
    literature's (median PFS about 4-5 years, shorter with high-risk cytogenetics; about
    one in five stopping before progression). Dates after ``as_of`` have not happened."""

    progression_on: date | None
    death_on: date | None
    stopped_on: date | None  # stopped maintenance before progression (not for death)
    stop_reason: str

    def maintenance_end(self) -> tuple[date, str] | None:
        """When and why maintenance ended (the first of stop, progression, death)."""
        ends = [
            (on, reason)
            for on, reason in (
                (self.stopped_on, self.stop_reason),
                (self.progression_on, "progression"),
                (self.death_on, "death"),
            )
            if on is not None
        ]
        return min(ends) if ends else None

    @property
    def status(self) -> str:
        if self.death_on:
            return "deceased"
        return "off_therapy" if self.maintenance_end() else "active"


def demo_outcome(
    index: int, *, seed: int, transplanted_on: date, high_risk: bool, as_of: date
) -> DemoOutcome:
    """The outcome of the ``index``-th demo patient. Pure; its own generator, so the other
    demo values do not change with it. Times run from ~100 days after transplant."""
    rng = random.Random(f"outcome:{seed}:{index}")  # noqa: S311  # nosec B311
    start = transplanted_on + timedelta(days=100)

    def draw(median_days: float) -> float:
        return max(30.0, rng.expovariate(math.log(2) / median_days))

    progression = draw(900 if high_risk else 1700)
    death = min(draw(9000), progression + draw(1100))
    stop = draw(3000)
    reason = rng.choices(
        ["toxicity", "patient_choice", "other", "mrd_guided_stop", "second_primary_malignancy"],
        weights=[55, 25, 8, 6, 6],
    )[0]

    def happened(days: float) -> date | None:
        on = start + timedelta(days=int(days))
        return on if on <= as_of else None

    return DemoOutcome(
        progression_on=happened(progression) if progression < death else None,
        death_on=happened(death),
        stopped_on=happened(stop) if stop < min(progression, death) else None,
        stop_reason=reason if stop < min(progression, death) else "",
    )


def demo_patient(index: int, *, seed: int, as_of: date) -> DemoPatient:
    """The ``index``-th synthetic patient. Pure: depends only on its arguments."""
    # Synthetic data, not security: a seeded generator is the point.
    rng = random.Random(seed * 1_000_003 + index)  # noqa: S311  # nosec B311
    clinic_code = CLINICS[index % len(CLINICS)][0]
    sex = "female" if rng.random() < 0.45 else "male"
    # Myeloma is a disease of older adults; a few younger women make the REMS pregnancy work visible.
    young_woman = sex == "female" and index % 9 == 4
    age = rng.randint(34, 46) if young_woman else rng.randint(45, 79)
    born = as_of - timedelta(days=age * 365 + rng.randint(0, 364))
    # Maintenance starts ~100 days after transplant; transplants 4-6 months after diagnosis.
    months_on_maintenance = rng.choice([0, 1, 2, 3, 5, 8, 12, 18, 24, 30, 36, 48, 60, 72])
    transplanted_on = as_of - timedelta(days=months_on_maintenance * 30 + 100 + rng.randint(0, 20))
    diagnosed_on = transplanted_on - timedelta(days=rng.randint(120, 200))
    heavy_chain = rng.choices(
        ["IgG", "IgA", "light_chain_only", "IgD", "non_secretory"], weights=[55, 22, 18, 2, 3]
    )[0]
    light_chain = "" if heavy_chain == "non_secretory" else rng.choice(["kappa", "kappa", "lambda"])
    tested = rng.random() < 0.9
    cytogenetics = {
        field: (rng.random() < prevalence) if tested else None
        for field, prevalence in [
            ("del_17p", 0.08),
            ("t_4_14", 0.12),
            ("t_14_16", 0.03),
            ("t_14_20", 0.02),
            ("gain_1q", 0.30),
            ("del_1p", 0.08),
        ]
    }
    status = rng.choices(
        ["active", "off_therapy", "transferred", "deceased"], weights=[86, 8, 3, 3]
    )[0]
    outcome = demo_outcome(
        index,
        seed=seed,
        transplanted_on=transplanted_on,
        high_risk=bool(cytogenetics["del_17p"] or cytogenetics["t_4_14"]),
        as_of=as_of,
    )
    if status != "transferred":
        status = outcome.status  # progression, stopping and death at the seeds' rates
    if months_on_maintenance == 0:
        status = "pre_maintenance"
    height = Decimal(rng.randint(152, 178) if sex == "female" else rng.randint(163, 193))
    weight = Decimal(rng.randint(52, 95) if sex == "female" else rng.randint(62, 115))
    if sex == "female":
        can_become_pregnant = young_woman
        potential = "can_become_pregnant" if can_become_pregnant else "cannot_become_pregnant"
        menses = can_become_pregnant
        regular = (index % 2 == 0) if can_become_pregnant else None
    else:
        potential, menses, regular = "not_applicable", None, None
    given = rng.choice(GIVEN_FEMALE if sex == "female" else GIVEN_MALE)
    return DemoPatient(
        index=index,
        clinic_code=clinic_code,
        mrn=f"{clinic_code[0].upper()}{index:06d}",
        given_name=given,
        family_name=rng.choice(FAMILY),
        date_of_birth=born,
        sex=sex,
        height_cm=height,
        weight_kg=weight,
        status=status,
        reproductive_potential=potential,
        menses_in_past_24_months=menses,
        menses_regular=regular,
        diagnosed_on=diagnosed_on,
        heavy_chain=heavy_chain,
        light_chain=light_chain,
        iss=rng.choice(["I", "II", "III"]),
        riss=rng.choice(["I", "II", "II", "III"]),
        cytogenetics=cytogenetics,
        induction=rng.choice(INDUCTIONS),
        best_response=rng.choices(["sCR", "CR", "VGPR", "PR", "MR"], weights=[10, 20, 40, 26, 4])[
            0
        ],
        prior_vte=rng.random() < 0.08,
        neuropathy_grade=rng.choices([0, 1, 2], weights=[70, 22, 8])[0],
        on_dialysis=rng.random() < 0.02,
        transplanted_on=transplanted_on,
        date_of_death=outcome.death_on if status == "deceased" else None,
    )


DEMO_EMAIL_DOMAIN = "demo.example.org"


def ensure_clinics_and_users() -> tuple[dict[str, Clinic], list[tuple[str, str]]]:
    """Clinics, a user per role per clinic, and a superuser; returns (clinics, logins)."""
    ensure_roles()
    user_model = get_user_model()
    clinics = {}
    logins = []
    for code, name in CLINICS:
        clinic, _ = Clinic.objects.get_or_create(
            code=code, defaults={"name": name, "phone": CLINIC_PHONES.get(code, "")}
        )
        clinics[code] = clinic
        for prefix, role, first, last in ROLE_USERS:
            username = f"{prefix}.{code}"
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": f"{last} ({name.split()[0]})"},
            )
            if created or not user.email:
                # A grade 4 ANC emails the clinic's physicians: demo users need an address
                # (example.org never delivers; the console backend shows the message).
                user.email = f"{username}@{DEMO_EMAIL_DOMAIN}"
                if created:
                    user.set_password(DEMO_PASSWORD)
                user.save()
            user.groups.add(Group.objects.get(name=role))
            clinic.staff.add(user)
            logins.append((username, f"{role}, {name}"))
    admin, created = user_model.objects.get_or_create(
        username="admin",
        defaults={
            "is_staff": True,
            "is_superuser": True,
            "first_name": "Site",
            "last_name": "Admin",
        },
    )
    if created:
        admin.set_password(DEMO_PASSWORD)
        admin.save()
    logins.append(("admin", "superuser (Django admin, access log, rule settings)"))
    return clinics, logins


def seed_patients(
    *,
    count: int,
    seed: int,
    as_of: date,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Create the first ``count`` demo patients that do not exist yet; returns how many were new."""
    clinics, _ = ensure_clinics_and_users()
    existing = set(
        Patient.objects.filter(mrn__regex=r"^[NS][0-9]{6}$").values_list("clinic__code", "mrn")
    )
    created = 0
    for batch in _batches(
        (demo_patient(i, seed=seed, as_of=as_of) for i in range(count)), batch_size
    ):
        fresh = [p for p in batch if (p.clinic_code, p.mrn) not in existing]
        if fresh:
            _insert(fresh, clinics)
            created += len(fresh)
        if progress:
            progress(len(batch))
    return created


def _batches(items: Iterator[DemoPatient], size: int) -> Iterator[list[DemoPatient]]:
    batch: list[DemoPatient] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@transaction.atomic
def _insert(batch: list[DemoPatient], clinics: dict[str, Clinic]) -> None:
    bulk_create_with_history(
        [
            Patient(
                clinic=clinics[p.clinic_code],
                mrn=p.mrn,
                given_name=p.given_name,
                family_name=p.family_name,
                date_of_birth=p.date_of_birth,
                sex_at_birth=p.sex,
                height_cm=p.height_cm,
                status=p.status,
                date_of_death=p.date_of_death,
                reproductive_potential=p.reproductive_potential,
                menses_in_past_24_months=p.menses_in_past_24_months,
                menses_regular=p.menses_regular,
            )
            for p in batch
        ],
        Patient,
        default_change_reason="Synthetic demo cohort",
    )
    # bulk_create returns primary keys on PostgreSQL and SQLite; match rows back by MRN to be safe.
    by_mrn = {p.mrn: p for p in Patient.objects.filter(mrn__in=[b.mrn for b in batch])}
    bulk_create_with_history(
        [
            Diagnosis(
                patient=by_mrn[p.mrn],
                diagnosed_on=p.diagnosed_on,
                heavy_chain=p.heavy_chain,
                light_chain=p.light_chain,
                iss_stage=p.iss,
                riss_stage=p.riss,
                cytogenetics_tested_on=p.diagnosed_on + timedelta(days=10)
                if p.cytogenetics["del_17p"] is not None
                else None,
                induction_regimen=p.induction,
                best_response_pre_maintenance=p.best_response,
                prior_vte=p.prior_vte,
                neuropathy_grade=p.neuropathy_grade,
                on_dialysis=p.on_dialysis,
                **p.cytogenetics,
            )
            for p in batch
        ],
        Diagnosis,
        default_change_reason="Synthetic demo cohort",
    )
    bulk_create_with_history(
        [Transplant(patient=by_mrn[p.mrn], transplanted_on=p.transplanted_on) for p in batch],
        Transplant,
        default_change_reason="Synthetic demo cohort",
    )
    bulk_create_with_history(
        [
            WeightMeasurement(
                patient=by_mrn[p.mrn],
                measured_on=p.transplanted_on + timedelta(days=90),
                weight_kg=p.weight_kg,
            )
            for p in batch
        ],
        WeightMeasurement,
        default_change_reason="Synthetic demo cohort",
    )
