"""CTCAE grades for low blood counts (clinical reference sec. 6).

Each grade is a band "< A to B": the value is below A and at or above B. A value is
graded against the most severe band first, so "grade N applies below X" is the only
number needed per band: ANC 1.0 is grade 2, ANC 0.99 is grade 3 (v5.0).

Grade 1 is "< LLN" for most counts: it needs the lab's lower limit of normal. Without
one, a value at or above the grade 2 limit is returned as "not graded (no LLN)" rather
than guessed as normal.

Values are graded in the test's canonical unit (see ``catalogue``) after exact
conversion, so hemoglobin entered in mmol/L is graded on its exact g/dL value, not on the
rounded mmol/L columns printed in CTCAE.

The CTCAE version is stored with every grade. v5.0 is the default; v6.0 (2025) changed
neutrophils (G3 < 0.5 to 0.1, G4 < 0.1) and platelets (renamed Thrombocytopenia, G4 < 10).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from patients.lab_catalogue import find_test
from patients.rulebook import Finding, SourceStatus, Threshold, in_force

RULE_ID = "ctcae.grade"
DEFAULT_VERSION = "5.0"
# The version a clinic grades with is a rule setting like any threshold (5.0 or 6.0).
VERSION_KEY = "ctcae.version"
GRADABLE_CODES = ("ANC", "PLT", "WBC", "LYMPH", "HGB")

_COUNT = "10^9/L"


def _below(
    version: str,
    code: str,
    grade: int,
    value: str,
    unit: str,
    source: str,
    status: str = SourceStatus.GUIDELINE,
) -> Threshold:
    """The limit under which ``grade`` applies, e.g. ctcae.v5.anc.grade3_below = 1.0."""
    return Threshold(
        key=_key(version, code, grade),
        value=Decimal(value),
        unit=unit,
        status=status,
        source=source,
    )


def _key(version: str, code: str, grade: int) -> str:
    major = version.split(".")[0]
    return f"ctcae.v{major}.{code.lower()}.grade{grade}_below"


_V6_CARRIED = "not listed as changed in clinical reference sec. 6; verify against CTCAE v6.0"

DEFAULTS: tuple[Threshold, ...] = (
    # CTCAE v5.0
    _below("5.0", "ANC", 2, "1.5", _COUNT, "CTCAE v5.0, Neutrophil count decreased"),
    _below("5.0", "ANC", 3, "1.0", _COUNT, "CTCAE v5.0, Neutrophil count decreased"),
    _below("5.0", "ANC", 4, "0.5", _COUNT, "CTCAE v5.0, Neutrophil count decreased"),
    _below("5.0", "PLT", 2, "75", _COUNT, "CTCAE v5.0, Platelet count decreased"),
    _below("5.0", "PLT", 3, "50", _COUNT, "CTCAE v5.0, Platelet count decreased"),
    _below("5.0", "PLT", 4, "25", _COUNT, "CTCAE v5.0, Platelet count decreased"),
    _below("5.0", "WBC", 2, "3.0", _COUNT, "CTCAE v5.0, White blood cell decreased"),
    _below("5.0", "WBC", 3, "2.0", _COUNT, "CTCAE v5.0, White blood cell decreased"),
    _below("5.0", "WBC", 4, "1.0", _COUNT, "CTCAE v5.0, White blood cell decreased"),
    _below("5.0", "LYMPH", 2, "0.8", _COUNT, "CTCAE v5.0, Lymphocyte count decreased"),
    _below("5.0", "LYMPH", 3, "0.5", _COUNT, "CTCAE v5.0, Lymphocyte count decreased"),
    _below("5.0", "LYMPH", 4, "0.2", _COUNT, "CTCAE v5.0, Lymphocyte count decreased"),
    _below("5.0", "HGB", 2, "10.0", "g/dL", "CTCAE v5.0, Anemia"),
    _below("5.0", "HGB", 3, "8.0", "g/dL", "CTCAE v5.0, Anemia"),
    # CTCAE v6.0. Neutrophil grade 1 is "< 1.5 to 1.0" (no LLN) and grade 2 "< 1.0 to 0.5":
    # implied by the reference's grade 3 band, taken from a secondary transcription of the
    # v6.0 table, so marked "common" until checked against the NCI workbook.
    _below(
        "6.0",
        "ANC",
        1,
        "1.5",
        _COUNT,
        "CTCAE v6.0, Neutrophil count decreased (secondary transcription; verify)",
        SourceStatus.COMMON,
    ),
    _below(
        "6.0",
        "ANC",
        2,
        "1.0",
        _COUNT,
        "CTCAE v6.0, Neutrophil count decreased (secondary transcription; verify)",
        SourceStatus.COMMON,
    ),
    _below("6.0", "ANC", 3, "0.5", _COUNT, "CTCAE v6.0, Neutrophil count decreased"),
    _below("6.0", "ANC", 4, "0.1", _COUNT, "CTCAE v6.0, Neutrophil count decreased"),
    _below("6.0", "PLT", 2, "75", _COUNT, "CTCAE v6.0, Thrombocytopenia"),
    _below("6.0", "PLT", 3, "50", _COUNT, "CTCAE v6.0, Thrombocytopenia"),
    _below("6.0", "PLT", 4, "10", _COUNT, "CTCAE v6.0, Thrombocytopenia"),
    _below(
        "6.0", "WBC", 2, "3.0", _COUNT, f"CTCAE v6.0, White blood cell decreased ({_V6_CARRIED})"
    ),
    _below(
        "6.0", "WBC", 3, "2.0", _COUNT, f"CTCAE v6.0, White blood cell decreased ({_V6_CARRIED})"
    ),
    _below(
        "6.0", "WBC", 4, "1.0", _COUNT, f"CTCAE v6.0, White blood cell decreased ({_V6_CARRIED})"
    ),
    _below(
        "6.0", "LYMPH", 2, "0.8", _COUNT, f"CTCAE v6.0, Lymphocyte count decreased ({_V6_CARRIED})"
    ),
    _below(
        "6.0", "LYMPH", 3, "0.5", _COUNT, f"CTCAE v6.0, Lymphocyte count decreased ({_V6_CARRIED})"
    ),
    _below(
        "6.0", "LYMPH", 4, "0.2", _COUNT, f"CTCAE v6.0, Lymphocyte count decreased ({_V6_CARRIED})"
    ),
    _below("6.0", "HGB", 2, "10.0", "g/dL", f"CTCAE v6.0, Anemia ({_V6_CARRIED})"),
    _below("6.0", "HGB", 3, "8.0", "g/dL", f"CTCAE v6.0, Anemia ({_V6_CARRIED})"),
    Threshold(
        key=VERSION_KEY,
        value=Decimal(DEFAULT_VERSION),
        unit="version",
        status=SourceStatus.GUIDELINE,
        source="CTCAE v5.0 by default (clinical reference sec. 6); a clinic may grade with v6.0",
    ),
)


@dataclass(frozen=True)
class Scale:
    """How one CTCAE version grades one count."""

    term: str
    # Grades decided by a numeric limit, most severe first.
    graded_by_value: tuple[int, ...]
    # Grade 1 is "< LLN to <grade 2 limit>" (needs the lab's lower limit of normal).
    grade1_below_lln: bool = True
    note: str = ""


_HGB_NOTE = "Grade 4 anemia is clinical (life-threatening consequences), not graded by value."

SCALES: dict[str, dict[str, Scale]] = {
    "5.0": {
        "ANC": Scale("Neutrophil count decreased", (4, 3, 2)),
        "PLT": Scale("Platelet count decreased", (4, 3, 2)),
        "WBC": Scale("White blood cell decreased", (4, 3, 2)),
        "LYMPH": Scale("Lymphocyte count decreased", (4, 3, 2)),
        "HGB": Scale("Anemia", (3, 2), note=_HGB_NOTE),
    },
    "6.0": {
        "ANC": Scale("Neutrophil count decreased", (4, 3, 2, 1), grade1_below_lln=False),
        "PLT": Scale("Thrombocytopenia", (4, 3, 2)),
        "WBC": Scale("White blood cell decreased", (4, 3, 2)),
        "LYMPH": Scale("Lymphocyte count decreased", (4, 3, 2)),
        "HGB": Scale("Anemia", (3, 2), note=_HGB_NOTE),
    },
}


@dataclass(frozen=True)
class Grade:
    grade: int | None  # 0 = normal; None = not graded (no LLN)
    label: str
    version: str
    finding: Finding


def grade(
    code: str,
    canonical_value: Decimal,
    *,
    lln: Decimal | None = None,
    version: str | None = None,
    thresholds: Mapping[str, Threshold] | None = None,
) -> Grade:
    """The CTCAE grade of a low count, in the test's canonical unit.

    Steps: take the version given, else the one in force in the thresholds
    (``ctcae.version``, 5.0 by default); find the version's scale for the test; walk its value limits from the most
    severe grade down and return the first whose limit the value is below; otherwise
    compare with the LLN for grade 1 (or report "not graded" when no LLN was given);
    otherwise grade 0.
    """
    test = find_test(code)
    table = in_force(DEFAULTS, thresholds)
    version = version or version_in_force(table)
    scale = _scale(version, test.code)
    limits = tuple(table[_key(version, test.code, g)] for g in scale.graded_by_value)
    unit = test.canonical_unit
    shown = f"{test.name} {canonical_value} {unit}"
    values: dict[str, object] = {
        "code": test.code,
        "value": canonical_value,
        "unit": unit,
        "lln": lln,
        "version": version,
        "term": scale.term,
    }

    def result(grade_: int | None, label: str, message: str) -> Grade:
        notes = " ".join(part for part in (message, scale.note if grade_ == 3 else "") if part)
        finding = Finding(
            rule_id=RULE_ID,
            outcome="not_graded" if grade_ is None else f"grade_{grade_}",
            message=f"{scale.term}, {label} (CTCAE v{version}): {notes}",
            values={**values, "grade": grade_},
            thresholds=limits,
            source=f"CTCAE v{version}, {scale.term}",
        )
        return Grade(grade=grade_, label=label, version=version, finding=finding)

    for grade_, limit in zip(scale.graded_by_value, limits, strict=True):
        if canonical_value < limit.value:
            return result(grade_, f"grade {grade_}", f"{shown} is below {limit.value} {unit}.")

    lowest_limit = limits[-1].value
    if not scale.grade1_below_lln:
        return result(0, "normal", f"{shown} is at or above {lowest_limit} {unit}.")
    if lln is None:
        return result(
            None,
            "not graded (no LLN)",
            f"{shown} is at or above {lowest_limit} {unit}; grade 1 needs the lab's lower "
            "limit of normal, which was not given.",
        )
    if canonical_value < lln:
        return result(1, "grade 1", f"{shown} is below the lower limit of normal {lln} {unit}.")
    return result(0, "normal", f"{shown} is at or above the lower limit of normal {lln} {unit}.")


def version_in_force(thresholds: Mapping[str, Threshold] | None) -> str:
    """The CTCAE version a clinic grades with: the ``ctcae.version`` setting ("5.0" when
    none is given). A stored 6.0000 reads as "6.0"; a version without a scale is refused."""
    setting = (thresholds or {}).get(VERSION_KEY)
    if setting is None:
        return DEFAULT_VERSION
    version = str(setting.value.quantize(Decimal("0.1")))
    if version not in SCALES:
        raise ValueError(f"Unknown CTCAE version {version!r}; use one of: {', '.join(SCALES)}.")
    return version


def _scale(version: str, code: str) -> Scale:
    if version not in SCALES:
        raise ValueError(f"Unknown CTCAE version {version!r}; use one of: {', '.join(SCALES)}.")
    if code not in SCALES[version]:
        raise ValueError(
            f"CTCAE grading of {code!r} is not supported; use one of: {', '.join(GRADABLE_CODES)}."
        )
    return SCALES[version][code]
