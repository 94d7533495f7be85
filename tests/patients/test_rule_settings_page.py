from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from monitoring.rules.registry import all_rule_defaults
from patients.models import RuleSetting
from patients.rulebook import Threshold
from patients.selectors import rule_thresholds
from patients.services import rule_settings_seed


@pytest.mark.django_db
def test_rule_settings_page_lists_every_seeded_threshold_with_its_source(client_for, nurse):
    # The migrations seed every threshold; the demo seeding then adds nothing.
    assert rule_settings_seed(defaults=all_rule_defaults(), effective_from=date(2026, 1, 1)) == 0
    added = len(all_rule_defaults())
    page = client_for(nurse).get(reverse("rule_settings")).content.decode()
    assert "dosing.hold.anc_below" in page
    assert "0.5 10^9/L" in page
    assert page.count("<code>") == added


@pytest.mark.django_db
def test_seeding_twice_adds_nothing_and_keeps_a_clinics_newer_version():
    defaults = all_rule_defaults()
    rule_settings_seed(defaults=defaults, effective_from=date(2026, 1, 1))
    RuleSetting.objects.create(
        key="dosing.hold.anc_below",
        version=2,
        value=Decimal("0.6"),
        unit="10^9/L",
        status="common",
        source="Local policy",
        effective_from=date(2026, 6, 1),
    )
    assert rule_settings_seed(defaults=defaults, effective_from=date(2026, 1, 1)) == 0
    default = next(t for t in defaults if t.key == "dosing.hold.anc_below")
    in_force = rule_thresholds((default,))["dosing.hold.anc_below"]
    assert (in_force.value, in_force.version, in_force.source) == (
        Decimal("0.6"),
        2,
        "Local policy",
    )


@pytest.mark.django_db
def test_a_clinic_override_wins_for_that_clinic_only(clinic_a, clinic_b):
    default = Threshold("schedule.cbc.grace", Decimal("3"), "days", "common", "Reference sec. 4")
    RuleSetting.objects.filter(key=default.key).delete()  # start from no stored version
    RuleSetting.objects.create(
        key=default.key,
        version=1,
        value=Decimal("3"),
        unit="days",
        status="common",
        source="ref",
        effective_from=date(2026, 1, 1),
    )
    RuleSetting.objects.create(
        key=default.key,
        version=1,
        clinic=clinic_a,
        value=Decimal("5"),
        unit="days",
        status="common",
        source="Alpha clinic policy",
        effective_from=date(2026, 1, 1),
    )
    assert rule_thresholds((default,), clinic_id=clinic_a.pk)[default.key].value == Decimal("5")
    assert rule_thresholds((default,), clinic_id=clinic_b.pk)[default.key].value == Decimal("3")


@pytest.mark.django_db
def test_about_page_is_a_plain_logged_in_page(client_for, nurse, client):
    assert client.get(reverse("about")).status_code == 302
    assert "decision support" in client_for(nurse).get(reverse("about")).content.decode()


@pytest.mark.django_db
def test_a_version_dated_in_the_future_does_not_apply_before_its_date():
    default = Threshold("dosing.hold.anc_below", Decimal("0.5"), "10^9/L", "label", "PI")
    RuleSetting.objects.filter(key=default.key).delete()  # start from no stored version
    RuleSetting.objects.create(
        key=default.key,
        version=1,
        value=Decimal("0.5"),
        unit="10^9/L",
        status="label",
        source="PI",
        effective_from=date(2026, 1, 1),
    )
    RuleSetting.objects.create(
        key=default.key,
        version=2,
        value=Decimal("0.7"),
        unit="10^9/L",
        status="common",
        source="Local policy from July",
        effective_from=date(2026, 7, 1),
    )
    assert rule_thresholds((default,), as_of=date(2026, 6, 30))[default.key].version == 1
    assert rule_thresholds((default,), as_of=date(2026, 7, 1))[default.key].value == Decimal("0.7")
