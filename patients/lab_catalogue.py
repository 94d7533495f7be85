"""The lab catalogue: which tests the clinic records, their units and their limits.

Pure data plus exact unit conversion (clinical reference sec. 8). Every value is stored in
its test's *canonical unit*; other units are converted on entry with exact ``Decimal``
arithmetic. A conversion factor is kept as a fraction (numerator / denominator) so that
dividing factors such as "creatinine umol/L / 88.4" are applied exactly as written and a
round trip gives the entered value back at the displayed precision.

Three kinds of limits live on each test:

* plausible_low / plausible_high: physically impossible outside, so an entry is rejected
  (almost always a typing or unit mistake). Chosen wide on purpose; see ``_PLAUSIBILITY``.
* low_plausibility_limit: the lower plausibility limit. A value above zero but below it is
  below what any analyser reports, almost always a unit mix-up (ANC 0.4 typed with the unit
  /uL is 0.0004 x10^9/L); it is saved only with an explicit confirmation and a reason.
* ref_low / ref_high: a typical adult reference range, used for out-of-range marks and as
  the CTCAE grade 1 lower limit of normal when the lab sends none. These are configurable
  defaults; the reporting lab's own range wins when it is recorded with the result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from types import MappingProxyType
from typing import Literal

from patients.formatting import clinical_number
from patients.rulebook import SourceStatus, Threshold, in_force

ValueKind = Literal["numeric", "qualitative", "choice"]

NEGATIVE = "negative"
POSITIVE = "positive"
NOT_DONE = "not_done"

# Enough significant digits that a value converted there and back comes out unchanged at
# any precision a lab reports.
_EXACT = Context(prec=34)


class UnitError(ValueError):
    """A unit the test does not accept, or a conversion asked of a non-numeric test."""


class UnknownTestError(LookupError):
    """No catalogue test has this code or LOINC code."""


@dataclass(frozen=True)
class Factor:
    """canonical value = entered value x numerator / denominator."""

    numerator: Decimal = Decimal(1)
    denominator: Decimal = Decimal(1)


SAME = Factor()


@dataclass(frozen=True)
class LabTestDef:
    code: str
    name: str
    loinc_codes: tuple[str, ...]
    canonical_unit: str
    accepted_units: Mapping[str, Factor]
    value_kind: ValueKind
    panel: str
    choices: tuple[str, ...] = ()
    plausible_low: Decimal | None = None
    plausible_high: Decimal | None = None
    # Lower plausibility limit: a value above zero but below it is refused as a likely unit
    # mix-up unless the person confirms it and gives a reason (see ``check_implausibly_low``).
    low_plausibility_limit: Decimal | None = None
    ref_low: Decimal | None = None
    ref_high: Decimal | None = None
    decimal_places: int = 0

    @property
    def is_numeric(self) -> bool:
        return self.value_kind == "numeric"


@dataclass(frozen=True)
class Panel:
    code: str
    name: str
    test_codes: tuple[str, ...]


def _d(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


# Cell counts: 10^9/L and 10^3/uL are the same number; a count per microlitre is 1000x.
_COUNT_UNITS: Mapping[str, Factor] = MappingProxyType(
    {"10^9/L": SAME, "10^3/uL": SAME, "/uL": Factor(Decimal(1), Decimal(1000))}
)

# Plausibility limits (canonical units): values outside cannot come from a living patient,
# or (upper limits of markers) have never been reported; they catch unit and typing slips.
#   WBC / lymphocytes 0-500 x10^9/L: leukaemic hyperleukocytosis stays below ~500.
#   ANC 0-100 x10^9/L; platelets 0-3000 x10^9/L (extreme thrombocytosis ~2000-3000).
#   Hemoglobin 1-25 g/dL; creatinine 0.05-30 mg/dL; calcium 2-25 mg/dL; albumin 0.5-8 g/dL.
#   LDH 1-100000 U/L; beta-2 microglobulin 0-500 mg/L.
#   Serum M-protein 0-15 g/dL (above total serum protein); urine M-protein 0-50000 mg/24h.
#   Free light chains 0-100000 mg/L (cast nephropathy reaches tens of thousands).
#   hCG 0-5000000 mIU/mL (molar pregnancy stays below a few million).
#   MRD level 0-1 (a fraction of cells); marrow plasma cells 0-100 %.
# Lower plausibility limits (canonical units; a value above zero but below is refused unless
# confirmed with a reason). Clinical reference sec. 10, "Implausibly low counts": below the
# analyser's reporting resolution, WBC, ANC, lymphocytes 0.01 x10^9/L, platelets 1 x10^9/L,
# hemoglobin 3 g/dL. The others are local policy, each below the reporting resolution of
# common assays: creatinine 0.2 mg/dL, calcium 4 mg/dL, albumin 1 g/dL, LDH 20 U/L,
# beta-2 microglobulin 0.1 mg/L, serum M-protein 0.05 g/dL, urine M-protein 1 mg/24h, free
# light chains 0.1 mg/L, kappa/lambda ratio 0.001, hCG 0.5 mIU/mL, MRD level 10^-7,
# marrow plasma cells 0.1 %. Zero is never refused: a count of zero reads the same in
# every unit, so it cannot be a unit mix-up.
# Reference ranges: typical adult ranges, configurable defaults (see module docstring).
TESTS: tuple[LabTestDef, ...] = (
    # Complete blood count
    LabTestDef(
        code="WBC",
        name="White blood cells",
        loinc_codes=("6690-2",),
        canonical_unit="10^9/L",
        accepted_units=_COUNT_UNITS,
        value_kind="numeric",
        panel="cbc",
        plausible_low=_d("0"),
        low_plausibility_limit=_d("0.01"),
        plausible_high=_d("500"),
        ref_low=_d("4.0"),
        ref_high=_d("11.0"),
        decimal_places=1,
    ),
    LabTestDef(
        code="ANC",
        name="Neutrophils (ANC)",
        loinc_codes=("751-8", "26499-4", "753-4"),
        canonical_unit="10^9/L",
        accepted_units=_COUNT_UNITS,
        value_kind="numeric",
        panel="cbc",
        plausible_low=_d("0"),
        low_plausibility_limit=_d("0.01"),
        plausible_high=_d("100"),
        ref_low=_d("2.0"),
        ref_high=_d("7.5"),
        decimal_places=2,
    ),
    LabTestDef(
        code="LYMPH",
        name="Lymphocytes",
        loinc_codes=("731-0",),
        canonical_unit="10^9/L",
        accepted_units=_COUNT_UNITS,
        value_kind="numeric",
        panel="cbc",
        plausible_low=_d("0"),
        low_plausibility_limit=_d("0.01"),
        plausible_high=_d("500"),
        ref_low=_d("1.0"),
        ref_high=_d("4.0"),
        decimal_places=2,
    ),
    LabTestDef(
        code="HGB",
        name="Hemoglobin",
        loinc_codes=("718-7",),
        canonical_unit="g/dL",
        accepted_units={
            "g/dL": SAME,
            "g/L": Factor(Decimal(1), Decimal(10)),
            "mmol/L": Factor(Decimal(1), Decimal("0.6206")),
        },
        value_kind="numeric",
        panel="cbc",
        plausible_low=_d("1"),
        low_plausibility_limit=_d("3"),
        plausible_high=_d("25"),
        # Sex-specific in reality (women ~12.0-15.5, men ~13.5-17.5): the lab's range wins.
        ref_low=_d("12.0"),
        ref_high=_d("17.5"),
        decimal_places=1,
    ),
    LabTestDef(
        code="PLT",
        name="Platelets",
        loinc_codes=("777-3", "26515-7"),
        canonical_unit="10^9/L",
        accepted_units=_COUNT_UNITS,
        value_kind="numeric",
        panel="cbc",
        plausible_low=_d("0"),
        low_plausibility_limit=_d("1"),
        plausible_high=_d("3000"),
        ref_low=_d("150"),
        ref_high=_d("400"),
        decimal_places=0,
    ),
    # Chemistry
    LabTestDef(
        code="CREAT",
        name="Creatinine",
        loinc_codes=("2160-0", "14682-9"),
        canonical_unit="mg/dL",
        accepted_units={"mg/dL": SAME, "umol/L": Factor(Decimal(1), Decimal("88.4"))},
        value_kind="numeric",
        panel="chemistry",
        plausible_low=_d("0.05"),
        low_plausibility_limit=_d("0.2"),
        plausible_high=_d("30"),
        ref_low=_d("0.6"),
        ref_high=_d("1.2"),
        decimal_places=2,
    ),
    LabTestDef(
        code="CALCIUM",
        name="Calcium",
        loinc_codes=("17861-6",),
        canonical_unit="mg/dL",
        accepted_units={"mg/dL": SAME, "mmol/L": Factor(Decimal(1), Decimal("0.2495"))},
        value_kind="numeric",
        panel="chemistry",
        plausible_low=_d("2"),
        low_plausibility_limit=_d("4"),
        plausible_high=_d("25"),
        ref_low=_d("8.5"),
        ref_high=_d("10.5"),
        decimal_places=1,
    ),
    LabTestDef(
        code="ALBUMIN",
        name="Albumin",
        loinc_codes=("1751-7",),
        canonical_unit="g/dL",
        accepted_units={"g/dL": SAME, "g/L": Factor(Decimal(1), Decimal(10))},
        value_kind="numeric",
        panel="chemistry",
        plausible_low=_d("0.5"),
        low_plausibility_limit=_d("1"),
        plausible_high=_d("8"),
        ref_low=_d("3.5"),
        ref_high=_d("5.0"),
        decimal_places=1,
    ),
    LabTestDef(
        code="LDH",
        name="Lactate dehydrogenase",
        loinc_codes=("2532-0",),
        canonical_unit="U/L",
        accepted_units={"U/L": SAME},
        value_kind="numeric",
        panel="chemistry",
        plausible_low=_d("1"),
        low_plausibility_limit=_d("20"),
        plausible_high=_d("100000"),
        ref_low=_d("140"),
        ref_high=_d("280"),
        decimal_places=0,
    ),
    LabTestDef(
        code="B2M",
        name="Beta-2 microglobulin",
        loinc_codes=("1952-1",),
        canonical_unit="mg/L",
        accepted_units={"mg/L": SAME},
        value_kind="numeric",
        panel="chemistry",
        plausible_low=_d("0"),
        low_plausibility_limit=_d("0.1"),
        plausible_high=_d("500"),
        ref_low=_d("0.8"),
        ref_high=_d("2.2"),
        decimal_places=1,
    ),
    # Myeloma markers. No reference range on M-protein: any M-spike is abnormal and is
    # judged by the IMWG rules, not by an out-of-range mark.
    LabTestDef(
        code="SPEP_M",
        name="Serum M-protein (SPEP)",
        loinc_codes=("33358-3", "51435-6"),
        canonical_unit="g/dL",
        accepted_units={"g/dL": SAME, "g/L": Factor(Decimal(1), Decimal(10))},
        value_kind="numeric",
        panel="myeloma",
        plausible_low=_d("0"),
        low_plausibility_limit=_d("0.05"),
        plausible_high=_d("15"),
        decimal_places=2,
    ),
    LabTestDef(
        code="UPEP_M24",
        name="Urine M-protein (24 h)",
        loinc_codes=("42482-0",),
        canonical_unit="mg/24h",
        accepted_units={"mg/24h": SAME},
        value_kind="numeric",
        panel="myeloma",
        plausible_low=_d("0"),
        low_plausibility_limit=_d("1"),
        plausible_high=_d("50000"),
        decimal_places=0,
    ),
    # Labs report free light chains in mg/L and in mg/dL: the unit is always entered,
    # never assumed.
    LabTestDef(
        code="FLC_KAPPA",
        name="Free kappa light chain",
        loinc_codes=("36916-5",),
        canonical_unit="mg/L",
        accepted_units={"mg/L": SAME, "mg/dL": Factor(Decimal(10), Decimal(1))},
        value_kind="numeric",
        panel="myeloma",
        plausible_low=_d("0"),
        low_plausibility_limit=_d("0.1"),
        plausible_high=_d("100000"),
        ref_low=_d("3.3"),
        ref_high=_d("19.4"),
        decimal_places=1,
    ),
    LabTestDef(
        code="FLC_LAMBDA",
        name="Free lambda light chain",
        loinc_codes=("33944-0",),
        canonical_unit="mg/L",
        accepted_units={"mg/L": SAME, "mg/dL": Factor(Decimal(10), Decimal(1))},
        value_kind="numeric",
        panel="myeloma",
        plausible_low=_d("0"),
        low_plausibility_limit=_d("0.1"),
        plausible_high=_d("100000"),
        ref_low=_d("5.7"),
        ref_high=_d("26.3"),
        decimal_places=1,
    ),
    # Computed from kappa and lambda by ``flc_ratio``; never typed in.
    LabTestDef(
        code="FLC_RATIO",
        name="Kappa/lambda ratio",
        loinc_codes=("48378-4",),
        canonical_unit="ratio",
        accepted_units={"ratio": SAME},
        value_kind="numeric",
        panel="myeloma",
        plausible_low=_d("0"),
        low_plausibility_limit=_d("0.001"),
        ref_low=_d("0.26"),
        ref_high=_d("1.65"),
        decimal_places=2,
    ),
    # The reference table gives no LOINC for immunofixation; the lab interface maps these
    # by its local code.
    LabTestDef(
        code="SIFE",
        name="Serum immunofixation",
        loinc_codes=(),
        canonical_unit="",
        accepted_units={},
        value_kind="choice",
        panel="myeloma",
        choices=(NEGATIVE, POSITIVE, NOT_DONE),
    ),
    LabTestDef(
        code="UIFE",
        name="Urine immunofixation",
        loinc_codes=(),
        canonical_unit="",
        accepted_units={},
        value_kind="choice",
        panel="myeloma",
        choices=(NEGATIVE, POSITIVE, NOT_DONE),
    ),
    # Pregnancy
    LabTestDef(
        code="HCG_SERUM_QUAL",
        name="hCG, serum (qualitative)",
        loinc_codes=("2118-8",),
        canonical_unit="",
        accepted_units={},
        value_kind="qualitative",
        panel="pregnancy",
        choices=(NEGATIVE, POSITIVE),
    ),
    LabTestDef(
        code="HCG_SERUM_QUANT",
        name="hCG, serum (quantitative)",
        loinc_codes=("21198-7",),
        canonical_unit="mIU/mL",
        accepted_units={"mIU/mL": SAME, "IU/L": SAME},
        value_kind="numeric",
        panel="pregnancy",
        plausible_low=_d("0"),
        low_plausibility_limit=_d("0.5"),
        plausible_high=_d("5000000"),
        ref_high=_d("5"),
        decimal_places=0,
    ),
    LabTestDef(
        code="HCG_URINE_QUAL",
        name="hCG, urine (qualitative)",
        loinc_codes=("2106-3",),
        canonical_unit="",
        accepted_units={},
        value_kind="qualitative",
        panel="pregnancy",
        choices=(NEGATIVE, POSITIVE),
    ),
    # Minimal residual disease. Method (NGF/NGS) and sensitivity (10^-5, 10^-6) are
    # recorded with the result elsewhere; the catalogue holds only the value.
    LabTestDef(
        code="MRD",
        name="Minimal residual disease",
        loinc_codes=(),
        canonical_unit="",
        accepted_units={},
        value_kind="choice",
        panel="mrd",
        choices=(NEGATIVE, POSITIVE),
    ),
    LabTestDef(
        code="MRD_LEVEL",
        name="MRD level (fraction of cells)",
        loinc_codes=(),
        canonical_unit="fraction",
        accepted_units={"fraction": SAME, "%": Factor(Decimal(1), Decimal(100))},
        value_kind="numeric",
        panel="mrd",
        plausible_low=_d("0"),
        low_plausibility_limit=_d("0.0000001"),
        plausible_high=_d("1"),
        decimal_places=7,
    ),
    LabTestDef(
        code="MARROW_PC",
        name="Marrow plasma cells",
        loinc_codes=("11118-7",),
        canonical_unit="%",
        accepted_units={"%": SAME},
        value_kind="numeric",
        panel="mrd",
        plausible_low=_d("0"),
        low_plausibility_limit=_d("0.1"),
        plausible_high=_d("100"),
        ref_high=_d("5"),
        decimal_places=0,
    ),
)

_PANEL_NAMES: dict[str, str] = {
    "cbc": "Complete blood count",
    "chemistry": "Chemistry",
    "myeloma": "Myeloma markers",
    "pregnancy": "Pregnancy tests",
    "mrd": "MRD and marrow",
}

PANELS: dict[str, Panel] = {
    code: Panel(
        code=code,
        name=name,
        test_codes=tuple(test.code for test in TESTS if test.panel == code),
    )
    for code, name in _PANEL_NAMES.items()
}

DEFAULTS: tuple[Threshold, ...] = (
    Threshold(
        key="catalogue.unit_mixup.fold_change",
        value=Decimal("100"),
        unit="fold",
        status=SourceStatus.COMMON,
        source=(
            "Data-quality check: a >= 100-fold change between consecutive results of one "
            "test suggests a unit mix-up (e.g. /uL entered as 10^9/L is 1000-fold)"
        ),
    ),
)

_BY_CODE: dict[str, LabTestDef] = {test.code: test for test in TESTS}
_BY_LOINC: dict[str, LabTestDef] = {loinc: test for test in TESTS for loinc in test.loinc_codes}


def find_test(code_or_loinc: str) -> LabTestDef:
    """The test for a catalogue code ("ANC", case-insensitive) or any of its LOINC codes."""
    key = code_or_loinc.strip()
    test = _BY_CODE.get(key.upper()) or _BY_LOINC.get(key)
    if test is None:
        raise UnknownTestError(f"No lab test with code or LOINC {code_or_loinc!r}.")
    return test


def _factor(test: LabTestDef, unit: str) -> Factor:
    if not test.is_numeric:
        raise UnitError(f"{test.name} is not a numeric test and has no units.")
    wanted = unit.strip().replace("µ", "u").replace("μ", "u").casefold()
    for accepted, factor in test.accepted_units.items():
        if accepted.casefold() == wanted:
            return factor
    accepted_list = ", ".join(test.accepted_units)
    raise UnitError(f"{test.name} does not accept the unit {unit!r}; use one of: {accepted_list}.")


def _as_decimal(value: Decimal | int) -> Decimal:
    # A float has already lost the digits the lab reported; refuse it rather than guess.
    if isinstance(value, float):
        raise TypeError("Pass lab values as Decimal (or str converted to Decimal), not float.")
    return Decimal(value)


def to_canonical(code: str, value: Decimal | int, unit: str) -> Decimal:
    """The value expressed in the test's canonical unit (exact up to 34 digits)."""
    factor = _factor(find_test(code), unit)
    with localcontext(_EXACT):
        return _as_decimal(value) * factor.numerator / factor.denominator


def from_canonical(code: str, value: Decimal | int, unit: str) -> Decimal:
    """A canonical value expressed in another accepted unit (the inverse of to_canonical)."""
    factor = _factor(find_test(code), unit)
    with localcontext(_EXACT):
        return _as_decimal(value) * factor.denominator / factor.numerator


def flc_ratio(kappa_mg_l: Decimal | None, lambda_mg_l: Decimal | None) -> Decimal | None:
    """Kappa/lambda ratio, or None when either chain is missing or lambda is zero."""
    if kappa_mg_l is None or lambda_mg_l is None or lambda_mg_l <= 0:
        return None
    with localcontext(_EXACT):
        return kappa_mg_l / lambda_mg_l


def check_plausible(code: str, canonical_value: Decimal) -> str | None:
    """None when the value is possible; otherwise a message naming the limit it breaks."""
    test = find_test(code)
    unit = test.canonical_unit
    if test.plausible_low is not None and canonical_value < test.plausible_low:
        return (
            f"{test.name} {canonical_value} {unit} is below the plausible minimum of "
            f"{test.plausible_low} {unit}: check the value and its unit."
        )
    if test.plausible_high is not None and canonical_value > test.plausible_high:
        return (
            f"{test.name} {canonical_value} {unit} is above the plausible maximum of "
            f"{test.plausible_high} {unit}: check the value and its unit."
        )
    return None


def check_implausibly_low(
    code: str, canonical_value: Decimal, value: Decimal, unit: str
) -> str | None:
    """None unless the value is above zero but below the test's lower plausibility limit;
    then a message naming the likely unit mix-up (the accepted unit that would make the
    typed number plausible), to be confirmed with a reason before it is saved."""
    test = find_test(code)
    limit = test.low_plausibility_limit
    if limit is None or canonical_value <= 0 or canonical_value >= limit:
        return None
    shown_unit = test.canonical_unit
    likely = [
        other
        for other in test.accepted_units
        if other.casefold() != unit.strip().casefold()
        and limit
        <= to_canonical(code, value, other)
        <= (test.plausible_high or Decimal("Infinity"))
        and test.accepted_units[other] != _factor(test, unit)
    ]
    typed = clinical_number(value)
    mixup = (
        f" Likely unit mix-up: {typed} is plausible in {likely[0]}, not in {unit}."
        if likely
        else " Check the value and its unit."
    )
    converted = (
        ""
        if unit.strip().casefold() == shown_unit.casefold()
        else f" ({clinical_number(canonical_value)} {shown_unit})"
    )
    return (
        f"{test.name} {typed} {unit}{converted} is below the lower plausibility limit of "
        f"{clinical_number(limit)} {shown_unit}.{mixup} "
        "To save it anyway, confirm the value and give a reason."
    )


def out_of_range(code: str, canonical_value: Decimal) -> Literal["low", "high"] | None:
    """Mark a value against the catalogue's default reference range."""
    test = find_test(code)
    if test.ref_low is not None and canonical_value < test.ref_low:
        return "low"
    if test.ref_high is not None and canonical_value > test.ref_high:
        return "high"
    return None


def suspicious_change(
    code: str,
    previous_canonical: Decimal,
    new_canonical: Decimal,
    thresholds: Mapping[str, Threshold] | None = None,
) -> str | None:
    """A warning when a result differs from the previous one by the unit mix-up fold or more.

    Zero (or negative) values have no fold change and are never flagged: a count falling
    to zero is clinical, not a unit slip.
    """
    table = in_force(DEFAULTS, thresholds)
    fold_limit = table["catalogue.unit_mixup.fold_change"]
    if previous_canonical <= 0 or new_canonical <= 0:
        return None
    with localcontext(_EXACT):
        fold = max(new_canonical, previous_canonical) / min(new_canonical, previous_canonical)
    if fold < fold_limit.value:
        return None
    test = find_test(code)
    direction = "rise" if new_canonical > previous_canonical else "fall"
    return (
        f"{test.name} changed from {clinical_number(previous_canonical, test.decimal_places)} "
        f"to {clinical_number(new_canonical, test.decimal_places)} "
        f"{test.canonical_unit}, a {clinical_number(fold, 0)}-fold {direction} "
        f"(check limit {clinical_number(fold_limit.value)}-fold): check the unit before saving."
    )


_LOINC_PATTERN = re.compile(r"(\d{1,7})-(\d)")


def loinc_check_digit_ok(code: str) -> bool:
    """Whether a LOINC code's last digit matches the LOINC mod-10 check digit.

    From the rightmost digit of the body leftwards, every other digit (starting with the
    rightmost) is doubled and the digits of the products are summed with the remaining
    digits; the check digit brings that sum up to the next multiple of ten.
    """
    match = _LOINC_PATTERN.fullmatch(code.strip())
    if match is None:
        return False
    body, check_digit = match.groups()
    total = 0
    for position, character in enumerate(reversed(body)):
        digit = int(character)
        if position % 2 == 0:
            doubled = digit * 2
            total += doubled // 10 + doubled % 10
        else:
            total += digit
    return (10 - total % 10) % 10 == int(check_digit)
