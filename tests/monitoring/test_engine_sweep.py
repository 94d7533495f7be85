"""The engine: a second sweep over unchanged data writes nothing, whatever the batch size."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

from monitoring.evaluation import sweep_run
from monitoring.models import Flag
from patients.models import LabResult
from tests.factories import DiagnosisFactory, PatientFactory, WeightFactory
from tests.monitoring.conftest import cbc, record, start_course

AS_OF = date(2025, 3, 20)


def history_rows() -> int:
    return sum(
        model.objects.count()
        for model in apps.get_models()
        if model.__name__.startswith("Historical")
    )


def varied_cohort(clinic, nurse, physician, regimen, count=9):
    """Patients whose results tie in collected_at: a full CBC per draw and the response
    markers (M-protein, both light chains) of one draw at one instant, rising for some."""
    patients = []
    for index in range(count):
        patient = PatientFactory(clinic=clinic, mrn=f"T{index:04d}")
        DiagnosisFactory(patient=patient)
        WeightFactory(patient=patient, measured_on=date(2025, 1, 2))
        start_course(patient, physician, regimen)
        cbc(
            patient,
            nurse,
            date(2025, 1, 20),
            plt=str(60 + index),
            anc="0.9" if index % 3 else "2.0",
        )
        cbc(patient, nurse, date(2025, 2, 10 + index % 4), plt=str(45 + 10 * index))
        for day, spep in ((date(2025, 1, 7), "1.0"), (date(2025, 2, 3), "0.4")):
            record(patient, nurse, day, SPEP_M=spep, FLC_KAPPA="30", FLC_LAMBDA="10")
        if index % 2:
            # Rising markers: a progression flag whose evidence is the tied draw.
            record(patient, nurse, date(2025, 3, 3), SPEP_M="1.5", FLC_KAPPA="90", FLC_LAMBDA="9")
        record(patient, nurse, date(2025, 2, 24), CREAT=str(1 + index / 10))
        patients.append(patient)
    return patients


@pytest.mark.django_db
def test_second_and_third_sweeps_over_unchanged_data_write_nothing_whatever_the_batch(
    clinic_a, nurse, physician, regimen
):
    varied_cohort(clinic_a, nurse, physician, regimen)
    first = sweep_run(as_of=AS_OF, batch_size=500)
    assert first.created > 9
    flags = sorted(Flag.objects.values_list("pk", "updated_at", "message", "evidence"))
    history = history_rows()
    for size in (3, 7):
        again = sweep_run(as_of=AS_OF, batch_size=size)
        assert (again.created, again.changed, again.resolved) == (0, 0, 0), size
        assert history_rows() == history
        assert sorted(Flag.objects.values_list("pk", "updated_at", "message", "evidence")) == flags


# --- The FLC ratio: one draw's kappa and lambda, whoever posts them and when ---------


def valid_ratio(patient):
    return LabResult.objects.valid().get(patient=patient, test_code="FLC_RATIO").canonical_value


@pytest.mark.django_db
def test_kappa_and_lambda_recorded_in_separate_calls_store_their_ratio(patient, nurse):
    record(patient, nurse, date(2025, 3, 3), FLC_KAPPA="45")
    assert not LabResult.objects.filter(patient=patient, test_code="FLC_RATIO").exists()
    record(patient, nurse, date(2025, 3, 3), FLC_LAMBDA="12")
    assert valid_ratio(patient) == Decimal("3.75")


@pytest.mark.skipif(
    settings.DATABASE_VENDOR != "postgresql",
    reason="concurrent writers need PostgreSQL (SQLite serialises the whole database)",
)
@pytest.mark.django_db(transaction=True)
def test_kappa_and_lambda_posted_at_once_keep_their_ratio(clinic_a, nurse, monkeypatch):
    from monitoring import tasks

    monkeypatch.setattr(tasks, "enqueue_patients_evaluation", lambda patient_ids: True)
    patient = PatientFactory(clinic=clinic_a)
    barrier = threading.Barrier(2)
    failures = []

    def post(code, value):
        try:
            barrier.wait(timeout=10)
            record(patient, nurse, date(2025, 3, 3), **{code: value})
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=post, args=("FLC_KAPPA", "45")),
        threading.Thread(target=post, args=("FLC_LAMBDA", "12")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert valid_ratio(patient) == Decimal("3.75")
