"""A physician plans a course that starts on a later date: shown as planned with its
projected cycles; no monitoring flags before its start; the running course from then on."""

from datetime import date, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.evaluation import patient_rules_evaluate
from monitoring.models import Flag
from patients.models import FollowUpCall
from therapy import errors
from therapy.models import MaintenanceCourse, Regimen
from therapy.selectors import course_snapshots

pytestmark = pytest.mark.django_db

NOON = timezone.make_aware(datetime(2026, 3, 2, 12, 0))


@pytest.fixture(autouse=True)
def _clinic_day(time_machine):
    time_machine.move_to(NOON, tick=False)


def _plan(client, patient, start: str):
    return client.post(
        reverse("therapy:course_start", args=[patient.public_id]),
        {
            "regimen": Regimen.objects.get(code="len-10-d1-21").pk,
            "start_date": start,
            "vte_prophylaxis": "aspirin",
            "aspirin_dose_mg": "81",
            "justification": "Labs not entered in this test",
        },
        follow=True,
    )


def test_a_course_starting_in_two_weeks_is_shown_as_planned_with_projected_cycles(
    client_for, physician, patient
):
    client = client_for(physician)
    response = _plan(client, patient, "2026-03-16")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Maintenance course planned." in page
    assert "Planned</span> starts 2026-03-16" in page
    assert "Not started: cycle 1 day 1 is 2026-03-16" in page
    assert "Projected cycle calendar, March 2026" in page
    assert "C1D1<" in page and "C1D16<" in page  # 2026-03-16 to 03-31
    header = client.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
    assert "Planned</span> starts 2026-03-16" in header


@pytest.mark.parametrize(
    ("start", "accepted"),
    [("2026-05-30", True), ("2026-05-31", True), ("2026-06-01", False)],  # 89, 90, 91 days
)
def test_a_course_may_be_planned_up_to_90_days_ahead(
    client_for, physician, patient, start, accepted
):
    response = _plan(client_for(physician), patient, start)
    assert MaintenanceCourse.objects.filter(patient=patient).exists() is accepted
    if not accepted:
        assert response.status_code == 400
        message = errors.COURSE_START_TOO_FAR_AHEAD.format(value="2026-06-01", days=90)
        assert message in response.content.decode()


def test_no_flags_before_the_start_and_the_schedule_runs_from_the_start(
    client_for, physician, patient
):
    _plan(client_for(physician), patient, "2026-03-16")
    assert course_snapshots([patient.pk], as_of=date(2026, 3, 2)) == {}
    patient_rules_evaluate(patient_id=patient.pk, as_of=date(2026, 3, 2))
    assert not Flag.objects.open().filter(patient=patient).exists()
    snapshot = course_snapshots([patient.pk], as_of=date(2026, 3, 16))[patient.pk]
    assert (snapshot.cycle, snapshot.day, snapshot.is_dosing_day) == (1, 1, True)
    # No CBC since the start: due on 2026-03-16, overdue after 3 days of grace.
    patient_rules_evaluate(patient_id=patient.pk, as_of=date(2026, 3, 20))
    assert Flag.objects.open().filter(patient=patient, kind="cbc_overdue").exists()


def test_follow_up_calls_of_a_planned_course_count_from_its_start(client_for, physician, patient):
    _plan(client_for(physician), patient, "2026-03-16")
    due = sorted(FollowUpCall.objects.filter(patient=patient).values_list("due_from", flat=True))
    assert due == [date(2026, 3, 18), date(2026, 3, 23), date(2026, 4, 15)]


def test_the_dosing_calendar_of_a_planned_course_starts_on_its_first_day(
    client_for, physician, nurse, patient
):
    _plan(client_for(physician), patient, "2026-03-16")
    page = (
        client_for(nurse)
        .get(reverse("monitoring:dosing_calendar", args=[patient.public_id]))
        .content.decode()
    )
    assert "Your first capsule is on 2026-03-16." in page
    assert 'data-date="2026-03-15"' not in page
    assert "Cycle 1: 2026-03-16 to 2026-04-12" in page


def test_a_planned_course_is_called_off_with_a_reason_not_discontinued(
    client_for, physician, patient
):
    """No capsule was taken: calling off a plan is not "stopped before progression"."""
    patient.status = "pre_maintenance"
    patient.save()
    client = client_for(physician)
    _plan(client, patient, "2026-03-16")
    course = MaintenanceCourse.objects.get(patient=patient)
    page = client.get(reverse("therapy:course", args=[patient.public_id])).content.decode()
    assert "Call off the plan" in page and ">Hold</a>" not in page
    url = reverse("therapy:discontinue", args=[patient.public_id, course.public_id])
    assert "Why is the plan called off?" in client.get(url).content.decode()
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 400
    response = client.post(url, {"reason": "Moved to another centre"})
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.status == "active" and course.discontinued_on is None
    assert course.entered_in_error_reason == "Plan called off: Moved to another centre"
    assert not MaintenanceCourse.objects.active().filter(patient=patient).exists()
    assert set(FollowUpCall.objects.values_list("status", flat=True)) == {"cancelled"}
    patient.refresh_from_db()
    assert patient.status == "pre_maintenance"


def test_planning_a_course_leaves_the_patient_awaiting_maintenance_until_its_start(
    client_for, physician, patient
):
    from django.core.management import call_command

    from therapy.services import courses_activate_started

    patient.status = "pre_maintenance"
    patient.save()
    _plan(client_for(physician), patient, "2026-03-16")
    patient.refresh_from_db()
    assert patient.status == "pre_maintenance"
    assert courses_activate_started(as_of=date(2026, 3, 15)) == 0
    call_command("activate_started_courses", "--as-of", "2026-03-16")
    patient.refresh_from_db()
    assert patient.status == "active"
    assert courses_activate_started(as_of=date(2026, 3, 17)) == 0  # idempotent


def test_a_course_recorded_after_the_fact_owes_no_call_whose_window_has_closed(
    client_for, physician, patient
):
    # Started 2026-01-30, recorded 2026-03-02: the 48-72 h and 1-week calls are long past;
    # only the one-month call (2026-03-01 to 03-03) is still open.
    _plan(client_for(physician), patient, "2026-01-30")
    calls = FollowUpCall.objects.filter(patient=patient)
    assert [c.kind for c in calls] == ["after_start_month"]
