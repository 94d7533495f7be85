import pytest
from django.urls import reverse

from patients.models import Patient


@pytest.mark.django_db
def test_rems_administrator_can_read_but_not_edit_demographics(client_for, rems_admin, patient):
    client = client_for(rems_admin)
    assert client.get(reverse("patients:detail", args=[patient.public_id])).status_code == 200
    assert client.get(reverse("patients:edit", args=[patient.public_id])).status_code == 403
    response = client.post(
        reverse("patients:edit", args=[patient.public_id]),
        {
            "mrn": patient.mrn,
            "given_name": "Changed",
            "family_name": "X",
            "date_of_birth": "1960-01-01",
        },
    )
    assert response.status_code == 403
    assert Patient.objects.get(pk=patient.pk).given_name == "Ada"


@pytest.mark.django_db
def test_rems_administrator_cannot_change_diagnosis_or_add_weights(client_for, rems_admin, patient):
    client = client_for(rems_admin)
    assert (
        client.get(reverse("patients:diagnosis_edit", args=[patient.public_id])).status_code == 403
    )
    response = client.post(
        reverse("patients:weight_add", args=[patient.public_id]),
        {"measured_on": "2025-01-01", "weight_kg": "70"},
    )
    assert response.status_code == 403
    assert not patient.weights.exists()


@pytest.mark.django_db
def test_nurse_cannot_open_django_admin(client_for, nurse):
    response = client_for(nurse).get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_staff_flag_alone_does_not_open_django_admin(client_for, physician):
    physician.is_staff = True
    physician.save()
    response = client_for(physician).get("/admin/")
    assert response.status_code == 302


@pytest.mark.django_db
def test_superuser_reads_the_access_log_in_admin(client_for, superuser, physician, patient):
    client_for(physician).get(reverse("patients:detail", args=[patient.public_id]))
    client = client_for(superuser)
    response = client.get("/admin/patients/patientaccess/")
    assert response.status_code == 200
    assert "physician.a" in response.content.decode()


@pytest.mark.django_db
def test_nurse_may_record_a_weight_but_not_edit_the_diagnosis(client_for, nurse, patient):
    client = client_for(nurse)
    response = client.post(
        reverse("patients:weight_add", args=[patient.public_id]),
        {"measured_on": "2025-01-01", "weight_kg": "70.5"},
    )
    assert response.status_code == 302
    assert patient.weights.get().weight_kg == 70.5
    assert (
        client.get(reverse("patients:diagnosis_edit", args=[patient.public_id])).status_code == 403
    )


@pytest.mark.django_db
def test_nurse_does_not_see_the_register_button(client_for, nurse, physician):
    assert (
        "Register a patient" not in client_for(nurse).get(reverse("patients:list")).content.decode()
    )
    assert client_for(nurse).get(reverse("patients:create")).status_code == 403
