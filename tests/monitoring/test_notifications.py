"""Emails to the care team go through the outbox, each exactly once."""

from datetime import date

import pytest
from django.core import mail

from monitoring.evaluation import sweep_run
from monitoring.models import Notification
from monitoring.notifications import notifications_deliver
from tests.factories import UserFactory
from tests.monitoring.conftest import evaluate, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(physician, nurse, outsider):
    physician.email = "paul@alpha.example"
    physician.save()
    nurse.email = "nadia@alpha.example"  # nurses are not paged
    nurse.save()
    outsider.email = "other@beta.example"
    outsider.save()
    return physician


def test_grade_3_cytopenia_emails_the_clinic_physicians_once(patient, nurse, team):
    record(patient, nurse, date(2025, 3, 1), ANC="0.7")
    evaluate(patient, date(2025, 3, 1))
    assert notifications_deliver() == 1
    assert notifications_deliver() == 0
    sweep_run(as_of=date(2025, 3, 1))
    evaluate(patient, date(2025, 3, 1))
    assert notifications_deliver() == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["paul@alpha.example"]
    assert "Urgent: Neutropenia grade 3" in message.subject
    assert (
        "Lovelace" not in message.body and "A-1001" not in message.body
    )  # no name or MRN by email
    assert Notification.objects.get().notified_at is not None


def test_escalation_to_grade_4_sends_a_second_email(patient, nurse, team):
    record(patient, nurse, date(2025, 3, 1), PLT="40")
    evaluate(patient, date(2025, 3, 1))
    record(patient, nurse, date(2025, 3, 4), PLT="12")
    evaluate(patient, date(2025, 3, 4))
    notifications_deliver()
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["[MMM] Urgent", "[MMM] Critical"]


def test_grade_2_sends_no_email(patient, nurse, team):
    record(patient, nurse, date(2025, 3, 1), ANC="1.2")
    evaluate(patient, date(2025, 3, 1))
    assert Notification.objects.count() == 0


def test_a_failed_send_is_recorded_and_retried_later(patient, nurse, team, monkeypatch):
    import monitoring.notifications as notifications

    record(patient, nurse, date(2025, 3, 1), ANC="0.3")
    evaluate(patient, date(2025, 3, 1))

    def down(*args, **kwargs):
        raise OSError("SMTP server unreachable")

    monkeypatch.setattr(notifications, "send_mail", down)
    assert notifications_deliver() == 0
    note = Notification.objects.get()
    assert (
        note.failed_at is not None and "unreachable" in note.last_error and note.notified_at is None
    )
    monkeypatch.undo()
    assert notifications_deliver() == 1
    assert len(mail.outbox) == 1


def test_inactive_physicians_and_other_clinics_get_nothing(patient, nurse, team, clinic_a):
    gone = UserFactory(username="gone", email="gone@alpha.example", is_active=False)
    clinic_a.staff.add(gone)
    record(patient, nurse, date(2025, 3, 1), ANC="0.3")
    evaluate(patient, date(2025, 3, 1))
    assert list(Notification.objects.values_list("recipient", flat=True)) == ["paul@alpha.example"]
