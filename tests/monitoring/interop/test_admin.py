"""The mapping tables are editable in admin, with history."""

import pytest

from monitoring.interop.models import Hl7Sender, UnitMapping
from tests.monitoring.interop.conftest import CBC, oru, receive

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", ["hl7sender", "labcodemapping", "unitmapping", "interfacemessage"]
)
def test_admin_lists_the_lab_interface_tables(client_for, superuser, sender, model):
    receive(oru([("20250602083000-0400", CBC)], mrn="A-9"))
    assert client_for(superuser).get(f"/admin/monitoring/{model}/").status_code == 200


def test_sender_edited_in_admin_keeps_history(client_for, superuser, sender, clinic_b):
    client = client_for(superuser)
    response = client.post(
        f"/admin/monitoring/hl7sender/{sender.pk}/change/",
        {"facility": "NORTHLAB", "authority": "NORTHMRN", "clinic": clinic_b.pk, "active": "on"},
    )
    assert response.status_code == 302
    assert Hl7Sender.objects.get().clinic == clinic_b
    assert sender.history.count() == 2
    assert client.get(f"/admin/monitoring/hl7sender/{sender.pk}/history/").status_code == 200


def test_unit_mapping_to_a_unit_outside_the_catalogue_is_refused(client_for, superuser):
    response = client_for(superuser).post(
        "/admin/monitoring/unitmapping/add/", {"spelling": "furlong/L", "unit": "furlongs"}
    )
    assert response.status_code == 200 and "Use a catalogue unit" in response.content.decode()
    assert not UnitMapping.objects.exists()


def test_admin_refuses_mapping_a_built_in_spelling_to_another_unit(client_for, superuser):
    response = client_for(superuser).post(
        "/admin/monitoring/unitmapping/add/", {"spelling": "G/L", "unit": "g/L"}
    )
    assert response.status_code == 200
    assert "built-in spelling of 10^9/L" in response.content.decode()
    assert not UnitMapping.objects.exists()
