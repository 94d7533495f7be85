"""Courses, dose changes, holds, dose suggestions and REMS records on the patient's History
page, in words ("Hold started 2026-11-30 (cytopenia)"); registered in TherapyConfig.ready()."""

from __future__ import annotations

from patients.formatting import clinical_number
from patients.history import HistoryEntry, entries_from_history
from patients.models import Patient
from therapy.dosing import DoseLevel
from therapy.models import (
    DoseChange,
    DoseSuggestion,
    Hold,
    MaintenanceCourse,
    RemsAuthorization,
    RemsEnrollment,
    RemsSurvey,
)


def _day(value) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def _level(dose_mg, dosing_days, cycle_days=28) -> str:
    if dose_mg is None or dosing_days is None:
        return "—"
    return DoseLevel(dose_mg, dosing_days, cycle_days).label


def _course(row, previous, details) -> str | None:
    regimen = row.regimen.name if row.regimen_id else "Course"
    if previous is None:
        start = _level(row.start_dose_mg, row.start_dosing_days, row.cycle_days)
        return f"{regimen} started {_day(row.start_date)} at {start}"
    if row.discontinued_on and not previous.discontinued_on:
        return (
            f"{regimen} discontinued {_day(row.discontinued_on)}: "
            f"{row.get_discontinuation_reason_display()}"
        )
    return f"{regimen} changed" if details else None


def _dose_change(row, previous, details) -> str | None:
    if previous is not None:
        return "Dose change corrected" if details else None
    cycle_days = row.course.cycle_days if row.course_id else 28
    return (
        f"Dose changed from {_level(row.from_dose_mg, row.from_dosing_days, cycle_days)} to "
        f"{_level(row.to_dose_mg, row.to_dosing_days, cycle_days)} from "
        f"{_day(row.effective_from)} ({row.get_reason_display().lower()})"
    )


def _hold(row, previous, details) -> str | None:
    if previous is None:
        return f"Hold started {_day(row.start_date)} ({row.get_reason_display().lower()})"
    if row.end_date and not previous.end_date:
        return f"Hold ended: dosing resumes {_day(row.end_date)}"
    return "Hold changed" if details else None


def _suggestion(row, previous, details) -> str | None:
    kind = row.get_kind_display()
    if previous is None:
        return f"Dose suggestion raised: {kind}"
    if row.status == previous.status:
        return None
    if row.status == DoseSuggestion.Status.ACCEPTED:
        done = ""
        if row.created_hold_id and row.created_hold:
            done = f": hold started {_day(row.created_hold.start_date)}"
        elif row.created_dose_change_id and row.created_dose_change:
            change = row.created_dose_change
            done = f": dose {change.to_level.label} from {_day(change.effective_from)}"
        return f"Dose suggestion accepted ({kind}){done}"
    return f"Dose suggestion {row.get_status_display().lower()} ({kind})"


# Said by the suggestion's headline and reason instead.
_SUGGESTION_SAID = frozenset(
    {"status", "created_hold", "created_dose_change", "dismiss_reason", "withdraw_reason"}
)


def _enrollment(row, previous, details) -> str | None:
    if previous is None:
        return f"REMS enrollment recorded ({row.get_patient_risk_category_display()})"
    return "REMS enrollment changed" if details else None


def _authorization(row, previous, details) -> str | None:
    if previous is None:
        return (
            f"REMS authorization {row.authorization_number} obtained {_day(row.obtained_on)}, "
            f"{clinical_number(row.days_supply)} days' supply, expires {_day(row.expires_on)}"
        )
    if row.dispensed_on and not previous.dispensed_on:
        return f"REMS authorization {row.authorization_number} dispensed {_day(row.dispensed_on)}"
    return f"REMS authorization {row.authorization_number} changed" if details else None


def _survey(row, previous, details) -> str | None:
    if previous is None:
        return f"REMS patient survey completed {_day(row.completed_on)}"
    return None


def history_entries(patient: Patient) -> list[HistoryEntry]:
    course_ids = list(
        MaintenanceCourse.objects.filter(patient=patient).values_list("pk", flat=True)
    )
    entries = [
        *entries_from_history(
            MaintenanceCourse.history.filter(patient_id=patient.pk).select_related("regimen"),
            label="Maintenance course",
            area="Therapy",
            headline=_course,
        ),
        *entries_from_history(
            DoseChange.history.filter(course_id__in=course_ids).select_related("course"),
            label="Dose change",
            area="Therapy",
            headline=_dose_change,
        ),
        *entries_from_history(
            Hold.history.filter(course_id__in=course_ids),
            label="Hold",
            area="Therapy",
            headline=_hold,
        ),
        *entries_from_history(
            RemsEnrollment.history.filter(patient_id=patient.pk),
            label="REMS enrollment",
            area="REMS",
            headline=_enrollment,
        ),
        *entries_from_history(
            RemsAuthorization.history.filter(patient_id=patient.pk),
            label="REMS authorization",
            area="REMS",
            headline=_authorization,
        ),
        *entries_from_history(
            RemsSurvey.history.filter(patient_id=patient.pk),
            label="REMS survey",
            area="REMS",
            headline=_survey,
        ),
        *entries_from_history(
            DoseSuggestion.history.filter(patient_id=patient.pk),
            label="Dose suggestion",
            area="Therapy",
            headline=_suggestion,
            annotate=_suggestion_extra,
            hide=_SUGGESTION_SAID,
        ),
    ]
    return entries


def _suggestion_extra(row) -> dict[str, str]:
    """A suggestion keeps its rule id (traceability) and its decision's reason."""
    if row.history_type == "+":
        return {"rule_id": row.rule_id, "reason": row.message}
    return {"rule_id": row.rule_id, "reason": row.dismiss_reason or row.withdraw_reason}
