"""Workers that survive being killed, exactly one beat, and the monitoring queue honoured.

Real Celery workers against the real broker: Redis in CI, kombu's filesystem transport for a
newcomer (the kill test needs Redis and PostgreSQL, since the worker is a separate process
that must see the test database)."""

import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection

from config.beat import FileLeaderLock, RedisLeaderLock, SingleBeatScheduler
from config.celery import app, route_task
from monitoring import tasks
from monitoring.models import MonitoringStatus
from tests.factories import PatientFactory
from tests.waiting import wait_until

BASE_DIR = Path(__file__).resolve().parents[2]


# --- The monitoring queue -----------------------------------------------------------------


def test_monitoring_tasks_are_routed_to_the_configured_queue(settings):
    settings.MONITORING_TASK_QUEUE = "monitoring-only"
    for name in (
        "monitoring.tasks.evaluate_patients",
        "monitoring.tasks.evaluate_patient",
        "monitoring.tasks.evaluate_batch",
        "monitoring.tasks.sweep",
        "monitoring.tasks.deliver_notifications",
    ):
        assert route_task(name, (), {}, {}) == {"queue": "monitoring-only"}
    assert route_task("patients.tasks.clear_expired_sessions", (), {}, {}) is None


def test_without_a_monitoring_queue_tasks_take_the_default_queue(settings):
    settings.MONITORING_TASK_QUEUE = None
    assert route_task("monitoring.tasks.sweep", (), {}, {}) is None


@pytest.mark.django_db(transaction=True)
def test_a_worker_on_the_monitoring_queue_alone_runs_the_whole_sweep(settings, clinic_a):
    queue = f"monitoring-only-{uuid.uuid4().hex[:8]}"
    settings.MONITORING_TASK_QUEUE = queue
    patients = [PatientFactory(clinic=clinic_a) for _ in range(3)]
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=[queue]
        ):
            # No queue named here: the router must send the sweep and its batches to `queue`.
            tasks.sweep.apply_async(kwargs={"as_of": "2025-03-01", "batch_size": 2})
            assert wait_until(
                lambda: (
                    MonitoringStatus.objects.filter(
                        patient__in=patients, as_of=date(2025, 3, 1)
                    ).count()
                    == 3
                ),
                seconds=120,  # returns as soon as the sweep is done; the bound only stops a hang
            )
    finally:
        app.amqp.queues._consume_from = None


# --- Exactly one beat ---------------------------------------------------------------------


def _beat_app() -> Celery:
    beat_app = Celery("beat-test", set_as_current=False)
    beat_app.conf.beat_schedule = {"ping": {"task": "ping", "schedule": 60.0}}
    return beat_app


class RecordingScheduler(SingleBeatScheduler):
    def __init__(self, *args, sent: list, label: str, **kwargs):
        self.sent, self.label = sent, label
        super().__init__(*args, **kwargs)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        self.sent.append((self.label, entry.name))

    def make_due(self):
        self.schedule["ping"].last_run_at = datetime(2000, 1, 1, tzinfo=UTC)
        self._heap = None  # the heap holds each entry's precomputed next time


def _two_beats(tmp_path, leader_a, leader_b):
    sent: list = []
    beat_app = _beat_app()
    a = RecordingScheduler(
        app=beat_app, schedule_filename=str(tmp_path / "a"), leader=leader_a, sent=sent, label="a"
    )
    b = RecordingScheduler(
        app=beat_app, schedule_filename=str(tmp_path / "b"), leader=leader_b, sent=sent, label="b"
    )
    return sent, a, b


def _only_the_leader_sends(sent, a, b):
    for _ in range(3):
        for scheduler in (a, b):
            scheduler.make_due()
            scheduler.tick()
    assert sent == [("a", "ping")] * 3


def test_two_beats_on_the_file_lock_send_each_task_once(tmp_path):
    lock_path = tmp_path / "beat.lock"
    sent, a, b = _two_beats(tmp_path, FileLeaderLock(lock_path), FileLeaderLock(lock_path))
    _only_the_leader_sends(sent, a, b)
    a.close()  # the leader stops: the follower takes over on its next tick
    b.make_due()
    b.tick()
    assert sent[-1] == ("b", "ping")
    b.close()


@pytest.mark.redis
def test_two_beats_on_redis_send_each_task_once_and_a_follower_takes_over(tmp_path):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    name = f"mmm:test-beat:{uuid.uuid4().hex}"
    leader_a = RedisLeaderLock(settings.REDIS_URL, name=name, seconds=60)
    leader_b = RedisLeaderLock(settings.REDIS_URL, name=name, seconds=60)
    sent, a, b = _two_beats(tmp_path, leader_a, leader_b)
    _only_the_leader_sends(sent, a, b)
    assert 0 < leader_a.client.pttl(name) <= 60_000  # a lease, renewed on each tick
    leader_a.client.delete(name)  # the leader died and its lease ran out
    b.make_due()
    b.tick()
    a.make_due()
    a.tick()  # the old leader, back, is now a follower
    assert sent[-1] == ("b", "ping")
    assert sent.count(("b", "ping")) == 1
    a.close()
    b.close()


def test_the_project_beat_uses_the_single_beat_scheduler():
    assert settings.CELERY_BEAT_SCHEDULER == "config.beat:SingleBeatScheduler"
    assert app.conf.beat_scheduler == "config.beat:SingleBeatScheduler"


# --- A worker killed in the middle of a sweep ---------------------------------------------


def _worker(queue: str, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{connection.settings_dict['USER']}@{connection.settings_dict['HOST']}:"
            f"{connection.settings_dict['PORT'] or 5432}/{connection.settings_dict['NAME']}"
        ),
        "MONITORING_TASK_QUEUE": queue,
        "CELERY_VISIBILITY_TIMEOUT": "4",
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "MMM_TESTING": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-Q", queue, "--loglevel=info"],
        cwd=BASE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_sweep_loses_no_patient(settings, clinic_a, tmp_path):
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("a separate worker process needs Redis and PostgreSQL")
    queue = f"monitoring-kill-{uuid.uuid4().hex[:8]}"
    settings.MONITORING_TASK_QUEUE = queue
    patients = [PatientFactory(clinic=clinic_a) for _ in range(12)]
    evaluated = MonitoringStatus.objects.filter(patient__in=patients, as_of=date(2025, 3, 1))

    # Hold the flag table so the first batch blocks inside the worker: it is then certainly
    # killed while it holds an unacknowledged message, mid-sweep.
    db = connection.settings_dict
    blocker = psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432
    )
    blocker.execute("LOCK TABLE monitoring_flag IN ACCESS EXCLUSIVE MODE")
    first = _worker(queue, tmp_path / "first.log")
    second = None
    try:
        tasks.sweep.apply_async(kwargs={"as_of": "2025-03-01", "batch_size": 3})
        assert wait_until(
            lambda: "evaluate_batch" in (tmp_path / "first.log").read_text(), seconds=180
        ), (tmp_path / "first.log").read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        blocker.rollback()
        assert evaluated.count() == 0  # nothing was evaluated by the killed worker
        second = _worker(queue, tmp_path / "second.log")
        assert wait_until(lambda: evaluated.count() == 12, seconds=120), (
            tmp_path / "second.log"
        ).read_text()
        # Each patient has one status row and one evaluation outcome: no duplicates.
        assert MonitoringStatus.objects.filter(patient__in=patients).count() == 12
    finally:
        blocker.close()
        for process in (first, second):
            if process and process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
