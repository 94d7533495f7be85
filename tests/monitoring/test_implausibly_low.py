"""The lower plausibility limit of each catalogue test (issue 15): a value above zero but
below it is refused with the likely unit mix-up named, and saved only with an explicit
confirmation and a reason (a form checkbox and text; two API fields)."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from monitoring import errors
from patients import lab_catalogue as catalogue
from patients.models import LabResult

D = Decimal
ANC_MIXUP = (
    "Neutrophils (ANC) 0.4 /uL (0.0004 10^9/L) is below the lower plausibility limit of "
    "0.01 10^9/L. Likely unit mix-up: 0.4 is plausible in 10^9/L, not in /uL. "
    "To save it anyway, confirm the value and give a reason."
)


# Clinical reference sec. 10: above zero but below the analyser's reporting resolution,
# WBC, ANC, lymphocytes < 0.01 x10^9/L; platelets < 1 x10^9/L; hemoglobin < 3 g/dL.
@pytest.mark.parametrize(
    ("code", "below", "at", "above", "unit"),
    [
        ("WBC", "0.009", "0.01", "0.011", "10^9/L"),
        ("ANC", "0.009", "0.01", "0.011", "10^9/L"),
        ("LYMPH", "0.009", "0.01", "0.011", "10^9/L"),
        ("PLT", "0.9", "1", "1.1", "10^9/L"),
        ("HGB", "2.9", "3", "3.1", "g/dL"),
    ],
)
def test_lower_plausibility_limit_boundaries(code, below, at, above, unit):
    assert catalogue.check_implausibly_low(code, D(below), D(below), unit) is not None
    assert catalogue.check_implausibly_low(code, D(at), D(at), unit) is None
    assert catalogue.check_implausibly_low(code, D(above), D(above), unit) is None


@pytest.mark.parametrize("code", ["WBC", "ANC", "LYMPH", "PLT"])
def test_a_count_of_zero_is_never_a_unit_mixup(code):
    assert catalogue.check_implausibly_low(code, D(0), D(0), "/uL") is None


def test_every_numeric_test_has_a_lower_plausibility_limit():
    numeric = [t for t in catalogue.TESTS if t.is_numeric]
    assert all(t.low_plausibility_limit is not None for t in numeric)
    assert all(t.low_plausibility_limit < (t.plausible_high or D("Infinity")) for t in numeric)


def test_message_names_the_likely_unit_mixup():
    canonical = catalogue.to_canonical("ANC", D("0.4"), "/uL")
    assert catalogue.check_implausibly_low("ANC", canonical, D("0.4"), "/uL") == ANC_MIXUP


def _api(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _post(user, patient, **extra):
    return _api(user).post(
        f"/api/v1/patients/{patient.public_id}/labs/",
        {
            "collected_at": "2025-03-03T08:30:00-05:00",
            "results": [{"test": "ANC", "value": "0.4", "unit": "/uL", **extra}],
        },
        format="json",
    )


@pytest.mark.django_db
def test_api_refuses_anc_0_4_per_microlitre_naming_the_mixup(nurse, patient):
    response = _post(nurse, patient)
    assert response.status_code == 400
    assert response.json()["results"][0]["errors"] == [ANC_MIXUP]
    assert not LabResult.objects.exists()


@pytest.mark.django_db
def test_api_confirmation_without_a_reason_is_still_refused(nurse, patient):
    response = _post(nurse, patient, confirm_implausibly_low=True)
    assert response.status_code == 400
    assert response.json()["results"][0]["errors"] == [
        errors.LOW_VALUE_REASON_REQUIRED.format(test="Neutrophils (ANC)")
    ]
    assert not LabResult.objects.exists()


@pytest.mark.django_db
def test_api_a_reason_without_the_confirmation_is_still_refused(nurse, patient):
    response = _post(nurse, patient, implausibly_low_reason="lab confirmed")
    assert response.status_code == 400
    assert not LabResult.objects.exists()


@pytest.mark.django_db
def test_api_saves_a_confirmed_low_value_with_its_reason(nurse, patient):
    response = _post(
        nurse, patient, confirm_implausibly_low=True, implausibly_low_reason="Lab phoned: right"
    )
    assert response.status_code == 201
    saved = LabResult.objects.get()
    assert saved.canonical_value == D("0.0004")
    assert saved.low_value_reason == "Lab phoned: right"
    assert "Lab phoned: right" in saved.history.first().history_change_reason


@pytest.mark.django_db
def test_api_schema_documents_the_confirmation_fields(client, nurse):
    client.force_login(nurse)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    fields = schema["components"]["schemas"]["LabValueIn"]["properties"]
    assert "lower plausibility limit" in fields["confirm_implausibly_low"]["description"]
    assert "implausibly_low_reason" in fields


@pytest.mark.django_db
def test_nurse_page_refuses_then_saves_with_confirmation_and_reason(client_for, nurse, patient):
    url = reverse("monitoring:lab_entry", args=[patient.public_id, "cbc"])
    data = {"collected_at": "2025-03-03 08:30", "value_ANC": "0.4", "unit_ANC": "/uL"}
    client = client_for(nurse)
    refused = client.post(url, data)
    page = html.unescape(refused.content.decode())
    assert refused.status_code == 400
    assert ANC_MIXUP in page
    assert 'name="confirm_low_ANC"' in page and 'name="low_reason_ANC"' in page
    assert not LabResult.objects.exists()
    only_ticked = client.post(url, {**data, "confirm_low_ANC": "on"})
    assert only_ticked.status_code == 400
    assert not LabResult.objects.exists()
    saved = client.post(
        url, {**data, "confirm_low_ANC": "on", "low_reason_ANC": "Confirmed with the lab"}
    )
    assert saved.status_code == 302
    assert LabResult.objects.get().low_value_reason == "Confirmed with the lab"
