"""The one domain error type, and the exact words a user reads.

Services raise ``DomainError`` with one of these messages; views show it next to the field
it names. Tests assert the same constants, so the wording is pinned in one place.
"""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


MRN_TAKEN = "MRN {mrn} is already used by another patient in {clinic}. Check the number, or open the existing record."
BIRTH_DATE_IN_FUTURE = (
    "Date of birth {value} is in the future. Enter the date the patient was born."
)
BIRTH_DATE_TOO_OLD = "Date of birth {value} would make the patient older than 120. Check the year."
DIAGNOSIS_IN_FUTURE = (
    "Diagnosis date {value} is in the future. Enter the date myeloma was diagnosed."
)
DIAGNOSIS_BEFORE_BIRTH = (
    "Diagnosis date {value} is before the date of birth ({born}). Check both dates."
)
TRANSPLANT_BEFORE_DIAGNOSIS = (
    "Transplant date {value} is before the myeloma diagnosis ({diagnosed}). "
    "Check the transplant date, or correct the diagnosis date first."
)
TRANSPLANT_IN_FUTURE = (
    "Transplant date {value} is in the future. Record a transplant once it has happened."
)
WEIGHT_IN_FUTURE = "Weight date {value} is in the future. Enter the date the weight was measured."
WEIGHT_BEFORE_BIRTH = "Weight date {value} is before the date of birth. Check the date."
HEIGHT_IMPOSSIBLE = "Height {value} cm is outside 50-250 cm. Enter the height in centimetres."
WEIGHT_IMPOSSIBLE = (
    "Weight {value} kg is outside 25-350 kg. Enter the weight in kilograms (1 lb = 0.4536 kg)."
)
CLINIC_NOT_YOURS = "You are not a member of clinic {clinic}. Choose one of your clinics."
REASON_REQUIRED = (
    "Say why this record is entered in error (for example: wrong patient, duplicate entry)."
)
ALREADY_IN_ERROR = "This record was already marked entered-in-error on {when}."
DEATH_DATE_REQUIRED = "A deceased patient needs a date of death."
DEATH_DATE_WITHOUT_STATUS = "A date of death can only be recorded when the status is Deceased."
NOT_A_FEMALE_FACT = (
    "Menses, hysterectomy and oophorectomy apply only to patients whose sex at birth is female."
)
