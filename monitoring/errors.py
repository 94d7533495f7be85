"""The exact words a nurse reads when a lab entry is refused (one place, pinned by tests).

Services raise ``patients.errors.DomainError`` (the project's one domain error type) or its
subclass ``LabEntryRejected``, which carries one problem per result so a page or the API
can show each message next to the value it is about.
"""

from __future__ import annotations

from dataclasses import dataclass

from patients import parsing
from patients.errors import DomainError

COLLECTED_IN_FUTURE = "Collection time {value} is in the future. Enter when the sample was drawn."
COLLECTED_BEFORE_BIRTH = "Collection time {value} is before the patient's date of birth."
SUPERSEDED_RESULT = (
    "This preliminary result was superseded by the laboratory's final result; correct or "
    "withdraw the final one instead."
)
NOT_PRELIMINARY = "{result} is not a current preliminary result; only a preliminary result is superseded by the final one."
UNKNOWN_TEST = "{test} is not a test in the lab catalogue. Use a catalogue code (such as ANC) or its LOINC code."
NOT_IN_PANEL = "{test} is not part of the {panel} panel."
COMPUTED_TEST = "{test} is computed from kappa and lambda; enter those instead."
# Numbers are read by the one strict parser (patients.parsing); its words, re-exported.
DECIMAL_COMMA = parsing.DECIMAL_COMMA
NOT_A_NUMBER = parsing.NOT_A_NUMBER
NOT_ASCII_DIGITS = parsing.NOT_ASCII_DIGITS
EXPONENT = parsing.EXPONENT
TOO_MANY_DIGITS = parsing.TOO_MANY_DIGITS
LOW_VALUE_REASON_REQUIRED = (
    "{test}: the value is below the lower plausibility limit. Give the reason it is right "
    "(for example: confirmed with the laboratory) to save it."
)
TOO_MANY_RESULTS = (
    "One entry holds at most {limit} results (one per catalogue test); this one has {count}. "
    "Send each collection separately."
)
NOT_A_CHOICE = "{test}: choose one of {choices}."
TWICE_IN_ONE_ENTRY = "{test} appears twice in this entry; enter it once."
DUPLICATE = (
    "{test} collected at {when} is already recorded ({existing}). "
    "Open the existing result to correct it instead of entering it again."
)
DUPLICATE_IN_BATCH = (
    "{test} collected at {when} is also in collection {other} of this batch; send each result once."
)
CONCURRENT_ENTRY = (
    "These results were recorded by someone else at the same moment; nothing of this "
    "collection was saved. Open the patient's labs to check them."
)
SUSPICIOUS = "{warning} Tick the confirmation box if the value and unit are right."
NOTHING_ENTERED = "Enter at least one result."
UNIT_REQUIRED = "{test}: choose the unit the lab reported."
MRD_SENSITIVITY = "MRD sensitivity must be 10^-4, 10^-5 or 10^-6."
NOTE_TOO_LONG = "Keep the note under 1000 characters."
FLAG_NOT_OPEN = "This flag is already {status}; there is nothing to acknowledge."
NO_ACTIVE_COURSE = "No active maintenance course."


@dataclass(frozen=True)
class EntryProblem:
    test_code: str
    message: str
    kind: str  # "invalid", "impossible", "implausibly_low", "duplicate", "suspicious"
    existing_result_id: int | None = None
    index: int | None = None  # position of the entry it is about, when known


class LabEntryRejected(DomainError):
    """Nothing was saved; ``problems`` says why, one per result."""

    def __init__(self, problems: list[EntryProblem]) -> None:
        super().__init__(" ".join(p.message for p in problems))
        self.problems = problems

    def by_test(self) -> dict[str, list[EntryProblem]]:
        grouped: dict[str, list[EntryProblem]] = {}
        for problem in self.problems:
            grouped.setdefault(problem.test_code, []).append(problem)
        return grouped
