"""Rule settings reach production by migration (issue 13): after ``migrate`` every threshold
has a stored version, and the values in force are the clinical reference's."""

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps

from monitoring.rules.registry import all_rule_defaults
from patients.models import RuleSetting
from patients.rule_settings_migrations import seed_rule_settings, ship_new_default
from patients.selectors import rule_thresholds

pytestmark = pytest.mark.django_db

# Written out from /work/shared/clinical-reference.md, never read from the rule modules.
REFERENCE = {
    # sec. 1 starting counts and renal
    "dosing.start.label_min_anc": ("1.0", "10^9/L"),
    "dosing.start.label_min_platelets": ("75", "10^9/L"),
    "dosing.start.recommended_anc_above": ("1.5", "10^9/L"),
    "dosing.start.recommended_platelets_above": ("100", "10^9/L"),
    "eligibility.crcl.standard_dosing_above": ("30", "mL/min"),
    "eligibility.transplant.window_first_day": ("90", "days"),
    "eligibility.transplant.window_last_day": ("110", "days"),
    # sec. 2-3 doses, holds and renal bands
    "dosing.start.standard_dose_mg": ("10", "mg"),
    "dosing.hold.anc_below": ("0.5", "10^9/L"),
    "dosing.resume.anc_at_least": ("0.5", "10^9/L"),
    "dosing.hold.platelets_below": ("30", "10^9/L"),
    "dosing.resume.platelets_at_least": ("30", "10^9/L"),
    "dosing.hold.cbc_interval_days": ("7", "days"),
    "dosing.renal.normal_min_crcl": ("60", "mL/min"),
    "dosing.renal.severe_below_crcl": ("30", "mL/min"),
    "dosing.renal.not_studied_below_crcl": ("11", "mL/min"),
    "dosing.renal.not_studied_dialysis_below_crcl": ("7", "mL/min"),
    "dosing.renal.moderate_dose_mg": ("5", "mg"),
    "dosing.renal.severe_dose_mg": ("2.5", "mg"),
    "dosing.renal.dialysis_dose_mg": ("2.5", "mg"),
    # sec. 5 REMS
    "rems.fcbp.menses_lookback_months": ("24", "months"),
    "rems.pretest.first_min_days_before": ("10", "days"),
    "rems.pretest.first_max_days_before": ("14", "days"),
    "rems.pretest.second_within_hours": ("24", "hours"),
    "rems.pregnancy_test.max_detection_limit": ("50", "mIU/mL"),
    "rems.pregnancy_test.weekly_phase_days": ("28", "days"),
    "rems.pregnancy_test.weekly_interval_days": ("7", "days"),
    "rems.pregnancy_test.regular_interval_days": ("28", "days"),
    "rems.pregnancy_test.irregular_interval_days": ("14", "days"),
    "rems.authorization.fcbp_valid_days": ("7", "days"),
    "rems.authorization.other_valid_days": ("30", "days"),
    "rems.prescription.max_days_supply": ("28", "days"),
    # sec. 6 CTCAE v5.0 (default) and v6.0
    "ctcae.version": ("5.0", "version"),
    "ctcae.v5.anc.grade2_below": ("1.5", "10^9/L"),
    "ctcae.v5.anc.grade3_below": ("1.0", "10^9/L"),
    "ctcae.v5.anc.grade4_below": ("0.5", "10^9/L"),
    "ctcae.v5.plt.grade2_below": ("75", "10^9/L"),
    "ctcae.v5.plt.grade3_below": ("50", "10^9/L"),
    "ctcae.v5.plt.grade4_below": ("25", "10^9/L"),
    "ctcae.v5.wbc.grade2_below": ("3.0", "10^9/L"),
    "ctcae.v5.wbc.grade3_below": ("2.0", "10^9/L"),
    "ctcae.v5.wbc.grade4_below": ("1.0", "10^9/L"),
    "ctcae.v5.lymph.grade2_below": ("0.8", "10^9/L"),
    "ctcae.v5.lymph.grade3_below": ("0.5", "10^9/L"),
    "ctcae.v5.lymph.grade4_below": ("0.2", "10^9/L"),
    "ctcae.v5.hgb.grade2_below": ("10.0", "g/dL"),
    "ctcae.v5.hgb.grade3_below": ("8.0", "g/dL"),
    "ctcae.v6.anc.grade3_below": ("0.5", "10^9/L"),
    "ctcae.v6.anc.grade4_below": ("0.1", "10^9/L"),
    "ctcae.v6.plt.grade4_below": ("10", "10^9/L"),
    # sec. 10 daily use (local policy, configurable)
    "flags.cbc_overdue.urgent_after_intervals": ("1", "CBC intervals"),
    "flags.cytopenia.stale_after_intervals": ("1", "CBC intervals"),
    "followup.after_start.first_call_from_hours": ("48", "hours"),
    "followup.after_start.first_call_by_hours": ("72", "hours"),
    "followup.after_start.week_call_days": ("7", "days"),
    "followup.after_start.month_call_days": ("30", "days"),  # "1 month"
    "followup.after_start.call_window_days": ("2", "days"),  # product default, not the reference
    # sec. 4: a CBC is WBC, ANC, platelets and hemoglobin from one draw (1 = required)
    "schedule.cbc.complete_requires.WBC": ("1", "1 = required in the same draw"),
    "schedule.cbc.complete_requires.ANC": ("1", "1 = required in the same draw"),
    "schedule.cbc.complete_requires.PLT": ("1", "1 = required in the same draw"),
    "schedule.cbc.complete_requires.HGB": ("1", "1 = required in the same draw"),
    # sec. 7 IMWG
    "imwg.measurable.serum_m_protein": ("1.0", "g/dL"),
    "imwg.measurable.urine_m_protein": ("200", "mg/24h"),
    "imwg.measurable.involved_flc": ("100", "mg/L"),
    "imwg.flc_ratio.normal_low": ("0.26", "ratio"),
    "imwg.flc_ratio.normal_high": ("1.65", "ratio"),
    "imwg.pd.rise_from_nadir": ("25", "%"),
    "imwg.pd.serum_min_rise": ("0.5", "g/dL"),
    "imwg.pd.serum_high_nadir": ("5", "g/dL"),
    "imwg.pd.serum_min_rise_high_nadir": ("1.0", "g/dL"),
    "imwg.pd.urine_min_rise": ("200", "mg/24h"),
    "imwg.vgpr.serum_fall": ("90", "%"),
    "imwg.vgpr.urine_below": ("100", "mg/24h"),
    "imwg.pr.serum_fall": ("50", "%"),
    "imwg.pr.urine_fall": ("90", "%"),
    "imwg.pr.urine_below": ("200", "mg/24h"),
    "imwg.mr.serum_fall": ("25", "%"),
    "imwg.mr.urine_fall": ("50", "%"),
    "imwg.cr.marrow_plasma_cells_below": ("5", "%"),
    "imwg.mrd.sustained_months": ("12", "months"),
    "imwg.pd.flc_difference_min_rise": ("100", "mg/L"),  # > 10 mg/dL
    "imwg.vgpr.flc_difference_fall": ("90", "%"),
    "imwg.pr.flc_difference_fall": ("50", "%"),
    "imwg.mrd.min_sensitivity_exponent": ("5", "10^-n"),  # at least 10^-5
    "seed.discussion.mrd_negative_months": ("24", "months"),
    "seed.discussion.cr_months": ("24", "months"),  # sustained CR > 2 years
    # sec. 6 CTCAE v6.0: only neutrophils and platelets changed; the rest are v5.0's numbers
    "ctcae.v6.anc.grade1_below": ("1.5", "10^9/L"),
    "ctcae.v6.anc.grade2_below": ("1.0", "10^9/L"),
    "ctcae.v6.plt.grade2_below": ("75", "10^9/L"),
    "ctcae.v6.plt.grade3_below": ("50", "10^9/L"),
    "ctcae.v6.wbc.grade2_below": ("3.0", "10^9/L"),
    "ctcae.v6.wbc.grade3_below": ("2.0", "10^9/L"),
    "ctcae.v6.wbc.grade4_below": ("1.0", "10^9/L"),
    "ctcae.v6.lymph.grade2_below": ("0.8", "10^9/L"),
    "ctcae.v6.lymph.grade3_below": ("0.5", "10^9/L"),
    "ctcae.v6.lymph.grade4_below": ("0.2", "10^9/L"),
    "ctcae.v6.hgb.grade2_below": ("10.0", "g/dL"),
    "ctcae.v6.hgb.grade3_below": ("8.0", "g/dL"),
    # sec. 4 monitoring schedule
    "schedule.cbc.early_phase_last_cycle": ("2", "cycle"),
    "schedule.cbc.interval_early": ("14", "days"),
    "schedule.cbc.interval_standard": ("28", "days"),
    "schedule.cbc.interval_held_cytopenia": ("7", "days"),
    "schedule.cbc.grace": ("3", "days"),
    "schedule.response_labs.interval": ("90", "days"),  # every 3 months
    "schedule.response_labs.grace": ("3", "days"),
    # sec. 5 REMS, "common" values
    "rems.adult_age_years": ("18", "years"),
    "rems.survey.other_interval_days": ("30", "days"),  # monthly
    # Product defaults the reference leaves to local policy, pinned so that a change is a
    # decision shipped by migration, never an accident.
    "rems.pregnancy_test.due_soon_days": ("3", "days"),
    "rems.authorization.expiring_within_days": ("3", "days"),
    "rems.prescriber_certification.expiring_within_days": ("30", "days"),
    "eligibility.labs.max_age_days": ("30", "days"),
    "eligibility.response_labs.max_age_days": ("90", "days"),
    "catalogue.unit_mixup.fold_change": ("100", "fold"),
    "schedule.due_soon_window": ("7", "days"),
    "flags.cytopenia.min_grade": ("2", "CTCAE grade"),
    "flags.notify.min_grade": ("3", "CTCAE grade"),
}


def test_every_rule_threshold_is_pinned_to_an_independent_value():
    # A threshold mutant (a shifted number in a DEFAULTS table) must fail a test: pin each.
    unpinned = sorted(t.key for t in all_rule_defaults() if t.key not in REFERENCE)
    assert unpinned == [], (
        f"Add these thresholds to REFERENCE with the reference's value: {unpinned}"
    )


@pytest.mark.parametrize(("key", "expected"), sorted(REFERENCE.items()))
def test_each_code_default_equals_the_reference(key, expected):
    value, unit = expected
    default = next(t for t in all_rule_defaults() if t.key == key)
    assert (default.value, default.unit) == (Decimal(value), unit)


def test_every_rule_setting_unit_fits_its_column():
    # SQLite does not enforce the length; PostgreSQL refused the seed when one did not fit.
    width = RuleSetting._meta.get_field("unit").max_length
    too_long = sorted(t.key for t in all_rule_defaults() if len(t.unit) > width)
    assert too_long == []


def test_after_migrate_every_code_default_has_a_stored_version():
    stored = set(RuleSetting.objects.filter(clinic__isnull=True).values_list("key", flat=True))
    missing = sorted(t.key for t in all_rule_defaults() if t.key not in stored)
    assert missing == [], (
        "Thresholds without a stored version: add a migration that calls "
        f"patients.rule_settings_migrations.seed_rule_settings for {missing}"
    )


def test_after_migrate_the_values_in_force_are_the_code_defaults():
    defaults = all_rule_defaults()
    in_force = rule_thresholds(tuple(defaults), as_of=date(2026, 6, 1))
    changed = sorted(
        t.key
        for t in defaults
        if (in_force[t.key].value, in_force[t.key].unit) != (t.value, t.unit)
    )
    assert changed == [], (
        "A code default differs from the stored version in force: ship it with "
        f"patients.rule_settings_migrations.ship_new_default in a migration: {changed}"
    )


@pytest.mark.parametrize(("key", "expected"), sorted(REFERENCE.items()))
def test_after_migrate_the_values_in_force_equal_the_clinical_reference(key, expected):
    value, unit = expected
    stored = RuleSetting.objects.get(key=key, clinic__isnull=True, version=1)
    assert (stored.value, stored.unit) == (Decimal(value), unit)
    in_force = rule_thresholds(tuple(all_rule_defaults()), as_of=date(2026, 6, 1))[key]
    assert (in_force.value, in_force.unit) == (Decimal(value), unit)


def test_seeding_an_empty_table_writes_every_row_once():
    RuleSetting.objects.all().delete()
    rows = [("dosing.hold.anc_below", "0.5", "10^9/L", "label", "PI")]
    assert seed_rule_settings(apps, rows, effective_from=date(2026, 1, 1), reason="r") == 1
    assert seed_rule_settings(apps, rows, effective_from=date(2026, 1, 1), reason="r") == 0


def test_a_changed_default_ships_as_the_next_version_and_old_decisions_keep_theirs():
    row = ("dosing.hold.anc_below", "0.6", "10^9/L", "common", "Local policy")
    assert ship_new_default(apps, row, effective_from=date(2026, 7, 1), reason="policy")
    assert not ship_new_default(apps, row, effective_from=date(2026, 7, 1), reason="policy")
    default = next(t for t in all_rule_defaults() if t.key == "dosing.hold.anc_below")
    before = rule_thresholds((default,), as_of=date(2026, 6, 30))[default.key]
    after = rule_thresholds((default,), as_of=date(2026, 7, 1))[default.key]
    assert (before.value, before.version) == (Decimal("0.5"), 1)
    assert (after.value, after.version) == (Decimal("0.6"), 2)


def test_stored_values_read_back_without_trailing_zeros():
    # DECIMAL(12,4) returns 30.0000: the threshold a rule cites reads "30", not "30.0000".
    default = next(t for t in all_rule_defaults() if t.key == "dosing.renal.severe_below_crcl")
    in_force = rule_thresholds((default,))[default.key]
    assert str(in_force.value) == "30"
    ship_new_default(
        apps,
        (default.key, "25.5000", "mL/min", "common", "Local policy"),
        effective_from=date(2026, 1, 2),
        reason="policy",
    )
    assert str(rule_thresholds((default,))[default.key].value) == "25.5"
