"""Seed the regimen catalogue from the clinical reference, section 2.

The data is written out here (not imported) so this migration keeps meaning what it meant
when it ran. Physicians and administrators edit the catalogue afterwards (Django admin).
Re-running is harmless: rows are matched by code and never overwritten.
"""

from decimal import Decimal

from django.db import migrations

PI = "Lenalidomide US PI, maintenance therapy following auto-HSCT"
SEED = "Seed documents (clinical reference sec. 2)"

AGENTS = [
    ("lenalidomide", "Lenalidomide", "imid"),
    ("thalidomide", "Thalidomide", "imid"),
    ("pomalidomide", "Pomalidomide", "imid"),
    ("bortezomib", "Bortezomib", "pi"),
    ("ixazomib", "Ixazomib", "pi"),
    ("carfilzomib", "Carfilzomib", "pi"),
    ("daratumumab", "Daratumumab", "anti_cd38"),
]

LEN_10_21 = ("lenalidomide", "oral", "10", "mg", "1-21", "once daily")

# code, name, kind, len dose, len days, spec, status, source, notes, order, components
REGIMENS = [
    (
        "len-10-d1-28",
        "Lenalidomide 10 mg days 1-28 of 28 (label)",
        "lenalidomide",
        "10",
        28,
        "",
        "label",
        PI,
        "May increase to 15 mg after 3 cycles if tolerated.",
        10,
        [("lenalidomide", "oral", "10", "mg", "1-28", "once daily")],
    ),
    (
        "len-10-d1-21",
        "Lenalidomide 10 mg days 1-21 of 28 (common practice)",
        "lenalidomide",
        "10",
        21,
        "",
        "seed",
        SEED + ": Myeloma XI, GIMEMA",
        "",
        20,
        [LEN_10_21],
    ),
    (
        "len-15-d1-28",
        "Lenalidomide 15 mg days 1-28 of 28",
        "lenalidomide",
        "15",
        28,
        "",
        "label",
        PI,
        "Escalation after 3 cycles of 10 mg if tolerated.",
        30,
        [("lenalidomide", "oral", "15", "mg", "1-28", "once daily")],
    ),
    (
        "len-5-d1-28",
        "Lenalidomide 5 mg days 1-28 of 28 (renal start, CrCl 30-59)",
        "lenalidomide",
        "5",
        28,
        "",
        "label",
        "Lenalidomide US PI, renal impairment",
        "",
        40,
        [("lenalidomide", "oral", "5", "mg", "1-28", "once daily")],
    ),
    (
        "len-5-d1-21",
        "Lenalidomide 5 mg days 1-21 of 28 (lowest label level)",
        "lenalidomide",
        "5",
        21,
        "",
        "label",
        PI,
        "Never below 5 mg days 1-21 on the label ladder.",
        50,
        [("lenalidomide", "oral", "5", "mg", "1-21", "once daily")],
    ),
    (
        "len-2.5-d1-28",
        "Lenalidomide 2.5 mg days 1-28 of 28 (renal start, CrCl < 30 or dialysis)",
        "lenalidomide",
        "2.5",
        28,
        "",
        "common",
        "Lenalidomide US PI, renal impairment",
        "On dialysis days give after dialysis.",
        60,
        [("lenalidomide", "oral", "2.5", "mg", "1-28", "once daily")],
    ),
    (
        "len-bortezomib",
        "Lenalidomide + bortezomib (high risk)",
        "combination",
        "10",
        21,
        "",
        "seed",
        SEED,
        "",
        70,
        [LEN_10_21, ("bortezomib", "sc", "1.3", "mg/m2", "1,15", "every 2 weeks")],
    ),
    (
        "len-ixazomib",
        "Lenalidomide + ixazomib (high risk)",
        "combination",
        "10",
        21,
        "",
        "seed",
        SEED,
        "",
        80,
        [LEN_10_21, ("ixazomib", "oral", "3", "mg", "1,8,15", "weekly x3 of 4")],
    ),
    (
        "len-daratumumab",
        "Lenalidomide + daratumumab (high risk)",
        "combination",
        "10",
        21,
        "",
        "seed",
        SEED,
        "",
        90,
        [LEN_10_21, ("daratumumab", "sc", "1800", "mg", "1", "every 4 weeks")],
    ),
    (
        "len-carfilzomib",
        "Lenalidomide + carfilzomib (FORTE, high risk)",
        "combination",
        "10",
        21,
        "",
        "seed",
        SEED + ": FORTE",
        "",
        100,
        [LEN_10_21, ("carfilzomib", "iv", "70", "mg/m2", "1,15", "days 1 and 15")],
    ),
    (
        "ixazomib",
        "Ixazomib 3 mg days 1, 8, 15 of 28",
        "alternative",
        None,
        None,
        "1,8,15",
        "seed",
        SEED,
        "Oral proteasome inhibitor.",
        110,
        [("ixazomib", "oral", "3", "mg", "1,8,15", "weekly x3 of 4")],
    ),
    (
        "bortezomib",
        "Bortezomib 1.3 mg/m2 every 2 weeks",
        "alternative",
        None,
        None,
        "1,15",
        "seed",
        SEED,
        "",
        120,
        [("bortezomib", "sc", "1.3", "mg/m2", "1,15", "every 2 weeks")],
    ),
    (
        "daratumumab",
        "Daratumumab 1800 mg SC every 4 weeks",
        "alternative",
        None,
        None,
        "1",
        "seed",
        SEED,
        "",
        130,
        [("daratumumab", "sc", "1800", "mg", "1", "every 4 weeks")],
    ),
    (
        "thalidomide",
        "Thalidomide 100 mg continuous",
        "alternative",
        None,
        None,
        "1-28",
        "seed",
        SEED,
        "100-200 mg continuous.",
        140,
        [("thalidomide", "oral", "100", "mg", "1-28", "once daily")],
    ),
    (
        "pomalidomide",
        "Pomalidomide 4 mg continuous",
        "alternative",
        None,
        None,
        "1-28",
        "seed",
        SEED,
        "",
        150,
        [("pomalidomide", "oral", "4", "mg", "1-28", "once daily")],
    ),
]


def seed_catalogue(apps, schema_editor):
    Agent = apps.get_model("therapy", "Agent")
    Regimen = apps.get_model("therapy", "Regimen")
    Component = apps.get_model("therapy", "RegimenComponent")
    agents = {}
    for code, name, drug_class in AGENTS:
        agents[code], _ = Agent.objects.get_or_create(
            code=code, defaults={"name": name, "drug_class": drug_class}
        )
    for code, name, kind, dose, days, spec, status, source, notes, order, parts in REGIMENS:
        regimen, created = Regimen.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "cycle_days": 28,
                "lenalidomide_dose_mg": Decimal(dose) if dose else None,
                "lenalidomide_dosing_days": days,
                "dosing_days_spec": spec,
                "source_status": status,
                "source": source,
                "notes": notes,
                "display_order": order,
            },
        )
        if not created:
            continue
        for agent, route, amount, unit, cycle_days, frequency in parts:
            Component.objects.create(
                regimen=regimen,
                agent=agents[agent],
                route=route,
                dose=Decimal(amount),
                unit=unit,
                days=cycle_days,
                frequency_note=frequency,
            )


class Migration(migrations.Migration):
    dependencies = [("therapy", "0001_initial")]

    operations = [migrations.RunPython(seed_catalogue, migrations.RunPython.noop)]
