"""Server time of the main pages against the trivial logged-in page, on the current database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_bench python bench/pages.py

Build the cohort first with `python bench/make_cohort.py` (10,000 patients, years of labs).
"""

from __future__ import annotations

import argparse

from harness import machine, page_table, print_table, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--user", default="physician.north")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    setup_django()

    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from patients.models import Patient

    user = get_user_model().objects.get(username=args.user)
    client = Client()
    client.force_login(user)
    patients = Patient.objects.for_user(user).valid()
    # The patient with the longest history is the hardest timeline.
    busiest = patients.annotate(n=Count("weights")).order_by("-n", "pk").first()
    try:
        from monitoring.models import LabResult  # noqa: F401 - only when the lab work exists

        busiest = patients.annotate(n=Count("labresult")).order_by("-n", "pk").first() or busiest
    except Exception:  # noqa: S110, BLE001 - optional app part
        pass

    candidates = [
        ("patient list", "patients:list", {}),
        ("patient record", "patients:detail", {"public_id": busiest.public_id}),
        ("worklist", "monitoring:worklist", {}),
        ("physician inbox", "monitoring:inbox", {}),
        ("timeline (longest history)", "monitoring:timeline", {"public_id": busiest.public_id}),
        ("REMS list", "therapy:rems_list", {}),
    ]
    pages = []
    for label, name, kwargs in candidates:
        try:
            pages.append((label, reverse(name, kwargs=kwargs)))
        except NoReverseMatch:
            print(f"(skipped {label}: no URL named {name})")
    rows = page_table(client, pages, baseline=reverse("about"), repeat=args.repeat)
    print(f"machine: {machine()}")
    print(f"cohort: {Patient.objects.count()} patients; user {args.user} sees {patients.count()}")
    print_table("Server time per page (in-process Django test client, median)", rows)


if __name__ == "__main__":
    main()
