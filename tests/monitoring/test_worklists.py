"""Nurse worklist, physician inbox and navbar counts: right rows, fixed queries."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from monitoring.models import Flag, MonitoringStatus
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def flag(patient, kind, severity=2, **extra):
    return Flag.objects.create(
        patient=patient,
        kind=kind,
        severity=severity,
        message=f"{kind} message",
        rule_id="rule",
        basis="basis",
        opened_at=timezone.now(),
        opened_as_of=timezone.localdate(),
        **extra,
    )


def populate(clinic, count, *, start=0):
    today = timezone.localdate()
    for index in range(start, start + count):
        patient = PatientFactory(clinic=clinic, mrn=f"W{index:04d}")
        MonitoringStatus.objects.create(
            patient=patient,
            evaluated_at=timezone.now(),
            as_of=today,
            on_course=True,
            cbc_phase="standard",
            last_cbc_on=today - timedelta(days=30),
            cbc_due_on=today - timedelta(days=index % 10),
            cbc_overdue_after=today - timedelta(days=index % 10) + timedelta(days=3),
        )
        flag(patient, "neutropenia", severity=2 + index % 3, ctcae_grade=2 + index % 3)
        flag(patient, "pregnancy_test_due")
        flag(patient, "hold_recommended", severity=3)


def page_queries(client, url) -> int:
    client.get(url)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_worklist_and_inbox_take_the_same_queries_for_5_and_50_patients(
    client_for, physician, clinic_a
):
    client = client_for(physician)
    populate(clinic_a, 5)
    five = (
        page_queries(client, reverse("monitoring:worklist")),
        page_queries(client, reverse("monitoring:inbox")),
    )
    populate(clinic_a, 45, start=5)
    fifty = (
        page_queries(client, reverse("monitoring:worklist")),
        page_queries(client, reverse("monitoring:inbox")),
    )
    assert five == fifty
    assert five[0] <= 22 and five[1] <= 19  # both pinned by five == fifty


def test_worklist_has_one_row_per_patient_with_all_their_items_worst_patient_first(
    client_for, nurse, clinic_a, clinic_b
):
    today = timezone.localdate()
    overdue = PatientFactory(clinic=clinic_a, family_name="Overdue")
    later = PatientFactory(clinic=clinic_a, family_name="Later")
    elsewhere = PatientFactory(clinic=clinic_b, family_name="Elsewhere")
    for patient, due in (
        (overdue, today + timedelta(days=2)),
        (later, today + timedelta(days=20)),
        (elsewhere, today),
    ):
        MonitoringStatus.objects.create(
            patient=patient,
            evaluated_at=timezone.now(),
            as_of=today,
            on_course=True,
            cbc_due_on=due,
            cbc_overdue_after=due + timedelta(days=3),
        )
    flag(overdue, "anemia", severity=2, ctcae_grade=2)
    flag(later, "neutropenia", severity=4, ctcae_grade=4)
    flag(elsewhere, "neutropenia", severity=4, ctcae_grade=4)
    flag(overdue, "pregnancy_test_due", severity=3)
    page = client_for(nurse).get(reverse("monitoring:worklist")).content.decode()
    rows = page.split('data-testid="worklist-row"')[1:]
    assert len(rows) == 2 and "Elsewhere" not in page
    assert "Later" in rows[0] and "Overdue" in rows[1]  # grade 4 patient first
    overdue_row = rows[1]
    assert overdue_row.index("pregnancy_test_due message") < overdue_row.index("anemia message")
    assert f"CBC due {(today + timedelta(days=2)):%Y-%m-%d}" in overdue_row
    assert "CBC due" not in rows[0]  # due in 20 days: not yet on the list
    assert reverse("monitoring:timeline", args=[overdue.public_id]) in overdue_row
    assert reverse("patients:detail", args=[overdue.public_id]) in overdue_row


def test_an_acknowledged_flag_leaves_the_list_and_the_badge_for_done_today(
    client_for, nurse, patient
):
    item = flag(patient, "neutropenia", severity=3, ctcae_grade=3)
    worklist = reverse("monitoring:worklist")
    assert 'data-testid="open-flag-count">1<' in nav_html(nurse)
    response = client_for(nurse).post(
        reverse("monitoring:flag_acknowledge", args=[item.pk]),
        {"note": "Patient called", "next": worklist},
    )
    assert response.status_code == 302 and response.url == worklist
    item.refresh_from_db()
    assert (item.status, item.acknowledged_by, item.acknowledgement_note) == (
        "acknowledged",
        nurse,
        "Patient called",
    )
    page = client_for(nurse).get(worklist).content.decode()
    assert 'data-testid="worklist-row"' not in page
    done = page.split('data-testid="done-today"')[1].split("</details>")[0]
    local = timezone.localtime(item.acknowledged_at)
    assert "acknowledged by Nadia Nurse" in done and f"at {local:%H:%M}" in done
    assert "Patient called" in done
    assert "open-flag-count" not in nav_html(nurse)


def test_acknowledge_never_redirects_off_site(client_for, nurse, patient):
    item = flag(patient, "anemia")
    response = client_for(nurse).post(
        reverse("monitoring:flag_acknowledge", args=[item.pk]), {"next": "https://evil.example/"}
    )
    assert response.url == reverse("monitoring:patient_flags", args=[patient.public_id])


def test_inbox_shows_decisions_with_their_therapy_suggestions(
    client_for, physician, patient, nurse, course
):
    from tests.monitoring.conftest import cbc, evaluate

    cbc(patient, nurse, date(2025, 2, 10), anc="0.3")
    evaluate(patient, date(2025, 2, 10))
    page = client_for(physician).get(reverse("monitoring:inbox")).content.decode()
    assert "Hold recommended" in page and "Suggestion: Hold lenalidomide" in page
    assert ">Accept</button>" in page and "Dismiss…" in page
    assert reverse("monitoring:timeline", args=[patient.public_id]) in page


def nav_html(user) -> str:
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from monitoring.panels import nav_context

    request = RequestFactory().get("/")
    request.user = user
    return render_to_string("monitoring/_nav.html", nav_context(request, None))


def test_navbar_shows_open_and_urgent_counts_and_the_inbox_to_physicians_only(
    nurse, physician, patient, outsider
):
    flag(patient, "neutropenia", severity=4, ctcae_grade=4)
    flag(patient, "renal_dose_review", severity=2)
    nurse_nav = nav_html(nurse)
    assert 'data-testid="open-flag-count">2<' in nurse_nav
    assert 'data-testid="urgent-flag-count">1 urgent<' in nurse_nav
    assert reverse("monitoring:inbox") not in nurse_nav
    assert 'data-testid="decision-flag-count">1<' in nav_html(physician)
    assert "open-flag-count" not in nav_html(outsider)  # another clinic's flags are not counted


def test_clinic_switch_refuses_a_clinic_the_user_does_not_work_in(client_for, nurse, clinic_b):
    assert (
        client_for(nurse).get(reverse("monitoring:worklist"), {"clinic": clinic_b.pk}).status_code
        == 404
    )
    # Not an id at all: a 400 naming the accepted range (patients.parsing).
    assert client_for(nurse).get(reverse("monitoring:worklist"), {"clinic": "x"}).status_code == 400


# Worklist rows are rendered once per content (monitoring/fragments.py): what they show must
# follow the data, the reader's permissions and the request, whatever is in the cache.


def test_a_worklist_row_shows_a_flag_changed_without_its_timestamp_moving(
    client_for, nurse, clinic_a
):
    client = client_for(nurse)
    patient = PatientFactory(clinic=clinic_a)
    item = flag(patient, "neutropenia", severity=3)
    url = reverse("monitoring:worklist")
    assert "neutropenia message" in client.get(url).content.decode()
    # A compare-and-set update, as the sweep writes: updated_at does not move.
    Flag.objects.filter(pk=item.pk).update(message="ANC 0.6: now grade 3")
    page = client.get(url).content.decode()
    assert "ANC 0.6: now grade 3" in page
    assert "neutropenia message" not in page


def test_cached_worklist_rows_follow_the_readers_permissions(client, nurse, physician, clinic_a):
    flag(PatientFactory(clinic=clinic_a), "neutropenia", severity=3)
    url = reverse("monitoring:worklist")
    client.force_login(nurse)
    assert "Notify physician" in client.get(url).content.decode()
    client.force_login(physician)  # same rows, other permissions: no nurse-only form
    page = client.get(url).content.decode()
    assert 'data-testid="worklist-flag"' in page
    assert "Notify physician" not in page


def test_a_cached_worklist_row_posts_with_this_requests_token_and_comes_back_here(nurse, clinic_a):
    import re

    from django.test import Client

    item = flag(PatientFactory(clinic=clinic_a), "neutropenia", severity=3)
    url = reverse("monitoring:worklist") + "?page=1"
    for attempt in range(2):  # rendered, then served from the cache to a new session
        client = Client(enforce_csrf_checks=True)
        client.force_login(nurse)
        page = client.get(url).content.decode()
        assert f'name="next" value="{url.replace("&", "&amp;")}"' in page
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        if attempt == 1:
            response = client.post(
                reverse("monitoring:flag_acknowledge", args=[item.pk]),
                {"csrfmiddlewaretoken": token, "note": "", "next": url},
            )
            assert response.status_code == 302
            assert response.url == url
    item.refresh_from_db()
    assert item.status == Flag.Status.ACKNOWLEDGED


@pytest.mark.parametrize(
    ("names", "shown"),
    [
        (("nadia", "Nadia", "Nurse"), "Nadia Nurse"),
        (("nadia", "", ""), "nadia"),
        ((None, None, None), "system"),
    ],
)
def test_done_today_names_who_acknowledged_by_full_name_then_username_then_system(names, shown):
    from uuid import uuid4

    from monitoring.selectors import DoneItem

    item = DoneItem("anemia", 2, timezone.now(), "", uuid4(), "Lovelace", "Ada", *names)
    assert (item.acknowledged_by, item.kind_label) == (shown, "Anemia")
