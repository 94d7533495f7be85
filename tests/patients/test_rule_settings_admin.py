"""Rule settings in Django admin: only keys a rule reads, a new version in plain words,
and no Save button on a stored (read-only) version."""

from datetime import date

import pytest
from django.urls import reverse

from patients.models import RuleSetting

pytestmark = pytest.mark.django_db

KEY = "dosing.hold.anc_below"  # a key the dosing rule reads, in 10^9/L


def _new_version(**overrides):
    data = {
        "key": KEY,
        "version": "2",
        "clinic": "",
        "value": "0.5",
        "unit": "10^9/L",
        "status": "label",
        "source": "Lenalidomide US PI",
        "effective_from": "2026-12-01",
        "change_reason": "Review",
    }
    data.update(overrides)
    return data


@pytest.fixture
def version_1():
    # Migration 0008 seeds version 1 of every key; take it, or write it when a
    # transactional test flushed the table.
    setting, _ = RuleSetting.objects.get_or_create(
        key=KEY,
        version=1,
        clinic=None,
        defaults={
            "value": "0.5",
            "unit": "10^9/L",
            "status": "label",
            "source": "Lenalidomide US PI",
            "effective_from": date(2025, 1, 1),
        },
    )
    return setting


def test_a_new_version_of_a_known_key_is_saved(client_for, superuser, version_1):
    response = client_for(superuser).post(reverse("admin:patients_rulesetting_add"), _new_version())
    assert response.status_code == 302
    assert RuleSetting.objects.get(key=KEY, version=2).changed_by == superuser


def test_a_misspelt_key_is_refused_with_the_likely_key(client_for, superuser, version_1):
    response = client_for(superuser).post(
        reverse("admin:patients_rulesetting_add"), _new_version(key="dosing.hold.anc_bellow")
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "is not a rule setting any rule reads" in page
    assert f"Did you mean {KEY}?" in page
    assert not RuleSetting.objects.filter(key="dosing.hold.anc_bellow").exists()


def test_a_version_that_is_not_new_gets_a_plain_message(client_for, superuser, version_1):
    response = client_for(superuser).post(
        reverse("admin:patients_rulesetting_add"), _new_version(version="1", value="0.6")
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "already has version 1" in page
    assert "use version 2" in page
    assert "patients_rulesetting_unique" not in page
    assert RuleSetting.objects.filter(key=KEY).count() == 1


def test_a_value_in_another_unit_is_refused(client_for, superuser, version_1):
    response = client_for(superuser).post(
        reverse("admin:patients_rulesetting_add"), _new_version(unit="/uL")
    )
    assert response.status_code == 200
    assert "read in 10^9/L" in response.content.decode()


def test_a_stored_version_has_no_save_button(client_for, superuser, version_1):
    page = (
        client_for(superuser)
        .get(reverse("admin:patients_rulesetting_change", args=[version_1.pk]))
        .content.decode()
    )
    assert KEY in page
    assert 'name="_save"' not in page
    assert 'name="_continue"' not in page
    assert 'name="_addanother"' not in page


def test_the_add_page_keeps_its_save_button(client_for, superuser):
    page = client_for(superuser).get(reverse("admin:patients_rulesetting_add")).content.decode()
    assert 'name="_save"' in page
