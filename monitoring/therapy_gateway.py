"""The therapy contract monitoring codes against, in one place.

therapy sits below monitoring (monitoring -> therapy -> patients), so monitoring may import
it; this module is the only place that does, so tests can replace one function and a
missing therapy function is an error, never a silent "no course".
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

logger = logging.getLogger(__name__)


def _selectors():
    # No fallback: a broken therapy import must fail loudly. Degrading to "no course" would
    # resolve every CBC, hold, renal and REMS flag with nothing logged.
    from therapy import selectors

    return selectors


def _services():
    from therapy import services

    return services


def course_snapshots(patient_ids: list[int], *, as_of: date) -> dict[int, Any]:
    """CourseSnapshot per patient with an active course (fixed number of queries)."""
    selectors = _selectors()
    return selectors.course_snapshots(patient_ids, as_of=as_of)


def rems_states(patient_ids: list[int], *, as_of: date) -> dict[int, Any]:
    """RemsState per enrolled patient: risk category and the REMS status finding."""
    selectors = _selectors()
    return selectors.rems_states(patient_ids, as_of=as_of)


def pending_suggestions(patient_ids: list[int]):
    selectors = _selectors()
    return selectors.pending_suggestions(patient_ids)


def active_course_for(patient):
    selectors = _selectors()
    return selectors.active_course_for(patient)


def dose_suggestion_raise(*, patient, kind: str, finding, evidence: list[dict], as_of: date):
    """Raise (idempotently) a therapy dose suggestion; None when therapy cannot take it."""
    services = _services()
    course = active_course_for(patient)
    if course is None:
        return None
    return services.dose_suggestion_raise(
        patient=patient, course=course, kind=kind, finding=finding, evidence=evidence, as_of=as_of
    )


def dose_suggestion_withdraw(*, patient, kind: str, reason: str) -> int:
    services = _services()
    return services.dose_suggestion_withdraw(patient=patient, kind=kind, reason=reason)


def suggestions_repoint_evidence(*, patient, replaced: dict[int, int], repoint) -> int:
    """Suggestions resting on superseded lab results name the final results instead."""
    services = _services()
    if services is None or not hasattr(services, "dose_suggestions_repoint_evidence"):
        return 0
    return services.dose_suggestions_repoint_evidence(
        patient=patient, replaced=replaced, repoint=repoint
    )


def suggestion_states(patient_ids: list[int]) -> tuple[list, dict]:
    """Pending suggestions, and the latest accepted one per (patient, kind): one query."""
    selectors = _selectors()
    return selectors.suggestion_states(patient_ids)


def dose_suggestion_accept(*, suggestion, user, on: date):
    return _services().dose_suggestion_accept(suggestion=suggestion, user=user, on=on)


def dose_suggestion_dismiss(*, suggestion, user, reason: str):
    return _services().dose_suggestion_dismiss(suggestion=suggestion, user=user, reason=reason)


def suggestion_for(patient, public_id):
    """The patient's dose suggestion with this public id, or None."""
    selectors = _selectors()
    return selectors.suggestion_for(patient, public_id)


def dismiss_form(data=None):
    """therapy's form for a dismissal reason (the decision pages live in monitoring)."""
    from therapy.forms import DismissForm

    return DismissForm(data)


def therapy_dates_coming(patient_ids: list[int], *, after: date) -> dict[int, tuple[date, str]]:
    """Per patient, the first therapy fact dated after ``after`` and what it is."""
    selectors = _selectors()
    return selectors.therapy_dates_coming(patient_ids, after=after)
