"""OBX-11 statuses beyond P/F/C/D/W, an unreadable OBX-7 and the collection time of a draw
(issue 11 review): none of them holds the whole message."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from patients.lab_selectors import latest_results
from patients.models import LabResult
from tests.monitoring.interop.conftest import CBC, Res, oru, receive

pytestmark = pytest.mark.django_db

DRAWN = "20250602083000-0400"
DRAWN_UTC = datetime(2025, 6, 2, 12, 30, tzinfo=UTC)


def current(patient):
    return {r.test_code: r for r in LabResult.objects.valid().filter(patient=patient)}


def err_rows(outcome):
    return [line.split("|") for line in outcome.ack.split("\r") if line.startswith("ERR|")]


@pytest.mark.parametrize("status", ["R", "S"])
def test_unverified_or_partial_results_are_stored_as_preliminary(sender, patient, status):
    outcome = receive(oru([(DRAWN, [Res("777-3", "140", "10*9/L", status=status)])]))

    assert outcome.ack_code == "AA", outcome.message.reason
    assert current(patient)["PLT"].result_status == LabResult.ResultStatus.PRELIMINARY


@pytest.mark.parametrize("status", ["I", "X"])
def test_pending_or_unobtainable_line_is_skipped_with_a_warning_and_the_rest_stored(
    sender, patient, status
):
    outcome = receive(
        oru([(DRAWN, [Res("777-3", "140", "10*9/L"), Res("718-7", "", "", status=status)])])
    )

    assert outcome.ack_code == "AA", outcome.message.reason
    assert set(current(patient)) == {"PLT"}
    (err,) = err_rows(outcome)
    assert err[2] == "OBX^2^11" and err[4] == "W"
    assert f"OBX-11 {status}" in err[8] and "skipped" in err[8]


def test_status_u_makes_the_stored_preliminary_final_in_place(sender, patient):
    receive(oru([(DRAWN, [Res("777-3", "88", "10*9/L", status="P")])], control_id="P1"))
    preliminary = current(patient)["PLT"]

    outcome = receive(oru([(DRAWN, [Res("777-3", "", "", status="U")])], control_id="U1"))

    assert outcome.ack_code == "AA", outcome.message.reason
    made_final = current(patient)["PLT"]
    assert made_final.pk == preliminary.pk and made_final.result_status == "final"
    assert made_final.entered_in_error_at is None
    assert made_final.history.first().history_change_reason.startswith("Made final by the lab")


def test_status_u_with_a_value_supersedes_the_preliminary(sender, patient):
    receive(oru([(DRAWN, [Res("777-3", "88", "10*9/L", status="P")])], control_id="P1"))

    outcome = receive(oru([(DRAWN, [Res("777-3", "86", "10*9/L", status="U")])], control_id="U1"))

    assert outcome.ack_code == "AA", outcome.message.reason
    assert current(patient)["PLT"].canonical_value == Decimal("86")
    assert LabResult.objects.filter(result_status="superseded").count() == 1


def test_status_u_without_a_preliminary_on_record_is_held(sender, patient):
    outcome = receive(oru([(DRAWN, [Res("777-3", "", "", status="U")])]))

    assert outcome.ack_code == "AE"
    assert "not on record as preliminary" in outcome.message.reason


@pytest.mark.parametrize("text", ["13.5-17.5 g/dL", "M: 13.5-17.5"])
def test_unreadable_reference_range_is_stored_with_the_catalogue_range_and_a_warning(
    sender, patient, text
):
    outcome = receive(oru([(DRAWN, [Res("718-7", "13.0", "g/dL", text)])]))

    assert outcome.ack_code == "AA", outcome.message.reason
    hgb = current(patient)["HGB"]
    assert hgb.ref_from_lab is False and hgb.ref_range_as_reported == text
    (err,) = err_rows(outcome)
    assert err[2] == "OBX^1^7" and err[4] == "W" and "catalogue range" in err[8]


def test_cbc_with_per_analyte_analysis_times_is_one_complete_draw(sender, patient, settings):
    analysed = ["20250602091500-0400", "20250602091700-0400", "20250602092000-0400"]
    results = [
        Res(r.code, r.value, r.unit, r.ref, observed=analysed[i % 3]) for i, r in enumerate(CBC)
    ]

    outcome = receive(oru([(DRAWN, results)]))

    assert outcome.ack_code == "AA", outcome.message.reason
    rows = LabResult.objects.valid().filter(patient=patient)
    assert {r.collected_at for r in rows} == {DRAWN_UTC}
    assert len({r.collection_id for r in rows}) == 1
    from monitoring.evaluation import _latest_complete
    from monitoring.rules import schedule

    codes = schedule.CBC_COUNT_CODES
    latest = latest_results([patient.pk], list(codes))
    draw = _latest_complete([r for c in codes for r in latest.get((patient.pk, c), [])], codes)
    assert draw and {r.collected_at for r in draw} == {DRAWN_UTC}


def test_observation_time_is_used_when_the_order_has_no_collection_time(sender, patient):
    outcome = receive(oru([("", [Res("777-3", "140", "10*9/L", observed=DRAWN)])]))

    assert outcome.ack_code == "AA", outcome.message.reason
    assert current(patient)["PLT"].collected_at == DRAWN_UTC
