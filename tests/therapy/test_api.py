"""The therapy API: courses of a patient (a physician starts one), REMS read-only."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.therapy.conftest import START
from therapy import errors, services
from therapy.models import MaintenanceCourse

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def courses_url(patient):
    return reverse("api-patient-courses", args=[patient.public_id])


def test_nurse_lists_a_patients_courses(nurse, course, patient):
    response = api(nurse).get(courses_url(patient))
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["public_id"] == str(course.public_id)
    assert row["regimen"] == "len-10-d1-21" and row["dose_mg"] == "10.00"


def test_physician_starts_a_course_through_the_api(physician, patient, enrolled):
    response = api(physician).post(
        courses_url(patient),
        {
            "regimen": "len-10-d1-28",
            "start_date": START.isoformat(),
            "vte_prophylaxis": "aspirin",
            "aspirin_dose_mg": 100,
            "justification": "Baseline labs held at the referring centre",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert MaintenanceCourse.objects.get().aspirin_dose_mg == 100


def test_api_refuses_a_dose_off_the_ladder_with_the_same_words(physician, patient, enrolled):
    response = api(physician).post(
        courses_url(patient),
        {
            "regimen": "len-10-d1-28",
            "start_date": START.isoformat(),
            "vte_prophylaxis": "doac",
            "dose_mg": "20",
            "dosing_days": 28,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == errors.DOSE_NOT_ON_LADDER.format(
        dose="20 mg days 1-28 of 28", levels=services._levels_text()
    )
    assert not MaintenanceCourse.objects.exists()


def test_nurse_and_rems_admin_cannot_start_a_course(nurse, rems_admin, patient):
    for user in (nurse, rems_admin):
        response = api(user).post(courses_url(patient), {}, format="json")
        assert response.status_code == 403


def test_outsider_gets_404_from_the_api(outsider, patient, enrolled):
    assert api(outsider).get(courses_url(patient)).status_code == 404
    rems = reverse("api-patient-rems", args=[patient.public_id])
    assert api(outsider).get(rems).status_code == 404


def test_anonymous_api_access_is_refused(client, patient):
    assert client.get(courses_url(patient)).status_code in (401, 403)


def test_rems_record_is_read_only(rems_admin, enrolled, patient):
    url = reverse("api-patient-rems", args=[patient.public_id])
    response = api(rems_admin).get(url)
    assert response.status_code == 200
    body = response.json()
    assert body["enrollment"]["rems_patient_id"] == "RP-1001"
    assert body["enrollment"]["prescriber_enrollment_id"] == "PE-77"
    assert body["status"]["outcome"] == "action_needed"
    assert "no_authorization" in body["status"]["actions"]
    assert api(rems_admin).post(url, {}).status_code == 405


def test_the_schema_describes_the_therapy_endpoints(client_for, physician):
    schema = client_for(physician).get("/api/schema/").content.decode()
    assert "/api/v1/patients/{public_id}/courses/" in schema
    assert "/api/v1/patients/{public_id}/rems/" in schema
