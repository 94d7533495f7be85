"""The sweep: whom it evaluates, in which batches, full or incremental."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.db.models import Exists, OuterRef, Q

from monitoring.evaluation.common import IN_SCOPE_STATUSES, Outcome
from monitoring.evaluation.engine import patients_evaluate
from monitoring.models import Flag, MonitoringStatus
from patients.models import Patient


def patient_rules_evaluate(*, patient_id: int, as_of: date, now: datetime | None = None) -> Outcome:
    """Evaluate one patient's rules and bring the flags in line (idempotent)."""
    return patients_evaluate([patient_id], as_of=as_of, now=now)


def sweep_patient_ids(*, after_id: int = 0, due_on: date | None = None) -> list[int]:
    """Everyone the sweep looks at: active or awaiting maintenance, or still holding an
    open flag (so flags of a patient who left maintenance are resolved).

    With ``due_on`` (the incremental sweep) only those due on that date: no status row yet,
    an input changed since the last evaluation (``rules_version`` moved on), or a
    time-driven rule may have changed (``next_review_on`` has come). One query, an
    anti-join on ``monstatus_clean_idx``.
    """
    in_scope = Q(status__in=IN_SCOPE_STATUSES, entered_in_error_at__isnull=True)
    flagged = Patient.objects.filter(flags__status__in=Flag.OPEN_STATUSES).values("pk")
    patients = Patient.objects.filter(in_scope | Q(pk__in=flagged), pk__gt=after_id)
    if due_on is not None:
        clean = MonitoringStatus.objects.filter(
            Q(next_review_on__isnull=True) | Q(next_review_on__gt=due_on),
            patient_id=OuterRef("pk"),
            evaluated_version=OuterRef("rules_version"),
            as_of__lte=due_on,
        )
        patients = patients.filter(~Exists(clean))
    return list(patients.order_by("pk").values_list("pk", flat=True))


def batches(ids: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def sweep_run(
    *, as_of: date, batch_size: int = 500, now: datetime | None = None, full: bool = True
) -> Outcome:
    """The sweep, synchronously (management command, demo seed, tests).

    ``full=False`` is the incremental sweep: only the patients due (``sweep_patient_ids``).
    The full sweep evaluates everyone and is the safety net: a change to a patient the
    incremental sweep would have skipped is logged as a warning (a missed dirty mark or a
    ``next_review_on`` too late).
    """
    total = Outcome()
    due = sweep_patient_ids(due_on=as_of)
    if not full:
        for batch in batches(due, batch_size):
            total.add(patients_evaluate(batch, as_of=as_of, now=now))
        return total
    skipped = set(sweep_patient_ids()) - set(due)
    for batch in batches(sorted(set(due) | skipped), batch_size):
        total.add(patients_evaluate(batch, as_of=as_of, now=now, audit=skipped))
    return total
