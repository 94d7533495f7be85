"""The sweep: idempotent, concurrency-safe, and a fixed number of queries per batch."""

import threading
from datetime import date

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.celery import app
from monitoring import tasks
from monitoring.evaluation import sweep_run
from monitoring.models import Flag, MonitoringStatus
from tests.factories import DiagnosisFactory, PatientFactory
from tests.monitoring.conftest import cbc, start_course

AS_OF = date(2025, 3, 20)


def cohort(clinic, nurse, physician, regimen, count, *, first=0):
    patients = []
    for index in range(first, first + count):
        patient = PatientFactory(clinic=clinic, mrn=f"S{index:04d}")
        DiagnosisFactory(patient=patient)
        start_course(patient, physician, regimen)
        # By AS_OF four flags each: grade 2 thrombocytopenia (no hold), CBC overdue, response
        # labs due and a REMS action (not enrolled).
        cbc(patient, nurse, date(2025, 2, 10), plt="60")
        patients.append(patient)
    return patients


def flag_state():
    return sorted(
        Flag.objects.values_list(
            "patient_id", "kind", "status", "severity", "ctcae_grade", "due_on"
        )
    )


@pytest.mark.django_db
def test_running_the_sweep_twice_gives_the_same_flags_as_once(clinic_a, nurse, physician, regimen):
    cohort(clinic_a, nurse, physician, regimen, 3)
    first = sweep_run(as_of=AS_OF)
    state = flag_state()
    assert first.created == 12
    second = sweep_run(as_of=AS_OF)
    assert (second.created, second.changed, second.resolved) == (0, 0, 0)
    assert flag_state() == state
    assert MonitoringStatus.objects.count() == 3


@pytest.mark.django_db
def test_sweep_query_count_is_the_same_for_5_and_50_patients(clinic_a, nurse, physician, regimen):
    cohort(clinic_a, nurse, physician, regimen, 5)
    with CaptureQueriesContext(connection) as first_five:
        sweep_run(as_of=AS_OF)
    with CaptureQueriesContext(connection) as again_five:
        sweep_run(as_of=AS_OF)
    cohort(clinic_a, nurse, physician, regimen, 45, first=5)
    with CaptureQueriesContext(connection) as first_fifty:
        sweep_run(as_of=AS_OF)
    with CaptureQueriesContext(connection) as again_fifty:
        sweep_run(as_of=AS_OF)
    assert Flag.objects.open().count() == 200
    assert len(again_fifty) == len(again_five)
    # Creating flags is one INSERT per batch, its rows one JSON parameter (no variable limit).
    assert len(first_fifty) == len(first_five)


@pytest.mark.django_db
def test_sweep_queries_grow_with_batches_not_patients(clinic_a, nurse, physician, regimen):
    cohort(clinic_a, nurse, physician, regimen, 6)
    sweep_run(as_of=AS_OF)
    with CaptureQueriesContext(connection) as one_batch:
        sweep_run(as_of=AS_OF, batch_size=6)
    with CaptureQueriesContext(connection) as three_batches:
        sweep_run(as_of=AS_OF, batch_size=2)
    per_batch = (len(three_batches) - len(one_batch)) / 2
    assert len(three_batches) == len(one_batch) + 2 * per_batch
    # 17: the gather reads suggestion states and entered-in-error results once per batch
    # (loops that close: accepted findings stay closed, withdrawn evidence withdraws);
    # +3 for next_review_on: therapy facts and results dated later, rule settings coming.
    assert per_batch <= 20


@pytest.mark.django_db
def test_run_monitoring_sweep_command_accepts_as_of(clinic_a, nurse, physician, regimen, capsys):
    cohort(clinic_a, nurse, physician, regimen, 2)
    call_command("run_monitoring_sweep", "--as-of", "2025-03-20")
    assert "2 patients, 8 flags opened" in capsys.readouterr().out
    assert Flag.objects.open().filter(kind="cbc_overdue").count() == 2


@pytest.mark.django_db
def test_beat_sweep_task_fans_batches_out_as_a_group(clinic_a, nurse, physician, regimen, settings):
    cohort(clinic_a, nurse, physician, regimen, 3)
    app.conf.task_always_eager = True
    try:
        assert tasks.sweep.delay("2025-03-20", batch_size=2).get() == 2
    finally:
        app.conf.task_always_eager = False
    assert Flag.objects.open().count() == 12
    entry = settings.CELERY_BEAT_SCHEDULE["monitoring-sweep"]
    assert entry["task"] == "monitoring.tasks.sweep" and entry["schedule"] <= 3600


@pytest.mark.skipif(
    settings.DATABASE_VENDOR != "postgresql",
    reason="concurrent writers need PostgreSQL (SQLite serialises the whole database)",
)
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_give_the_same_flags_as_one(
    clinic_a, nurse, physician, regimen, monkeypatch
):
    # These commits are real: keep their per-patient tasks off the shared broker queue.
    monkeypatch.setattr(tasks, "enqueue_patients_evaluation", lambda patient_ids: True)
    cohort(clinic_a, nurse, physician, regimen, 20)
    barrier = threading.Barrier(2)
    failures = []

    def run():
        try:
            barrier.wait(timeout=10)
            sweep_run(as_of=AS_OF, batch_size=5)
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    concurrent = flag_state()
    assert len(concurrent) == 80
    assert Flag.objects.open().count() == 80
    sweep_run(as_of=AS_OF)
    assert flag_state() == concurrent
