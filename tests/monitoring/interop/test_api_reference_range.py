"""The API lab POST takes an optional reference range per result."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from patients.models import LabResult

pytestmark = pytest.mark.django_db


def test_api_result_with_the_labs_range_is_graded_against_its_lln(nurse, patient):
    client = APIClient()
    client.force_authenticate(nurse)
    body = {
        "collected_at": "2025-03-03T08:30:00-05:00",
        "results": [
            {"test": "PLT", "value": "99", "unit": "10^9/L", "ref_low": "100", "ref_high": "400"},
            {"test": "WBC", "value": "4.9", "unit": "10^9/L"},
        ],
    }
    response = client.post(f"/api/v1/patients/{patient.public_id}/labs/", body, format="json")

    assert response.status_code == 201, response.content
    plt = LabResult.objects.get(test_code="PLT")
    assert plt.ref_from_lab and plt.ref_low == Decimal("100") and plt.ctcae_grade == 1
    wbc = LabResult.objects.get(test_code="WBC")
    assert not wbc.ref_from_lab and wbc.ref_low == Decimal("4.0") and wbc.ctcae_grade == 0


def test_api_reference_range_that_is_not_a_number_is_a_400(nurse, patient):
    client = APIClient()
    client.force_authenticate(nurse)
    body = {
        "collected_at": "2025-03-03T08:30:00-05:00",
        "results": [{"test": "PLT", "value": "99", "unit": "10^9/L", "ref_low": "low"}],
    }
    response = client.post(f"/api/v1/patients/{patient.public_id}/labs/", body, format="json")

    assert response.status_code == 400 and not LabResult.objects.exists()
