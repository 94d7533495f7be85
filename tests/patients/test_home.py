import pytest
from django.urls import reverse


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "landing"),
    [
        ("nurse", "monitoring:worklist"),
        ("physician", "monitoring:inbox"),
        ("rems_admin", "therapy:rems_list"),
    ],
)
def test_each_role_lands_on_its_own_work_page(client_for, request, persona, landing):
    response = client_for(request.getfixturevalue(persona)).get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse(landing)


@pytest.mark.django_db
def test_a_user_without_a_role_lands_on_the_patient_list(client_for, superuser):
    assert client_for(superuser).get(reverse("home"))["Location"] == reverse("patients:list")
