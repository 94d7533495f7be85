"""Nurse tools: follow-up calls on the worklist, "notify physician", the printable
worklist and the patient's dosing calendar (client level, as a user works)."""

import re
from datetime import date, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.models import Flag, MonitoringStatus
from monitoring.nursing import services as nursing_services
from patients.models import FollowUpCall, PatientNote
from therapy import services as therapy_services
from therapy.models import Regimen

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)  # a Monday
NOON = timezone.make_aware(datetime(2026, 3, 2, 12, 0))


@pytest.fixture(autouse=True)
def _clinic_day(time_machine):
    time_machine.move_to(NOON, tick=False)


def _start(patient, physician, code="len-10-d1-21", start=date(2026, 2, 2)):
    return therapy_services.course_start(
        patient=patient,
        user=physician,
        regimen=Regimen.objects.get(code=code),
        start_date=start,
        vte_prophylaxis="aspirin",
        aspirin_dose_mg=81,
        justification="Synthetic test course",
    )


def _hold(course, physician, start, end=None):
    return therapy_services.hold_start(
        course=course, user=physician, start_date=start, reason="neutropenia", end_date=end
    )


def _flag(patient, kind="neutropenia", severity=4, **extra):
    return Flag.objects.create(
        patient=patient,
        kind=kind,
        severity=severity,
        ctcae_grade=4,
        message="Neutrophils (ANC) 0.4 10^9/L: grade 4 neutropenia",
        rule_id="ctcae.v5",
        basis="CTCAE v5.0",
        opened_at=timezone.now(),
        opened_as_of=TODAY,
        **extra,
    )


# --- Follow-up calls -------------------------------------------------------------------------


def test_starting_a_course_puts_three_calls_on_the_worklist_when_each_is_due(
    client_for, physician, nurse, patient
):
    response = client_for(physician).post(
        reverse("therapy:course_start", args=[patient.public_id]),
        {
            "regimen": Regimen.objects.get(code="len-10-d1-21").pk,
            "start_date": "2026-02-28",
            "vte_prophylaxis": "aspirin",
            "aspirin_dose_mg": "81",
            "justification": "Labs not entered in this test",
        },
    )
    assert response.status_code == 302
    calls = FollowUpCall.objects.filter(patient=patient).order_by("due_from")
    assert [(c.kind, c.due_from, c.due_by) for c in calls] == [
        ("after_start_early", date(2026, 3, 2), date(2026, 3, 3)),
        ("after_start_week", date(2026, 3, 7), date(2026, 3, 9)),
        ("after_start_month", date(2026, 3, 30), date(2026, 4, 1)),
    ]
    page = client_for(nurse).get(reverse("monitoring:worklist")).content.decode()
    section = page.split('data-testid="follow-up-calls"')[1].split("</ul>")[0]
    assert "First call after the course start" in section
    assert "Lovelace, Ada" in section
    assert "One-week call" not in section  # not due before 2026-03-07


def test_recording_the_call_takes_it_off_the_worklist_and_writes_a_note(
    client_for, physician, nurse, patient
):
    _start(patient, physician, start=date(2026, 2, 28))
    call = FollowUpCall.objects.get(patient=patient, kind="after_start_early")
    client = client_for(nurse)
    url = reverse("patients:call_done", args=[patient.public_id, call.public_id])
    empty = client.post(url, {"outcome": ""})
    assert empty.status_code == 400 and "Write the outcome of the call." in empty.content.decode()
    response = client.post(
        url + "?next=/monitoring/worklist/", {"outcome": "Taking capsules daily, no rash."}
    )
    assert response.status_code == 302 and response["Location"] == "/monitoring/worklist/"
    call.refresh_from_db()
    assert call.status == "done" and call.done_by == nurse
    assert (
        call.outcome_note.text
        == "First call after the course start: Taking capsules daily, no rash."
    )
    assert PatientNote.objects.filter(patient=patient, reason="follow_up").count() == 1
    page = client.get(reverse("monitoring:worklist")).content.decode()
    section = page.split('data-testid="follow-up-calls"')[1].split("</ul>")[0]
    assert "No follow-up calls due." in section
    again = client.post(url, {"outcome": "twice"})
    assert again.status_code == 400 and "already done" in again.content.decode()


def test_discontinuing_a_course_cancels_its_calls_not_yet_due(physician, patient):
    course = _start(patient, physician, start=date(2026, 2, 28))
    therapy_services.course_discontinue(
        course=course, user=physician, discontinued_on=TODAY, reason="patient_choice", today=TODAY
    )
    statuses = dict(FollowUpCall.objects.values_list("kind", "status"))
    assert statuses == {
        "after_start_early": "open",  # due today: still worth the call
        "after_start_week": "cancelled",
        "after_start_month": "cancelled",
    }


# --- Notify physician ------------------------------------------------------------------------


def test_nurse_sends_a_flag_to_the_physician_inbox_with_her_note(
    client_for, nurse, physician, patient
):
    flag = _flag(patient, kind="leukopenia", severity=2)  # not a decision kind
    client = client_for(nurse)
    response = client.post(
        reverse("monitoring:flag_notify_physician", args=[flag.pk]),
        {"note": "Feels feverish tonight, 38.1. Please review.", "next": "/monitoring/worklist/"},
    )
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.physician_notified_by == nurse and flag.physician_note.startswith("Feels feverish")
    inbox = client_for(physician).get(reverse("monitoring:inbox")).content.decode()
    section = inbox.split('data-testid="physician-requests"')[1].split("</ul>")[0]
    assert "Lovelace, Ada" in section
    assert "Feels feverish tonight, 38.1. Please review." in section
    assert "Nadia Nurse" in section


def test_marking_the_request_seen_takes_it_out_of_the_inbox(client_for, nurse, physician, patient):
    flag = _flag(patient)
    nursing_services.flag_notify_physician(flag=flag, user=nurse, note="ANC 0.4, no fever.")
    client = client_for(physician)
    response = client.post(reverse("monitoring:flag_physician_seen", args=[flag.pk]), {})
    assert response.status_code == 302
    inbox = client.get(reverse("monitoring:inbox")).content.decode()
    assert 'data-testid="physician-requests"' not in inbox
    flag.refresh_from_db()
    assert flag.physician_seen_by == physician and flag.physician_note == "ANC 0.4, no fever."


def test_notify_needs_a_note_and_an_unresolved_flag(client_for, nurse, patient):
    flag = _flag(patient)
    client = client_for(nurse)
    url = reverse("monitoring:flag_notify_physician", args=[flag.pk])
    page = client.post(url, {"note": " "}, follow=True).content.decode()
    assert nursing_services.NOTE_REQUIRED in page
    flag.refresh_from_db()
    assert flag.physician_notified_at is None
    Flag.objects.filter(pk=flag.pk).update(status="resolved", resolved_at=timezone.now())
    page = client.post(url, {"note": "Please look"}, follow=True).content.decode()
    assert nursing_services.FLAG_RESOLVED in page


def test_a_second_request_on_the_same_flag_is_refused_while_the_first_waits(nurse, patient):
    from patients.errors import DomainError

    flag = _flag(patient)
    nursing_services.flag_notify_physician(flag=flag, user=nurse, note="First")
    with pytest.raises(DomainError, match="already asked"):
        nursing_services.flag_notify_physician(flag=flag, user=nurse, note="Second")
    flag.refresh_from_db()
    assert flag.physician_note == "First"


def test_outsider_cannot_notify_on_a_flag_of_another_clinic(client_for, outsider, patient):
    flag = _flag(patient)
    url = reverse("monitoring:flag_notify_physician", args=[flag.pk])
    assert client_for(outsider).post(url, {"note": "x"}).status_code == 404


def test_the_notify_form_shows_on_the_nurse_worklist_not_for_the_physician(
    client_for, nurse, physician, patient
):
    _flag(patient)
    assert "Send to inbox" in client_for(nurse).get(reverse("monitoring:worklist")).content.decode()
    page = client_for(physician).get(reverse("monitoring:worklist")).content.decode()
    assert "Send to inbox" not in page


# --- Printable worklist ----------------------------------------------------------------------


def test_printable_worklist_lists_every_section_without_navigation(
    client_for, nurse, physician, patient
):
    _start(patient, physician, start=date(2026, 2, 28))
    _flag(patient)
    MonitoringStatus.objects.create(
        patient=patient,
        evaluated_at=timezone.now(),
        as_of=TODAY,
        on_course=True,
        cbc_due_on=date(2026, 2, 20),
        cbc_overdue_after=date(2026, 2, 23),
        last_cbc_on=date(2026, 2, 6),
    )
    page = client_for(nurse).get(reverse("monitoring:worklist_print")).content.decode()
    assert "navbar" not in page and "Log out" not in page
    assert "css/print.css" in page
    for testid in ("print-follow-ups", "print-cbc", "print-cytopenias", "print-pregnancy"):
        assert f'data-testid="{testid}"' in page
    cbc = page.split('data-testid="print-cbc"')[1].split("</table>")[0]
    assert "2026-02-20 (overdue)" in cbc and "2026-02-06" in cbc
    assert "Critical · Neutropenia grade 4" in page
    assert "First call after the course start" in page


# --- Dosing calendar -------------------------------------------------------------------------


def _cell(page: str, on: str) -> str:
    match = re.search(rf'data-date="{on}">(.*?)</td>', page, re.S)
    assert match, f"no cell for {on}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def _calendar(client, patient, cycles=None):
    url = reverse("monitoring:dosing_calendar", args=[patient.public_id])
    response = client.get(url + (f"?cycles={cycles}" if cycles else ""))
    assert response.status_code == 200
    return response.content.decode()


def test_calendar_21_of_28_follows_a_past_hold(client_for, nurse, physician, patient, clinic_a):
    clinic_a.phone = "+1 555 0100"
    clinic_a.save()
    course = _start(patient, physician)  # 2026-02-02, lenalidomide 10 mg days 1-21 of 28
    # A 7-day hold (2026-02-16 to 2026-02-22) moves day 21 to 2026-03-01 and cycle 2 to 03-09.
    _hold(course, physician, date(2026, 2, 16), end=date(2026, 2, 23))
    MonitoringStatus.objects.create(
        patient=patient,
        evaluated_at=timezone.now(),
        as_of=TODAY,
        on_course=True,
        cbc_due_on=date(2026, 3, 4),
    )
    page = _calendar(client_for(nurse), patient, cycles=2)
    assert "Lenalidomide 10 mg once a day on days 1-21 of each 28-day cycle, then 7 days" in page
    assert "Cycle 1: 2026-03-02 to 2026-03-08 · Cycle 2: 2026-03-09 to 2026-04-05" in page
    assert _cell(page, "2026-03-02") == "2 No capsule today"  # cycle 1 day 22
    assert _cell(page, "2026-03-08") == "8 No capsule today"
    assert _cell(page, "2026-03-09") == "9 Take 1 capsule (10 mg)"  # cycle 2 day 1
    assert _cell(page, "2026-03-29") == "29 Take 1 capsule (10 mg)"  # day 21
    assert _cell(page, "2026-03-30") == "30 No capsule today"
    assert 'data-date="2026-04-06"' not in page  # cycle 3 is outside two cycles
    # Blood counts every 14 days in cycles 1-2 from the next due date (clinical reference sec. 4).
    assert "Blood tests:</strong> 2026-03-04, 2026-03-18, 2026-04-01." in page
    assert "Blood test" in _cell(page, "2026-03-18")
    assert "Pregnancy test" not in page  # a man: no pregnancy tests
    assert "Call <strong>Alpha Clinic</strong> at <strong>+1 555 0100</strong>" in page
    assert "navbar" not in page


def test_calendar_28_of_28_doses_every_day_and_three_cycles_by_default(
    client_for, nurse, physician, patient
):
    course = _start(patient, physician, code="len-10-d1-28")
    _hold(course, physician, date(2026, 2, 10), end=date(2026, 2, 17))  # 7 days
    page = _calendar(client_for(nurse), patient)
    assert "Lenalidomide 10 mg once a day, every day of each 28-day cycle." in page
    assert "Cycle 1: 2026-03-02 to 2026-03-08 · Cycle 2: 2026-03-09 to 2026-04-05 · " in page
    assert "Cycle 3: 2026-04-06 to 2026-05-03" in page
    for on in ("2026-03-02", "2026-03-08", "2026-03-09", "2026-04-05", "2026-05-03"):
        assert "Take 1 capsule (10 mg)" in _cell(page, on)
    assert "No capsule today" not in page.split('class="dose-month"', 1)[1]
    assert 'data-date="2026-05-04"' not in page


def test_calendar_during_an_open_hold_says_no_capsule_and_keeps_weekly_counts(
    client_for, nurse, physician, patient
):
    course = _start(patient, physician, code="len-10-d1-28")
    _hold(course, physician, date(2026, 2, 25))
    page = _calendar(client_for(nurse), patient)
    assert "Your treatment is on hold since 2026-02-25." in page
    assert _cell(page, "2026-03-02") == "2 On hold: no capsule Blood test"
    assert _cell(page, "2026-03-29") == "29 On hold: no capsule"  # four weeks shown
    # Weekly while held for a low count (label).
    assert "Blood tests:</strong> 2026-03-02, 2026-03-09, 2026-03-16, 2026-03-23." in page


def test_calendar_shows_pregnancy_tests_for_a_female_who_can_become_pregnant(
    client_for, nurse, physician, patient
):
    patient.sex_at_birth = "female"
    patient.reproductive_potential = "can_become_pregnant"
    patient.menses_regular = False
    patient.save()
    _start(patient, physician)  # 2026-02-02; weekly phase ends 2026-03-02
    page = _calendar(client_for(nurse), patient, cycles=1)  # cycle 2: 2026-03-02 to 03-29
    # No test on record: one now, then every 2 weeks with irregular menses (label).
    assert "Pregnancy tests:</strong> 2026-03-02, 2026-03-16." in page
    page = _calendar(client_for(nurse), patient, cycles=3)
    assert "Pregnancy tests:</strong> 2026-03-02, 2026-03-16, 2026-03-30, 2026-04-13," in page
    assert "Pregnancy test" in _cell(page, "2026-03-16")


def test_calendar_refuses_a_bad_cycle_count_with_words(client_for, nurse, physician, patient):
    _start(patient, physician)
    url = reverse("monitoring:dosing_calendar", args=[patient.public_id])
    response = client_for(nurse).get(url + "?cycles=x")
    assert response.status_code == 400
    assert "Cycles must be a whole number from 1 to 6." in response.content.decode()
    assert client_for(nurse).get(url + "?cycles=7").status_code == 400


def test_calendar_without_a_course_says_so(client_for, nurse, patient):
    page = _calendar(client_for(nurse), patient)
    assert "has no active maintenance course" in page


def test_calendar_is_linked_from_the_course_and_patient_pages(
    client_for, nurse, physician, patient
):
    _start(patient, physician)
    url = reverse("monitoring:dosing_calendar", args=[patient.public_id])
    client = client_for(nurse)
    assert url in client.get(reverse("therapy:course", args=[patient.public_id])).content.decode()
    assert url in client.get(reverse("patients:detail", args=[patient.public_id])).content.decode()


def test_outsider_gets_404_for_the_calendar(client_for, outsider, physician, patient):
    _start(patient, physician)
    url = reverse("monitoring:dosing_calendar", args=[patient.public_id])
    assert client_for(outsider).get(url).status_code == 404


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_follow_ups_and_nurse_requests_take_the_same_queries_for_5_and_50_patients(
    client_for, nurse, physician, clinic_a
):
    from tests.factories import PatientFactory

    def populate(start, count):
        for index in range(start, start + count):
            patient = PatientFactory(clinic=clinic_a, mrn=f"F{index:04d}")
            FollowUpCall.objects.create(
                patient=patient,
                kind="note",
                due_from=TODAY,
                due_by=TODAY,
                purpose="Symptoms or side effects: rash",
            )
            nursing_services.flag_notify_physician(
                flag=_flag(patient), user=nurse, note="Please review"
            )

    urls = [reverse("monitoring:worklist"), reverse("monitoring:inbox")]
    populate(0, 5)
    five = [_queries(client_for(physician), url) for url in urls]
    five.append(_queries(client_for(nurse), reverse("monitoring:worklist_print")))
    populate(5, 45)
    fifty = [_queries(client_for(physician), url) for url in urls]
    fifty.append(_queries(client_for(nurse), reverse("monitoring:worklist_print")))
    assert five == fifty
