"""Issue 14 items 3-5 as a physician meets them: the start page names the renal dose, the
time since transplant and the baseline labs; the REMS pages let a recorded surgery decide
the suggested category, with its rule, for the physician to confirm.

Expected words and numbers come from the shared clinical reference (sections 1, 3, 5).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Diagnosis, Patient, Transplant
from tests.factories import DiagnosisFactory, PatientFactory, TransplantFactory, WeightFactory
from therapy import selectors

pytestmark = pytest.mark.django_db


def start_page(client, patient) -> str:
    response = client.get(reverse("therapy:course_start", args=[patient.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_start_page_names_the_renal_dose_below_30(client_for, physician, patient, enrolled, labs):
    today = timezone.localdate()
    # Male, 64 on the lab day: CrCl = (140-64) x 60 / (72 x 2.8) = 22.6 mL/min (CG, sec. 3).
    Patient.objects.filter(pk=patient.pk).update(date_of_birth=today.replace(year=today.year - 65))
    WeightFactory(patient=patient, measured_on=today, weight_kg=Decimal("60.0"))
    labs.add(patient, "CREAT", "2.8", today - timedelta(days=1), "mg/dL")
    html = start_page(client_for(physician), patient)
    assert "2.5 mg once daily" in html
    assert 'data-testid="renal-dose"' in html
    assert "30.0000" not in html


def test_start_page_names_the_dialysis_dose(client_for, physician, patient, enrolled, labs):
    today = timezone.localdate()
    Diagnosis.objects.filter(patient=patient).update(on_dialysis=True)
    WeightFactory(patient=patient, measured_on=today, weight_kg=Decimal("60.0"))
    labs.add(patient, "CREAT", "5.0", today - timedelta(days=1), "mg/dL")
    html = start_page(client_for(physician), patient)
    assert "given after dialysis on dialysis days" in html


def test_start_page_shows_the_day_count_since_transplant(client_for, physician, patient, enrolled):
    today = timezone.localdate()
    Transplant.objects.filter(patient=patient).update(transplanted_on=today - timedelta(days=40))
    html = start_page(client_for(physician), patient)
    assert "Time since transplant" in html
    assert f"transplant on {today - timedelta(days=40)}: day 40" in html
    assert "usual window day 90-110" in html


def test_checklist_counts_from_the_latest_valid_transplant(patient):
    today = timezone.localdate()
    Transplant.objects.filter(patient=patient).update(transplanted_on=today - timedelta(days=200))
    TransplantFactory(patient=patient, transplanted_on=today - timedelta(days=100))
    mistaken = TransplantFactory(patient=patient, transplanted_on=today - timedelta(days=10))
    mistaken.entered_in_error_at = timezone.now()
    mistaken.save()
    items = {i.item_id: i for i in selectors.eligibility_for(patient, as_of=today).items}
    assert items["transplant"].finding.values["day"] == 100
    assert items["transplant"].status == "pass"


def test_start_page_lists_missing_baseline_labs(client_for, physician, patient, enrolled, labs):
    today = timezone.localdate()
    for code in ("WBC", "ANC", "HGB", "PLT", "CREAT", "SPEP_M", "FLC_KAPPA"):
        labs.add(patient, code, "1", today - timedelta(days=2))
    html = start_page(client_for(physician), patient)
    assert "Baseline labs" in html
    assert "missing: free lambda" in html


@pytest.fixture
def oophorectomy(clinic_a):
    """The issue's case: a 44-year-old woman, bilateral oophorectomy recorded, childbearing
    potential not yet assessed."""
    today = timezone.localdate()
    patient = PatientFactory(
        clinic=clinic_a,
        sex_at_birth=Patient.Sex.FEMALE,
        date_of_birth=today.replace(year=today.year - 44) - timedelta(days=30),
        reproductive_potential=Patient.ReproductivePotential.UNKNOWN,
        bilateral_oophorectomy=True,
    )
    DiagnosisFactory(patient=patient)
    return patient


def test_recorded_oophorectomy_suggests_cannot_become_pregnant_on_the_rems_page(
    client_for, rems_admin, oophorectomy
):
    html = (
        client_for(rems_admin)
        .get(reverse("therapy:rems", args=[oophorectomy.public_id]))
        .content.decode()
    )
    assert "Adult female who cannot become pregnant" in html
    assert "recorded bilateral oophorectomy" in html
    assert "protective default" not in html


def test_enrollment_form_offers_the_surgical_category_for_confirmation(
    client_for, rems_admin, oophorectomy
):
    page = client_for(rems_admin).get(
        reverse("therapy:rems_enrollment", args=[oophorectomy.public_id])
    )
    html = page.content.decode()
    assert '<option value="fncbp_adult" selected>' in html
    assert "rems.suggest_risk_category" in html
    assert "physician confirms" in html


def test_recorded_oophorectomy_makes_pregnancy_tests_not_applicable(oophorectomy):
    items = {
        i.item_id: i
        for i in selectors.eligibility_for(oophorectomy, as_of=timezone.localdate()).items
    }
    assert items["pregnancy_tests"].status == "pass"
    assert "cannot become pregnant" in items["pregnancy_tests"].value_text
