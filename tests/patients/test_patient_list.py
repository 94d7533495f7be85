import pytest
from django.urls import reverse

from tests.factories import DiagnosisFactory, PatientFactory


@pytest.fixture
def cohort(clinic_a, clinic_b, physician):
    clinic_b.staff.add(physician)
    for i in range(30):
        patient = PatientFactory(clinic=clinic_a, mrn=f"A{i:03d}", family_name=f"Alpha{i:03d}")
        DiagnosisFactory(patient=patient)
    PatientFactory(clinic=clinic_b, mrn="B001", family_name="Bravo", status="off_therapy")
    PatientFactory(
        clinic=clinic_a,
        mrn="A999",
        family_name="Zulu",
        status="deceased",
        date_of_death="2026-01-01",
    )


@pytest.mark.django_db
def test_patient_list_searches_by_mrn(client_for, physician, cohort):
    page = client_for(physician).get(reverse("patients:list"), {"q": "A007"}).content.decode()
    assert "Alpha007" in page
    assert "Alpha008" not in page


@pytest.mark.django_db
def test_patient_list_searches_by_family_name(client_for, physician, cohort):
    page = client_for(physician).get(reverse("patients:list"), {"q": "bravo"}).content.decode()
    assert "B001" in page
    assert "1 patient" in page


@pytest.mark.django_db
def test_patient_list_filters_by_clinic_and_status(client_for, physician, cohort, clinic_b):
    client = client_for(physician)
    by_clinic = client.get(reverse("patients:list"), {"clinic": clinic_b.pk}).content.decode()
    assert "Bravo" in by_clinic and "Alpha000" not in by_clinic
    deceased = client.get(reverse("patients:list"), {"status": "deceased"}).content.decode()
    assert "Zulu" in deceased and "Alpha000" not in deceased


@pytest.mark.django_db
def test_patient_list_paginates_25_a_page(client_for, physician, cohort):
    client = client_for(physician)
    first = client.get(reverse("patients:list")).content.decode()
    assert "Page 1 of 2" in first
    second = client.get(reverse("patients:list"), {"page": 2}).content.decode()
    assert "Zulu" in second


@pytest.mark.django_db
def test_patient_list_query_count_does_not_grow_with_patients(
    client_for, physician, cohort, django_assert_num_queries
):
    client = client_for(physician)
    # session, user, two permission lookups, count, open-flag counts (navigation bar), roles
    # and clinics for the navigation bar, clinic filter choices, the page of rows, the
    # session save (idle timeout) in a savepoint.
    with django_assert_num_queries(13):
        client.get(reverse("patients:list"))
    for i in range(40):
        PatientFactory(clinic=physician.clinics.first(), mrn=f"X{i:03d}")
    with django_assert_num_queries(13):
        client.get(reverse("patients:list"), {"page": 2})


@pytest.fixture
def namesakes(clinic_a):
    PatientFactory(clinic=clinic_a, mrn="N000008", family_name="Nakamura", given_name="Lena")
    PatientFactory(clinic=clinic_a, mrn="N000026", family_name="Nakamura", given_name="Tove")
    PatientFactory(clinic=clinic_a, mrn="N000030", family_name="Berg", given_name="Lena")


def _rows(client, q):
    page = client.get(reverse("patients:list"), {"q": q}).content.decode()
    return {mrn for mrn in ("N000008", "N000026", "N000030") if mrn in page}


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["Nakamura, Lena", "Lena Nakamura", "nakamura lena", "Nak Le"])
def test_every_word_of_a_name_search_must_match(client_for, physician, namesakes, query):
    assert _rows(client_for(physician), query) == {"N000008"}


@pytest.mark.django_db
def test_one_word_finds_everyone_with_that_name(client_for, physician, namesakes):
    assert _rows(client_for(physician), "Lena") == {"N000008", "N000030"}


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["000008", "N000008", "n000008", "0008"])
def test_a_partial_mrn_finds_the_patient(client_for, physician, namesakes, query):
    assert _rows(client_for(physician), query) == {"N000008"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "heavy, light, shown",
    [
        ("IgG", "kappa", "IgG kappa"),
        ("IgA", "lambda", "IgA lambda"),
        ("IgD", "", "IgD"),
        ("light_chain_only", "lambda", "Lambda light chain only"),
        ("light_chain_only", "", "Light chain only"),
        ("non_secretory", "", "Non-secretory"),
        ("non_secretory", "kappa", "Non-secretory (kappa)"),
    ],
)
def test_the_isotype_reads_the_same_on_the_list_record_timeline_and_fhir(
    client_for, nurse, physician, clinic_a, heavy, light, shown
):
    """As clinicians write it, the same on every page and in the FHIR Condition: no light
    chain recorded, none is named (never the blank choice's "None / not applicable")."""
    patient = PatientFactory(clinic=clinic_a, mrn="ISO1", family_name="Isotype")
    DiagnosisFactory(patient=patient, heavy_chain=heavy, light_chain=light)
    client = client_for(physician)
    for url in (
        reverse("patients:list"),
        reverse("patients:detail", args=[patient.public_id]),
        reverse("monitoring:timeline", args=[patient.public_id]),
    ):
        page = client.get(url).content.decode()
        assert shown in page, url
        assert "not applicable" not in page, url
    condition = client_for(nurse).get("/fhir/Condition", {"patient": str(patient.public_id)})
    assert condition.json()["entry"][0]["resource"]["code"]["text"] == f"Multiple myeloma, {shown}"
