"""HL7 OBX-11 C is a correction with history, like a nurse's: the earlier result is marked
entered-in-error ("Corrected: ...") and the new one corrects it, with no evaluation in
between, so a finding that still stands keeps its flag instead of resolving as "evidence
withdrawn" and opening again. Several OBR groups of one message are one batch: one
evaluation queued for the patient."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from monitoring import tasks
from monitoring.models import Flag
from patients.models import LabResult
from tests.monitoring.conftest import evaluate
from tests.monitoring.interop.conftest import Res, oru, receive

pytestmark = pytest.mark.django_db

DRAWN = "20250602083000-0400"
LATER = "20250602150000-0400"
ON = date(2025, 6, 2)


def anc(value: str, status: str = "F") -> Res:
    return Res("751-8", value, "10*9/L", "2.0-7.5", status=status)


def current_anc(patient) -> LabResult:
    return LabResult.objects.valid().get(patient=patient, test_code="ANC")


def test_correction_keeps_the_open_flag_and_updates_it_to_the_corrected_value(sender, patient):
    # ANC 0.8 x10^9/L is CTCAE grade 3 (< 1.0); corrected to 0.7, still grade 3.
    receive(oru([(DRAWN, [anc("0.8")])], control_id="O1"))
    evaluate(patient, ON)
    flag = Flag.objects.open().get(patient=patient, kind="neutropenia")
    original = current_anc(patient)

    outcome = receive(oru([(DRAWN, [anc("0.7", status="C")])], control_id="C1"))
    evaluate(patient, ON)

    assert outcome.ack_code == "AA", outcome.message.reason
    corrected = current_anc(patient)
    assert corrected.canonical_value == Decimal("0.7") and corrected.corrects_id == original.pk
    # The same flag, still open, never resolved: no churn.
    assert list(Flag.objects.filter(patient=patient).values_list("pk", "status")) == [
        (flag.pk, "open")
    ]
    flag.refresh_from_db()
    assert corrected.pk in {e.get("result_id") for e in flag.evidence}


def test_correction_writes_history_on_both_results(sender, patient):
    receive(oru([(DRAWN, [anc("0.8")])], control_id="O1"))
    original = current_anc(patient)

    receive(oru([(DRAWN, [anc("0.7", status="C")])], control_id="C1"))

    original.refresh_from_db()
    assert original.entered_in_error_reason == "Corrected: by the lab (OBX-11 C; message C1, OBX 1)"
    reasons = list(original.history.order_by("history_date").values_list("history_change_reason"))
    assert [r[0] for r in reasons] == [
        "Lab result recorded",
        "Entered in error: Corrected: by the lab (OBX-11 C; message C1, OBX 1)",
    ]
    assert current_anc(patient).history.get().history_type == "+"


def test_correction_is_not_evaluated_halfway_in_the_message_transaction(
    sender, patient, monkeypatch
):
    receive(oru([(DRAWN, [anc("0.8")])], control_id="O1"))
    evaluate(patient, ON)
    calls = []
    from monitoring import evaluation

    real = evaluation.patient_rules_evaluate
    monkeypatch.setattr(
        evaluation,
        "patient_rules_evaluate",
        lambda **kw: calls.append(kw) or real(**kw),
    )

    receive(oru([(DRAWN, [anc("0.7", status="C")])], control_id="C1"))

    assert calls == []


def test_several_draws_in_one_message_queue_one_evaluation(
    sender, patient, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tasks, "enqueue_patients_evaluation", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = receive(oru([(DRAWN, [anc("2.5")]), (LATER, [anc("2.4")])], control_id="M1"))

    assert outcome.ack_code == "AA", outcome.message.reason
    assert LabResult.objects.filter(patient=patient).count() == 2
    assert queued == [[patient.pk]]


def test_one_refused_draw_holds_the_whole_message(sender, patient):
    outcome = receive(oru([(DRAWN, [anc("2.5")]), (LATER, [anc("-1")])], control_id="M2"))

    assert outcome.ack_code == "AE"
    assert not LabResult.objects.filter(patient=patient).exists()
