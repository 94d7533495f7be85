"""ORU^R01 in: what is stored, what is held (and why, in words), what the ACK says."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from monitoring.interop import hl7 as ingest
from monitoring.interop import services as interop_services
from monitoring.interop.models import InterfaceMessage
from patients.models import LabResult
from tests.monitoring.interop.conftest import CBC, Res, oru, receive

pytestmark = pytest.mark.django_db

DRAWN = "20250602083000-0400"  # 12:30 UTC
DRAWN_UTC = datetime(2025, 6, 2, 12, 30, tzinfo=UTC)


def values(patient):
    return {r.test_code: r for r in LabResult.objects.valid().filter(patient=patient)}


def ack_segments(outcome):
    return [line.split("|") for line in outcome.ack.split("\r")]


def test_cbc_with_differential_is_stored_with_the_labs_range_and_acknowledged_aa(sender, patient):
    outcome = receive(oru([(DRAWN, CBC)]))

    assert outcome.ack_code == "AA"
    stored = values(patient)
    assert set(stored) == {"WBC", "ANC", "LYMPH", "HGB", "PLT"}
    hgb = stored["HGB"]
    assert hgb.canonical_value == Decimal("13.2")
    assert hgb.collected_at == DRAWN_UTC
    assert hgb.source == LabResult.Source.HL7
    assert hgb.ref_from_lab and hgb.ref_low == Decimal("12.0") and hgb.ref_high == Decimal("16.0")
    assert hgb.ref_range_as_reported == "12.0-16.0"
    assert hgb.interface_message_id == outcome.message.pk
    msa = ack_segments(outcome)[1]
    assert msa[:3] == ["MSA", "AA", "MSG0001"]
    assert outcome.message.status == InterfaceMessage.Status.ACCEPTED
    assert sorted(outcome.message.result_ids) == sorted(r.pk for r in stored.values())


def test_chemistry_with_creatinine_in_umol_per_litre_is_converted(sender, patient):
    chemistry = [
        Res("2160-0", "97", "umol/L", "53-106"),
        Res("17861-6", "9.6", "mg/dL", "8.5-10.5"),
        Res("1751-7", "41", "g/L", "35-50"),
    ]
    outcome = receive(oru([(DRAWN, chemistry)]))

    assert outcome.ack_code == "AA", outcome.message.reason
    stored = values(patient)
    assert stored["CREAT"].canonical_value.quantize(Decimal("0.01")) == Decimal("1.10")
    assert stored["ALBUMIN"].canonical_value == Decimal("4.1")


def test_spep_and_free_light_chains_are_stored_and_the_ratio_computed_here(sender, patient):
    markers = [
        Res("33358-3", "0.42", "g/dL"),
        Res("36916-5", "35.2", "mg/L", "3.3-19.4", "H"),
        Res("33944-0", "11.0", "mg/L", "5.7-26.3"),
        Res("48378-4", "3.20", "{ratio}", "0.26-1.65", "H"),
    ]
    outcome = receive(oru([(DRAWN, markers)]))

    assert outcome.ack_code == "AA", outcome.message.reason
    stored = values(patient)
    assert stored["SPEP_M"].canonical_value == Decimal("0.42")
    assert stored["FLC_KAPPA"].lab_abnormal_flags == "H"
    assert stored["FLC_RATIO"].canonical_value == Decimal("3.2000")
    assert stored["FLC_RATIO"].source == LabResult.Source.COMPUTED
    err = [s for s in ack_segments(outcome) if s[0] == "ERR"]
    assert err[0][2] == "OBX^4^3" and err[0][4] == "W"


def test_serum_hcg_quantitative_is_stored_and_read_as_negative(sender, patient):
    outcome = receive(oru([(DRAWN, [Res("21198-7", "1", "m[IU]/mL", "0-5")])]))

    assert outcome.ack_code == "AA", outcome.message.reason
    hcg = values(patient)["HCG_SERUM_QUANT"]
    assert hcg.canonical_value == Decimal("1") and hcg.qualitative == "negative"


def test_qualitative_serum_hcg_coded_value(sender, patient):
    outcome = receive(oru([(DRAWN, [Res("2118-8", "NEG^Negative^L", kind="CWE")])]))

    assert outcome.ack_code == "AA", outcome.message.reason
    assert values(patient)["HCG_SERUM_QUAL"].qualitative == "negative"


def test_preliminary_then_final_supersedes_the_preliminary(sender, patient):
    receive(oru([(DRAWN, [Res("777-3", "88", "10*9/L", "150-400", status="P")])], control_id="P1"))
    preliminary = values(patient)["PLT"]
    assert preliminary.result_status == LabResult.ResultStatus.PRELIMINARY

    outcome = receive(oru([(DRAWN, [Res("777-3", "86", "10*9/L", "150-400")])], control_id="F1"))

    assert outcome.ack_code == "AA", outcome.message.reason
    final = values(patient)["PLT"]
    assert final.result_status == LabResult.ResultStatus.FINAL
    assert final.canonical_value == Decimal("86") and final.corrects_id == preliminary.pk
    preliminary.refresh_from_db()
    assert preliminary.entered_in_error_at is None
    assert preliminary.result_status == LabResult.ResultStatus.SUPERSEDED


def test_correction_replaces_the_result_with_history(sender, patient):
    receive(oru([(DRAWN, [Res("718-7", "9.1", "g/dL", "12.0-16.0")])], control_id="O1"))
    original = values(patient)["HGB"]

    outcome = receive(
        oru([(DRAWN, [Res("718-7", "11.9", "g/dL", "12.0-16.0", status="C")])], control_id="C1")
    )

    assert outcome.ack_code == "AA", outcome.message.reason
    corrected = values(patient)["HGB"]
    assert corrected.canonical_value == Decimal("11.9") and corrected.corrects_id == original.pk
    original.refresh_from_db()
    assert original.entered_in_error_reason.startswith("Corrected")
    assert original.history.count() == 2


@pytest.mark.parametrize("status", ["D", "W"])
def test_deleted_or_wrong_result_is_marked_entered_in_error(sender, patient, status):
    receive(oru([(DRAWN, [Res("777-3", "140", "10*9/L")])], control_id="O1"))

    outcome = receive(oru([(DRAWN, [Res("777-3", "", "", status=status)])], control_id="D1"))

    assert outcome.ack_code == "AA", outcome.message.reason
    assert "PLT" not in values(patient)
    assert LabResult.objects.get(test_code="PLT").entered_in_error_reason.startswith("Withdrawn")


def test_unknown_patient_is_held_with_the_mrn_named(sender, patient):
    outcome = receive(oru([(DRAWN, CBC)], mrn="A-9999"))

    assert outcome.ack_code == "AE"
    row = outcome.message
    assert row.status == InterfaceMessage.Status.HELD and row.patient is None
    assert row.clinic == sender.clinic
    assert row.reason.startswith("No patient with MRN A-9999 in Alpha Clinic")
    err = [s for s in ack_segments(outcome) if s[0] == "ERR"][0]
    assert err[2] == "PID^1^3" and err[3].startswith("204^")
    assert not LabResult.objects.exists()


def test_date_of_birth_mismatch_is_held_not_attached(sender, patient):
    outcome = receive(oru([(DRAWN, CBC)], dob="19600518"))

    assert outcome.ack_code == "AE"
    assert outcome.message.patient is None
    assert "does not match the patient with MRN A-1001" in outcome.message.reason
    assert [s for s in ack_segments(outcome) if s[0] == "ERR"][0][2] == "PID^1^7"
    assert not LabResult.objects.exists()


def test_unregistered_sender_is_held_not_guessed(patient):
    outcome = receive(oru([(DRAWN, CBC)]))

    assert outcome.ack_code == "AE" and outcome.message.clinic is None
    assert "is not registered" in outcome.message.reason


def test_unknown_code_holds_the_whole_message(sender, patient):
    outcome = receive(oru([(DRAWN, [*CBC, Res("XYZ9", "1.0", "mg/L", system="L")])]))

    assert outcome.ack_code == "AE"
    assert outcome.message.problems[0]["segment"] == "OBX"
    assert outcome.message.problems[0]["sequence"] == 6
    assert outcome.message.problems[0]["field"] == 3
    assert not LabResult.objects.exists()  # all or nothing


def test_local_code_mapped_then_retried_is_stored(sender, patient, nurse):
    outcome = receive(oru([(DRAWN, [Res("HB", "13.0", "g/dL", system="L")])]))
    assert outcome.ack_code == "AE"

    interop_services.code_mapping_save(
        facility="NORTHLAB", local_code="HB", test_code="HGB", user=nurse
    )
    row = interop_services.message_retry(message=outcome.message, user=nurse)

    assert row.status == InterfaceMessage.Status.ACCEPTED and row.resolved_by == nurse
    assert values(patient)["HGB"].canonical_value == Decimal("13.0")
    assert row.history.first().history_change_reason.startswith("Retried by")


@pytest.mark.parametrize(
    ("spelling", "value", "expected"),
    [
        ("10*9/L", "5.6", "5.6"),
        ("10\\S\\9/L", "5.6", "5.6"),  # 10^9/L, its ^ escaped as HL7 requires
        ("x10E9/L", "5.6", "5.6"),
        ("giga/L", "5.6", "5.6"),
        ("G/L", "5.6", "5.6"),
        ("K/uL", "5.6", "5.6"),
        ("10*3/uL", "5.6", "5.6"),
        ("/uL", "5600", "5.6"),
    ],
)
def test_count_unit_spellings_map_to_the_catalogue(sender, patient, spelling, value, expected):
    outcome = receive(oru([(DRAWN, [Res("6690-2", value, spelling)])]))

    assert outcome.ack_code == "AA", outcome.message.reason
    assert values(patient)["WBC"].canonical_value == Decimal(expected)


@pytest.mark.parametrize(
    ("code", "spelling", "value", "expected"),
    [
        ("718-7", "g/dL", "13.2", "13.2"),
        ("718-7", "g/L", "132", "13.2"),
        ("2160-0", "mg/dL", "1.1", "1.1"),
        ("2160-0", "umol/L", "88.4", "1"),
        ("36916-5", "mg/L", "12.5", "12.5"),
        ("36916-5", "mg/dL", "1.25", "12.5"),
    ],
)
def test_mass_unit_spellings_map_to_the_catalogue(sender, patient, code, spelling, value, expected):
    outcome = receive(oru([(DRAWN, [Res(code, value, spelling)])]))

    assert outcome.ack_code == "AA", outcome.message.reason
    stored = LabResult.objects.get(patient=patient)
    assert stored.canonical_value == Decimal(expected)


def test_unknown_unit_is_held_never_guessed(sender, patient, nurse):
    outcome = receive(oru([(DRAWN, [Res("6690-2", "5.6", "cells/nL")])]))

    assert outcome.ack_code == "AE"
    assert outcome.message.problems[0]["field"] == 6
    assert "unit 'cells/nL' is not a known spelling" in outcome.message.reason

    interop_services.unit_mapping_save(spelling="cells/nL", unit="10^9/L", user=nurse)
    assert interop_services.message_retry(message=outcome.message, user=nurse).ack_code == "AA"


def test_unescaped_caret_in_a_unit_is_held_not_guessed(sender, patient):
    outcome = receive(oru([(DRAWN, [Res("6690-2", "5.6", "10^9/L")])]))

    assert outcome.ack_code == "AE"
    assert "unit '10' is not a known spelling" in outcome.message.reason


def test_grams_per_litre_is_not_read_as_giga_per_litre(sender, patient):
    outcome = receive(oru([(DRAWN, [Res("777-3", "210", "g/L")])]))

    assert outcome.ack_code == "AE"
    assert "does not accept the unit 'g/L'" in outcome.message.reason


def test_byte_order_mark_and_newline_endings_are_accepted(sender, patient):
    text = "\ufeff" + oru([(DRAWN, CBC)], end="\n")

    assert receive(text).ack_code == "AA"
    assert len(values(patient)) == 5


def test_crlf_endings_are_accepted(sender, patient):
    assert receive(oru([(DRAWN, CBC)], end="\r\n")).ack_code == "AA"


def test_repeated_control_id_is_acknowledged_and_not_stored_twice(sender, patient):
    first = receive(oru([(DRAWN, CBC)]))
    again = receive(oru([(DRAWN, CBC)]))

    assert again.repeat and again.ack_code == "AA"
    assert again.message.pk == first.message.pk and again.message.repeat_count == 1
    assert LabResult.objects.count() == 5
    assert InterfaceMessage.objects.count() == 1


def test_same_control_id_from_another_sender_is_a_different_message(sender, patient, clinic_a):
    interop_services.sender_register(facility="SOUTHLAB", authority="NORTHMRN", clinic=clinic_a)
    receive(oru([(DRAWN, CBC[:1])]))
    other = receive(oru([("20250603083000-0400", CBC[:1])], facility="SOUTHLAB"))

    assert not other.repeat and other.ack_code == "AA"


def test_several_obr_groups_are_stored_at_their_own_collection_times(sender, patient):
    outcome = receive(
        oru(
            [
                (DRAWN, CBC),
                ("20250602091500-0400", [Res("2160-0", "1.0", "mg/dL")]),
                ("20250602083000-0400", [Res("33358-3", "0.3", "g/dL")]),
            ]
        )
    )

    assert outcome.ack_code == "AA", outcome.message.reason
    stored = values(patient)
    assert stored["CREAT"].collected_at == datetime(2025, 6, 2, 13, 15, tzinfo=UTC)
    assert stored["SPEP_M"].collected_at == DRAWN_UTC
    assert len(stored) == 7


def test_observation_time_without_offset_is_read_in_the_clinic_zone(sender, patient, settings):
    outcome = receive(oru([("20250602083000", CBC[:1])]))

    assert outcome.ack_code == "AA"
    # America/New_York in June is UTC-4.
    assert values(patient)["WBC"].collected_at == DRAWN_UTC


def test_implausible_value_is_held_like_nurse_entry(sender, patient):
    outcome = receive(oru([(DRAWN, [Res("777-3", "21000", "10*9/L")])]))

    assert outcome.ack_code == "AE"
    assert "above the plausible maximum" in outcome.message.reason
    assert outcome.message.problems[0]["segment"] == "OBX"


def test_same_result_sent_under_a_new_control_id_is_held_as_a_duplicate(sender, patient):
    receive(oru([(DRAWN, CBC)], control_id="A1"))
    outcome = receive(oru([(DRAWN, CBC)], control_id="A2"))

    assert outcome.ack_code == "AE"
    assert "already recorded" in outcome.message.reason
    assert LabResult.objects.count() == 5


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Not an HL7 v2 message"),
        ("hello", "Not an HL7 v2 message"),
        ("MSH|^~\\&|LIS|NORTHLAB|||||ADT^A01|X1|P|2.5.1\r", "Only ORU^R01"),
        ("MSH|^~\\&|LIS|NORTHLAB|||||ORU^R01||P|2.5.1\r", "MSH-10"),
    ],
)
def test_malformed_input_is_refused_with_ar_and_logged(text, problem):
    outcome = receive(text)

    assert outcome.ack_code == "AR"
    assert outcome.message.status == InterfaceMessage.Status.REFUSED
    assert problem in outcome.message.reason
    assert ack_segments(outcome)[1][1] == "AR"


def test_oversized_message_is_refused(settings, sender, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_MESSAGE_BYTES", 500)
    outcome = receive(oru([(DRAWN, CBC * 3)]))

    assert outcome.ack_code == "AR" and "larger than 500 bytes" in outcome.message.reason


def test_split_messages_reads_a_file_of_several_patients():
    text = (
        "\ufeff"
        + oru([(DRAWN, CBC)], control_id="1", end="\r\n")
        + oru([(DRAWN, CBC)], control_id="2", mrn="A-1002", end="\r\n")
    )
    messages = ingest.split_messages(text)
    assert len(messages) == 2 and all(m.startswith("MSH|") for m in messages)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("4.0-11.0", "4.0", "11.0"),
        ("4.0 - 11.0", "4.0", "11.0"),
        ("<5", None, "5"),
        (">1.0", "1.0", None),
    ],
)
def test_reference_range_spellings(text, low, high):
    assert ingest.parse_range(text) == (
        Decimal(low) if low else None,
        Decimal(high) if high else None,
    )


@pytest.mark.parametrize("text", ["normal", "11-4", "4.0-", ""])
def test_reference_range_not_understood(text):
    with pytest.raises(ValueError):
        ingest.parse_range(text)


def test_message_rejected_by_a_nurse_keeps_the_reason(sender, nurse):
    outcome = receive(oru([(DRAWN, CBC)], mrn="A-9999"))

    row = interop_services.message_reject(
        message=outcome.message, user=nurse, reason="Test patient"
    )

    assert row.status == InterfaceMessage.Status.REJECTED and row.resolution == "Test patient"
    assert row.history.first().history_user == nurse


def test_stored_message_queues_the_patients_rules_evaluation_after_commit(
    sender, patient, django_capture_on_commit_callbacks, monkeypatch
):
    from monitoring import tasks

    queued = []
    monkeypatch.setattr(tasks, "enqueue_patients_evaluation", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        receive(oru([(DRAWN, CBC)]))

    assert queued == [[patient.pk]]


def test_held_message_queues_nothing(sender, patient, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        receive(oru([(DRAWN, CBC)], dob="19600518"))

    assert callbacks == []
