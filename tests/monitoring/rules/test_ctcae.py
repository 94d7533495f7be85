from decimal import Decimal

import pytest

from monitoring.rules import ctcae
from monitoring.rules.ctcae import grade
from patients.lab_catalogue import find_test, to_canonical
from patients.rulebook import Threshold, thresholds_by_key

D = Decimal

# Every CTCAE limit: (version, test, limit in the canonical unit, grade just below it).
# At and just above the limit the grade is one less; the grade 2 limit is followed by
# grade 1 because every limit sits below the test's default LLN.
BOUNDARIES = [
    ("5.0", "ANC", "1.5", 2),
    ("5.0", "ANC", "1.0", 3),
    ("5.0", "ANC", "0.5", 4),
    ("5.0", "PLT", "75", 2),
    ("5.0", "PLT", "50", 3),
    ("5.0", "PLT", "25", 4),
    ("5.0", "WBC", "3.0", 2),
    ("5.0", "WBC", "2.0", 3),
    ("5.0", "WBC", "1.0", 4),
    ("5.0", "LYMPH", "0.8", 2),
    ("5.0", "LYMPH", "0.5", 3),
    ("5.0", "LYMPH", "0.2", 4),
    ("5.0", "HGB", "10.0", 2),
    ("5.0", "HGB", "8.0", 3),
    ("6.0", "ANC", "1.5", 1),
    ("6.0", "ANC", "1.0", 2),
    ("6.0", "ANC", "0.5", 3),
    ("6.0", "ANC", "0.1", 4),
    ("6.0", "PLT", "75", 2),
    ("6.0", "PLT", "50", 3),
    ("6.0", "PLT", "10", 4),
    # v6.0 changed only neutrophils and platelets (clinical reference sec. 6): the white
    # cell, lymphocyte and hemoglobin limits are the v5.0 numbers, written out again here.
    ("6.0", "WBC", "3.0", 2),
    ("6.0", "WBC", "2.0", 3),
    ("6.0", "WBC", "1.0", 4),
    ("6.0", "LYMPH", "0.8", 2),
    ("6.0", "LYMPH", "0.5", 3),
    ("6.0", "LYMPH", "0.2", 4),
    ("6.0", "HGB", "10.0", 2),
    ("6.0", "HGB", "8.0", 3),
]

# How each boundary is typed in each accepted unit: (unit, units per canonical unit, the
# smallest step a lab reports in that unit). The multipliers are written out here rather
# than taken from the catalogue so the conversion is tested, not reused.
ENTRY_UNITS = {
    "ANC": [("10^9/L", "1", "0.01"), ("/uL", "1000", "1")],
    "WBC": [("10^9/L", "1", "0.01"), ("/uL", "1000", "1")],
    "LYMPH": [("10^9/L", "1", "0.01"), ("/uL", "1000", "1")],
    "PLT": [("10^9/L", "1", "1"), ("/uL", "1000", "1")],
    "HGB": [("g/dL", "1", "0.1"), ("g/L", "10", "1"), ("mmol/L", "0.6206", "0.0001")],
}


def _grade_above(version: str, code: str, below_grade: int) -> int:
    # v6.0 neutrophils have no LLN band: at or above 1.5 is normal.
    if version == "6.0" and code == "ANC" and below_grade == 1:
        return 0
    return below_grade - 1


def _rows():
    for version, code, limit, below_grade in BOUNDARIES:
        for unit, per_canonical, step in ENTRY_UNITS[code]:
            at = D(limit) * D(per_canonical)
            above_grade = _grade_above(version, code, below_grade)
            for label, entered, expected in (
                ("just below", at - D(step), below_grade),
                ("at", at, above_grade),
                ("just above", at + D(step), above_grade),
            ):
                case_id = (
                    f"v{version} {code} {entered} {unit} ({label} {limit}) -> grade {expected}"
                )
                yield pytest.param(version, code, entered, unit, expected, id=case_id)


@pytest.mark.parametrize(("version", "code", "entered", "unit", "expected"), list(_rows()))
def test_every_ctcae_boundary_in_every_unit(version, code, entered, unit, expected):
    lln = find_test(code).ref_low
    result = grade(code, to_canonical(code, entered, unit), lln=lln, version=version)
    assert result.grade == expected


def test_anc_of_exactly_1_0_is_grade_2_and_0_99_is_grade_3():
    assert grade("ANC", D("1.0"), lln=D("2.0")).grade == 2
    assert grade("ANC", D("0.99"), lln=D("2.0")).grade == 3


@pytest.mark.parametrize(
    ("code", "lln", "just_below"),
    [
        ("ANC", "2.0", "1.99"),
        ("PLT", "150", "149"),
        ("WBC", "4.0", "3.99"),
        ("LYMPH", "1.0", "0.99"),
        ("HGB", "12.0", "11.9"),
    ],
)
def test_value_at_the_lln_is_normal_and_just_below_it_is_grade_1(code, lln, just_below):
    at_lln = grade(code, D(lln), lln=D(lln))
    below = grade(code, D(just_below), lln=D(lln))
    assert (at_lln.grade, at_lln.label) == (0, "normal")
    assert (below.grade, below.label) == (1, "grade 1")


def test_value_at_the_grade_2_limit_without_an_lln_is_not_graded():
    result = grade("ANC", D("1.5"), lln=None)
    assert result.grade is None
    assert result.label == "not graded (no LLN)"
    assert result.finding.outcome == "not_graded"
    assert "lower limit of normal" in result.finding.message


def test_value_below_the_grade_2_limit_is_graded_without_an_lln():
    assert grade("ANC", D("1.49"), lln=None).grade == 2
    assert grade("HGB", D("7.9"), lln=None).grade == 3


def test_hemoglobin_has_no_grade_4_by_value():
    result = grade("HGB", D("4.0"), lln=D("12.0"))
    assert result.grade == 3
    assert "not graded by value" in result.finding.message


def test_hemoglobin_in_mmol_per_l_is_graded_on_its_exact_g_dl_value():
    # CTCAE prints "< 4.9 mmol/L" for grade 3, but 4.9 mmol/L is 7.896 g/dL (< 8.0).
    assert grade("HGB", to_canonical("HGB", D("4.9"), "mmol/L"), lln=None).grade == 3


def test_ctcae_v6_grades_neutrophils_without_an_lln():
    assert grade("ANC", D("1.2"), lln=None, version="6.0").grade == 1
    assert grade("ANC", D("1.5"), lln=None, version="6.0").grade == 0
    assert grade("ANC", D("0.3"), lln=None, version="6.0").grade == 3
    assert grade("ANC", D("0.3"), lln=None, version="5.0").grade == 4


def test_ctcae_v6_calls_low_platelets_thrombocytopenia_with_grade_4_below_10():
    result = grade("PLT", D("20"), lln=D("150"), version="6.0")
    assert result.grade == 3
    assert result.finding.values["term"] == "Thrombocytopenia"
    assert result.finding.source == "CTCAE v6.0, Thrombocytopenia"


def test_grade_keeps_the_version_value_lln_and_source():
    result = grade("ANC", D("0.8"), lln=D("2.0"))
    assert result.version == "5.0"
    assert result.finding.rule_id == "ctcae.grade"
    assert result.finding.outcome == "grade_3"
    assert result.finding.values == {
        "code": "ANC",
        "value": D("0.8"),
        "unit": "10^9/L",
        "lln": D("2.0"),
        "version": "5.0",
        "term": "Neutrophil count decreased",
        "grade": 3,
    }
    assert result.finding.source == "CTCAE v5.0, Neutrophil count decreased"
    assert "ctcae.v5.anc.grade3_below = 1 10^9/L" in result.finding.basis  # no trailing zero


def test_grading_follows_an_edited_threshold():
    table = thresholds_by_key(ctcae.DEFAULTS)
    old = table["ctcae.v5.anc.grade3_below"]
    table[old.key] = Threshold(old.key, D("0.9"), old.unit, old.status, old.source, version=2)
    assert grade("ANC", D("0.95"), lln=D("2.0"), thresholds=table).grade == 2
    assert grade("ANC", D("0.95"), lln=D("2.0")).grade == 3


def test_unknown_version_is_refused():
    with pytest.raises(ValueError, match="Unknown CTCAE version"):
        grade("ANC", D("1.0"), lln=None, version="4.03")


def test_a_test_without_a_ctcae_scale_is_refused():
    with pytest.raises(ValueError, match="not supported"):
        grade("CREAT", D("1.0"), lln=None)


def test_every_threshold_is_namespaced_by_version_and_uses_the_canonical_unit():
    for threshold in ctcae.DEFAULTS:
        if threshold.key == "ctcae.version":
            continue
        version, code = threshold.key.split(".")[1:3]
        assert version in ("v5", "v6")
        assert threshold.unit == find_test(code).canonical_unit
        assert threshold.source.startswith("CTCAE v")


# --- The CTCAE version as a rule setting (issue 13) ---------------------------------------


def _with_version(value: str) -> dict[str, Threshold]:
    table = thresholds_by_key(ctcae.DEFAULTS)
    old = table["ctcae.version"]
    table[old.key] = Threshold(old.key, D(value), old.unit, old.status, "clinic", version=2)
    return table


def test_version_5_0_is_the_default_setting():
    # Clinical reference sec. 6: "store the CTCAE version with every grade; v5.0 default".
    assert thresholds_by_key(ctcae.DEFAULTS)["ctcae.version"].value == D("5.0")
    assert grade("ANC", D("0.3"), lln=None).version == "5.0"


@pytest.mark.parametrize(
    ("code", "value", "v5", "v6"),
    [
        # v6.0 neutrophils: G3 < 0.5 to 0.1, G4 < 0.1; v5.0: G4 < 0.5 (sec. 6).
        ("ANC", "0.11", 4, 3),
        ("ANC", "0.1", 4, 3),
        ("ANC", "0.09", 4, 4),
        ("ANC", "0.5", 3, 2),
        ("ANC", "0.49", 4, 3),
        # v6.0 platelets: G4 < 10; v5.0: G4 < 25.
        ("PLT", "11", 4, 3),
        ("PLT", "10", 4, 3),
        ("PLT", "9", 4, 4),
        ("PLT", "25", 3, 3),
        ("PLT", "24", 4, 3),
    ],
)
def test_grading_follows_the_version_setting_at_each_v6_boundary(code, value, v5, v6):
    lln = find_test(code).ref_low
    assert grade(code, D(value), lln=lln, thresholds=_with_version("5.0")).grade == v5
    graded = grade(code, D(value), lln=lln, thresholds=_with_version("6.0000"))
    assert (graded.grade, graded.version) == (v6, "6.0")


def test_a_version_setting_without_a_scale_is_refused():
    with pytest.raises(ValueError, match="Unknown CTCAE version"):
        grade("ANC", D("1.0"), lln=None, thresholds=_with_version("4.0"))


@pytest.mark.parametrize(
    ("code", "value", "lln", "version", "label", "message"),
    [
        (
            "ANC", "0.8", "2.0", None, "grade 3",
            "Neutrophil count decreased, grade 3 (CTCAE v5.0): Neutrophils (ANC) 0.8 10^9/L is "
            "below 1.0 10^9/L.",
        ),
        (
            "HGB", "7.9", "12.0", None, "grade 3",
            "Anemia, grade 3 (CTCAE v5.0): Hemoglobin 7.9 g/dL is below 8.0 g/dL. Grade 4 anemia "
            "is clinical (life-threatening consequences), not graded by value.",
        ),
        (
            "ANC", "1.5", None, "6.0", "normal",
            "Neutrophil count decreased, normal (CTCAE v6.0): Neutrophils (ANC) 1.5 10^9/L is at "
            "or above 1.5 10^9/L.",
        ),
        (
            "ANC", "1.5", None, None, "not graded (no LLN)",
            "Neutrophil count decreased, not graded (no LLN) (CTCAE v5.0): Neutrophils (ANC) 1.5 "
            "10^9/L is at or above 1.5 10^9/L; grade 1 needs the lab's lower limit of normal, "
            "which was not given.",
        ),
        (
            "ANC", "1.9", "2.0", None, "grade 1",
            "Neutrophil count decreased, grade 1 (CTCAE v5.0): Neutrophils (ANC) 1.9 10^9/L is "
            "below the lower limit of normal 2.0 10^9/L.",
        ),
        (
            "ANC", "2.0", "2.0", None, "normal",
            "Neutrophil count decreased, normal (CTCAE v5.0): Neutrophils (ANC) 2.0 10^9/L is at "
            "or above the lower limit of normal 2.0 10^9/L.",
        ),
    ],
)  # fmt: skip
def test_grade_words_in_full(code, value, lln, version, label, message):
    result = grade(code, D(value), lln=None if lln is None else D(lln), version=version)
    assert (result.label, result.finding.message) == (label, message)


def test_unknown_version_and_test_are_refused_in_words():
    with pytest.raises(ValueError, match=r"^Unknown CTCAE version '4.03'; use one of: 5.0, 6.0\.$"):
        grade("ANC", D("1.0"), lln=None, version="4.03")
    with pytest.raises(ValueError, match=r"^Unknown CTCAE version '4.0'; use one of: 5.0, 6.0\.$"):
        ctcae.version_in_force(_with_version("4.0"))
    with pytest.raises(
        ValueError,
        match=r"^CTCAE grading of 'CREAT' is not supported; use one of: ANC, PLT, WBC, LYMPH, HGB\.$",
    ):
        grade("CREAT", D("1.0"), lln=None)


def test_the_anemia_grade_4_note_is_only_added_at_grade_3():
    result = grade("HGB", D("9.0"), lln=D("12.0"))
    assert result.finding.message == (
        "Anemia, grade 2 (CTCAE v5.0): Hemoglobin 9.0 g/dL is below 10.0 g/dL."
    )
