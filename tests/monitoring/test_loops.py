"""Loops that close in the same request: a decision resolves its flag, entered-in-error
withdraws what rested on the result, and flags follow the current finding."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.evaluation import sweep_run
from monitoring.models import Flag, MonitoringStatus
from patients.models import LabResult
from tests.factories import WeightFactory
from tests.monitoring.conftest import cbc, evaluate, open_flag, record
from therapy.models import DoseSuggestion, Hold

pytestmark = pytest.mark.django_db
K = Flag.Kind


def nav(user) -> str:
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from monitoring.panels import nav_context

    request = RequestFactory().get("/")
    request.user = user
    return render_to_string("monitoring/_nav.html", nav_context(request, None))


@pytest.fixture
def hold_suggested(patient, nurse, course):
    """ANC 0.3 on lenalidomide: a hold flag and a pending hold suggestion."""
    (anc, *_) = cbc(patient, nurse, date(2025, 2, 10), anc="0.3")
    evaluate(patient, date(2025, 2, 10))
    suggestion = DoseSuggestion.objects.get(patient=patient, status="pending", kind="hold")
    assert open_flag(patient, K.HOLD_RECOMMENDED).dose_suggestion_id == suggestion.pk
    return anc, suggestion


def test_accepting_a_hold_from_the_inbox_resolves_its_flag_and_clears_the_count_at_once(
    client_for, physician, patient, hold_suggested
):
    _, suggestion = hold_suggested
    inbox = reverse("monitoring:inbox")
    assert 'data-testid="decision-flag-count">1<' in nav(physician)
    response = client_for(physician).post(
        reverse("monitoring:suggestion_accept", args=[patient.public_id, suggestion.public_id]),
        {"next": inbox},
    )
    assert response.status_code == 302 and response.url == inbox
    flag = Flag.objects.get(patient=patient, kind=K.HOLD_RECOMMENDED)
    hold = Hold.objects.get(course__patient=patient)
    assert flag.status == "resolved"
    assert flag.resolution.startswith("Suggestion accepted by Paul Physician")
    assert flag.resolving_evidence == [
        {"code": "HOLD", "value": f"Hold started {hold.start_date:%Y-%m-%d}", "unit": ""}
    ]
    page = client_for(physician).get(inbox).content.decode()
    assert 'data-testid="inbox-row"' not in page and "Nothing needs a decision." in page
    assert "decision-flag-count" not in nav(physician)
    sweep_run(as_of=timezone.localdate())  # the next sweep does not bring it back
    assert open_flag(patient, K.HOLD_RECOMMENDED) is None


def test_dismissing_a_suggestion_acknowledges_its_flag_with_the_reason(
    client_for, physician, patient, hold_suggested
):
    _, suggestion = hold_suggested
    url = reverse("monitoring:suggestion_dismiss", args=[patient.public_id, suggestion.public_id])
    assert client_for(physician).post(url, {"reason": " "}).status_code == 400
    response = client_for(physician).post(
        url + "?next=" + reverse("monitoring:inbox"), {"reason": "Lab error suspected"}
    )
    assert response.status_code == 302 and response.url == reverse("monitoring:inbox")
    flag = open_flag(patient, K.HOLD_RECOMMENDED)
    assert (flag.status, flag.acknowledged_by, flag.acknowledgement_note) == (
        "acknowledged",
        physician,
        "Suggestion dismissed: Lab error suspected",
    )
    page = client_for(physician).get(reverse("monitoring:inbox")).content.decode()
    assert 'data-testid="inbox-row"' not in page
    done = page.split('data-testid="done-today"')[1]
    assert "Suggestion dismissed: Lab error suspected" in done


def test_entered_in_error_withdraws_the_suggestion_raised_on_it_and_a_sweep_keeps_it_so(
    client_for, nurse, physician, patient, hold_suggested
):
    anc, suggestion = hold_suggested
    response = client_for(nurse).post(
        reverse("monitoring:result_mark_error", args=[patient.public_id, anc.pk]),
        {"reason": "Wrong patient"},
    )
    assert response.status_code == 302
    suggestion.refresh_from_db()
    assert suggestion.status == "withdrawn"
    assert suggestion.withdraw_reason == (
        "Evidence withdrawn: Neutrophils (ANC) 0.3 10^9/L collected 2025-02-10 was marked "
        "entered-in-error (Wrong patient)"
    )
    flag = Flag.objects.get(patient=patient, kind=K.HOLD_RECOMMENDED)
    assert flag.status == "resolved" and flag.resolution.startswith("Evidence withdrawn: ")
    neutropenia = Flag.objects.get(patient=patient, kind=K.NEUTROPENIA)
    assert neutropenia.status == "resolved"
    assert neutropenia.resolution.startswith("Evidence withdrawn: ")
    course_page = client_for(physician).get(reverse("therapy:course", args=[patient.public_id]))
    assert ">Accept</button>" not in course_page.content.decode()
    page = course_page.content.decode()
    assert "Evidence withdrawn: " in page and "Withdrawn: Evidence withdrawn" not in page
    sweep_run(as_of=date(2025, 2, 11))
    sweep_run(as_of=timezone.localdate())
    suggestion.refresh_from_db()
    assert suggestion.status == "withdrawn"
    assert not DoseSuggestion.objects.filter(patient=patient, status="pending").exists()


# --- CBC: complete from one draw, the interval in force at the last CBC -------------------


def test_an_anc_alone_does_not_clear_cbc_overdue_and_a_complete_cbc_does(patient, nurse, course):
    cbc(patient, nurse, date(2025, 3, 3))  # cycle 3 day 1: due 03-31, overdue from 04-04
    evaluate(patient, date(2025, 4, 4))
    assert open_flag(patient, K.CBC_OVERDUE) is not None
    record(patient, nurse, date(2025, 4, 4), ANC="3.1")
    evaluate(patient, date(2025, 4, 4))
    assert open_flag(patient, K.CBC_OVERDUE) is not None
    record(patient, nurse, date(2025, 4, 4), hour=11, ANC="3.0", PLT="210", HGB="13.1")
    evaluate(patient, date(2025, 4, 4))  # no WBC in that draw: still not a CBC
    assert open_flag(patient, K.CBC_OVERDUE) is not None
    cbc(patient, nurse, date(2025, 4, 4), hour=14)
    evaluate(patient, date(2025, 4, 4))
    assert open_flag(patient, K.CBC_OVERDUE) is None
    assert Flag.objects.get(kind=K.CBC_OVERDUE).resolution == "Complete CBC collected 2025-04-04."


def test_the_complete_cbc_set_is_a_rule_setting(patient, nurse, course):
    from patients.models import RuleSetting

    RuleSetting.objects.create(
        key="schedule.cbc.complete_requires.WBC",
        version=2,
        value=Decimal(0),
        unit="1 = required in the same draw",
        status="common",
        source="Local policy: WBC not required",
        effective_from=date(2025, 1, 1),
    )
    cbc(patient, nurse, date(2025, 3, 3))
    record(patient, nurse, date(2025, 4, 4), ANC="3.0", PLT="210", HGB="13.1")
    evaluate(patient, date(2025, 4, 4))
    assert open_flag(patient, K.CBC_OVERDUE) is None
    assert MonitoringStatus.objects.get(patient=patient).last_cbc_on == date(2025, 4, 4)


def hold_between(course, physician, start, end):
    from therapy import services as therapy_services

    hold = therapy_services.hold_start(
        course=course, user=physician, start_date=start, reason=Hold.Reason.INFECTION
    )
    therapy_services.hold_end(hold=hold, user=physician, end_date=end)


@pytest.mark.parametrize(
    ("last_cbc", "phase", "due"),
    [
        (date(2025, 3, 2), "early", date(2025, 3, 16)),  # cycle 2 day 28
        (date(2025, 3, 3), "standard", date(2025, 3, 31)),  # cycle 3 day 1
        (date(2025, 3, 4), "standard", date(2025, 4, 1)),  # cycle 3 day 2
    ],
)
def test_the_cbc_interval_is_the_one_in_force_at_the_last_cbc_despite_a_later_hold(
    patient, nurse, physician, course, last_cbc, phase, due
):
    cbc(patient, nurse, last_cbc)
    hold_between(course, physician, date(2025, 3, 10), date(2025, 3, 27))  # 17 days
    evaluate(patient, date(2025, 3, 30))
    status = MonitoringStatus.objects.get(patient=patient)
    assert (status.cbc_phase, status.cbc_due_on) == (phase, due)
    assert (open_flag(patient, K.CBC_OVERDUE) is not None) == (phase == "early")


# --- Severity grows with time ----------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "severity"),
    [
        (date(2025, 4, 27), Flag.Severity.ATTENTION),  # 27 days past the due date 03-31
        (date(2025, 4, 28), Flag.Severity.URGENT),  # a whole 28-day interval past due
        (date(2025, 4, 29), Flag.Severity.URGENT),
    ],
)
def test_an_overdue_cbc_while_dosing_becomes_urgent_after_a_whole_interval(
    patient, nurse, course, as_of, severity
):
    cbc(patient, nurse, date(2025, 3, 3))
    evaluate(patient, as_of)
    flag = open_flag(patient, K.CBC_OVERDUE)
    assert flag.severity == severity
    assert ("More than a whole CBC interval" in flag.message) == (severity == Flag.Severity.URGENT)


@pytest.mark.parametrize(
    ("as_of", "stale"),
    [(date(2025, 3, 30), False), (date(2025, 3, 31), False), (date(2025, 4, 1), True)],
)
def test_a_cytopenia_flag_is_stale_once_its_count_is_older_than_the_cbc_interval(
    patient, nurse, course, as_of, stale
):
    cbc(patient, nurse, date(2025, 3, 3), plt="60")  # grade 2 thrombocytopenia, cycle 3
    evaluate(patient, as_of)
    flag = open_flag(patient, K.THROMBOCYTOPENIA)
    assert bool(flag.values.get("stale")) is stale
    assert ("Stale:" in flag.message) is stale


def test_a_flag_turning_stale_is_reported_as_changed_with_its_old_words_kept(
    patient, nurse, course
):
    cbc(patient, nurse, date(2025, 3, 3), plt="60")
    evaluate(patient, date(2025, 3, 31))
    before = open_flag(patient, K.THROMBOCYTOPENIA).message
    outcome = evaluate(patient, date(2025, 4, 1))
    assert outcome.changed >= 1
    flag = open_flag(patient, K.THROMBOCYTOPENIA)
    assert flag.escalations[-1]["from_message"] == before


# --- REMS flags follow the current finding (issue 14 item 2) -----------------------------


def test_a_rems_flag_follows_the_finding_when_an_authorization_is_recorded(
    patient, nurse, rems_admin, course
):
    from therapy import services as therapy_services

    as_of = date(2025, 3, 3)
    therapy_services.rems_enrollment_save(
        patient=patient,
        user=rems_admin,
        today=as_of,
        data={
            "patient_risk_category": "male_adult",
            "enrolled_on": date(2025, 1, 2),
            "agreement_signed_on": date(2025, 1, 2),
            "prescriber_certification_expires_on": date(2030, 1, 1),
            "status": "active",
        },
    )
    evaluate(patient, as_of)
    flag = open_flag(patient, K.REMS_ACTION_NEEDED)
    assert "no authorization" in flag.message and flag.severity == Flag.Severity.ATTENTION
    therapy_services.rems_authorization_create(
        patient=patient,
        user=rems_admin,
        authorization_number="AUTH-7",
        obtained_on=as_of,
        days_supply=28,
        today=as_of,
    )
    outcome = evaluate(patient, as_of + timedelta(days=27))  # expires in 2 days
    assert outcome.changed >= 1
    flag.refresh_from_db()
    assert flag.status == "open"
    assert "authorization expiring" in flag.message and "no authorization" not in flag.message
    assert flag.severity == Flag.Severity.ROUTINE
    assert {"code": "REMS", "value": "authorization expiring"} in flag.evidence
    assert "no authorization" in flag.escalations[-1]["from_message"]


# --- Renal review after the start (issue 14 item 3) ---------------------------------------


def test_crcl_below_30_while_dosing_10_mg_asks_for_a_renal_review_naming_band_and_dose(
    patient, nurse, course
):
    WeightFactory(patient=patient, measured_on=date(2025, 1, 2), weight_kg=Decimal("60"))
    record(patient, nurse, date(2025, 3, 1), CREAT="3.5")
    evaluate(patient, date(2025, 3, 1))
    flag = open_flag(patient, K.RENAL_DOSE_REVIEW)
    assert "Renal band: severe (CrCl below 30 mL/min, not on dialysis)" in flag.message
    assert "label reference dose 2.5 mg once daily" in flag.message
    assert "creatinine 3.5 mg/dL" in flag.message
    suggestion = DoseSuggestion.objects.get(patient=patient, kind="renal_dose_review")
    assert suggestion.status == "pending"


def test_no_renal_review_when_crcl_is_30_or_more(patient, nurse, course):
    WeightFactory(patient=patient, measured_on=date(2025, 1, 2), weight_kg=Decimal("80"))
    record(patient, nurse, date(2025, 3, 1), CREAT="1.0")
    evaluate(patient, date(2025, 3, 1))
    assert open_flag(patient, K.RENAL_DOSE_REVIEW) is None


# --- Nobody to notify ----------------------------------------------------------------------


def test_a_critical_flag_with_nobody_to_email_says_so_on_the_worklist(
    client_for, nurse, physician, patient
):
    physician.email = ""
    physician.save()
    record(patient, nurse, date(2025, 3, 1), ANC="0.3")
    evaluate(patient, date(2025, 3, 1))
    page = client_for(nurse).get(reverse("monitoring:worklist")).content.decode()
    assert 'data-testid="nobody-notified"' in page
    assert "Nobody was emailed about this flag" in page


def test_a_critical_flag_that_was_emailed_does_not_warn(client_for, nurse, physician, patient):
    physician.email = "physician@example.org"
    physician.save()
    record(patient, nurse, date(2025, 3, 1), ANC="0.3")
    evaluate(patient, date(2025, 3, 1))
    page = client_for(nurse).get(reverse("monitoring:worklist")).content.decode()
    assert 'data-testid="nobody-notified"' not in page
    assert LabResult.objects.count() == 1


@pytest.mark.parametrize(
    ("case", "reachable"),
    [
        ("physician with an address", True),
        ("physician without an address", False),
        ("inactive physician", False),
        ("nurse with an address", False),
        ("physician of another clinic", False),
    ],
)
def test_the_worklist_reads_whether_a_flag_was_emailed_and_its_clinic_reachable(
    nurse, patient, clinic_b, case, reachable
):
    from monitoring import selectors
    from monitoring.models import Notification
    from patients.roles import NURSE, PHYSICIAN
    from tests.conftest import _member

    role = NURSE if case.startswith("nurse") else PHYSICIAN
    clinic = clinic_b if "another clinic" in case else patient.clinic
    _member(
        "someone",
        role,
        clinic,
        email="" if "without" in case else "someone@example.org",
        is_active=case != "inactive physician",
    )
    from tests.monitoring.test_page_costs import flag

    quiet = flag(patient, Flag.Kind.NEUTROPENIA, severity=4)
    mailed = flag(patient, Flag.Kind.THROMBOCYTOPENIA, severity=4)
    Notification.objects.create(
        key="k1", flag=mailed, recipient="someone@example.org", subject="s", body="b"
    )
    read = {
        f.pk: (f.emailed, f.reachable)
        for f in selectors.with_notification_reach(Flag.objects.filter(patient=patient))
    }
    assert read == {quiet.pk: (False, reachable), mailed.pk: (True, reachable)}


def test_demo_users_have_an_email_address_so_critical_flags_reach_someone():
    from django.contrib.auth import get_user_model

    from patients.demo import ensure_clinics_and_users

    ensure_clinics_and_users()
    users = get_user_model().objects.exclude(username="admin")
    assert users.exists()
    assert not users.filter(email="").exists()
    assert users.get(username="physician.north").email == "physician.north@demo.example.org"
