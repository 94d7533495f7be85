"""The Cohort page: roles, clinic scoping, small-group suppression, exports, bad input."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from monitoring.cohort import analysis, figures
from monitoring.cohort.estimators import kaplan_meier
from monitoring.models import ResponseAssessment
from patients.demo import demo_outcome
from patients.models import Patient
from patients.roles import ANALYST
from tests.factories import DiagnosisFactory, PatientFactory, TransplantFactory, UserFactory
from therapy.models import MaintenanceCourse, Regimen

URL = reverse("monitoring:cohort")
START = date(2023, 1, 10)


def _on_maintenance(
    clinic, assessor, *, index, days=21, progressed_after=None, died_after=None, transplant=True
):
    patient = PatientFactory(clinic=clinic, family_name=f"Cohortname{index}")
    start = START + timedelta(days=20 * index)
    DiagnosisFactory(patient=patient, diagnosed_on=start - timedelta(days=300))
    if transplant:
        TransplantFactory(patient=patient, transplanted_on=start - timedelta(days=100))
    MaintenanceCourse.objects.create(
        patient=patient,
        regimen=Regimen.objects.get(code=f"len-10-d1-{days}"),
        start_date=start,
        cycle_days=28,
        start_dose_mg=10,
        start_dosing_days=days,
        dose_mg=10,
        dosing_days=days,
        vte_prophylaxis="aspirin",
        aspirin_dose_mg=81,
    )
    ResponseAssessment.objects.create(
        patient=patient,
        assessed_on=start + timedelta(days=300),
        category="VGPR",
        basis="review",
        assessed_by=assessor,
    )
    if progressed_after:
        ResponseAssessment.objects.create(
            patient=patient,
            assessed_on=start + timedelta(days=progressed_after),
            category="PD",
            basis="confirmed",
            assessed_by=assessor,
        )
    if died_after:
        patient.status = Patient.Status.DECEASED
        patient.date_of_death = start + timedelta(days=died_after)
        patient.save()
    return patient


@pytest.fixture
def analyst(clinic_a):
    user = UserFactory(username="analyst.a")
    user.groups.add(Group.objects.get(name=ANALYST))
    clinic_a.staff.add(user)
    return user


@pytest.fixture
def cohort_a(clinic_a, physician):
    """Eight patients on days 1-21 (three progress, one dies) and two on days 1-28."""
    patients = [
        _on_maintenance(
            clinic_a,
            physician,
            index=i,
            progressed_after=400 + 50 * i if i < 3 else None,
            died_after=500 if i == 3 else None,
        )
        for i in range(8)
    ]
    patients += [_on_maintenance(clinic_a, physician, index=8 + i, days=28) for i in range(2)]
    return patients


def test_analyst_sees_aggregates_of_own_clinic_but_no_patient(client_for, analyst, cohort_a):
    client = client_for(analyst)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>10</strong> patients match" in html
    assert 'id="fig-pfs-data"' in html and 'id="fig-os-data"' in html
    assert "Cohortname" not in html  # aggregate only: no patient listed
    assert "Published reference figures" in html
    # The analyst role is read-only and aggregate-only: no patient record.
    detail = client.get(reverse("patients:detail", args=[cohort_a[0].public_id]))
    assert detail.status_code == 403


def test_physician_sees_the_cohort_link_and_nurse_does_not(client_for, physician, nurse, cohort_a):
    assert URL in client_for(physician).get(reverse("patients:list")).content.decode()
    assert URL not in client_for(nurse).get(reverse("patients:list")).content.decode()


@pytest.mark.parametrize("persona", ["nurse", "rems_admin"])
def test_roles_without_the_cohort_permission_get_403(request, client_for, persona, cohort_a):
    assert client_for(request.getfixturevalue(persona)).get(URL).status_code == 403


def test_user_without_a_clinic_gets_404(client_for, superuser):
    assert client_for(superuser).get(URL).status_code == 404


def test_outsider_sees_only_own_clinic_and_small_cohort_is_suppressed(
    client_for, outsider, clinic_b, cohort_a
):
    for i in range(3):
        _on_maintenance(clinic_b, outsider, index=i)
    html = client_for(outsider).get(URL).content.decode()
    assert 'data-testid="suppressed"' in html
    assert "Fewer than 5 patients match" in html
    assert "fig-pfs-data" not in html
    assert "Alpha Clinic" not in html


def test_group_under_five_patients_is_suppressed(client_for, physician, cohort_a):
    html = client_for(physician).get(URL, {"group_by": "schedule"}).content.decode()
    assert "Not shown (fewer than 5 patients): 1 group" in html
    assert "Days 1-21" in html
    assert "Days 1-28" not in html.split('data-testid="table-pfs"')[1].split("</table>")[0]


def test_filter_narrows_the_cohort(client_for, physician, cohort_a):
    html = client_for(physician).get(URL, {"schedule": "Days 1-21"}).content.decode()
    assert "<strong>8</strong> patients match" in html


def test_csv_export_of_a_table(client_for, physician, cohort_a):
    response = client_for(physician).get(URL, {"export": "pfs"})
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("Group,Patients,Events,Median (months)")
    assert lines[1].startswith("All patients,10,4,")


def test_unknown_export_is_404_and_bad_filters_are_400(client_for, physician, cohort_a):
    client = client_for(physician)
    assert client.get(URL, {"export": "nope"}).status_code == 404
    response = client.get(URL, {"landmark_days": "-3"})
    assert response.status_code == 400
    assert "greater than or equal to 0" in response.content.decode()
    assert client.get(URL, {"origin": "birthday"}).status_code == 400
    assert client.get(URL, {"group_by": "mrn"}).status_code == 400


def test_new_progression_shows_at_once_cached_results_follow_the_data(
    client_for, physician, cohort_a
):
    client = client_for(physician)
    first = client.get(URL, {"export": "pfs"}).content.decode().splitlines()[1]
    ResponseAssessment.objects.create(
        patient=cohort_a[5],
        assessed_on=START + timedelta(days=700),
        category="PD",
        basis="confirmed",
        assessed_by=physician,
    )
    second = client.get(URL, {"export": "pfs"}).content.decode().splitlines()[1]
    assert first.startswith("All patients,10,4,") and second.startswith("All patients,10,5,")


def test_landmark_and_diagnosis_origin_run(client_for, physician, cohort_a):
    client = client_for(physician)
    html = client.get(URL, {"origin": "transplant", "landmark_days": "100"}).content.decode()
    assert "Months from transplant (landmark 100 days)" in html
    html = client.get(URL, {"origin": "diagnosis"}).content.decode()
    # Diagnosed 300 days before the first record here: counted from entry, not diagnosis.
    assert "10 counted from when they entered care (delayed entry)" in html


def test_km_figure_draws_steps_bands_censor_ticks_and_numbers_at_risk():
    km = kaplan_meier([100, 200, 300, 400, 500], [1, 0, 1, 0, 1])
    figure = figures.km_figure({"All": km}, title="PFS", origin_label="maintenance start")
    lines = [t for t in figure["data"] if t.get("name") == "All"]
    assert lines[0]["line"]["shape"] == "hv"
    assert any(t.get("fill") == "tonexty" for t in figure["data"])
    ticks = [t for t in figure["data"] if t.get("mode") == "markers"]
    assert ticks[0]["marker"]["symbol"] == "line-ns-open" and len(ticks[0]["x"]) == 2
    at_risk = [a["text"] for a in figure["layout"]["annotations"] if a.get("xref") == "x"]
    assert at_risk[:2] == ["5", "2"]  # at 0 and 12 months (365 days)


def test_suppression_applies_to_whole_cohort_under_five():
    assert analysis.analyse([], analysis.Params(), as_of=date(2026, 1, 1)).suppressed


def test_demo_outcomes_are_deterministic_and_at_the_seeds_rates():
    as_of = date(2030, 1, 1)
    outcomes = [
        demo_outcome(i, seed=1, transplanted_on=date(2024, 1, 1), high_risk=False, as_of=as_of)
        for i in range(600)
    ]
    assert outcomes[7] == demo_outcome(
        7, seed=1, transplanted_on=date(2024, 1, 1), high_risk=False, as_of=as_of
    )
    progressed = sum(o.progression_on is not None for o in outcomes) / len(outcomes)
    stopped = sum(o.stopped_on is not None for o in outcomes) / len(outcomes)
    # About 5.6 years of follow-up with a median PFS near 56 months; ~1 in 5 stop early.
    assert 0.4 < progressed < 0.65
    assert 0.1 < stopped < 0.3


def test_analyst_starts_on_the_cohort_page(client_for, analyst):
    assert client_for(analyst).get(reverse("home"))["Location"] == URL


def test_cached_page_costs_the_same_queries_for_more_patients(
    client_for, physician, clinic_a, cohort_a, django_assert_max_num_queries
):
    client = client_for(physician)
    client.get(URL)  # fills the cache
    with django_assert_max_num_queries(30) as small:
        client.get(URL)
    queries = len(small.captured_queries)  # read now: the next request resets the log
    for i in range(10, 16):
        _on_maintenance(clinic_a, physician, index=i)
    client.get(URL)  # new data: a new cache entry
    with django_assert_max_num_queries(queries):
        client.get(URL)


def test_transplant_origin_leaves_out_patients_without_a_transplant(
    client_for, physician, cohort_a
):
    _on_maintenance(cohort_a[0].clinic, physician, index=20, transplant=False)
    client = client_for(physician)
    html = client.get(URL, {"origin": "transplant"}).content.decode()
    assert "1 without a transplant date left out" in html
    html = client.get(URL, {"transplant": "No"}).content.decode()
    assert "Fewer than 5 patients match" in html
