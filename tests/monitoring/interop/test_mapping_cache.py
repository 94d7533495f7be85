"""The listener caches the mapping tables; a mapping added, edited or removed (admin or
service) is used by the very next message, with no restart."""

import pytest

from monitoring.interop import hl7 as ingest
from monitoring.interop import services as interop_services
from monitoring.interop.models import Hl7Sender, LabCodeMapping, UnitMapping
from tests.monitoring.interop.conftest import AUTHORITY, CBC, FACILITY, Res, oru, receive

pytestmark = pytest.mark.django_db

WHEN = "20250602083000-0400"


def test_the_tables_are_read_once_while_unchanged(sender, django_assert_num_queries):
    ingest.mappings()
    with django_assert_num_queries(1):  # the version check only
        tables = ingest.mappings()
    assert (FACILITY, AUTHORITY) in tables.senders


def test_a_sender_registered_by_the_service_is_used_by_the_next_message(clinic_a, patient):
    first = receive(oru([(WHEN, CBC)], control_id="C1", mrn=patient.mrn))
    assert first.ack_code == "AE" and "not registered" in first.message.reason
    interop_services.sender_register(facility=FACILITY, authority=AUTHORITY, clinic=clinic_a)
    assert receive(oru([(WHEN, CBC)], control_id="C2", mrn=patient.mrn)).ack_code == "AA"


def test_a_code_mapping_added_in_admin_is_used_by_the_next_message(
    client_for, superuser, sender, patient
):
    local = [Res("ANC-LOCAL", "3.1", "10*9/L", "2.0-7.5", system="L")]
    assert receive(oru([(WHEN, local)], control_id="C1", mrn=patient.mrn)).ack_code == "AE"
    response = client_for(superuser).post(
        "/admin/monitoring/labcodemapping/add/",
        {"facility": FACILITY, "local_code": "ANC-LOCAL", "test_code": "ANC"},
    )
    assert response.status_code == 302 and LabCodeMapping.objects.exists()
    assert receive(oru([(WHEN, local)], control_id="C2", mrn=patient.mrn)).ack_code == "AA"


def test_a_unit_mapping_added_by_the_service_is_used_by_the_next_message(
    sender, patient, superuser
):
    odd = [Res("751-8", "3.1", "Gpt/L", "2.0-7.5")]
    assert receive(oru([(WHEN, odd)], control_id="C1", mrn=patient.mrn)).ack_code == "AE"
    interop_services.unit_mapping_save(spelling="Gpt/L", unit="10^9/L", user=superuser)
    assert receive(oru([(WHEN, odd)], control_id="C2", mrn=patient.mrn)).ack_code == "AA"


def test_a_mapping_deleted_or_a_sender_deactivated_is_no_longer_used(sender, patient):
    UnitMapping.objects.create(spelling="Gpt/L", unit="10^9/L")
    odd = [Res("751-8", "3.1", "Gpt/L", "2.0-7.5")]
    assert receive(oru([(WHEN, odd)], control_id="C1", mrn=patient.mrn)).ack_code == "AA"
    UnitMapping.objects.all().delete()
    later = "20250603083000-0400"
    assert receive(oru([(later, odd)], control_id="C2", mrn=patient.mrn)).ack_code == "AE"
    sender = Hl7Sender.objects.get()
    sender.active = False
    sender.save()
    held = receive(oru([(later, CBC)], control_id="C3", mrn=patient.mrn))
    assert held.ack_code == "AE" and "not registered" in held.message.reason


def test_each_received_message_has_one_history_row_with_its_outcome(sender, patient):
    accepted = receive(oru([(WHEN, CBC)], control_id="C1", mrn=patient.mrn)).message
    held = receive(oru([(WHEN, CBC)], control_id="C2", mrn="NOBODY")).message
    assert [h.history_change_reason for h in accepted.history.all()] == ["Received: Accepted"]
    assert [h.history_change_reason for h in held.history.all()] == ["Received: Held for review"]
    assert held.pk and held.status == "held" and held.result_ids == []
