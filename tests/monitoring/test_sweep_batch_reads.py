"""How a sweep batch reads and writes (ids as one parameter, timestamps, the garbage collector,
status rows): the same rows and values as the plain ORM, whatever the database."""

import gc
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from monitoring.evaluation import patients_evaluate
from monitoring.evaluation.engine import _young_objects_only
from monitoring.evaluation.flags_write import _upsert_statuses
from monitoring.evaluation.gather import compiled_timestamps
from monitoring.models import MonitoringStatus
from patients.models import LabResult, Patient
from patients.rows import ids_in
from tests.factories import PatientFactory
from tests.monitoring.conftest import cbc

AS_OF = date(2025, 3, 20)


@pytest.mark.django_db
def test_ids_in_reads_the_same_rows_as_an_in_list(clinic_a):
    patients = [PatientFactory(clinic=clinic_a, mrn=f"B{index}") for index in range(4)]
    wanted = [patients[0].pk, patients[2].pk, 999_999]
    assert set(Patient.objects.filter(ids_in("pk", wanted)).values_list("pk", flat=True)) == {
        patients[0].pk,
        patients[2].pk,
    }
    assert not Patient.objects.filter(ids_in("pk", [])).exists()
    either = Patient.objects.filter(Q(ids_in("pk", [patients[1].pk])) | Q(mrn="B3"))
    assert set(either.values_list("mrn", flat=True)) == {"B1", "B3"}


@pytest.mark.django_db
def test_ids_in_sends_one_array_parameter_on_postgresql(clinic_a, db_vendor):
    ids = list(range(1, 501))
    sql, params = Patient.objects.filter(ids_in("pk", ids)).query.sql_with_params()
    if db_vendor == "postgresql":
        assert "= ANY(%s::bigint[])" in sql
        assert list(params) == [ids]
    else:
        assert len(params) == len(ids)


@pytest.mark.django_db
def test_timestamps_read_in_a_batch_are_the_values_django_reads(patient, nurse):
    cbc(patient, nurse, date(2025, 2, 10))
    columns = ("pk", "collected_at", "entered_at", "entered_in_error_at")
    plain = list(LabResult.objects.order_by("pk").values_list(*columns))
    with compiled_timestamps():
        in_batch = list(LabResult.objects.order_by("pk").values_list(*columns))
        flagged = Patient.objects.get(pk=patient.pk)
    assert in_batch == plain
    assert [repr(row) for row in in_batch] == [repr(row) for row in plain]  # time zone object too
    assert flagged.created_at == patient.created_at
    assert flagged.created_at.utcoffset() == timedelta(0)


@pytest.mark.django_db
def test_the_timestamp_loader_is_put_back_after_a_batch_that_failed(patient, nurse):
    cbc(patient, nurse, date(2025, 2, 10))
    connection.ensure_connection()
    loaders = connection.connection.adapters if connection.vendor == "postgresql" else None
    before = loaders.get_loader(1184, 0) if loaders else None
    with pytest.raises(RuntimeError), compiled_timestamps():
        raise RuntimeError
    if loaders:
        assert loaders.get_loader(1184, 0) is before


def test_a_batch_freezes_the_older_objects_and_unfreezes_them_after():
    assert gc.get_freeze_count() == 0
    with _young_objects_only():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_a_process_that_froze_its_objects_itself_stays_frozen(monkeypatch):
    # Neither frozen again nor unfrozen. (Counting the frozen objects is not exact: one
    # of them may be freed meanwhile, by its last reference going.)
    gc.freeze()
    try:
        calls = []
        monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
        monkeypatch.setattr(gc, "unfreeze", lambda: calls.append("unfreeze"))
        with _young_objects_only():
            assert gc.get_freeze_count() > 0
        assert calls == []
        assert gc.get_freeze_count() > 0
    finally:
        monkeypatch.undo()
        gc.unfreeze()


@pytest.mark.django_db
def test_status_rows_are_inserted_then_updated_in_place(clinic_a):
    first, second = (PatientFactory(clinic=clinic_a, mrn=f"U{index}") for index in range(2))
    now = timezone.now()

    def row(patient, **values):
        return MonitoringStatus(
            patient_id=patient.pk,
            evaluated_at=now,
            as_of=AS_OF,
            evaluated_version=patient.rules_version,
            **values,
        )

    _upsert_statuses([row(first, on_course=True, crcl_ml_min=Decimal("52.4"))])
    _upsert_statuses(
        [
            row(first, cbc_due_on=AS_OF, next_review_on=AS_OF + timedelta(days=3)),
            row(second, on_course=True, cbc_phase="early", crcl_ml_min=Decimal("71.0")),
        ]
    )
    stored = {s.patient_id: s for s in MonitoringStatus.objects.all()}
    assert len(stored) == 2
    assert (stored[first.pk].on_course, stored[first.pk].crcl_ml_min) == (False, None)
    assert stored[first.pk].cbc_due_on == AS_OF
    assert stored[first.pk].next_review_on == AS_OF + timedelta(days=3)
    assert stored[first.pk].evaluated_at == now
    assert (stored[second.pk].cbc_phase, stored[second.pk].crcl_ml_min) == (
        "early",
        Decimal("71.0"),
    )


@pytest.mark.django_db
def test_a_batch_evaluation_leaves_no_object_frozen(patient, nurse):
    cbc(patient, nurse, date(2025, 2, 10), plt="60")
    patients_evaluate([patient.pk], as_of=AS_OF)
    assert gc.get_freeze_count() == 0
    assert MonitoringStatus.objects.filter(patient=patient, as_of=AS_OF).exists()
