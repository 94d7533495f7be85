"""Batch lab ingest (issue 10): many collections for many patients in one call, each all
or nothing, with history rows, the kappa/lambda ratio, one evaluation per patient, and a
query count that does not grow with the number of collections."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from monitoring import errors, ingest, services, tasks
from patients.models import LabResult, Patient, UserLabUnit
from tests.factories import PatientFactory
from tests.monitoring.conftest import at, record

pytestmark = pytest.mark.django_db

BATCH_URL = "/api/v1/labs/batch/"
DRAWN = date(2025, 3, 3)


def api(user):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def cbc_item(patient, on=DRAWN, hour=9, anc="2.5", plt="150", **extra):
    return {
        "patient": str(patient.public_id),
        "collected_at": f"{on.isoformat()}T{hour:02d}:00:00-05:00",
        "results": [
            {"test": "ANC", "value": anc, "unit": "10^9/L"},
            {"test": "PLT", "value": plt, "unit": "10^9/L"},
        ],
        **extra,
    }


def entry(code, value, unit, **kw):
    return services.LabEntry(code, value, unit, **kw)


def collection(patient, hour, **values):
    units = {"ANC": "10^9/L", "PLT": "10^9/L", "FLC_KAPPA": "mg/L", "FLC_LAMBDA": "mg/L"}
    return ingest.Collection(
        patient=patient,
        collected_at=at(DRAWN, hour),
        entries=[entry(code, value, units[code]) for code, value in values.items()],
    )


# --- The endpoint -------------------------------------------------------------------------


def test_batch_of_several_patients_is_stored_and_each_collection_reported(nurse, patient, clinic_a):
    other = PatientFactory(clinic=clinic_a)
    body = {"collections": [cbc_item(patient), cbc_item(other), cbc_item(patient, hour=15)]}

    response = api(nurse).post(BATCH_URL, body, format="json")

    assert response.status_code == 201, response.json()
    report = response.json()
    assert report["stored"] == 3 and report["refused"] == 0
    assert [c["status"] for c in report["collections"]] == ["stored"] * 3
    assert [c["collection"] for c in report["collections"]] == [0, 1, 2]
    assert {r["test"] for r in report["collections"][1]["results"]} == {"ANC", "PLT"}
    assert LabResult.objects.filter(source="api").count() == 6
    assert LabResult.objects.filter(patient=other).count() == 2


def test_bad_row_refuses_only_its_collection_and_the_good_ones_are_stored(nurse, patient, clinic_a):
    other = PatientFactory(clinic=clinic_a)
    bad = cbc_item(other, plt="99999")  # above the platelet plausibility limit
    body = {"collections": [cbc_item(patient), bad, cbc_item(patient, hour=15)]}

    response = api(nurse).post(BATCH_URL, body, format="json")

    assert response.status_code == 207, response.json()
    report = response.json()
    assert (report["stored"], report["refused"]) == (2, 1)
    refused = report["collections"][1]
    assert refused["status"] == "refused"
    assert refused["detail"].startswith("Collection 1: nothing of it was saved. row 1 (PLT):")
    assert refused["rows"][0]["errors"] == [] and refused["rows"][1]["errors"]
    # All or nothing per collection: the good ANC of the refused draw was not stored.
    assert not LabResult.objects.filter(patient=other).exists()
    assert LabResult.objects.filter(patient=patient).count() == 4


def test_nothing_stored_is_a_400_naming_the_collection_and_the_row(nurse, patient):
    body = {"collections": [cbc_item(patient, anc="0,5")]}  # a decimal comma

    response = api(nurse).post(BATCH_URL, body, format="json")

    assert response.status_code == 400
    item = response.json()["collections"][0]
    assert item["collection"] == 0 and item["rows"][0]["row"] == 0
    assert "row 0 (ANC)" in item["detail"]
    assert errors.DECIMAL_COMMA.split("{")[0][:20] in item["rows"][0]["errors"][0]
    assert not LabResult.objects.exists()


def test_malformed_collection_is_refused_alone(nurse, patient):
    malformed = {"patient": str(patient.public_id), "results": "ANC 2.5"}
    body = {"collections": [malformed, cbc_item(patient)]}

    response = api(nurse).post(BATCH_URL, body, format="json")

    assert response.status_code == 207
    first = response.json()["collections"][0]
    assert first["status"] == "refused" and {"collected_at", "results"} <= set(first["errors"])
    assert LabResult.objects.count() == 2


def test_patient_of_another_clinic_reads_as_missing_and_is_not_stored(nurse, patient, clinic_b):
    outsider_patient = PatientFactory(clinic=clinic_b)
    body = {"collections": [cbc_item(outsider_patient), cbc_item(patient)]}

    response = api(nurse).post(BATCH_URL, body, format="json")

    assert response.status_code == 207
    assert response.json()["collections"][0]["errors"] == {"patient": ["No such patient."]}
    assert not LabResult.objects.filter(patient=outsider_patient).exists()


def test_role_without_lab_entry_is_403(rems_admin, patient):
    response = api(rems_admin).post(BATCH_URL, {"collections": [cbc_item(patient)]}, format="json")
    assert response.status_code == 403
    assert not LabResult.objects.exists()


def test_batch_sent_again_is_reported_duplicate_with_the_existing_results(nurse, patient):
    body = {"collections": [cbc_item(patient)]}
    first = api(nurse).post(BATCH_URL, body, format="json").json()

    response = api(nurse).post(BATCH_URL, body, format="json")

    assert response.status_code == 400
    item = response.json()["collections"][0]
    assert item["status"] == "duplicate" and response.json()["duplicate"] == 1
    stored_ids = {r["id"] for r in first["collections"][0]["results"]}
    assert {r["existing_result_id"] for r in item["rows"]} == stored_ids
    assert LabResult.objects.count() == 2


def test_same_draw_twice_in_one_batch_stores_the_first_only(nurse, patient):
    body = {"collections": [cbc_item(patient), cbc_item(patient, anc="2.6")]}

    response = api(nurse).post(BATCH_URL, body, format="json")

    assert response.status_code == 207
    second = response.json()["collections"][1]
    assert "also in collection 0 of this batch" in second["rows"][0]["errors"][0]
    assert LabResult.objects.get(test_code="ANC").canonical_value == Decimal("2.5")


def test_too_many_collections_is_a_400(nurse, patient):
    body = {"collections": [cbc_item(patient)] * (ingest.MAX_COLLECTIONS_PER_BATCH + 1)}
    response = api(nurse).post(BATCH_URL, body, format="json")
    assert response.status_code == 400 and "collections" in response.json()["errors"]
    assert not LabResult.objects.exists()


def test_access_log_names_each_patient_stored(nurse, patient, clinic_a):
    from patients.models import PatientAccess

    other = PatientFactory(clinic=clinic_a)
    body = {"collections": [cbc_item(patient), cbc_item(other), cbc_item(patient, hour=15)]}
    api(nurse).post(BATCH_URL, body, format="json")
    assert set(PatientAccess.objects.values_list("patient_id", flat=True)) == {
        patient.pk,
        other.pk,
    }


# --- The service --------------------------------------------------------------------------


def test_every_result_has_its_history_row(nurse, patient):
    outcome = ingest.lab_collections_record(
        collections=[
            collection(patient, 9, ANC="2.5", PLT="150"),
            collection(patient, 15, ANC="2"),
        ],
        user=nurse,
        source=LabResult.Source.API,
    )

    history = LabResult.history.filter(id__in=[r.pk for r in outcome.results])
    assert history.count() == 3
    assert {h.history_type for h in history} == {"+"}
    assert {h.history_user_id for h in history} == {nurse.pk}
    assert {h.history_change_reason for h in history} == {"Lab result recorded"}


def test_flc_ratio_from_the_kappa_and_lambda_of_the_same_draw(nurse, patient):
    outcome = ingest.lab_collections_record(
        collections=[collection(patient, 9, FLC_KAPPA="30", FLC_LAMBDA="12")],
        user=nurse,
        source=LabResult.Source.API,
    )

    ratio = LabResult.objects.get(test_code="FLC_RATIO")
    # 30 / 12 = 2.5 (clinical reference: kappa/lambda ratio, normal 0.26-1.65).
    assert ratio.canonical_value == Decimal("2.5")
    assert ratio.out_of_range == "high" and ratio.source == "computed"
    assert ratio.collection_id == outcome.results[0].collection_id
    assert ratio.history.get().history_change_reason == "Computed from free kappa and lambda"


def test_flc_ratio_when_the_second_chain_comes_in_a_later_batch(nurse, patient):
    ingest.lab_collections_record(
        collections=[collection(patient, 9, FLC_KAPPA="30")], user=nurse, source="api"
    )
    assert not LabResult.objects.filter(test_code="FLC_RATIO").exists()

    ingest.lab_collections_record(
        collections=[collection(patient, 9, FLC_LAMBDA="15")], user=nurse, source="api"
    )

    assert LabResult.objects.valid().get(test_code="FLC_RATIO").canonical_value == Decimal("2")


def test_one_evaluation_of_all_its_patients_is_queued_per_batch(
    nurse, patient, clinic_a, monkeypatch, django_capture_on_commit_callbacks
):
    other = PatientFactory(clinic=clinic_a)
    queued = []
    monkeypatch.setattr(tasks, "enqueue_patients_evaluation", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        ingest.lab_collections_record(
            collections=[
                collection(patient, 7, ANC="2.5"),
                collection(other, 8, ANC="2.5"),
                collection(patient, 9, ANC="2.4"),
                collection(patient, 10, ANC="2.3"),
            ],
            user=nurse,
            source=LabResult.Source.API,
        )

    assert queued == [sorted([patient.pk, other.pk])]


def test_dirty_mark_is_set_once_per_patient_in_the_same_transaction(nurse, patient):
    before = Patient.objects.get(pk=patient.pk).rules_version
    ingest.lab_collections_record(
        collections=[collection(patient, 7, ANC="2.5"), collection(patient, 9, ANC="2.4")],
        user=nurse,
        source=LabResult.Source.API,
    )
    assert Patient.objects.get(pk=patient.pk).rules_version == before + 1


def test_refused_collection_queues_nothing_and_marks_nothing(
    nurse, patient, django_capture_on_commit_callbacks
):
    before = Patient.objects.get(pk=patient.pk).rules_version
    with django_capture_on_commit_callbacks() as callbacks:
        outcome = ingest.lab_collections_record(
            collections=[collection(patient, 9, ANC="-1")], user=nurse, source="api"
        )
    assert outcome.collections[0].status == ingest.Status.REFUSED
    assert callbacks == []
    assert Patient.objects.get(pk=patient.pk).rules_version == before


def test_hundred_fold_change_against_an_earlier_collection_of_the_same_batch(nurse, patient):
    # PLT 300 then 3 (a count sent in the wrong unit): the catalogue's 100-fold warning.
    outcome = ingest.lab_collections_record(
        collections=[collection(patient, 7, PLT="300"), collection(patient, 9, PLT="3")],
        user=nurse,
        source=LabResult.Source.API,
    )
    first, second = outcome.collections
    assert first.stored and second.status == ingest.Status.REFUSED
    assert second.problems[0].kind == "suspicious" and second.problems[0].index == 0


def test_a_refused_value_is_not_the_previous_value_of_a_later_collection(nurse, patient):
    outcome = ingest.lab_collections_record(
        collections=[
            collection(patient, 7, PLT="300"),
            collection(patient, 9, PLT="3"),  # refused: 100-fold below 300
            collection(patient, 11, PLT="290"),  # compared with 300, not with the refused 3
        ],
        user=nurse,
        source=LabResult.Source.API,
    )
    assert [c.status for c in outcome.collections] == ["stored", "refused", "stored"]


def test_hundred_fold_change_against_the_record(nurse, patient):
    record(patient, nurse, DRAWN - timedelta(days=7), ANC="2.5")
    outcome = ingest.lab_collections_record(
        collections=[collection(patient, 9, ANC="0.02")], user=nurse, source="api"
    )
    problem = outcome.collections[0].problems[0]
    assert problem.kind == "suspicious"
    assert problem.message.startswith(errors.SUSPICIOUS.split("{")[0] or "")


def test_previous_value_is_the_newest_before_the_draw_not_after(nurse, patient):
    # A later value on record (ANC 250 x10^9/L is impossible, so use PLT: 300 then 3).
    record(patient, nurse, DRAWN + timedelta(days=7), PLT="3")
    record(patient, nurse, DRAWN - timedelta(days=7), PLT="300")
    outcome = ingest.lab_collections_record(
        collections=[collection(patient, 9, PLT="290")], user=nurse, source="api"
    )
    assert outcome.collections[0].stored


def _counted(batch, user) -> tuple[int, int]:
    """(queries other than INSERT, INSERT statements) of one batch."""
    with CaptureQueriesContext(connection) as ctx:
        outcome = ingest.lab_collections_record(
            collections=batch, user=user, source=LabResult.Source.API
        )
    assert all(c.stored for c in outcome.collections)
    inserts = sum(1 for q in ctx.captured_queries if _writes_rows(q["sql"]))
    return len(ctx.captured_queries) - inserts, inserts


def _writes_rows(sql: str) -> bool:
    """An INSERT (an executemany, one statement sent for all rows, is logged "N times: ..."),
    a COPY, or the drawing of the copied rows' ids from their sequence (PostgreSQL)."""
    return bool(re.match(r"(\d+ times: )?(INSERT|COPY) |SELECT nextval\(", sql))


def _insert_statements_allowed(rows: int) -> int:
    # PostgreSQL: the results' ids drawn, the results and their history rows copied in.
    # SQLite splits a bulk insert at its 999-parameter limit (about 20 lab rows of ~45
    # columns each).
    return 3 if connection.vendor == "postgresql" else 2 * -(-rows // 20)


def test_query_count_does_not_grow_with_the_number_of_collections(nurse, clinic_a):
    patients = [PatientFactory(clinic=clinic_a) for _ in range(5)]
    for p in patients:  # a previous value each, so the 100-fold check has work to do
        record(p, nurse, DRAWN - timedelta(days=7), ANC="2.5", PLT="150")

    def batch(count: int, hour: int):
        return [
            collection(patients[i % 5], hour + i // 5, ANC="2.4", PLT="140") for i in range(count)
        ]

    one, fifty = _counted(batch(1, 1), nurse), _counted(batch(50, 11), nurse)
    # Thresholds (one clinic); duplicates; previous values; the insert's savepoint and its
    # release; the dirty-mark UPDATE: 6, whatever the number of collections and patients.
    assert one[0] == fifty[0] == 6
    assert one[1] == _insert_statements_allowed(1) and fifty[1] <= _insert_statements_allowed(100)


def test_query_count_with_a_kappa_lambda_pair_stays_constant(nurse, patient):
    def batch(hour: int, count: int):
        return [
            collection(patient, hour + i, FLC_KAPPA="30", FLC_LAMBDA="12") for i in range(count)
        ]

    one, ten = _counted(batch(0, 1), nurse), _counted(batch(4, 10), nurse)
    assert one[0] == ten[0] == 6
    assert one[1] == _insert_statements_allowed(1) and ten[1] <= _insert_statements_allowed(30)


def test_api_request_query_count_is_pinned(nurse, patient, clinic_a):
    other = PatientFactory(clinic=clinic_a)
    client = api(nurse)

    def post(items) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(BATCH_URL, {"collections": items}, format="json")
        assert response.status_code == 201, response.json()
        return len(ctx.captured_queries) - sum(
            1
            for q in ctx.captured_queries
            if re.match(r'(\d+ times: )?(INSERT INTO|COPY) "monitoring_|SELECT nextval\(', q["sql"])
        )

    post([cbc_item(patient, hour=6)])  # caches warm (content types)
    small = post([cbc_item(patient, hour=7)])
    large = post([cbc_item(p, hour=h) for h in range(8, 18) for p in (patient, other)])
    # Token and user, two permission reads, the patients (one query), the service's six,
    # the access-log INSERT: the same for 1 collection or 20 of two patients.
    assert small == large == 11


def test_nurse_panel_entry_remembers_the_units_typed(nurse, patient):
    saved = record(patient, nurse, DRAWN, units={"ANC": "/uL"}, ANC="2500", PLT="150")
    assert {r.test_code for r in saved} == {"ANC", "PLT"}
    assert UserLabUnit.objects.get(user=nurse, test_code="ANC").unit == "/uL"


def test_concurrent_writer_between_check_and_insert_refuses_only_that_collection(
    nurse, patient, clinic_a, monkeypatch
):
    other = PatientFactory(clinic=clinic_a)
    real = ingest._refuse_suspicious
    raced = []

    def meanwhile(live, thresholds):
        # Another request stores the same draw of ``other`` after our duplicate check.
        if not raced:
            raced.append(True)  # before the call: recording goes through here too
            record(other, nurse, DRAWN, hour=9, ANC="2.2")
        return real(live, thresholds)

    monkeypatch.setattr(ingest, "_refuse_suspicious", meanwhile)
    outcome = ingest.lab_collections_record(
        collections=[collection(patient, 9, ANC="2.5", PLT="150"), collection(other, 9, ANC="2.5")],
        user=nurse,
        source=LabResult.Source.API,
    )

    stored, raced = outcome.collections
    assert stored.stored and raced.status == ingest.Status.DUPLICATE
    assert raced.problems[0].existing_result_id is not None
    assert LabResult.objects.filter(patient=patient).count() == 2
    assert LabResult.objects.get(patient=other).canonical_value == Decimal("2.2")
    assert LabResult.history.filter(id__in=[r.pk for r in stored.results]).count() == 2
