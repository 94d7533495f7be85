"""Issue 9, one test per reproduction: the exact request, the status, the words, and that
nothing was stored."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from monitoring import errors, tasks
from monitoring.models import Flag
from monitoring.views import SWEEP_LATER
from patients import parsing
from patients.api_fields import JSON_TOO_DEEP
from patients.login import USERNAME_TOO_LONG
from patients.models import LabResult
from therapy.views import FIRST_MONTH, LAST_MONTH

pytestmark = pytest.mark.django_db

WHEN = "2025-03-03T08:30:00-05:00"


def page_text(response) -> str:
    """The page as a person reads it (entities such as &#x27; decoded)."""
    return html.unescape(response.content.decode())


def api(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def labs_url(patient) -> str:
    return f"/api/v1/patients/{patient.public_id}/labs/"


def post_labs(user, patient, results, collected_at=WHEN):
    return api(user).post(
        labs_url(patient), {"collected_at": collected_at, "results": results}, format="json"
    )


def one(value, test="ANC", unit="10^9/L", **extra):
    return [{"test": test, "value": value, "unit": unit, **extra}]


# --- 1. Limits: results per request, each problem once on its row ---------------------------


def test_more_results_than_the_catalogue_holds_is_refused_before_any_row_is_checked(nurse, patient):
    rows = one("0.4") * 1000
    response = post_labs(nurse, patient, rows)
    assert response.status_code == 400
    assert len(response.content) < 2_000  # no longer 64 MB
    message = response.json()["errors"]["results"]["non_field_errors"][0]
    assert "no more than" in message
    assert not LabResult.objects.exists()


def test_each_problem_is_reported_once_on_the_row_it_belongs_to(nurse, patient):
    rows = one("0.4") * 3 + one("abc", test="PLT")
    response = post_labs(nurse, patient, rows)
    assert response.status_code == 400
    results = response.json()["results"]
    twice = errors.TWICE_IN_ONE_ENTRY.format(test="Neutrophils (ANC)")
    assert [r["errors"] for r in results] == [
        [],
        [twice],
        [twice],
        [errors.NOT_A_NUMBER.format(test="Platelets", value="abc")],
    ]
    assert not LabResult.objects.exists()


def test_a_duplicate_of_a_stored_result_is_reported_once_on_its_row(nurse, patient):
    assert post_labs(nurse, patient, one("2.5")).status_code == 201
    response = post_labs(nurse, patient, one("2.5") + one("150", test="PLT"))
    assert response.status_code == 400
    first, second = response.json()["results"]
    assert len(first["errors"]) == 1 and first["existing_result_id"] is not None
    assert second["errors"] == []
    assert LabResult.objects.count() == 1


def test_a_body_over_the_api_limit_gets_a_json_413(nurse, patient, settings):
    body = json.dumps({"collected_at": WHEN, "results": one("1" * 10)}) + " " * 5_000_000
    response = api(nurse).post(labs_url(patient), body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert f"at most {settings.API_MAX_BODY_BYTES} bytes" in response.json()["detail"]
    assert not LabResult.objects.exists()


def test_json_nested_5000_levels_gets_a_json_400(nurse, patient, settings):
    body = "[" * 5000 + "]" * 5000
    response = api(nurse).post(labs_url(patient), body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == JSON_TOO_DEEP.format(limit=settings.API_MAX_JSON_DEPTH)
    assert not LabResult.objects.exists()


# --- 2 and 6. Numbers: one strict parser on the API and on the nurse's form --------------------

REFUSED_NUMBERS = [
    ("1E+999999999", parsing.EXPONENT),
    ("1e-999999999", parsing.EXPONENT),
    ("1e1", parsing.EXPONENT),
    ("0_3", parsing.NOT_A_NUMBER),
    ("0,3", parsing.DECIMAL_COMMA),
    # Unicode digits are all refused, whichever decimal separator goes with them.
    ("٠.٣", parsing.NOT_ASCII_DIGITS),
    ("٠٫٣", parsing.NOT_ASCII_DIGITS),
    ("0.４", parsing.NOT_ASCII_DIGITS),
    ("1" * 13, parsing.TOO_MANY_DIGITS),
]


@pytest.mark.parametrize(("value", "message"), REFUSED_NUMBERS)
def test_api_refuses_a_lenient_number_and_names_it(nurse, patient, value, message):
    response = post_labs(nurse, patient, one(value))
    assert response.status_code == 400
    assert response.json()["results"][0]["errors"] == [
        message.format(test="Neutrophils (ANC)", value=value)
    ]
    assert not LabResult.objects.exists()


@pytest.mark.parametrize(("value", "message"), REFUSED_NUMBERS[:3])
def test_nurse_form_refuses_an_exponent(client_for, nurse, patient, value, message):
    url = reverse("monitoring:lab_entry", args=[patient.public_id, "cbc"])
    response = client_for(nurse).post(
        url, {"collected_at": "2025-03-03 08:30", "value_ANC": value, "unit_ANC": "10^9/L"}
    )
    assert response.status_code == 400
    assert message.format(test="Neutrophils (ANC)", value=value) in page_text(response)
    assert not LabResult.objects.exists()


# --- 2. Query parameters: dates, months, ids, clinic ------------------------------------------


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1-1", "99999999999999999999-1"])
def test_course_calendar_refuses_a_month_out_of_range(client_for, physician, matrix_world, month):
    url = reverse("therapy:course", args=[matrix_world["patient_id"]])
    response = client_for(physician).get(url, {"month": month})
    assert response.status_code == 400
    assert parsing.BAD_MONTH.format(
        name="month",
        earliest=f"{FIRST_MONTH:%Y-%m}",
        latest=f"{LAST_MONTH:%Y-%m}",
        value=month,
    ) in page_text(response)


def test_course_calendar_stops_its_navigation_at_the_last_month(
    client_for, physician, matrix_world
):
    url = reverse("therapy:course", args=[matrix_world["patient_id"]])
    page = page_text(client_for(physician).get(url, {"month": f"{LAST_MONTH:%Y-%m}"}))
    assert "Previous" in page and "Next →" not in page


@pytest.mark.parametrize(("name", "value"), [("until", "9999-12-31"), ("since", "0001-01-01")])
def test_api_lab_list_refuses_a_date_out_of_range(nurse, patient, name, value):
    response = api(nurse).get(labs_url(patient), {name: value})
    assert response.status_code == 400
    assert response.json()[name] == [
        parsing.BAD_DATE.format(
            name=name, earliest=parsing.EARLIEST_DATE, latest=parsing.LATEST_DATE, value=value
        )
    ]


@pytest.mark.parametrize(("name", "value"), [("until", "9999-12-31"), ("since", "0001-01-01")])
def test_web_lab_list_refuses_a_date_out_of_range(client_for, nurse, patient, name, value):
    url = reverse("monitoring:labs", args=[patient.public_id])
    response = client_for(nurse).get(url, {name: value})
    assert response.status_code == 400
    assert "between 1900-01-01 and 2100-12-31" in page_text(response)


@pytest.mark.parametrize("page", ["monitoring:worklist", "monitoring:inbox"])
@pytest.mark.parametrize("clinic", ["²", "99999999999999999999999"])
def test_worklist_and_inbox_refuse_a_clinic_that_is_not_an_id(
    client_for, nurse, physician, page, clinic
):
    user = nurse if page == "monitoring:worklist" else physician
    response = client_for(user).get(reverse(page), {"clinic": clinic})
    assert response.status_code == 400
    assert parsing.BAD_ID.format(name="clinic", largest=parsing.MAX_ID, value=clinic) in page_text(
        response
    )


# --- Text: NUL, lone surrogates, non-string notes ------------------------------------------


def _ack_url(world) -> str:
    return reverse(
        "api-flag-acknowledge",
        kwargs={"public_id": world["patient_id"], "flag_id": world["flag_id"]},
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('{"note": "\\ud800"}', "unpaired UTF-16 surrogate"),
        ('{"note": {"a": 1}}', "must be text"),
        ('{"note": 12}', "must be text"),
        ('{"note": ["x"]}', "must be text"),
    ],
)
def test_acknowledgement_note_must_be_valid_text(nurse, matrix_world, body, words):
    response = api(nurse).post(_ack_url(matrix_world), body, content_type="application/json")
    assert response.status_code == 400
    assert words in json.dumps(response.json())
    flag = Flag.objects.get(pk=matrix_world["flag_id"])
    assert flag.status == Flag.Status.OPEN and flag.acknowledgement_note == ""


def test_a_text_field_with_a_nul_is_refused(nurse, matrix_world):
    response = api(nurse).post(
        _ack_url(matrix_world), '{"note": "a\\u0000b"}', content_type="application/json"
    )
    assert response.status_code == 400
    assert Flag.objects.get(pk=matrix_world["flag_id"]).status == Flag.Status.OPEN


def test_serializer_refuses_lone_surrogates_and_nul_itself():
    from monitoring.api import FlagAcknowledgementIn

    for note in ("\ud800", "a\x00b", {"x": 1}):
        incoming = FlagAcknowledgementIn(data={"note": note})
        assert not incoming.is_valid()


# --- Times: an offset, or the clinic's zone; the repeated 01:30 ---------------------------


def test_api_refuses_a_date_without_a_time(nurse, patient):
    response = post_labs(nurse, patient, one("2.5"), collected_at="2025-03-03")
    assert response.status_code == 400
    assert response.json()["errors"]["collected_at"] == [
        parsing.NO_OFFSET_DATE_ONLY.format(name="collected_at")
    ]
    assert not LabResult.objects.exists()


@pytest.mark.parametrize(
    "collected_at", ["0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00", "9999-12-31T23:59"]
)
def test_api_refuses_a_time_whose_zone_arithmetic_would_overflow(nurse, patient, collected_at):
    response = post_labs(nurse, patient, one("2.5"), collected_at=collected_at)
    assert response.status_code == 400
    assert (
        "must be between 1900-01-01 and 2100-12-31" in response.json()["errors"]["collected_at"][0]
    )
    assert not LabResult.objects.exists()


def test_nurse_form_refuses_a_time_out_of_range(client_for, nurse, patient):
    url = reverse("monitoring:lab_entry", args=[patient.public_id, "cbc"])
    response = client_for(nurse).post(
        url, {"collected_at": "9999-12-31 23:59", "value_ANC": "2.5", "unit_ANC": "10^9/L"}
    )
    assert response.status_code == 400
    assert "must be between 1900-01-01 and 2100-12-31" in page_text(response)
    assert not LabResult.objects.exists()


def test_api_reads_a_time_without_offset_in_the_clinic_zone(nurse, patient):
    response = post_labs(nurse, patient, one("2.5"), collected_at="2025-03-03T08:30")
    assert response.status_code == 201
    assert LabResult.objects.get().collected_at == datetime(2025, 3, 3, 13, 30, tzinfo=UTC)


def test_api_asks_for_the_offset_of_the_repeated_hour(nurse, patient):
    response = post_labs(nurse, patient, one("2.5"), collected_at="2025-11-02T01:30")
    assert response.status_code == 400
    assert "happened twice" in response.json()["errors"]["collected_at"][0]
    assert not LabResult.objects.exists()
    later = post_labs(nurse, patient, one("2.5"), collected_at="2025-11-02T01:30-05:00")
    assert later.status_code == 201


def test_nurse_chooses_which_0130_was_meant_when_the_clocks_go_back(client_for, nurse, patient):
    url = reverse("monitoring:lab_entry", args=[patient.public_id, "cbc"])
    data = {"collected_at": "2025-11-02 01:30", "value_ANC": "2.5", "unit_ANC": "10^9/L"}
    client = client_for(nurse)
    asked = client.post(url, data)
    assert asked.status_code == 400
    page = page_text(asked)
    assert "happened twice" in page and 'data-testid="which-time"' in page
    assert not LabResult.objects.exists()
    assert client.post(url, {**data, "which_time": "later"}).status_code == 302
    assert LabResult.objects.get().collected_at == datetime(2025, 11, 2, 6, 30, tzinfo=UTC)
    data["value_ANC"], data["unit_ANC"] = "2.6", "10^9/L"
    assert client.post(url, {**data, "which_time": "earlier"}).status_code == 302
    assert LabResult.objects.order_by("collected_at").first().collected_at == datetime(
        2025, 11, 2, 5, 30, tzinfo=UTC
    )


def test_nurse_form_refuses_a_time_that_did_not_exist(client_for, nurse, patient):
    url = reverse("monitoring:lab_entry", args=[patient.public_id, "cbc"])
    response = client_for(nurse).post(
        url, {"collected_at": "2025-03-09 02:30", "value_ANC": "2.5", "unit_ANC": "10^9/L"}
    )
    assert response.status_code == 400
    assert "did not exist" in page_text(response)
    assert not LabResult.objects.exists()


# --- 3. Login -----------------------------------------------------------------------------------


def test_a_username_longer_than_the_field_is_refused_before_the_lockout_code(client):
    response = client.post(reverse("login"), {"username": "a" * 300, "password": "x"})
    assert response.status_code == 200
    assert USERNAME_TOO_LONG.format(limit=150) in page_text(response)
    assert not AccessAttempt.objects.exists()


# --- 7. Schema, broker down -------------------------------------------------------------------


def test_schema_is_for_signed_in_users_only(client, nurse):
    assert client.get("/api/schema/").status_code in (401, 403)
    client.force_login(nurse)
    assert client.get("/api/schema/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_confirmation_says_flags_wait_for_the_sweep_when_the_broker_is_down(
    client_for, nurse, patient, monkeypatch
):
    # A real commit (no test transaction around the request), so the evaluation is queued
    # on commit inside the view, as in production.
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.app, "producer_or_acquire", broker_down)
    url = reverse("monitoring:lab_entry", args=[patient.public_id, "cbc"])
    response = client_for(nurse).post(
        url,
        {"collected_at": "2025-03-03 08:30", "value_ANC": "2.5", "unit_ANC": "10^9/L"},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 results saved." in page_text(response)
    assert SWEEP_LATER in page_text(response)
    assert LabResult.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_confirmation_does_not_mention_the_sweep_when_the_broker_is_up(
    client_for, nurse, patient, monkeypatch
):
    monkeypatch.setattr(tasks, "enqueue_patients_evaluation", lambda patient_ids: True)
    url = reverse("monitoring:lab_entry", args=[patient.public_id, "cbc"])
    response = client_for(nurse).post(
        url,
        {"collected_at": "2025-03-03 08:30", "value_ANC": "2.5", "unit_ANC": "10^9/L"},
        follow=True,
    )
    assert "1 results saved." in page_text(response)
    assert SWEEP_LATER not in page_text(response)
