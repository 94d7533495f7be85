"""The exact words a user reads when a therapy or REMS change is refused.

Services raise ``patients.errors.DomainError`` with one of these; tests assert them.
"""

from __future__ import annotations

from patients.errors import DomainError

__all__ = ["DomainError"]

# Courses
PLAN_ALREADY_STARTED = (
    "This course started on {start}: it can no longer be called off as a plan. Discontinue it "
    "instead, with the reason."
)
COURSE_ALREADY_ACTIVE = (
    "This patient already has an active maintenance course (started {start}). "
    "Discontinue it before starting another."
)
JUSTIFICATION_REQUIRED = (
    "The eligibility checklist has items that failed or could not be checked ({items}). "
    "Enter the missing results, or write why you are starting maintenance anyway; the "
    "justification is kept with the course."
)
DOSE_NOT_ON_LADDER = "{dose} is not a selectable lenalidomide dose level. Choose one of: {levels}."
DOSE_FOR_REGIMEN_WITHOUT_LENALIDOMIDE = (
    "{regimen} has no lenalidomide, so a lenalidomide dose level cannot be set."
)
DOSE_REQUIRED = "Choose the starting lenalidomide dose level."
ASPIRIN_DOSE_REQUIRED = "Enter the aspirin dose (81-325 mg daily)."
ASPIRIN_DOSE_RANGE = "Aspirin dose {value} mg is outside 81-325 mg daily. Check the dose."
NO_PROPHYLAXIS_REASON_REQUIRED = (
    "Say why no clot prophylaxis is given (for example: active bleeding, platelets too low)."
)
COURSE_START_IN_FUTURE = "Course start {value} is in the future. Record the course once it starts."
COURSE_START_TOO_FAR_AHEAD = (
    "Course start {value} is more than {days} days ahead. Check the year, or plan the course "
    "closer to its start."
)
COURSE_START_BEFORE_TRANSPLANT = (
    "Course start {value} is before the transplant on {transplant}. Check the date."
)
COURSE_DISCONTINUED = (
    "This course was discontinued on {ended}. It can no longer be changed; "
    "use a correction (with a reason) to fix its record."
)
COURSE_NOT_DISCONTINUED = (
    "Only a discontinued course is corrected here; change an active course with its own forms."
)
CORRECTION_REASON_REQUIRED = "Say why the record is corrected (kept in the history)."

# Dose changes
DOSE_CHANGE_BEFORE_START = (
    "Dose change date {value} is not after the course start ({start}). "
    "A dose change takes effect after the course has started."
)
DOSE_CHANGE_AFTER_END = (
    "Dose change date {value} is after the course ended ({ended}). Check the date."
)
DOSE_CHANGE_BEFORE_LAST = (
    "Dose change date {value} is not after the last dose change ({last}). "
    "Dose changes are recorded in order; correct the later one first."
)
DOSE_UNCHANGED = "The course is already at {level}. Choose a different level."
NOT_LENALIDOMIDE_COURSE = "This course has no lenalidomide dose to change."

# Holds
HOLD_BEFORE_START = "Hold start {value} is before the course start ({start}). Check the date."
HOLD_AFTER_END = "Hold start {value} is after the course ended ({ended}). Check the date."
HOLD_END_NOT_AFTER_START = (
    "The hold ends on {end} but starts on {start}. The end is the first day dosing resumes, "
    "so it must be after the start."
)
HOLD_OVERLAPS = (
    "This hold ({start} to {end}) overlaps the hold from {other_start} to {other_end}. "
    "End or correct that hold first."
)
HOLD_ALREADY_ENDED = "This hold already ended on {end}."

# Discontinuation
DISCONTINUE_BEFORE_START = (
    "Discontinuation date {value} is before the course start ({start}). Check the date."
)
DISCONTINUE_BEFORE_LAST_EVENT = (
    "Discontinuation date {value} is before the last recorded change ({last}). Check the date."
)
DISCONTINUATION_REASON_REQUIRED = "Choose why the course is discontinued."

# Suggestions
SUGGESTION_NOT_PENDING = "This suggestion was already {status}; nothing was changed."
DISMISS_REASON_REQUIRED = "Say why the suggestion is dismissed (kept with the suggestion)."
SUGGESTION_NEEDS_ACTIVE_COURSE = (
    "This suggestion needs an active maintenance course to act on. Dismiss it with a reason."
)
SUGGESTION_NO_LEVEL = (
    "The rule gave no dose level to change to. Dismiss it, or change the dose by hand."
)
UNKNOWN_SUGGESTION_KIND = "Unknown suggestion kind {kind!r}."

# REMS
DAYS_SUPPLY_TOO_LONG = (
    "A {days}-day supply is more than the REMS maximum of {limit} days. "
    "Prescribe at most {limit} days (no automatic refills)."
)
DAYS_SUPPLY_TOO_SHORT = "Days' supply must be at least 1."
AUTHORIZATION_IN_FUTURE = (
    "Authorization date {value} is in the future. Enter the date the number was obtained."
)
AUTHORIZATION_WITHOUT_ENROLLMENT = (
    "Record the patient's REMS enrollment (with the risk category) before an authorization."
)
AUTHORIZATION_NUMBER_TAKEN = "Authorization number {number} is already recorded for this patient."
DISPENSED_BEFORE_OBTAINED = (
    "Dispensed date {value} is before the authorization was obtained ({obtained})."
)
DISPENSED_AFTER_EXPIRY = (
    "Dispensed date {value} is after the authorization expired ({expires}). "
    "Obtain a new authorization number."
)
DISPENSED_IN_FUTURE = "Dispensed date {value} is in the future."
SURVEY_IN_FUTURE = "Survey date {value} is in the future. Enter the date it was completed."
ENROLLMENT_DATE_IN_FUTURE = "{field} {value} is in the future. Check the date."
AGREEMENT_AFTER_ENROLLMENT = "The patient-physician agreement ({signed}) must be signed on or before enrollment ({enrolled})."
