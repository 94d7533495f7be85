"""Reads for the therapy app. The monitoring app codes against the names marked CONTRACT.

Every batch selector runs a fixed number of queries whatever the number of patients
(pinned in tests/therapy/test_query_counts.py).

By concern: ``courses`` (courses, calendar, history, course pages), ``suggestions``,
``rems``, ``eligibility`` (eligibility and CrCl); every public name stays importable from
``therapy.selectors``.
"""

from therapy.dosing import format_mg
from therapy.selectors.courses import (
    CalendarCell,
    CourseSnapshot,
    CourseTimeline,
    TherapyEvent,
    active_course_for,
    course_calendar,
    course_snapshots,
    course_timelines,
    course_with_history,
    courses_for,
    format_level,
    level_on,
    month_grid,
    open_hold,
    planned_course_starts,
    regimen_catalogue,
    snapshot_of,
    therapy_dates_coming,
    therapy_events,
)
from therapy.selectors.eligibility import (
    ELIGIBILITY_DEFAULTS,
    LAB_CODES,
    CrclUsed,
    Eligibility,
    _crcl,
    crcl_with_weight,
    eligibility_for,
)
from therapy.selectors.rems import (
    REMS_ACTION_URGENCY,
    REMS_SORTS,
    LazyRemsRows,
    RemsRow,
    RemsState,
    can_become_pregnant_of,
    rems_action_label,
    rems_list,
    rems_record,
    rems_risk_category_label,
    rems_states,
    suggested_risk_category,
)
from therapy.selectors.suggestions import (
    pending_suggestions,
    suggestion_for,
    suggestion_states,
    suggestions_for,
)

__all__ = [
    "CalendarCell",
    "CourseSnapshot",
    "CourseTimeline",
    "CrclUsed",
    "ELIGIBILITY_DEFAULTS",
    "Eligibility",
    "LAB_CODES",
    "LazyRemsRows",
    "REMS_ACTION_URGENCY",
    "REMS_SORTS",
    "RemsRow",
    "RemsState",
    "TherapyEvent",
    "_crcl",
    "active_course_for",
    "can_become_pregnant_of",
    "course_calendar",
    "course_snapshots",
    "course_timelines",
    "course_with_history",
    "courses_for",
    "crcl_with_weight",
    "eligibility_for",
    "format_level",
    "format_mg",
    "level_on",
    "month_grid",
    "open_hold",
    "pending_suggestions",
    "planned_course_starts",
    "regimen_catalogue",
    "rems_action_label",
    "rems_list",
    "rems_record",
    "rems_risk_category_label",
    "rems_states",
    "snapshot_of",
    "suggested_risk_category",
    "suggestion_for",
    "suggestion_states",
    "suggestions_for",
    "therapy_dates_coming",
    "therapy_events",
]
