"""REMS records: enrollment, authorizations, surveys; status per risk category; the list,
its filters, CSV export and pinned query count."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from patients.errors import DomainError
from tests.factories import PatientFactory
from tests.therapy.conftest import at, start_course
from therapy import errors, selectors, services
from therapy.models import RemsAuthorization, RemsEnrollment, RemsSurvey

pytestmark = pytest.mark.django_db
TODAY = date(2025, 3, 3)


def authorize(patient, user, obtained_on=TODAY, days_supply=28, number="AUTH-1"):
    return services.rems_authorization_create(
        patient=patient,
        user=user,
        authorization_number=number,
        obtained_on=obtained_on,
        days_supply=days_supply,
        today=TODAY,
    )


def test_enrollment_keeps_the_suggested_and_the_confirmed_category(patient, rems_admin):
    enrollment = services.rems_enrollment_save(
        patient=patient,
        user=rems_admin,
        today=TODAY,
        data={
            "patient_risk_category": "male_adult",
            "enrolled_on": TODAY,
            "agreement_signed_on": TODAY,
            "rems_patient_id": "RP-9",
            "prescriber_enrollment_id": "PE-1",
            "status": "active",
        },
    )
    assert enrollment.suggested_risk_category == "male_adult"
    assert enrollment.risk_category_confirmed_by == rems_admin
    assert enrollment.is_active
    assert enrollment.history.first().history_user == rems_admin


def test_an_agreement_signed_after_enrollment_is_refused(patient, rems_admin):
    with pytest.raises(DomainError) as raised:
        services.rems_enrollment_save(
            patient=patient,
            user=rems_admin,
            today=TODAY,
            data={
                "patient_risk_category": "male_adult",
                "enrolled_on": TODAY - timedelta(days=3),
                "agreement_signed_on": TODAY,
            },
        )
    assert raised.value.message == errors.AGREEMENT_AFTER_ENROLLMENT.format(
        signed=TODAY, enrolled=TODAY - timedelta(days=3)
    )
    assert not RemsEnrollment.objects.exists()


def test_authorization_expiry_follows_the_category(enrolled, patient, rems_admin):
    male = authorize(patient, rems_admin)
    assert male.expires_on == TODAY + timedelta(days=29)
    assert male.patient_risk_category == "male_adult"
    assert male.expiry_rule == "rems.authorization.other_valid_days = 30 days v1"
    enrolled.patient_risk_category = "fcbp_adult"
    enrolled.save()
    fcbp = authorize(patient, rems_admin, number="AUTH-2")
    assert fcbp.expires_on == TODAY + timedelta(days=6)


def test_a_days_supply_over_28_is_refused(enrolled, patient, rems_admin):
    with pytest.raises(DomainError) as raised:
        authorize(patient, rems_admin, days_supply=30)
    assert raised.value.message == errors.DAYS_SUPPLY_TOO_LONG.format(days=30, limit=28)
    assert not RemsAuthorization.objects.exists()


def test_an_authorization_dated_in_the_future_is_refused(enrolled, patient, rems_admin):
    with pytest.raises(DomainError) as raised:
        authorize(patient, rems_admin, obtained_on=TODAY + timedelta(days=1))
    assert raised.value.message == errors.AUTHORIZATION_IN_FUTURE.format(
        value=TODAY + timedelta(days=1)
    )


def test_an_authorization_needs_an_enrollment(patient, rems_admin):
    with pytest.raises(DomainError) as raised:
        authorize(patient, rems_admin)
    assert raised.value.message == errors.AUTHORIZATION_WITHOUT_ENROLLMENT


def test_dispensing_after_the_authorization_expired_is_refused(enrolled, patient, rems_admin):
    authorization = authorize(patient, rems_admin, obtained_on=TODAY - timedelta(days=40))
    with pytest.raises(DomainError) as raised:
        services.rems_authorization_update(
            authorization=authorization, user=rems_admin, dispensed_on=TODAY, today=TODAY
        )
    assert raised.value.message == errors.DISPENSED_AFTER_EXPIRY.format(
        value=TODAY, expires=authorization.expires_on
    )


# --- Status per category -------------------------------------------------------------------


def _state(patient, as_of=TODAY):
    return selectors.rems_states([patient.pk], as_of=as_of)[patient.pk]


def test_an_enrolled_male_with_a_current_authorization_and_survey_is_compliant(
    enrolled, patient, rems_admin
):
    authorize(patient, rems_admin)
    services.rems_survey_create(patient=patient, user=rems_admin, completed_on=TODAY, today=TODAY)
    state = _state(patient)
    assert state.risk_category == "male_adult"
    assert state.status.outcome == "compliant"


def test_a_patient_without_enrollment_needs_enrollment_and_gets_a_suggested_category(clinic_a):
    woman = PatientFactory(
        clinic=clinic_a,
        sex_at_birth="female",
        date_of_birth=date(1985, 1, 1),
        reproductive_potential="can_become_pregnant",
    )
    state = _state(woman)
    assert state.risk_category is None
    assert "enrollment_missing" in state.status.values["actions"]
    assert state.status.values["risk_category"] == "fcbp_adult"


def test_an_expired_authorization_needs_action(enrolled, patient, rems_admin):
    authorize(patient, rems_admin, obtained_on=TODAY - timedelta(days=31))
    assert "authorization_expired" in _state(patient).status.values["actions"]


def test_a_woman_who_can_become_pregnant_on_therapy_needs_pregnancy_tests(
    clinic_a, physician, rems_admin, labs
):
    woman = PatientFactory(
        clinic=clinic_a,
        sex_at_birth="female",
        date_of_birth=date(1985, 1, 1),
        reproductive_potential="can_become_pregnant",
        menses_regular=True,
    )
    services.rems_enrollment_save(
        patient=woman,
        user=rems_admin,
        today=TODAY,
        data={
            "patient_risk_category": "fcbp_adult",
            "enrolled_on": TODAY - timedelta(days=30),
            "agreement_signed_on": TODAY - timedelta(days=30),
            "prescriber_certification_expires_on": date(2030, 1, 1),
        },
    )
    from therapy.models import Regimen

    start_course(
        woman,
        physician,
        Regimen.objects.get(code="len-10-d1-21"),
        start=TODAY - timedelta(days=20),
        justification="tests at outside lab",
        today=TODAY,
    )
    authorize(woman, rems_admin, obtained_on=TODAY - timedelta(days=1))
    services.rems_survey_create(patient=woman, user=rems_admin, completed_on=TODAY, today=TODAY)
    # No test on record since the start: overdue (weekly in the first 4 weeks).
    assert "pregnancy_test_overdue" in _state(woman).status.values["actions"]
    labs.add_pregnancy_test(woman, at(TODAY - timedelta(days=2)))
    assert _state(woman).status.outcome == "compliant"


# --- Pages ------------------------------------------------------------------------------------


def test_rems_admin_edits_the_enrollment_on_the_page(client_for, rems_admin, patient):
    url = reverse("therapy:rems_enrollment", args=[patient.public_id])
    response = client_for(rems_admin).post(
        url,
        {
            "patient_risk_category": "male_adult",
            "status": "active",
            "rems_patient_id": "RP-42",
            "enrolled_on": "2025-01-10",
            "agreement_signed_on": "2025-01-10",
        },
    )
    assert response.status_code == 302
    assert RemsEnrollment.objects.get(patient=patient).rems_patient_id == "RP-42"


def test_a_days_supply_over_28_on_the_page_shows_the_message(
    client_for, rems_admin, enrolled, patient
):
    url = reverse("therapy:rems_authorization_add", args=[patient.public_id])
    response = client_for(rems_admin).post(
        url, {"authorization_number": "A-1", "obtained_on": "2025-01-10", "days_supply": "35"}
    )
    assert response.status_code == 400
    assert errors.DAYS_SUPPLY_TOO_LONG.format(days=35, limit=28) in response.content.decode()
    assert not RemsAuthorization.objects.exists()


def test_physician_and_nurse_cannot_edit_rems_records(
    client_for, physician, nurse, enrolled, patient
):
    for user in (physician, nurse):
        client = client_for(user)
        url = reverse("therapy:rems_survey_add", args=[patient.public_id])
        assert client.post(url, {"completed_on": "2025-01-10"}).status_code == 403
    assert not RemsSurvey.objects.exists()


def test_rems_record_of_another_clinic_is_404(client_for, outsider, enrolled, patient):
    client = client_for(outsider)
    assert client.get(reverse("therapy:rems", args=[patient.public_id])).status_code == 404
    response = client.post(
        reverse("therapy:rems_authorization_add", args=[patient.public_id]),
        {"authorization_number": "Z", "obtained_on": "2025-01-10", "days_supply": "28"},
    )
    assert response.status_code == 404
    assert not RemsAuthorization.objects.exists()


def _clinic_patients(clinic, n, **extra):
    return [PatientFactory(clinic=clinic, **extra) for _ in range(n)]


@time_machine.travel(
    datetime(2025, 3, 3, 12, 0, tzinfo=timezone.get_current_timezone()), tick=False
)
def test_rems_list_filters_by_status_and_exports_csv(
    client_for, rems_admin, enrolled, patient, clinic_a, clinic_b
):
    authorize(patient, rems_admin)
    services.rems_survey_create(patient=patient, user=rems_admin, completed_on=TODAY, today=TODAY)
    _clinic_patients(clinic_a, 2, family_name="Zed")
    _clinic_patients(clinic_b, 1, family_name="Elsewhere")
    client = client_for(rems_admin)
    page = client.get(reverse("therapy:rems_list"), {"status": "compliant"}).content.decode()
    assert "Lovelace" in page and "Zed" not in page
    page = client.get(
        reverse("therapy:rems_list"), {"status": "enrollment_missing"}
    ).content.decode()
    assert "Zed" in page and "Lovelace" not in page and "Elsewhere" not in page
    response = client.get(reverse("therapy:rems_export"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "MRN",
        "Name",
        "Clinic",
        "Patient risk category",
        "REMS status",
        "Actions",
        "Authorization expires",
    ]
    by_mrn = {row[0]: row for row in rows[1:]}
    # Labels, not codes.
    assert by_mrn["A-1001"][3:] == ["Adult male", "Compliant", "", "2025-04-01"]
    zed = next(row for row in rows[1:] if row[1].startswith("Zed"))
    assert zed[3:5] == ["Not enrolled", "Action needed"]
    assert "Enrollment missing" in zed[5]
    assert len(rows) == 4  # header + three clinic A patients, none of clinic B


def test_csv_export_neutralises_spreadsheet_formulas(client_for, rems_admin, clinic_a):
    PatientFactory(clinic=clinic_a, family_name="=HYPERLINK(1)")
    rows = list(
        csv.reader(
            io.StringIO(client_for(rems_admin).get(reverse("therapy:rems_export")).content.decode())
        )
    )
    assert rows[1][1].startswith("'=HYPERLINK")


def test_rems_list_query_count_is_the_same_for_5_and_50_patients(client_for, rems_admin, clinic_a):
    """Pinned: the list page's own reads are a fixed number of queries (patients, REMS rows
    with subqueries, rule settings); the rest is session, permissions and the navbar."""
    client = client_for(rems_admin)
    client.get(reverse("therapy:rems_list"))  # warm the session

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("therapy:rems_list")).status_code == 200
        ours = [
            q
            for q in captured.captured_queries
            if 'FROM "patients_patient"' in q["sql"] or "patients_rulesetting" in q["sql"]
        ]
        return len(captured.captured_queries), len(ours)

    _clinic_patients(clinic_a, 5)
    five = queries()
    _clinic_patients(clinic_a, 45)
    assert queries() == five
    # Most urgent first (the default) needs every status: the patients with their REMS
    # annotations in one read; rule settings. Still a fixed number, whatever the clinic size.
    assert five[1] == 2


def test_rems_list_sorted_by_name_computes_statuses_for_the_page_only(
    client_for, rems_admin, clinic_a
):
    client = client_for(rems_admin)
    _clinic_patients(clinic_a, 30)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("therapy:rems_list"), {"sort": "name"})
    assert page.status_code == 200
    ours = [q for q in captured.captured_queries if 'FROM "patients_patient"' in q["sql"]]
    # count; the page of patients with their REMS annotations
    assert len(ours) == 2


@time_machine.travel(
    datetime(2025, 3, 3, 12, 0, tzinfo=timezone.get_current_timezone()), tick=False
)
def test_rems_list_searches_by_name_and_mrn(client_for, rems_admin, patient, clinic_a):
    PatientFactory(clinic=clinic_a, mrn="A-2002", family_name="Lovelace", given_name="Byron")
    PatientFactory(clinic=clinic_a, mrn="A-3003", family_name="Hopper", given_name="Ada")
    client = client_for(rems_admin)

    def names(q):
        page = client.get(reverse("therapy:rems_list"), {"q": q}).content.decode()
        return {mrn for mrn in ("A-1001", "A-2002", "A-3003") if mrn in page}

    assert names("Lovelace, Ada") == {"A-1001"}
    assert names("Ada Lovelace") == {"A-1001"}
    assert names("Ada") == {"A-1001", "A-3003"}
    assert names("2002") == {"A-2002"}


@time_machine.travel(
    datetime(2025, 3, 3, 12, 0, tzinfo=timezone.get_current_timezone()), tick=False
)
def test_rems_list_puts_the_most_urgent_first_by_default(
    client_for, rems_admin, enrolled, patient, clinic_a
):
    """Compliant 'Aaron' sorts last although his name comes first; a patient with no
    enrollment (may not be dispensed to) comes before one whose survey is merely due."""
    authorize(patient, rems_admin)
    services.rems_survey_create(patient=patient, user=rems_admin, completed_on=TODAY, today=TODAY)
    patient.family_name = "Aaron"
    patient.save()
    PatientFactory(clinic=clinic_a, mrn="Z-1", family_name="Zed", given_name="Unenrolled")
    client = client_for(rems_admin)
    page = client.get(reverse("therapy:rems_list")).content.decode()
    assert page.index("Zed") < page.index("Aaron")
    by_name = client.get(reverse("therapy:rems_list"), {"sort": "name"}).content.decode()
    assert by_name.index("Aaron") < by_name.index("Zed")


def test_the_rems_status_uses_the_rule_settings_in_force_on_its_date(enrolled, patient, rems_admin):
    """A clinic's shorter survey interval that takes effect the day after ``TODAY`` does not
    apply to the status as of ``TODAY`` (a back-filled evaluation), and does from its date."""
    from decimal import Decimal

    from patients.models import RuleSetting

    authorize(patient, rems_admin, obtained_on=TODAY - timedelta(days=5))
    services.rems_survey_create(
        patient=patient,
        user=rems_admin,
        completed_on=TODAY - timedelta(days=25),
        today=TODAY,
    )
    assert _state(patient).status.outcome == "compliant"  # 25 days: within the default 30
    RuleSetting.objects.create(
        key="rems.survey.other_interval_days",
        version=2,
        clinic=patient.clinic,
        value=Decimal("20"),
        unit="days",
        status="common",
        source="Local policy",
        effective_from=TODAY + timedelta(days=1),
    )
    assert _state(patient).status.outcome == "compliant"  # not in force yet on TODAY
    # From its first day on: the survey, 26 and 27 days old, is past the clinic's 20.
    for later in (1, 2):
        assert _state(patient, as_of=TODAY + timedelta(days=later)).status.outcome == (
            "action_needed"
        )
