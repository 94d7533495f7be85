"""Registering and editing patients through the pages, with the messages a user reads."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from patients import errors
from patients.models import Diagnosis, Patient, Transplant
from tests.factories import PatientFactory

TODAY = date(2026, 11, 21)
NOON = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)  # midday in the clinic (America/New_York)


def registration(clinic, **overrides):
    data = {
        "extras-clinic": clinic.pk,
        "extras-transplant_date": "2025-03-01",
        "extras-weight_kg": "72.5",
        "patient-mrn": "NEW-1",
        "patient-given_name": "Grace",
        "patient-family_name": "Hopper",
        "patient-date_of_birth": "1958-12-09",
        "patient-sex_at_birth": "female",
        "patient-height_cm": "168",
        "patient-status": "active",
        "patient-reproductive_potential": "cannot_become_pregnant",
        "diagnosis-diagnosed_on": "2024-10-01",
        "diagnosis-heavy_chain": "IgG",
        "diagnosis-light_chain": "kappa",
        "diagnosis-iss_stage": "II",
        "diagnosis-riss_stage": "II",
        "diagnosis-del_17p": "true",
        "diagnosis-best_response_pre_maintenance": "VGPR",
        "diagnosis-neuropathy_grade": "1",
    }
    data.update(overrides)
    return data


@pytest.fixture(autouse=True)
def _clinic_day(time_machine):
    # Before any login, so sessions are made on the same clock as the request.
    time_machine.move_to(NOON)


@pytest.fixture
def physician_client(client_for, physician):
    return client_for(physician)


@pytest.mark.django_db
def test_physician_registers_a_patient_with_diagnosis_transplant_and_weight(
    physician_client, clinic_a
):
    response = physician_client.post(reverse("patients:create"), registration(clinic_a))
    patient = Patient.objects.get(mrn="NEW-1")
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.public_id])
    assert patient.diagnosis.del_17p is True
    assert patient.diagnosis.t_4_14 is None  # not tested stays "not tested", never "absent"
    assert patient.transplants.get().transplanted_on == date(2025, 3, 1)
    assert patient.weights.get().measured_on == TODAY
    page = physician_client.get(response["Location"]).content.decode()
    assert "High risk: del(17p) found." in page
    assert "IMWG high-risk cytogenetics" in page


@pytest.mark.django_db
def test_birth_date_in_the_future_is_refused_with_a_clear_message(physician_client, clinic_a):
    response = physician_client.post(
        reverse("patients:create"),
        registration(clinic_a, **{"patient-date_of_birth": "2027-01-01"}),
    )
    assert response.status_code == 200
    assert errors.BIRTH_DATE_IN_FUTURE.format(value="2027-01-01") in response.content.decode()
    assert not Patient.objects.filter(mrn="NEW-1").exists()


@pytest.mark.django_db
def test_transplant_before_diagnosis_is_refused_and_nothing_is_saved(physician_client, clinic_a):
    response = physician_client.post(
        reverse("patients:create"),
        registration(clinic_a, **{"extras-transplant_date": "2024-01-01"}),
    )
    message = errors.TRANSPLANT_BEFORE_DIAGNOSIS.format(value="2024-01-01", diagnosed="2024-10-01")
    assert message in response.content.decode()
    # The patient row was written before the transplant check; the transaction undid it.
    assert not Patient.objects.filter(mrn="NEW-1").exists()
    assert not Diagnosis.objects.exists()
    assert not Transplant.objects.exists()


@pytest.mark.django_db
def test_duplicate_mrn_in_the_same_clinic_is_refused(physician_client, clinic_a):
    PatientFactory(clinic=clinic_a, mrn="NEW-1")
    response = physician_client.post(reverse("patients:create"), registration(clinic_a))
    assert errors.MRN_TAKEN.format(mrn="NEW-1", clinic=clinic_a) in response.content.decode()
    assert Patient.objects.filter(mrn="NEW-1").count() == 1


@pytest.mark.django_db
def test_same_mrn_in_another_clinic_is_a_different_patient(
    client_for, physician, clinic_a, clinic_b
):
    clinic_b.staff.add(physician)
    PatientFactory(clinic=clinic_b, mrn="NEW-1")
    response = client_for(physician).post(reverse("patients:create"), registration(clinic_a))
    assert response.status_code == 302
    assert Patient.objects.filter(mrn="NEW-1").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("height", "accepted"),
    [("49.9", False), ("50", True), ("250", True), ("250.1", False), ("1750", False)],
)
def test_impossible_heights_are_refused(physician_client, clinic_a, height, accepted):
    response = physician_client.post(
        reverse("patients:create"), registration(clinic_a, **{"patient-height_cm": height})
    )
    assert Patient.objects.filter(mrn="NEW-1").exists() is accepted
    if not accepted:
        assert "height" in response.content.decode().lower()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("weight", "accepted"), [("24.9", False), ("25", True), ("350", True), ("350.1", False)]
)
def test_impossible_weights_are_refused(client_for, nurse, patient, weight, accepted):
    response = client_for(nurse).post(
        reverse("patients:weight_add", args=[patient.public_id]),
        {"measured_on": "2026-11-01", "weight_kg": weight},
    )
    assert patient.weights.exists() is accepted
    if not accepted:
        assert response.status_code == 400
        assert errors.WEIGHT_IMPOSSIBLE.format(value=weight) in response.content.decode()


@pytest.mark.django_db
def test_weight_in_the_future_is_refused(client_for, nurse, patient):
    tomorrow = TODAY + timedelta(days=1)
    response = client_for(nurse).post(
        reverse("patients:weight_add", args=[patient.public_id]),
        {"measured_on": tomorrow.isoformat(), "weight_kg": "70"},
    )
    assert errors.WEIGHT_IN_FUTURE.format(value=tomorrow) in response.content.decode()


@pytest.mark.django_db
def test_registering_in_a_clinic_the_user_does_not_work_in_is_refused(physician_client, clinic_b):
    response = physician_client.post(reverse("patients:create"), registration(clinic_b))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Patient.objects.filter(mrn="NEW-1").exists()


@pytest.mark.django_db
def test_male_patient_cannot_be_given_menses_facts(physician_client, clinic_a):
    data = registration(
        clinic_a, **{"patient-sex_at_birth": "male", "patient-menses_in_past_24_months": "true"}
    )
    response = physician_client.post(reverse("patients:create"), data)
    assert errors.NOT_A_FEMALE_FACT in response.content.decode()


@pytest.mark.django_db
def test_deceased_status_needs_a_date_of_death(client_for, physician, patient):
    response = client_for(physician).post(
        reverse("patients:edit", args=[patient.public_id]),
        {
            "mrn": patient.mrn,
            "given_name": "Ada",
            "family_name": "Lovelace",
            "date_of_birth": "1960-05-17",
            "sex_at_birth": "male",
            "status": "deceased",
            "reproductive_potential": "not_applicable",
        },
    )
    assert errors.DEATH_DATE_REQUIRED in response.content.decode()
    patient.refresh_from_db()
    assert patient.status == "active"
