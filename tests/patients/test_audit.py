"""History of clinical changes, the access log and entered-in-error marking."""

import pytest
from django.urls import reverse

from patients.models import PatientAccess, Transplant


def edit_data(patient, **overrides):
    data = {
        "mrn": patient.mrn,
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex_at_birth": patient.sex_at_birth,
        "height_cm": "175.0",
        "status": patient.status,
        "reproductive_potential": patient.reproductive_potential,
        "change_reason": "Typo at registration",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_editing_demographics_keeps_who_when_old_and_new_values(client_for, physician, patient):
    client = client_for(physician)
    response = client.post(
        reverse("patients:edit", args=[patient.public_id]), edit_data(patient, height_cm="171.0")
    )
    assert response.status_code == 302
    latest = patient.history.latest()
    assert latest.history_user == physician
    assert latest.history_change_reason == "Typo at registration"
    page = client.get(reverse("patients:history", args=[patient.public_id])).content.decode()
    # In words: the field's label, numbers without trailing zeros, the person's name.
    assert "height_cm" not in page
    assert "Height (cm): 175 → 171" in page
    assert "Demographics changed" in page
    assert "by Paul Physician" in page
    assert "Typo at registration" in page


@pytest.mark.django_db
def test_every_view_of_a_patient_record_is_logged(client_for, nurse, patient):
    client = client_for(nurse)
    client.get(reverse("patients:detail", args=[patient.public_id]))
    client.get(reverse("patients:history", args=[patient.public_id]))
    log = list(PatientAccess.objects.filter(patient=patient).order_by("accessed_at"))
    assert [(entry.user, entry.path) for entry in log] == [
        (nurse, reverse("patients:detail", args=[patient.public_id])),
        (nurse, reverse("patients:history", args=[patient.public_id])),
    ]


@pytest.mark.django_db
def test_a_refused_view_is_not_logged_as_an_access(client_for, outsider, patient):
    client_for(outsider).get(reverse("patients:detail", args=[patient.public_id]))
    assert not PatientAccess.objects.exists()


@pytest.mark.django_db
def test_marking_a_transplant_entered_in_error_keeps_the_row_and_the_reason(
    client_for, physician, patient
):
    transplant = patient.transplants.get()
    client = client_for(physician)
    url = reverse("patients:mark_error", args=[patient.public_id, "transplant", transplant.pk])
    response = client.post(url, {"reason": "Wrong patient"})
    assert response.status_code == 302
    transplant = Transplant.objects.get(pk=transplant.pk)
    assert transplant.entered_in_error_by == physician
    assert transplant.entered_in_error_reason == "Wrong patient"
    assert not Transplant.objects.valid().filter(patient=patient).exists()
    page = client.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
    assert "No transplant recorded." in page
    history = client.get(reverse("patients:history", args=[patient.public_id])).content.decode()
    assert "Transplant marked entered in error" in history
    assert "Wrong patient" in history


@pytest.mark.django_db
def test_entered_in_error_needs_a_reason(client_for, physician, patient):
    transplant = patient.transplants.get()
    url = reverse("patients:mark_error", args=[patient.public_id, "transplant", transplant.pk])
    response = client_for(physician).post(url, {"reason": "  "})
    assert response.status_code == 200
    assert Transplant.objects.valid().filter(pk=transplant.pk).exists()


@pytest.mark.django_db
def test_nothing_clinical_can_be_deleted_even_in_admin(client_for, superuser, patient):
    client = client_for(superuser)
    response = client.post(f"/admin/patients/patient/{patient.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert type(patient).objects.filter(pk=patient.pk).exists()


@pytest.mark.django_db
def test_a_duplicate_registration_is_marked_entered_in_error_and_leaves_the_list(
    client_for, physician, patient
):
    client = client_for(physician)
    url = reverse("patients:mark_error", args=[patient.public_id, "patient", patient.pk])
    assert client.post(url, {"reason": "Duplicate of MRN A-1000"}).status_code == 302
    patient.refresh_from_db()
    assert patient.entered_in_error_reason == "Duplicate of MRN A-1000"
    listing = client.get(reverse("patients:list")).content.decode()
    assert reverse("patients:detail", args=[patient.public_id]) not in listing
    page = client.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
    assert "This registration was marked entered-in-error: Duplicate of MRN A-1000" in page


@pytest.mark.django_db
def test_a_nurse_cannot_mark_a_registration_entered_in_error(client_for, nurse, patient):
    url = reverse("patients:mark_error", args=[patient.public_id, "patient", patient.pk])
    assert client_for(nurse).post(url, {"reason": "x"}).status_code == 403
