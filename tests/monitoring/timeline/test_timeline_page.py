"""The physician's timeline through the test client: what it shows, who may see it, and a
fixed number of queries whatever the length of the history."""

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.timeline import services as timeline_services
from monitoring.timeline.models import ResponseAssessment
from patients.models import LabResult
from therapy import services as therapy_services
from therapy.models import Regimen

TODAY = date(2026, 11, 21)
# The timeline: the trivial page's 10 (session, user, permissions, navbar, session saved),
# the patient, the access log row, every lab result (one query of tuples), the courses with
# their regimens, holds and dose changes (one UNION ALL), the transplants, response
# assessments with their assessors, notes and the rule settings' state (one UNION ALL; the
# settings in force are remembered while that state is unchanged), and the open flags and
# pending suggestions (read once for the summary header and the page body).
TIMELINE_QUERIES = 17


@pytest.fixture(autouse=True)
def _clinic_day(time_machine):
    time_machine.move_to(timezone.make_aware(datetime.combine(TODAY, time(12, 0))))


def lab(
    patient, code, value, on, *, unit="10^9/L", grade=None, panel="cbc", qualitative="", **extra
):
    return LabResult.objects.create(
        patient=patient,
        test_code=code,
        panel=panel,
        collected_at=timezone.make_aware(datetime.combine(on, time(8, 30))),
        entered_at=timezone.now(),
        canonical_value=None if value is None else Decimal(str(value)),
        canonical_unit=unit,
        qualitative=qualitative,
        ctcae_grade=grade,
        ctcae_version="5.0" if grade is not None else "",
        **extra,
    )


def monthly_cbcs(patient, months, start=date(2024, 10, 1)):
    for i in range(months):
        on = start + timedelta(days=28 * i)
        lab(patient, "ANC", "1.9", on, grade=0)
        lab(patient, "PLT", "150", on, grade=0)
        lab(patient, "HGB", "12.1", on, unit="g/dL", grade=0)
        lab(patient, "WBC", "4.2", on, grade=0)
        if i % 3 == 0:
            lab(patient, "SPEP_M", str(round(2.0 - i * 0.01, 2)), on, unit="g/dL", panel="myeloma")


def figure(response, name):
    return json.loads(
        response.content.decode()
        .split(f'id="{name}" type="application/json">', 1)[1]
        .split("</script>", 1)[0]
    )


@pytest.fixture
def course(patient, physician):
    regimen = Regimen.objects.get(code="len-10-d1-21")
    return therapy_services.course_start(
        patient=patient,
        user=physician,
        regimen=regimen,
        start_date=date(2024, 9, 10),
        vte_prophylaxis="aspirin",
        aspirin_dose_mg=81,
        justification="Counts reviewed on paper (test)",
    )


@pytest.mark.django_db
def test_physician_sees_counts_regimen_and_disease_charts(client_for, physician, patient, course):
    monthly_cbcs(patient, 6)
    therapy_services.hold_start(
        course=course, user=physician, start_date=date(2025, 1, 5), reason="neutropenia"
    )
    response = client_for(physician).get(reverse("monitoring:timeline", args=[patient.public_id]))
    assert response.status_code == 200
    counts = figure(response, "counts-figure")
    assert [t["meta"]["code"] for t in counts["data"]] == [
        "ANC",
        "PLT",
        "HGB",
        "WBC",
        "hold-legend",
    ]
    assert len(counts["data"][0]["y"]) == 6
    # The hold is shaded on each of the four count rows too, not only on the regimen track.
    count_holds = [s for s in counts["layout"]["shapes"] if s["name"].startswith("hold:")]
    assert [(s["yref"], s["x0"]) for s in count_holds] == [
        ("y domain", "2025-01-05"),
        ("y2 domain", "2025-01-05"),
        ("y3 domain", "2025-01-05"),
        ("y4 domain", "2025-01-05"),
    ]
    regimen = figure(response, "regimen-figure")
    holds = [s for s in regimen["layout"]["shapes"] if s["type"] == "rect"]
    assert holds and holds[0]["x0"] == "2025-01-05"
    disease = figure(response, "disease-figure")
    assert disease["data"][0]["meta"]["code"] == "SPEP_M"
    page = response.content.decode()
    assert "Holds so far: 1" in page
    assert "hold &lt; 0.5" in json.dumps(counts) or "hold < 0.5" in json.dumps(counts)


@pytest.mark.django_db
def test_entered_in_error_results_are_not_drawn(client_for, physician, patient, course):
    lab(patient, "ANC", "1.9", date(2025, 1, 1), grade=0)
    lab(
        patient,
        "ANC",
        "0.01",
        date(2025, 1, 8),
        grade=4,
        entered_in_error_at=timezone.now(),
        entered_in_error_reason="wrong patient",
    )
    counts = figure(
        client_for(physician).get(reverse("monitoring:timeline", args=[patient.public_id])),
        "counts-figure",
    )
    assert counts["data"][0]["y"] == [1.9]


@pytest.mark.django_db
def test_timeline_query_count_does_not_grow_with_history(
    client_for, physician, patient, course, django_assert_max_num_queries
):
    client = client_for(physician)
    url = reverse("monitoring:timeline", args=[patient.public_id])
    monthly_cbcs(patient, 3)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # the rule settings in force, remembered (one small query from now on)
    with CaptureQueriesContext(connection) as short:
        assert client.get(url).status_code == 200
    monthly_cbcs(patient, 120, start=date(2015, 1, 1))  # ten years of monthly labs
    with CaptureQueriesContext(connection) as long:
        assert client.get(url).status_code == 200
    assert len(long.captured_queries) == len(short.captured_queries) == TIMELINE_QUERIES
    with django_assert_max_num_queries(len(short.captured_queries)):
        client.get(url)


@pytest.mark.django_db
def test_nurse_sees_the_timeline_read_only(client_for, nurse, patient, course):
    page = (
        client_for(nurse)
        .get(reverse("monitoring:timeline", args=[patient.public_id]))
        .content.decode()
    )
    assert "Blood counts" in page
    assert "Record a confirmed assessment" not in page
    response = client_for(nurse).post(
        reverse("monitoring:assessment_record", args=[patient.public_id]), {}
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_outsider_gets_404_for_the_timeline(client_for, outsider, patient):
    assert (
        client_for(outsider)
        .get(reverse("monitoring:timeline", args=[patient.public_id]))
        .status_code
        == 404
    )
    assert (
        client_for(outsider)
        .post(reverse("monitoring:assessment_record", args=[patient.public_id]), {})
        .status_code
        == 404
    )


@pytest.mark.django_db
def test_cr_without_immunofixation_and_marrow_is_refused(client_for, physician, patient, course):
    response = client_for(physician).post(
        reverse("monitoring:assessment_record", args=[patient.public_id]),
        {
            "assessed_on": "2026-11-01",
            "category": "CR",
            "basis": "M-protein undetectable",
            "serum_immunofixation": "not_done",
            "urine_immunofixation": "not_done",
            "marrow_clonal_cells": "not_done",
            "imaging": "not_done",
        },
    )
    assert response.status_code == 400
    assert (
        timeline_services.CR_NEEDS_IFE_AND_MARROW.format(category="CR") in response.content.decode()
    )
    assert not ResponseAssessment.objects.exists()


@pytest.mark.django_db
def test_a_confirmed_assessment_supersedes_the_suggestion_in_the_summary(
    client_for, physician, patient, course
):
    lab(patient, "SPEP_M", "2.0", date(2024, 9, 1), unit="g/dL", panel="myeloma")
    lab(patient, "SPEP_M", "0.9", date(2025, 3, 1), unit="g/dL", panel="myeloma")
    client = client_for(physician)
    url = reverse("monitoring:timeline", args=[patient.public_id])
    assert ">PR</strong>" in client.get(url).content.decode()
    response = client.post(
        reverse("monitoring:assessment_record", args=[patient.public_id]),
        {
            "assessed_on": "2025-03-10",
            "category": "PR",
            "basis": "55% fall in M-protein, confirmed",
            "serum_immunofixation": "positive",
            "urine_immunofixation": "not_done",
            "marrow_clonal_cells": "not_done",
            "imaging": "no_new_lesions",
        },
    )
    assert response.status_code == 302
    assessment = ResponseAssessment.objects.get()
    assert (assessment.category, assessment.suggested_category, assessment.assessed_by) == (
        "PR",
        "PR",
        physician,
    )
    page = client.get(url).content.decode()
    assert 'data-testid="confirmed-response">PR<' in page
    assert assessment.history.count() == 1
    # the assessor by name, in the summary and in the assessments table (not the username)
    assert "on 2025-03-10 by Paul Physician</p>" in page
    assert "<td>Paul Physician</td></tr>" in page
    assert "physician.a</td>" not in page


@pytest.mark.parametrize(
    ("baseline", "latest", "expected"),
    [
        ("2.0", "0.9", "PR"),
        ("2.0", "0.15", "VGPR"),
        ("2.0", "1.2", "MR"),
        ("2.0", "1.8", "SD"),
        ("0.3", "0.2", "not_measurable"),
    ],
)
@pytest.mark.django_db
def test_suggested_response_from_the_m_protein_series(patient, course, baseline, latest, expected):
    from monitoring.timeline.selectors import timeline_for

    lab(patient, "SPEP_M", baseline, date(2024, 9, 1), unit="g/dL", panel="myeloma")
    lab(patient, "SPEP_M", latest, date(2025, 6, 1), unit="g/dL", panel="myeloma")
    assert timeline_for(patient, today=TODAY).response.outcome == expected


@pytest.mark.django_db
def test_a_rise_from_the_nadir_is_suggested_as_progression_and_drawn(
    client_for, physician, patient, course
):
    for on, value in [
        (date(2024, 9, 1), "2.0"),
        (date(2025, 3, 1), "0.6"),
        (date(2025, 9, 1), "1.2"),
    ]:
        lab(patient, "SPEP_M", value, on, unit="g/dL", panel="myeloma")
    response = client_for(physician).get(reverse("monitoring:timeline", args=[patient.public_id]))
    assert 'data-testid="suggested-response">PD<' in response.content.decode()
    disease = figure(response, "disease-figure")
    line = next(s for s in disease["layout"]["shapes"] if s["name"] == "progression threshold")
    assert (line["x0"][:10], line["y0"]) == ("2025-03-01", 1.1)  # nadir 0.6 + max(25%, 0.5)


@pytest.mark.django_db
def test_progression_by_free_light_chains_when_m_protein_is_not_measurable(patient, course):
    from monitoring.timeline.selectors import timeline_for

    patient.diagnosis.heavy_chain = "light_chain_only"
    patient.diagnosis.save()
    for on, kappa in [
        (date(2024, 9, 1), "400"),
        (date(2025, 3, 1), "40"),
        (date(2025, 9, 1), "200"),
    ]:
        lab(patient, "FLC_KAPPA", kappa, on, unit="mg/L", panel="myeloma")
        lab(patient, "FLC_LAMBDA", "10", on, unit="mg/L", panel="myeloma")
    assert timeline_for(patient, today=TODAY).response.outcome == "PD"


@pytest.mark.django_db
def test_serum_immunofixation_alone_does_not_make_a_complete_response(patient, course):
    from monitoring.timeline.selectors import timeline_for

    lab(patient, "SPEP_M", "2.0", date(2024, 9, 1), unit="g/dL", panel="myeloma")
    lab(patient, "SPEP_M", "0", date(2025, 6, 1), unit="g/dL", panel="myeloma")
    lab(patient, "SIFE", None, date(2025, 6, 1), unit="", panel="myeloma", qualitative="negative")
    lab(patient, "MARROW_PC", "2", date(2025, 6, 1), unit="%", panel="mrd")
    response = timeline_for(patient, today=TODAY).response
    assert response.outcome not in ("CR", "sCR")
    lab(patient, "UIFE", None, date(2025, 6, 1), unit="", panel="myeloma", qualitative="negative")
    assert timeline_for(patient, today=TODAY).response.outcome in (
        "CR",
        "sCR",
        "needs_confirmation",
    )


# --- Reaching the timeline ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("patients:detail", lambda p: [p.public_id]),
        ("patients:history", lambda p: [p.public_id]),
        ("monitoring:labs", lambda p: [p.public_id]),
        ("monitoring:patient_flags", lambda p: [p.public_id]),
    ],
)
def test_every_patient_page_has_a_timeline_tab(client_for, physician, patient, name, args):
    page = client_for(physician).get(reverse(name, args=args(patient))).content.decode()
    timeline = reverse("monitoring:timeline", args=[patient.public_id])
    assert f'href="{timeline}">Timeline</a>' in page


@pytest.mark.django_db
def test_the_timeline_tab_is_marked_current_on_the_timeline(client_for, physician, patient):
    page = (
        client_for(physician)
        .get(reverse("monitoring:timeline", args=[patient.public_id]))
        .content.decode()
    )
    assert 'aria-current="page">Timeline</a>' in page


@pytest.mark.django_db
def test_the_patient_list_links_each_row_to_its_timeline(client_for, nurse, patient):
    page = client_for(nurse).get(reverse("patients:list")).content.decode()
    timeline = reverse("monitoring:timeline", args=[patient.public_id])
    assert f'href="{timeline}" aria-label="Timeline of {patient.family_name}' in page


# --- Data tables on demand ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_loads_the_data_tables_on_demand_only(client_for, physician, patient, course):
    lab(patient, "ANC", "0.4500000000", date(2025, 1, 1), grade=4)
    client = client_for(physician)
    page = client.get(reverse("monitoring:timeline", args=[patient.public_id])).content.decode()
    tables_url = reverse("monitoring:timeline_tables", args=[patient.public_id])
    assert "<caption>ANC (10^9/L)</caption>" not in page
    assert f'hx-get="{tables_url}" hx-trigger="toggle once"' in page
    tables = client.get(tables_url)
    assert tables.status_code == 200
    html = tables.content.decode()
    assert "<caption>ANC (10^9/L)</caption>" in html
    assert "<td>0.45 10^9/L</td>" in html  # the catalogue's two places, no trailing zeros
    assert "<html" not in html  # a fragment for htmx, not a page


@pytest.mark.django_db
def test_data_table_times_are_on_the_clinic_clock(client_for, physician, patient, course, settings):
    # 08:30 in the clinic (America/New_York) is 13:30 UTC: the table shows the clinic's hour.
    lab(patient, "ANC", "1.9", date(2025, 1, 6), grade=0)
    html = (
        client_for(physician)
        .get(reverse("monitoring:timeline_tables", args=[patient.public_id]))
        .content.decode()
    )
    assert "<td>2025-01-06 08:30</td>" in html


@pytest.mark.django_db
def test_outsider_gets_404_for_the_data_tables(client_for, outsider, patient):
    url = reverse("monitoring:timeline_tables", args=[patient.public_id])
    assert client_for(outsider).get(url).status_code == 404


@pytest.mark.django_db
def test_data_tables_query_count_does_not_grow_with_history(client_for, physician, patient, course):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(physician)
    url = reverse("monitoring:timeline_tables", args=[patient.public_id])
    monthly_cbcs(patient, 3)
    client.get(url)  # the rule settings in force, remembered
    with CaptureQueriesContext(connection) as short:
        assert client.get(url).status_code == 200
    monthly_cbcs(patient, 60, start=date(2018, 1, 1))
    with CaptureQueriesContext(connection) as long:
        assert client.get(url).status_code == 200
    assert len(long.captured_queries) == len(short.captured_queries)


@pytest.mark.django_db
def test_a_three_month_gap_in_counts_is_not_bridged_on_the_page(
    client_for, physician, patient, course
):
    for on in (date(2025, 1, 6), date(2025, 2, 3), date(2025, 5, 5)):  # 28 days, then 91
        lab(patient, "ANC", "1.9", on, grade=0)
    counts = figure(
        client_for(physician).get(reverse("monitoring:timeline", args=[patient.public_id])),
        "counts-figure",
    )
    assert counts["data"][0]["y"] == [1.9, 1.9, None, 1.9]


def hold_lines(response) -> list[str]:
    return [
        a["text"]
        for a in figure(response, "counts-figure")["layout"].get("annotations", [])
        if a.get("text", "").startswith("hold <")
    ]


@pytest.mark.django_db
def test_a_new_rule_settings_version_is_drawn_on_the_next_request(
    client_for, physician, patient, course, django_assert_num_queries
):
    from patients.models import RuleSetting

    client = client_for(physician)
    url = reverse("monitoring:timeline", args=[patient.public_id])
    assert "hold < 0.5" in str(hold_lines(client.get(url)))
    client.get(url)
    with django_assert_num_queries(TIMELINE_QUERIES):  # remembered: one query for the state
        client.get(url)
    newest = RuleSetting.objects.filter(key="dosing.hold.anc_below").order_by("-version").first()
    RuleSetting.objects.create(
        key="dosing.hold.anc_below",
        version=(newest.version if newest else 0) + 1,
        clinic=patient.clinic,
        value=Decimal("0.75"),
        unit="10^9/L",
        status="common",
        source="Local policy",
        effective_from=TODAY,
    )
    with django_assert_num_queries(TIMELINE_QUERIES + 1):  # a new state: the settings read
        lines = str(hold_lines(client.get(url)))
    assert "hold < 0.75" in lines and "hold < 0.5 " not in lines
    # A version edited in place through save() (admin never does: a change is a new
    # version) is seen on the next request too.
    RuleSetting.objects.filter(value=Decimal("0.75")).get().save()  # updated_at moves
    row = RuleSetting.objects.get(value=Decimal("0.75"))
    row.value = Decimal("0.8")
    row.save()
    assert "hold < 0.8" in str(hold_lines(client.get(url)))


@pytest.mark.django_db
def test_a_rule_settings_version_dated_tomorrow_applies_from_tomorrow(
    client_for, physician, patient, course, time_machine
):
    from patients.models import RuleSetting

    client = client_for(physician)
    url = reverse("monitoring:timeline", args=[patient.public_id])
    RuleSetting.objects.create(
        key="dosing.hold.platelets_below",
        version=99,
        clinic=patient.clinic,
        value=Decimal("40"),
        unit="10^9/L",
        status="common",
        source="Local policy",
        effective_from=TODAY + timedelta(days=1),
    )
    assert "hold < 30" in str(hold_lines(client.get(url)))
    time_machine.move_to(timezone.make_aware(datetime.combine(TODAY + timedelta(days=1), time(9))))
    client = client_for(physician)  # a new day's session
    assert "hold < 40" in str(hold_lines(client.get(url)))


@pytest.mark.django_db
def test_a_baseline_below_the_measurable_level_reads_in_words_not_as_a_code(
    client_for, physician, patient, course
):
    lab(patient, "SPEP_M", "0.2", date(2024, 9, 1), unit="g/dL", panel="myeloma")
    lab(patient, "SPEP_M", "0.1", date(2025, 6, 1), unit="g/dL", panel="myeloma")
    page = client_for(physician).get(reverse("monitoring:timeline", args=[patient.public_id]))
    text = page.content.decode()
    assert 'data-testid="suggested-response">Not measurable<' in text
    assert "not_measurable" not in text
