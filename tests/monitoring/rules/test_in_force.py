"""Clinic rule settings over the defaults, one semantics (``rulebook.in_force``): a partial
table overrides its keys and keeps every other default, in every rule module."""

from dataclasses import replace
from decimal import Decimal

import pytest

from monitoring.rules import ctcae, imwg, schedule
from monitoring.rules import flags as flag_rules
from patients import lab_catalogue
from patients.nursing import rules as nursing_rules
from patients.rulebook import in_force
from therapy import dosing, eligibility, rems_rules

D = Decimal


def _one_override(defaults):
    first = defaults[0]
    return first.key, {first.key: replace(first, value=first.value + 1)}


@pytest.mark.parametrize(
    ("defaults", "table"),
    [
        (dosing.DEFAULTS, dosing.settings),
        (rems_rules.DEFAULTS, rems_rules.settings),
        (dosing.DEFAULTS + rems_rules.DEFAULTS + eligibility.DEFAULTS, eligibility.settings),
        (flag_rules.DEFAULTS, flag_rules._table),
        (imwg.DEFAULTS, imwg._table),
        (schedule.DEFAULTS, schedule._table),
    ],
    ids=["dosing", "rems", "eligibility", "flags", "imwg", "schedule"],
)
def test_a_partial_override_keeps_the_other_defaults(defaults, table):
    key, partial = _one_override(defaults)
    merged = table(partial)
    assert merged[key] is partial[key]
    for default in defaults:
        if default.key != key:
            assert merged[default.key] == default


def test_in_force_without_settings_is_the_defaults():
    assert in_force(imwg.DEFAULTS) == {t.key: t for t in imwg.DEFAULTS}
    assert in_force(imwg.DEFAULTS, None) == in_force(imwg.DEFAULTS, {})


def _setting(defaults, key, value):
    return {key: replace(next(t for t in defaults if t.key == key), value=D(value))}


def test_imwg_progression_line_reads_a_partial_table():
    # Reference sec. 7: nadir 1 g/dL -> + max(25%, 0.5 g/dL) = 1.5; a clinic floor of 0.6
    # alone moves it to 1.6 and the 25% default still applies.
    assert imwg.progression_threshold_g_dl(D("1")) == D("1.5")
    partial = _setting(imwg.DEFAULTS, "imwg.pd.serum_min_rise", "0.6")
    assert imwg.progression_threshold_g_dl(D("1"), partial) == D("1.6")
    assert imwg.progression_threshold_g_dl(D("4"), partial) == D("5")  # 25% of 4 wins


def test_schedule_interval_reads_a_partial_table():
    partial = _setting(schedule.DEFAULTS, "schedule.cbc.interval_early", "10")
    assert schedule.cbc_interval_days(schedule.EARLY, partial) == 10
    # Reference: monthly (28 days) CBCs from cycle 3, the default kept.
    assert schedule.cbc_interval_days(schedule.STANDARD, partial) == 28


def test_ctcae_grade_reads_a_partial_table():
    partial = _setting(ctcae.DEFAULTS, "ctcae.version", "5.0")
    # Reference sec. 6: ANC 0.99 is grade 3, 1.0 grade 2 (v5.0).
    assert ctcae.grade("ANC", D("0.99"), thresholds=partial).grade == 3
    assert ctcae.grade("ANC", D("1.0"), thresholds=partial).grade == 2


def test_other_modules_merge_too():
    for defaults in (lab_catalogue.DEFAULTS, nursing_rules.DEFAULTS):
        key, partial = _one_override(defaults)
        assert in_force(defaults, partial)[key] is partial[key]
