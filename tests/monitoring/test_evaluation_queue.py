"""The evaluation queue is coalesced: while a patient's evaluation waits in the queue, more
changes to that patient queue nothing more (the waiting task reads them when it starts), and
a change made once the worker has started queues a new one. One task carries every patient
of a commit. The broker is the outside world here (``send_task`` is recorded); the marks are
real rows."""

from datetime import date, timedelta
from unittest import mock

import pytest
from celery import current_app
from django.utils import timezone

from monitoring import tasks
from monitoring.models import Flag
from patients import services as patient_services
from patients.models import Patient
from tests.factories import PatientFactory
from tests.monitoring.conftest import record

pytestmark = pytest.mark.django_db


class Sent(list):
    """The patient-id lists sent, in order; ``options``: each send's options."""

    def __init__(self):
        super().__init__()
        self.options = []


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """The evaluation tasks sent to the broker: a list of their patient-id lists."""
    calls = Sent()

    def send_task(name, args=None, **options):
        assert name == "monitoring.tasks.evaluate_patients"
        calls.append(list(args[0]))
        calls.options.append(options)

    with mock.patch.object(current_app, "send_task", side_effect=send_task):
        yield calls


@pytest.fixture
def immediate(settings):
    """No window: each save whose patient is not waiting sends a task (the marks alone
    coalesce)."""
    settings.MONITORING_EVALUATION_WINDOW_SECONDS = 0


@pytest.mark.parametrize(("window", "countdown"), [(0.5, 0.5), (0, None), (0.001, 0.001)])
def test_the_task_waits_out_the_window_before_it_starts(
    patient, nurse, sent, django_capture_on_commit_callbacks, settings, window, countdown
):
    """The evaluation starts ``MONITORING_EVALUATION_WINDOW_SECONDS`` after the save (the
    default, 0.5 s; none with 0), so saves committed meanwhile join its batch."""
    settings.MONITORING_EVALUATION_WINDOW_SECONDS = window
    save(patient, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, ANC="2.5")
    assert sent == [[patient.pk]]
    assert sent.options[0].get("countdown") == countdown


def save(patient, nurse, on, django_capture_on_commit_callbacks, **values):
    with django_capture_on_commit_callbacks(execute=True):
        record(patient, nurse, on, **values)


def queued_at(patient):
    return Patient.objects.values_list("evaluation_queued_at", flat=True).get(pk=patient.pk)


def test_a_second_save_while_the_first_evaluation_waits_queues_nothing(
    patient, nurse, sent, django_capture_on_commit_callbacks
):
    save(patient, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, ANC="2.5")
    save(patient, nurse, date(2025, 3, 2), django_capture_on_commit_callbacks, ANC="0.4")

    assert sent == [[patient.pk]]
    assert queued_at(patient) is not None


def test_the_waiting_task_reads_the_later_save_and_the_next_save_queues_again(
    patient, nurse, sent, django_capture_on_commit_callbacks
):
    save(patient, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, ANC="2.5")
    save(patient, nurse, date(2025, 3, 2), django_capture_on_commit_callbacks, ANC="0.4")

    tasks.evaluate_patients.run(sent[0], "2025-03-02")  # the worker takes the one task

    assert Flag.objects.open().get(patient=patient).kind == "neutropenia"  # the later save
    assert queued_at(patient) is None
    save(patient, nurse, date(2025, 3, 3), django_capture_on_commit_callbacks, ANC="0.3")
    assert sent == [[patient.pk], [patient.pk]]


@pytest.mark.usefixtures("immediate")
def test_one_task_carries_the_patients_not_already_waiting(
    patient, nurse, clinic_a, sent, django_capture_on_commit_callbacks
):
    other, third = PatientFactory(clinic=clinic_a), PatientFactory(clinic=clinic_a)
    save(patient, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, ANC="2.5")

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.enqueue_patients_evaluation([third.pk, patient.pk, other.pk]) is True

    assert sent == [[patient.pk], sorted([other.pk, third.pk])]


@pytest.mark.usefixtures("immediate")
def test_a_mark_older_than_the_stale_limit_is_taken_for_a_lost_task(
    patient, nurse, sent, django_capture_on_commit_callbacks
):
    limit = timedelta(seconds=patient_services.EVALUATION_QUEUED_STALE_SECONDS)
    save(patient, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, ANC="2.5")
    mark = queued_at(patient)

    just_inside = mark + limit
    assert patient_services.evaluations_send([patient.pk], now=just_inside) is True
    assert sent == [[patient.pk]]  # at the limit: still waiting

    just_after = mark + limit + timedelta(microseconds=1)
    assert patient_services.evaluations_send([patient.pk], now=just_after) is True
    assert sent == [[patient.pk], [patient.pk]]
    assert queued_at(patient) == just_after


def test_with_the_broker_down_the_mark_is_cleared_so_the_next_save_tries_again(
    patient, nurse, django_capture_on_commit_callbacks
):
    down = mock.patch.object(current_app, "send_task", side_effect=ConnectionError("down"))
    with down, tasks.queue_outcome() as not_queued:
        save(patient, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, ANC="2.5")

    assert not_queued == [patient.pk]
    assert queued_at(patient) is None


def test_a_patient_edit_keeps_a_queue_mark_it_did_not_read(
    patient, nurse, sent, django_capture_on_commit_callbacks
):
    stale_instance = Patient.objects.get(pk=patient.pk)
    save(patient, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, ANC="2.5")
    mark = queued_at(patient)

    stale_instance.phone = "555-0100"
    stale_instance.save()

    assert queued_at(patient) == mark


def test_the_single_patient_task_queued_before_still_evaluates_its_patient(patient, nurse):
    record(patient, nurse, date(2025, 3, 1), PLT="20")

    result = tasks.evaluate_patient.run(patient.pk, "2025-03-01")

    assert result["open"] == ["thrombocytopenia"]


@pytest.mark.usefixtures("immediate")
def test_a_task_takes_every_patient_waiting_and_a_later_task_finds_none(
    patient, nurse, clinic_a, sent, django_capture_on_commit_callbacks
):
    other = PatientFactory(clinic=clinic_a)
    save(patient, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, ANC="0.4")
    save(other, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, PLT="20")
    assert sent == [[patient.pk], [other.pk]]

    first = tasks.evaluate_patients.run(sent[0], "2025-03-01")
    second = tasks.evaluate_patients.run(sent[1], "2025-03-01")

    assert first["patients"] == 2 and second["patients"] == 0
    assert set(Flag.objects.open().values_list("patient_id", "kind")) == {
        (patient.pk, "neutropenia"),
        (other.pk, "thrombocytopenia"),
    }
    assert queued_at(patient) is None and queued_at(other) is None


def test_a_task_takes_the_oldest_marks_first_up_to_its_limit(
    patient, clinic_a, sent, django_capture_on_commit_callbacks
):
    others = [PatientFactory(clinic=clinic_a) for _ in range(2)]
    start = timezone.now()
    for i, p in enumerate([others[1], patient, others[0]]):
        patient_services.evaluations_send([p.pk], now=start + timedelta(seconds=i))

    assert patient_services.evaluations_take(limit=2) == sorted([others[1].pk, patient.pk])
    assert queued_at(others[0]) is not None
    assert patient_services.evaluations_take(limit=2) == [others[0].pk]
    assert patient_services.evaluations_take(limit=2) == []


# The window: while a task already sent waits to start, other patients' saves send none.


def test_a_second_patient_saved_within_the_window_waits_for_the_first_task(
    patient, nurse, clinic_a, sent, django_capture_on_commit_callbacks
):
    other = PatientFactory(clinic=clinic_a)
    save(patient, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, ANC="0.4")
    save(other, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, PLT="20")

    assert sent == [[patient.pk]]  # one task, for the first save
    assert queued_at(other) is not None  # the second is marked: the task will take it
    result = tasks.evaluate_patients.run(sent[0], "2025-03-01")
    assert result["patients"] == 2
    assert set(Flag.objects.open().values_list("patient_id", "kind")) == {
        (patient.pk, "neutropenia"),
        (other.pk, "thrombocytopenia"),
    }


def test_once_the_task_has_started_the_next_save_sends_a_task_of_its_own(
    patient, nurse, clinic_a, sent, django_capture_on_commit_callbacks
):
    other = PatientFactory(clinic=clinic_a)
    save(patient, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, ANC="0.4")
    tasks.evaluate_patients.run(sent[0], "2025-03-01")  # started: forgets its start time

    save(other, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, PLT="20")

    assert sent == [[patient.pk], [other.pk]]


MARGIN = patient_services.EVALUATION_TASK_MARGIN_SECONDS


@pytest.mark.parametrize(
    ("window", "starts_in", "sends"),
    [
        (0.5, MARGIN - 0.001, True),
        (0.5, MARGIN, True),
        (0.5, MARGIN + 0.001, False),
        # A window under five times the margin: a fifth of it, so it still batches.
        (0.25, 0.049, True),
        (0.25, 0.05, True),
        (0.25, 0.051, False),
    ],
)
def test_a_task_about_to_start_is_not_counted_on(
    patient,
    nurse,
    sent,
    django_capture_on_commit_callbacks,
    monkeypatch,
    settings,
    window,
    starts_in,
    sends,
):
    """A waiting task that starts within the margin may take its marks before this save's
    mark: the save sends its own task. Later than the margin, it counts on the waiting one."""
    from django.core.cache import cache

    settings.MONITORING_EVALUATION_WINDOW_SECONDS = window
    now = 1_900_000_000.0
    monkeypatch.setattr(patient_services.time, "time", lambda: now)
    cache.set(patient_services.EVALUATION_TASK_STARTS_KEY, now + starts_in, 10)

    save(patient, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, ANC="2.5")

    assert sent == ([[patient.pk]] if sends else [])
    if sends:  # this save's task is now the one waiting (the cache keeps it past the window)
        assert cache.get(patient_services.EVALUATION_TASK_STARTS_KEY) == now + window


def test_a_patient_still_marked_with_no_task_waiting_gets_a_task(
    patient, nurse, sent, django_capture_on_commit_callbacks
):
    """The task's take skipped the patient's row (locked by this very change, ``SKIP
    LOCKED``), so the mark outlived the task: the change's save sends a task for it."""
    save(patient, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, ANC="2.5")
    patient_services.evaluation_task_forget()  # the task started; its take missed the row

    save(patient, nurse, date(2025, 3, 2), django_capture_on_commit_callbacks, ANC="0.4")

    assert sent == [[patient.pk], []]  # the second carries no new mark: it takes the old one
    assert tasks.evaluate_patients.run(sent[1], "2025-03-02")["patients"] == 1
    assert queued_at(patient) is None


def test_the_task_forgets_its_start_time_before_it_takes(patient, nurse, sent, monkeypatch):
    """So a save whose mark the take cannot see (committed after it) never counts on it."""
    from django.core.cache import cache

    seen = []
    take = patient_services.evaluations_take

    def taking(**kwargs):
        seen.append(cache.get(patient_services.EVALUATION_TASK_STARTS_KEY))
        return take(**kwargs)

    cache.set(patient_services.EVALUATION_TASK_STARTS_KEY, 2_000_000_000.0, 10)
    monkeypatch.setattr(patient_services, "evaluations_take", taking)

    tasks.evaluate_patients.run([], "2025-03-01")

    assert seen == [None]


def test_with_the_broker_down_the_start_time_is_forgotten_so_the_next_save_sends(
    patient, nurse, clinic_a, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    other = PatientFactory(clinic=clinic_a)
    down = mock.patch.object(current_app, "send_task", side_effect=ConnectionError("down"))
    with down, tasks.queue_outcome() as not_queued:
        save(patient, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, ANC="2.5")
    assert not_queued == [patient.pk]
    assert cache.get(patient_services.EVALUATION_TASK_STARTS_KEY) is None

    calls = []
    with mock.patch.object(current_app, "send_task", side_effect=lambda *a, **k: calls.append(a)):
        save(other, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, PLT="20")
    assert len(calls) == 1


def test_without_the_cache_every_save_sends_its_task(
    patient, nurse, clinic_a, sent, django_capture_on_commit_callbacks, caplog
):
    other = PatientFactory(clinic=clinic_a)
    with mock.patch("django.core.cache.cache.add", side_effect=ConnectionError("cache down")):
        save(patient, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, ANC="0.4")
        save(other, nurse, date(2025, 3, 1), django_capture_on_commit_callbacks, PLT="20")

    assert sent == [[patient.pk], [other.pk]]
    assert "Could not read the evaluation task's start time" in caplog.text


def test_a_task_that_takes_its_limit_sends_one_for_the_patients_left(
    patient, clinic_a, sent, django_capture_on_commit_callbacks, settings
):
    settings.MONITORING_EVALUATION_WINDOW_SECONDS = 0
    others = [PatientFactory(clinic=clinic_a) for _ in range(2)]
    for p in [patient, *others]:
        patient_services.evaluations_send([p.pk])
    del sent[:]

    assert len(patient_services.evaluations_take(limit=2)) == 2
    assert sent == [[]]  # a task now, with no ids of its own: it takes what waits
    assert sent.options[-1].get("countdown") is None
    assert len(patient_services.evaluations_take(limit=2)) == 1
    assert sent == [[]]  # under the limit: nothing is left
