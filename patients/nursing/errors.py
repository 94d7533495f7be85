"""The words a nurse reads when a note or a follow-up call is refused (tests assert them)."""

NOTE_TEXT_REQUIRED = "The note is empty. Write what was said or done."
NOTE_TOO_LONG = "The note is longer than {limit} characters. Shorten it."
NOTE_TIME_IN_FUTURE = "The time {value} is in the future. Enter when the call or visit took place."
FOLLOW_UP_BEFORE_CONTACT = (
    "Follow-up date {value} is before the call or visit ({contact}). Choose a later date."
)
CORRECTION_REASON_REQUIRED = "Say why you correct this note: the reason is kept in its history."
ERROR_REASON_REQUIRED = "Say why this note was entered in error."
NOTE_IN_ERROR = "This note is marked entered-in-error and can no longer be changed."
NOTE_NOT_AUTHOR = "Only the author of a note may correct it or mark it entered in error."
CALL_NOT_OPEN = "This follow-up call is already {status}."
OUTCOME_REQUIRED = "Write the outcome of the call."
