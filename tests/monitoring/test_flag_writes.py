"""Flag writes of a batch: one compare-and-set statement for the changed flags and one for
the cleared ones, and an edit made while the evaluation ran is never overwritten."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring.evaluation import engine, patients_evaluate
from monitoring.models import Flag
from tests.factories import PatientFactory
from tests.monitoring.conftest import evaluate, open_flag, record

pytestmark = pytest.mark.django_db

K = Flag.Kind


def flag_updates(context) -> list[str]:
    return [
        q["sql"]
        for q in context.captured_queries
        if q["sql"].startswith('UPDATE "monitoring_flag"')
    ]


def test_an_escalation_does_not_overwrite_a_flag_changed_while_the_batch_was_evaluated(
    patient, nurse, monkeypatch
):
    record(patient, nurse, date(2025, 3, 1), PLT="60")
    evaluate(patient, date(2025, 3, 1))
    flag = open_flag(patient, K.THROMBOCYTOPENIA)
    record(patient, nurse, date(2025, 3, 8), PLT="20")
    real_update = engine._update_flags

    def another_writer_first(changed):
        # A second sweep rewrote the flag after this one read it.
        Flag.objects.filter(pk=flag.pk).update(message="Rewritten meanwhile")
        return real_update(changed)

    monkeypatch.setattr(engine, "_update_flags", another_writer_first)
    outcome = evaluate(patient, date(2025, 3, 8))
    flag.refresh_from_db()
    assert outcome.changed == 0
    assert (flag.message, flag.ctcae_grade) == ("Rewritten meanwhile", 2)
    monkeypatch.undo()
    assert evaluate(patient, date(2025, 3, 8)).changed == 1
    flag.refresh_from_db()
    assert flag.ctcae_grade == 4 and flag.escalations[-1]["from_message"] == "Rewritten meanwhile"


def test_a_resolution_does_not_overwrite_a_flag_resolved_while_the_batch_was_evaluated(
    patient, nurse, monkeypatch
):
    record(patient, nurse, date(2025, 3, 1), HGB="7.5")
    evaluate(patient, date(2025, 3, 1))
    flag = open_flag(patient, K.ANEMIA)
    record(patient, nurse, date(2025, 3, 15), HGB="10.4")
    real_resolve = engine._resolve_flags

    def resolved_by_someone_first(resolved, *, now):
        Flag.objects.filter(pk=flag.pk).update(
            status=Flag.Status.RESOLVED, resolved_at=timezone.now(), resolution="Closed by hand"
        )
        return real_resolve(resolved, now=now)

    monkeypatch.setattr(engine, "_resolve_flags", resolved_by_someone_first)
    outcome = evaluate(patient, date(2025, 3, 15))
    flag.refresh_from_db()
    assert outcome.resolved == 0
    assert (flag.status, flag.resolution) == (Flag.Status.RESOLVED, "Closed by hand")


def test_a_batch_changes_and_resolves_flags_in_one_statement_each(clinic_a, nurse):
    patients = [PatientFactory(clinic=clinic_a) for _ in range(4)]
    for patient in patients:
        record(patient, nurse, date(2025, 3, 1), PLT="60", HGB="7.5")
    ids = [p.pk for p in patients]
    assert patients_evaluate(ids, as_of=date(2025, 3, 1)).created == 8
    for patient in patients:
        record(patient, nurse, date(2025, 3, 8), PLT="20", HGB="10.4")
    with CaptureQueriesContext(connection) as queries:
        outcome = patients_evaluate(ids, as_of=date(2025, 3, 8))
    assert (outcome.changed, outcome.resolved) == (4, 4)
    assert len(flag_updates(queries)) == 2
    grades = Flag.objects.filter(patient__in=patients, kind=K.THROMBOCYTOPENIA).values_list(
        "status", "ctcae_grade", "peak_ctcae_grade"
    )
    assert set(grades) == {(Flag.Status.OPEN, 4, 4)}
    anemia = Flag.objects.filter(patient__in=patients, kind=K.ANEMIA)
    assert {(f.status, f.resolution) for f in anemia} == {
        (Flag.Status.RESOLVED, "Recovered: Hemoglobin 10.4 g/dL on 2025-03-08.")
    }
