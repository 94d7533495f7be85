"""Preliminary then final (issue 11 review): the final supersedes the preliminary without
treating it as a mistake, so what rested on it stays as it was."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from monitoring.models import Flag, Notification
from patients.models import LabResult
from tests.monitoring.conftest import evaluate
from tests.monitoring.interop.conftest import Res, oru, receive
from therapy.models import DoseSuggestion

pytestmark = pytest.mark.django_db

DRAWN = "20250210083000-0500"
ON = date(2025, 2, 10)


def cbc(anc: str, status: str) -> list[Res]:
    return [
        Res("6690-2", "2.1", "10*9/L", "4.0-11.0", status=status),
        Res("751-8", anc, "10*9/L", "2.0-7.5", status=status),
        Res("718-7", "12.9", "g/dL", "12.0-16.0", status=status),
        Res("777-3", "190", "10*9/L", "150-400", status=status),
    ]


def open_flags(patient) -> dict[str, int]:
    return dict(Flag.objects.open().filter(patient=patient).values_list("kind", "pk"))


def test_final_after_preliminary_keeps_flags_suggestion_and_notification(
    sender, patient, course, physician
):
    physician.email = "physician.a@example.org"
    physician.save()
    first = receive(oru([(DRAWN, cbc("0.3", "P"))], control_id="P1"))
    assert first.ack_code == "AA", first.message.reason
    evaluate(patient, ON)
    before = open_flags(patient)
    assert Flag.Kind.NEUTROPENIA in before and Flag.Kind.HOLD_RECOMMENDED in before
    suggestion = DoseSuggestion.objects.get(patient=patient, status="pending")
    notifications = Notification.objects.count()
    assert notifications == 1

    final = receive(oru([(DRAWN, cbc("0.3", "F"))], control_id="F1"))
    assert final.ack_code == "AA", final.message.reason
    evaluate(patient, ON)

    assert open_flags(patient) == before
    assert not Flag.objects.filter(resolution__startswith="Evidence withdrawn").exists()
    assert DoseSuggestion.objects.filter(patient=patient).count() == 1
    suggestion.refresh_from_db()
    assert suggestion.status == "pending"
    anc = LabResult.objects.valid().get(patient=patient, test_code="ANC")
    assert anc.result_status == "final" and anc.canonical_value == Decimal("0.3")
    assert anc.pk in [e.get("result_id") for e in suggestion.evidence]
    assert Notification.objects.count() == notifications
    superseded = LabResult.objects.filter(patient=patient, result_status="superseded")
    assert superseded.count() == 4
    assert not LabResult.objects.filter(entered_in_error_at__isnull=False).exists()
    history = LabResult.history.filter(patient_id=patient.pk)
    assert not [h for h in history if "error" in (h.history_change_reason or "").lower()]
    assert all(
        h.history_change_reason.startswith("Superseded")
        for h in history.filter(result_status="superseded")
    )


def test_superseded_preliminary_drops_out_of_current_results(sender, patient):
    receive(oru([(DRAWN, [Res("777-3", "88", "10*9/L", status="P")])], control_id="P1"))
    receive(oru([(DRAWN, [Res("777-3", "86", "10*9/L")])], control_id="F1"))

    current = LabResult.objects.valid().filter(patient=patient, test_code="PLT")
    assert [r.canonical_value for r in current] == [Decimal("86")]
    old = LabResult.objects.get(patient=patient, result_status="superseded")
    assert old.entered_in_error_at is None and current[0].corrects_id == old.pk


def test_lab_list_shows_the_superseded_preliminary_without_actions_and_refuses_them(
    sender, patient, client_for, nurse
):
    from django.urls import reverse

    receive(oru([(DRAWN, [Res("777-3", "88", "10*9/L", status="P")])], control_id="P1"))
    receive(oru([(DRAWN, [Res("777-3", "86", "10*9/L")])], control_id="F1"))
    old = LabResult.objects.get(patient=patient, result_status="superseded")

    labs = reverse("monitoring:labs", args=[patient.public_id])
    assert "superseded by" not in client_for(nurse).get(labs).content.decode()  # current only
    page = client_for(nurse).get(labs + "?in_error=1")  # with the replaced ones

    text = page.content.decode()
    assert "superseded by the final result" in text
    assert reverse("monitoring:result_correct", args=[patient.public_id, old.pk]) not in text
    response = client_for(nurse).post(
        reverse("monitoring:result_mark_error", args=[patient.public_id, old.pk]),
        {"reason": "test"},
    )
    assert response.status_code in (200, 400)
    assert "was superseded by the laboratory" in response.content.decode()
    old.refresh_from_db()
    assert old.entered_in_error_at is None
