"""Saving labs queues the patient's evaluation on commit: a real worker consumes it from the
real broker (Redis with REDIS_URL, kombu's filesystem transport without); with the broker
down the labs are still saved and the next sweep raises the flag."""

import logging
import threading
import time
import uuid
from datetime import date
from unittest import mock

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.urls import reverse

from config.celery import app
from monitoring import tasks
from monitoring.evaluation import sweep_run
from monitoring.models import Flag
from patients.models import LabResult
from tests.factories import DiagnosisFactory, PatientFactory, TransplantFactory
from tests.monitoring.conftest import record
from tests.waiting import wait_until


@pytest.fixture
def own_queue(settings):
    """A queue of its own, so a worker of another test process never takes our message (and
    ours none of theirs); afterwards the app consumes from its default queues again."""
    queue = f"monitoring-test-{uuid.uuid4().hex[:8]}"
    settings.MONITORING_TASK_QUEUE = queue
    yield queue
    app.amqp.queues._consume_from = None  # start_worker(queues=...) narrowed it app-wide


@pytest.mark.django_db(transaction=True)
def test_real_worker_raises_the_flag_after_the_labs_commit(patient, nurse, own_queue):
    queue = own_queue
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=[queue]
    ):
        record(patient, nurse, date(2025, 3, 1), ANC="0.3")  # commits; on_commit queues the task
        assert wait_until(
            lambda: Flag.objects.open().filter(patient=patient, kind="neutropenia").exists()
        )
    flag = Flag.objects.get(patient=patient, kind="neutropenia")
    assert flag.ctcae_grade == 4


@pytest.mark.django_db(transaction=True)
def test_saves_within_the_window_are_evaluated_as_one_batch(
    clinic_a, patient, nurse, own_queue, settings
):
    """Four patients' labs saved in four commits, the last three a second after the first,
    while the first evaluation waits out its window: the worker evaluates all four in one
    batch, and each gets its flag."""
    # 4 s leaves about 3 s for the last three saves on a slow machine.
    settings.MONITORING_EVALUATION_WINDOW_SECONDS = 4
    others = [PatientFactory(clinic=clinic_a) for _ in range(3)]
    for other in others:
        DiagnosisFactory(patient=other)
        TransplantFactory(patient=other)
    everyone = [patient, *others]
    batches = []
    lock = threading.Lock()
    evaluate = tasks.evaluation.patients_evaluate

    def recorded(patient_ids, **kwargs):
        with lock:
            batches.append(sorted(patient_ids))
        return evaluate(patient_ids, **kwargs)

    with (
        mock.patch.object(tasks.evaluation, "patients_evaluate", side_effect=recorded),
        start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=[own_queue]
        ),
    ):
        record(patient, nurse, date(2025, 3, 1), ANC="0.3")  # a commit each
        # Long enough for a worker that started at once to have taken the first one alone
        # (it does, with the window 0), well inside the window.
        time.sleep(1)
        for one in others:
            record(one, nurse, date(2025, 3, 1), ANC="0.3")
        assert wait_until(
            lambda: (
                Flag.objects.open().filter(kind="neutropenia", patient__in=everyone).count() == 4
            )
        )
    assert batches == [sorted(p.pk for p in everyone)]  # one task: the others sent none


@pytest.mark.django_db(transaction=True)
def test_real_worker_returns_the_open_flags_through_the_result_backend(patient, nurse, own_queue):
    if not settings.REDIS_URL:
        pytest.skip("results need the Redis result backend")
    record(patient, nurse, date(2025, 3, 1), PLT="20")
    queue = own_queue
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=[queue]
    ):
        result = tasks.evaluate_patient.apply_async((patient.pk, "2025-03-01"), queue=queue)
        assert result.get(timeout=20)["open"] == ["thrombocytopenia"]


@pytest.fixture
def broker_down():
    """Point the Celery app at a closed port (nothing listens on port 1)."""
    saved = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.broker_url = saved
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.django_db
def test_with_the_broker_down_labs_are_saved_and_the_next_sweep_raises_the_flag(
    client_for, nurse, patient, broker_down, caplog, django_capture_on_commit_callbacks
):
    url = reverse("monitoring:lab_entry", args=[patient.public_id, "cbc"])
    data = {"collected_at": "2025-03-03T08:30", "value_ANC": "0.4", "unit_ANC": "10^9/L"}
    with (
        caplog.at_level(logging.WARNING, logger="monitoring.tasks"),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = client_for(nurse).post(url, data)
    assert response.status_code == 302
    assert len(callbacks) == 1
    assert "the next sweep will evaluate them" in caplog.text
    assert LabResult.objects.filter(patient=patient, test_code="ANC").exists()
    assert not Flag.objects.exists()
    sweep_run(as_of=date(2025, 3, 3))
    assert Flag.objects.open().get(patient=patient).kind == "neutropenia"


@pytest.mark.django_db
def test_enqueue_reports_failure_instead_of_raising(broker_down, patient):
    assert tasks.enqueue_patient_evaluation(patient.pk) is False


@pytest.mark.django_db
def test_evaluate_task_for_a_patient_that_no_longer_exists_does_nothing():
    assert tasks.evaluate_patient.run(987654, "2025-03-01")["open"] == []
