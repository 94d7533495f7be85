"""Server time of the main pages against the trivial logged-in page, on the current database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_bench python bench/pages.py

Build the cohort first with `python bench/make_cohort.py` (10,000 patients, years of labs).
"""

from __future__ import annotations

import argparse

from harness import machine, page_ratio_table, print_table, setup_django


def ten_year_patient(user):
    """A synthetic patient with ten years of monthly CBCs and quarterly M-protein and FLC
    (the issue's worst case for the timeline), created once in the user's first clinic."""
    from datetime import datetime, time, timedelta
    from decimal import Decimal

    from django.utils import timezone

    from patients.models import Diagnosis, LabResult, Patient

    clinic = user.clinics.order_by("pk").first()
    patient, created = Patient.objects.get_or_create(
        clinic=clinic,
        mrn="BENCH-10Y",
        defaults={
            "given_name": "Ten",
            "family_name": "Years",
            "date_of_birth": "1955-03-01",
            "sex_at_birth": "male",
        },
    )
    if created:
        Diagnosis.objects.create(
            patient=patient, diagnosed_on="2015-06-01", heavy_chain="IgG", light_chain="kappa"
        )
        start = timezone.localdate() - timedelta(days=3652)
        rows = []
        for month in range(121):
            on = timezone.make_aware(datetime.combine(start + timedelta(days=28 * month), time(9)))
            for code, value, unit in (
                ("ANC", "1.8", "10^9/L"),
                ("PLT", "160", "10^9/L"),
                ("HGB", "12.4", "g/dL"),
                ("WBC", "4.1", "10^9/L"),
            ):
                rows.append(
                    LabResult(
                        patient=patient,
                        test_code=code,
                        panel="cbc",
                        collected_at=on,
                        entered_at=on,
                        canonical_value=Decimal(value),
                        canonical_unit=unit,
                        ctcae_grade=0,
                        ctcae_version="5.0",
                    )
                )
            if month % 3 == 0:
                for code, value, unit in (
                    ("SPEP_M", str(max(0.2, 2.5 - month * 0.02))[:4], "g/dL"),
                    ("FLC_KAPPA", "80", "mg/L"),
                    ("FLC_LAMBDA", "12", "mg/L"),
                ):
                    rows.append(
                        LabResult(
                            patient=patient,
                            test_code=code,
                            panel="myeloma",
                            collected_at=on,
                            entered_at=on,
                            canonical_value=Decimal(value),
                            canonical_unit=unit,
                        )
                    )
        LabResult.objects.bulk_create(rows)
        _ten_year_course(patient, user, start)
    return patient


def _ten_year_course(patient, user, start):
    """A lenalidomide course over the ten years, with a dose reduction and two holds, so the
    timeline draws the regimen chart and hold shading as it does for a real patient."""
    from datetime import timedelta

    from therapy import services
    from therapy.models import Regimen

    regimen = Regimen.objects.get(code="len-10-d1-21")
    course = services.course_start(
        patient=patient,
        user=user,
        regimen=regimen,
        start_date=start,
        vte_prophylaxis="aspirin",
        aspirin_dose_mg=100,
        justification="Benchmark patient (synthetic)",
        today=start,
    )
    for offset in (400, 1900):
        services.hold_start(
            course=course,
            user=user,
            start_date=start + timedelta(days=offset),
            end_date=start + timedelta(days=offset + 14),
            reason="neutropenia",
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--user", default="physician.north")
    parser.add_argument("--repeat", type=int, default=15, help="requests per round, all pages")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (>= 3): page vs trivial page")
    parser.add_argument(
        "--only", default="", help="measure only the pages whose label contains this text"
    )
    args = parser.parse_args()
    setup_django()

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from patients.models import Patient

    user = get_user_model().objects.get(username=args.user)
    client = Client()
    client.force_login(user)
    patients = Patient.objects.for_user(user).valid()
    busiest = ten_year_patient(user)
    from patients.models import LabResult

    print(
        f"timeline patient: {busiest.mrn} with {LabResult.objects.filter(patient=busiest).count()} lab results over ten years"
    )

    candidates = [
        ("patient list", "patients:list", {}),
        ("patient record (same patient)", "patients:detail", {"public_id": busiest.public_id}),
        ("worklist", "monitoring:worklist", {}),
        ("physician inbox", "monitoring:inbox", {}),
        (
            "timeline (ten years of monthly labs)",
            "monitoring:timeline",
            {"public_id": busiest.public_id},
        ),
        ("REMS list", "therapy:rems_list", {}),
    ]
    pages = []
    for label, name, kwargs in candidates:
        try:
            pages.append((label, reverse(name, kwargs=kwargs)))
        except NoReverseMatch:
            print(f"(skipped {label}: no URL named {name})")
    pages = [(label, url) for label, url in pages if args.only.lower() in label.lower()]
    rows = page_ratio_table(
        client, pages, baseline=reverse("about"), repeat=args.repeat, rounds=max(3, args.rounds)
    )
    print(f"machine: {machine()}")
    print(f"cohort: {Patient.objects.count()} patients; user {args.user} sees {patients.count()}")
    print_table(
        "Server time per page (in-process Django test client; each page interleaved with the "
        f"trivial page, {max(3, args.rounds)} rounds; ratio min/median/max)",
        rows,
    )


if __name__ == "__main__":
    main()
