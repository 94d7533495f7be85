"""The earliest date a time-driven rule can change a patient's flags
(``MonitoringStatus.next_review_on``)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Min

from monitoring.evaluation.cbc import _interval_now
from monitoring.evaluation.common import _graded, _in_scope, _last_cbc
from monitoring.rules import flags as flag_rules
from monitoring.rules import review, schedule
from patients.lab_selectors import local_date
from patients.models import LabResult, Patient
from patients.rows import ids_in
from therapy import selectors as therapy_selectors

if TYPE_CHECKING:
    from monitoring.evaluation.gather import _Batch

logger = logging.getLogger(__name__)


def _coming(patient_ids: list[int], as_of: date, upto: datetime) -> dict[int, tuple[date, str]]:
    """Per patient, the first date after ``as_of`` on which a recorded fact starts to
    count, with what it is: a therapy fact dated later (a planned course, a dose change,
    a hold, a REMS record) or a result collected after ``as_of`` (a back-fill)."""
    coming = therapy_selectors.therapy_dates_coming(patient_ids, after=as_of)
    later = (
        LabResult.objects.valid()
        .filter(ids_in("patient_id", patient_ids), collected_at__gt=upto)
        .values("patient_id")
        .annotate(first=Min("collected_at"))
        .values_list("patient_id", "first")
    )
    for pid, first in later:
        on = local_date(first)
        if pid not in coming or on < coming[pid][0]:
            coming[pid] = (on, "a result collected")
    return coming


def _next_review(batch: _Batch, pid: int, patient: Patient, snap) -> date | None:
    """The earliest date a time-driven rule can change this patient's flags (None: only a
    change of input can), enumerated by ``review.next_review`` from the values the rules
    read here (the same CBC interval, due dates and flagged counts)."""
    if not _in_scope(patient):
        return None
    t = batch.thresholds[patient.clinic_id]
    course = None
    if snap is not None:
        interval = _interval_now(batch, pid, snap, t)
        draw = _last_cbc(batch, pid)
        markers = batch.markers.get(pid, [])
        flagged = []
        for code in flag_rules.CYTOPENIA_KIND_BY_CODE:
            graded = _graded(batch, pid, code, t)
            if graded is not None and flag_rules.cytopenia_flagged(graded.grade, t):
                flagged.append((code, batch.latest[(pid, code)][0].collected_on))
        state = batch.rems.get(pid)
        course = review.CourseDates(
            cbc_due_on=draw[0].collected_on + timedelta(days=interval) if draw else snap.start_date,
            cbc_interval_days=interval,
            dosing=not snap.on_hold,
            held_for_cytopenia=snap.held_for_cytopenia,
            response_labs_due_on=schedule.response_labs_status(
                last_response_labs_on=markers[-1].collected_on if markers else None,
                course_start=snap.start_date,
                as_of=batch.as_of,
                thresholds=t,
            ).values["due_on"],
            flagged_counts=tuple(flagged),
            calendar=getattr(snap, "calendar", None),
            rems_changes=getattr(state, "changes", ())
            if state is not None and snap.includes_lenalidomide
            else (),
        )
    found = review.next_review(
        as_of=batch.as_of,
        thresholds=t,
        course=course,
        recorded_coming=batch.coming.get(pid),
        setting_coming=batch.coming_rules.get(patient.clinic_id),
    )
    if found is None:
        return None
    logger.debug("Next review of %s on %s: %s", patient.public_id, found.on, found.reason)
    return found.on
