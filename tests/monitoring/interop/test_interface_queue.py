"""The interface queue page: nurses and administrators see held messages and act on them."""

from __future__ import annotations

import pytest

from monitoring.interop.models import InterfaceMessage, LabCodeMapping, UnitMapping
from patients.models import LabResult
from tests.factories import PatientFactory
from tests.monitoring.interop.conftest import CBC, Res, oru, receive

pytestmark = pytest.mark.django_db

DRAWN = "20250602083000-0400"


def test_nurse_sees_held_messages_of_her_clinic_with_the_reason(client_for, nurse, sender, patient):
    held = receive(oru([(DRAWN, CBC)], mrn="A-9999")).message

    response = client_for(nurse).get("/interface/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "MSG0001" in page and "No patient with MRN A-9999 in Alpha Clinic" in page
    detail = client_for(nurse).get(f"/interface/{held.pk}/").content.decode()
    assert "PID-3" in detail  # parsed view
    assert "MSH|^~\\&amp;|LIS|NORTHLAB" in detail  # raw view


def test_outsider_does_not_see_another_clinics_messages(client_for, outsider, sender, patient):
    held = receive(oru([(DRAWN, CBC)], mrn="A-9999")).message

    assert "MSG0001" not in client_for(outsider).get("/interface/").content.decode()
    assert client_for(outsider).get(f"/interface/{held.pk}/").status_code == 404


def test_unregistered_sender_is_seen_by_administrators_only(client_for, nurse, superuser, patient):
    held = receive(oru([(DRAWN, CBC)])).message

    assert client_for(nurse).get(f"/interface/{held.pk}/").status_code == 404
    assert client_for(superuser).get(f"/interface/{held.pk}/").status_code == 200


def test_rems_administrator_may_not_open_the_queue(client_for, rems_admin):
    assert client_for(rems_admin).get("/interface/").status_code == 403


def test_match_to_patient_stores_the_results_and_audits_who(client_for, nurse, sender, patient):
    held = receive(oru([(DRAWN, CBC)], dob="19600518")).message

    response = client_for(nurse).post(f"/interface/{held.pk}/match/", {"mrn": "A-1001"})

    assert response.status_code == 302
    held.refresh_from_db()
    assert held.status == "accepted" and held.matched_manually and held.resolved_by == nurse
    assert LabResult.objects.filter(patient=patient).count() == 5
    assert held.history.first().history_change_reason.startswith(
        f"Matched to patient {patient.public_id}"
    )


def test_match_to_a_patient_of_another_clinic_is_refused(
    client_for, nurse, sender, patient, clinic_b
):
    PatientFactory(clinic=clinic_b, mrn="B-1")
    held = receive(oru([(DRAWN, CBC)], mrn="A-9999")).message

    client_for(nurse).post(f"/interface/{held.pk}/match/", {"mrn": "B-1"})

    held.refresh_from_db()
    assert held.status == "held" and not LabResult.objects.exists()


@pytest.fixture
def mapping_admin(nurse):
    """A nurse an administrator deliberately gave the mapping permissions."""
    from django.contrib.auth.models import Permission

    nurse.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="monitoring",
            codename__in=[
                "add_labcodemapping",
                "change_labcodemapping",
                "add_unitmapping",
                "change_unitmapping",
            ],
        )
    )
    return type(nurse).objects.get(pk=nurse.pk)  # a fresh permission cache


def test_map_code_and_retry_from_the_page(client_for, mapping_admin, sender, patient):
    held = receive(oru([(DRAWN, [Res("HB", "13.0", "g/dL", system="L")])])).message
    page = client_for(mapping_admin).get(f"/interface/{held.pk}/").content.decode()
    assert 'value="HB"' in page  # the code named in the problem is prefilled

    client_for(mapping_admin).post(
        f"/interface/{held.pk}/map-code/", {"local_code": "HB", "test_code": "HGB"}
    )

    held.refresh_from_db()
    assert held.status == "accepted"
    mapping = LabCodeMapping.objects.get(local_code="HB")
    assert mapping.history.first().history_user == mapping_admin


def test_map_unit_and_retry_from_the_page(client_for, superuser, sender, patient):
    held = receive(oru([(DRAWN, [Res("6690-2", "5.6", "Gpt/L")])])).message

    client_for(superuser).post(
        f"/interface/{held.pk}/map-unit/", {"spelling": "Gpt/L", "unit": "10^9/L"}
    )

    held.refresh_from_db()
    assert held.status == "accepted" and UnitMapping.objects.filter(spelling="Gpt/L").exists()


@pytest.mark.parametrize("role", ["nurse", "physician"])
def test_clinical_roles_may_not_change_the_global_mapping_tables(
    request, client_for, sender, patient, role
):
    user = request.getfixturevalue(role)
    held = receive(oru([(DRAWN, [Res("6690-2", "5.6", "Gpt/L")])])).message
    page = client_for(user).get(f"/interface/{held.pk}/").content.decode()
    assert "map-unit" not in page and 'data-testid="mapping-admin-only"' in page

    unit = client_for(user).post(
        f"/interface/{held.pk}/map-unit/", {"spelling": "Gpt/L", "unit": "10^9/L"}
    )
    code = client_for(user).post(
        f"/interface/{held.pk}/map-code/", {"local_code": "HB", "test_code": "HGB"}
    )

    assert unit.status_code == code.status_code == 403
    assert not UnitMapping.objects.exists() and not LabCodeMapping.objects.exists()
    held.refresh_from_db()
    assert held.status == "held"


def test_nurse_without_mapping_permission_still_matches_and_retries(
    client_for, nurse, sender, patient
):
    held = receive(oru([(DRAWN, CBC)], mrn="A-9999")).message

    client_for(nurse).post(f"/interface/{held.pk}/match/", {"mrn": patient.mrn})

    held.refresh_from_db()
    assert held.status == "accepted"


def test_a_built_in_spelling_cannot_be_mapped_to_another_unit(
    client_for, superuser, sender, patient
):
    held = receive(oru([(DRAWN, [Res("6690-2", "5.6", "Gpt/L")])])).message

    response = client_for(superuser).post(
        f"/interface/{held.pk}/map-unit/", {"spelling": "g/L", "unit": "10^9/L"}, follow=True
    )

    assert "is a built-in spelling of g/L" in response.content.decode()
    assert not UnitMapping.objects.exists()


def test_an_existing_table_row_never_overrides_a_built_in_spelling(sender, patient):
    UnitMapping.objects.create(spelling="g/L", unit="10^9/L")  # written before this fix

    outcome = receive(oru([(DRAWN, [Res("718-7", "130", "g/L")])]))

    assert outcome.ack_code == "AA", outcome.message.reason
    assert LabResult.objects.get().canonical_value == 13


def test_reject_needs_a_reason_and_keeps_the_message(client_for, nurse, sender, patient):
    held = receive(oru([(DRAWN, CBC)], mrn="A-9999")).message

    client_for(nurse).post(f"/interface/{held.pk}/reject/", {"reason": ""})
    held.refresh_from_db()
    assert held.status == "held"

    client_for(nurse).post(f"/interface/{held.pk}/reject/", {"reason": "Test message from the lab"})
    held.refresh_from_db()
    assert held.status == "rejected" and held.resolution == "Test message from the lab"
    assert InterfaceMessage.objects.filter(pk=held.pk).exists()
    assert (
        f'href="/interface/{held.pk}/"' not in client_for(nurse).get("/interface/").content.decode()
    )


def test_refused_message_cannot_be_retried(client_for, superuser):
    refused = receive("garbage").message

    response = client_for(superuser).post(f"/interface/{refused.pk}/retry/", follow=True)

    assert "cannot be read" in response.content.decode()


def test_results_show_preliminary_and_the_lab_flag(client_for, nurse, sender, patient):
    receive(oru([(DRAWN, [Res("777-3", "95", "10*9/L", "100-400", "L", "P")])]))

    page = client_for(nurse).get(f"/monitoring/patients/{patient.public_id}/labs/").content.decode()

    assert "preliminary" in page and "lab flag L" in page


def test_queue_page_query_count_is_fixed(
    client_for, nurse, sender, patient, django_assert_max_num_queries
):
    for n in range(5):
        receive(oru([(DRAWN, CBC)], mrn=f"A-90{n}", control_id=f"Q{n}"))
    client = client_for(nurse)
    with django_assert_max_num_queries(12):
        client.get("/interface/")
