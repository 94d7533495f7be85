"""Every number a clinician reads is readable: the pages, flag messages, suggestions and CSV
of a seeded demo clinic never show a number with five or more decimals or an exponent
("1.9900000000 g/dL", "0E-10", "30.0000 days")."""

import re
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from monitoring.models import Flag
from patients.models import LabResult, Patient
from therapy.models import DoseSuggestion

# Five or more decimals, a stored column's padding ("30.0000"), or an exponent (1E+1, 0E-10).
UNREADABLE = re.compile(r"\d\.\d{5,}|\d\.\d*000\b|\b\d+(?:\.\d+)?[eE][+-]?\d+\b")

PATIENT_PAGES = [
    "patients:detail",
    "patients:history",
    "monitoring:labs",
    "monitoring:patient_flags",
    "monitoring:timeline",
    "monitoring:timeline_tables",
    "therapy:course",
    "therapy:history",
    "therapy:rems",
]
LIST_PAGES = [
    "patients:list",
    "monitoring:worklist",
    "monitoring:inbox",
    "therapy:rems_list",
    "therapy:regimens",
    "rule_settings",
]


def visible_text(html: str) -> str:
    """What a person reads: no scripts (chart data), no tags or attributes."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return unescape(html)


def unreadable(text: str) -> list[str]:
    return [text[max(0, m.start() - 40) : m.end() + 20].strip() for m in UNREADABLE.finditer(text)]


@pytest.fixture
def demo(db):
    call_command("seed_demo", "--patients", "12", "--as-of", "2026-11-21")
    return get_user_model().objects


def test_demo_pages_flags_and_csv_show_no_unreadable_number(client, demo):
    found: dict[str, list[str]] = {}
    for username in ("physician.north", "nurse.north", "rems.north"):
        client.force_login(demo.get(username=username))
        user = demo.get(username=username)
        for name in LIST_PAGES:
            response = client.get(reverse(name))
            if response.status_code == 200:
                found[f"{username} {name}"] = unreadable(visible_text(response.content.decode()))
        for patient in Patient.objects.for_user(user).valid()[:6]:
            for name in PATIENT_PAGES:
                response = client.get(reverse(name, args=[patient.public_id]))
                if response.status_code == 200:
                    text = visible_text(response.content.decode())
                    found[f"{username} {name} {patient.mrn}"] = unreadable(text)
            for result in LabResult.objects.filter(patient=patient)[:3]:
                url = reverse("monitoring:result", args=[patient.public_id, result.pk])
                response = client.get(url)
                if response.status_code == 200:
                    text = visible_text(response.content.decode())
                    found[f"{username} result {result.pk}"] = unreadable(text)
    # The timeline and its data tables were read, not skipped as refused.
    assert any(k.startswith("physician.north monitoring:timeline_tables ") for k in found)
    assert any(k.startswith("nurse.north monitoring:timeline ") for k in found)
    client.force_login(demo.get(username="rems.north"))
    csv_text = client.get(reverse("therapy:rems_export")).content.decode()
    found["REMS CSV"] = unreadable(csv_text)
    for flag in Flag.objects.all():
        found[f"flag {flag.pk} {flag.kind}"] = unreadable(flag.message)
    for suggestion in DoseSuggestion.objects.all():
        found[f"suggestion {suggestion.pk}"] = unreadable(suggestion.message)
    problems = {where: hits for where, hits in found.items() if hits}
    assert not problems, "\n".join(f"{w}: {h[0]}" for w, h in problems.items())
    assert len(found) > 50  # the pages were really rendered


@pytest.mark.parametrize(
    "text",
    [
        "Hemoglobin 101.0000000000 g/dL",
        "serum M-protein 1.99000 g/dL",
        "nadir 0E-10",
        "dose 1E+1 mg",
        "2.5e-7",
        "30.0000 days",
        "0.5000 10^9/L",
    ],
)
def test_the_check_catches_unreadable_numbers(text):
    assert unreadable(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hemoglobin 10.1 g/dL",
        "0.5 10^9/L",
        "30 days",
        "2026-11-30 14:05",
        "AN000026",
        "MRD 2 × 10^-6 fraction",
    ],
)
def test_the_check_lets_readable_numbers_pass(text):
    assert not unreadable(text)
