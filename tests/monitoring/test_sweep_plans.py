"""The sweep's reads use the indexes made for them (PostgreSQL plans pinned): a batch's
response-marker history is read from the index alone, and its entered-in-error results from
their partial index, not from every result of the batch's patients; holds dated later
(the next review) from their date indexes."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring.evaluation import gather
from patients.lab_selectors import end_of_day
from patients.models import LabResult
from tests.factories import DiagnosisFactory, LabResultFactory, PatientFactory
from tests.monitoring.conftest import COURSE_START, start_course

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 3, 2)


def lab(patient, code: str, on: date, **values) -> LabResult:
    return LabResultFactory(
        patient=patient,
        test_code=code,
        collected_at=timezone.make_aware(datetime.combine(on, time(9))),
        **values,
    )


def cohort(clinic, patients: int = 12) -> list[int]:
    """Patients with monthly CBCs and creatinine and a marker panel every third month: the
    markers are a small share of each patient's results, as in the clinic."""
    ids = []
    for index in range(patients):
        patient = PatientFactory(clinic=clinic, mrn=f"P{index:04d}")
        for month in range(12):
            on = AS_OF - timedelta(days=30 * month + 1)
            for code in ("WBC", "ANC", "PLT", "HGB", "CREAT"):
                lab(patient, code, on, canonical_value=Decimal("3.0"))
            if month % 3 == 0:
                for code in ("SPEP_M", "FLC_KAPPA", "FLC_LAMBDA"):
                    lab(patient, code, on, canonical_value=Decimal("1.5"))
        ids.append(patient.pk)
    return ids


def plan_of(query: dict, *, disable: tuple[str, ...], analyze: str) -> str:
    """The plan of a captured query with some scan methods switched off. A test table is
    tiny, so the planner would rightly read it whole or by any index: what is left shows
    whether the index can answer the query at all (its condition implied by the query's,
    its columns enough)."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {analyze}")
        for method in disable:
            cursor.execute(f"SET LOCAL enable_{method} = off")
        cursor.execute("EXPLAIN " + query["sql"], query.get("params"))
        plan = "\n".join(row[0] for row in cursor.fetchall())
        for method in disable:
            cursor.execute(f"RESET enable_{method}")
    return plan


def captured(fn) -> dict:
    with CaptureQueriesContext(connection) as queries:
        fn()
    (query,) = queries.captured_queries
    return query


def test_the_marker_history_is_read_from_its_covering_index_alone_on_postgresql(
    clinic_a, db_vendor
):
    if db_vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's (SQLite has no index-only scan to pin)")
    ids = cohort(clinic_a)
    query = captured(lambda: gather._marker_history(ids, end_of_day(AS_OF)))
    # Only index-only scans left: the read can then avoid a penalty only if every column
    # the sweep reads is in labresult_marker_history_idx and its condition (current results
    # of the marker codes) is implied by the query's. On the 10,000-patient cohort the
    # planner picks this plan itself (6,306 rows read for 500 patients, was 64,700).
    plan = plan_of(
        query, disable=("seqscan", "indexscan", "bitmapscan"), analyze="monitoring_labresult"
    )
    assert "Index Only Scan using labresult_marker_history_idx" in plan, plan
    # The index gives the order the sweep asks for: no sort.
    assert "Sort" not in plan, plan


def test_the_marker_history_reads_every_current_marker_in_order(clinic_a):
    ids = cohort(clinic_a, patients=2)
    lab(PatientFactory(clinic=clinic_a, mrn="OTHER"), "SPEP_M", AS_OF, canonical_value=Decimal(1))
    withdrawn = LabResult.objects.filter(patient_id=ids[0], test_code="SPEP_M").first()
    withdrawn.entered_in_error_at = timezone.now()
    withdrawn.save()
    superseded = LabResult.objects.filter(patient_id=ids[1], test_code="FLC_KAPPA").first()
    superseded.result_status = LabResult.ResultStatus.SUPERSEDED
    superseded.save()

    history = gather._marker_history(ids, end_of_day(AS_OF))

    assert sorted(history) == ids
    for pid in ids:
        expected = list(
            LabResult.objects.valid()
            .filter(patient_id=pid, test_code__in=("SPEP_M", "UPEP_M24", "FLC_KAPPA", "FLC_LAMBDA"))
            .order_by("collected_at", "test_code", "pk")
            .values_list("pk", flat=True)
        )
        assert [r.pk for r in history[pid]] == expected
        assert len(expected) == 4 * 3 - (1 if pid in (ids[0], ids[1]) else 0)
    assert withdrawn.pk not in {r.pk for rows in history.values() for r in rows}
    assert superseded.pk not in {r.pk for rows in history.values() for r in rows}


def test_entered_in_error_results_are_found_from_their_partial_index_on_postgresql(
    clinic_a, db_vendor
):
    if db_vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    ids = cohort(clinic_a)
    wrong = LabResult.objects.filter(patient_id=ids[3], test_code="ANC").first()
    wrong.entered_in_error_at = timezone.now()
    wrong.entered_in_error_reason = "wrong patient"
    wrong.save()
    query = captured(lambda: gather._in_error_words(ids))
    # No sequential scan: the planner may still choose among the indexes, and takes the
    # one that holds only the withdrawn results (the patient index would read them all).
    plan = plan_of(query, disable=("seqscan",), analyze="monitoring_labresult")
    assert "labresult_in_error_patient_idx" in plan, plan
    assert "Sort" not in plan, plan
    assert list(gather._in_error_words(ids)) == [wrong.pk]


def test_holds_dated_later_are_found_from_their_date_indexes_on_postgresql(
    clinic_a, physician, regimen, db_vendor
):
    if db_vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    from therapy.models import Hold
    from therapy.selectors import therapy_dates_coming

    ids = []
    for index in range(30):
        patient = PatientFactory(clinic=clinic_a, mrn=f"H{index:04d}")
        course = start_course(patient, physician, regimen)
        for week in range(8):  # past holds: none starts or ends after AS_OF
            start = COURSE_START + timedelta(weeks=2 * week + 1)
            Hold.objects.create(
                course=course, start_date=start, end_date=start + timedelta(days=3), reason="other"
            )
        ids.append(patient.pk)
    later = Hold.objects.create(
        course=course, start_date=AS_OF + timedelta(days=5), end_date=None, reason="procedure"
    )
    with CaptureQueriesContext(connection) as queries:
        coming = therapy_dates_coming(ids, after=AS_OF)
    (query,) = queries.captured_queries
    assert coming[later.course.patient_id] == (later.start_date, "hold starts")
    # The holds of these courses dated later: read from the two date indexes together,
    # not every hold (sequential scans off: the test table is tiny).
    plan = plan_of(query, disable=("seqscan",), analyze="therapy_hold")
    assert "hold_valid_start_idx" in plan, plan
    assert "hold_valid_end_idx" in plan, plan


def test_a_batch_reads_its_patients_diagnoses_by_patient_none_for_those_without(
    clinic_a, django_assert_num_queries
):
    recorded = PatientFactory(clinic=clinic_a, mrn="D1")
    DiagnosisFactory(patient=recorded, light_chain="lambda", on_dialysis=True)
    unrecorded = PatientFactory(clinic=clinic_a, mrn="D2")
    # Patients with their clinic, then their diagnoses (not joined: on PostgreSQL the join
    # hashed the whole diagnosis table for every batch); reading them asks nothing more.
    with django_assert_num_queries(2):
        patients = gather._patients([recorded.pk, unrecorded.pk])
        assert patients[recorded.pk].diagnosis.light_chain == "lambda"
        assert patients[recorded.pk].diagnosis.on_dialysis is True
        assert patients[recorded.pk].diagnosis.patient is patients[recorded.pk]
        assert getattr(patients[unrecorded.pk], "diagnosis", None) is None
        assert {p.clinic for p in patients.values()} == {clinic_a}
