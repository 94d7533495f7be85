import pytest

from tests.factories import WeightFactory


@pytest.fixture
def matrix_world(nurse, physician, rems_admin, superuser, outsider, patient):
    weight = WeightFactory(patient=patient)
    return {
        "users": {
            "nurse": nurse,
            "physician": physician,
            "rems": rems_admin,
            "superuser": superuser,
            "outsider": outsider,
        },
        "patient": patient,
        "patient_id": patient.public_id,
        "weight_id": weight.pk,
    }
