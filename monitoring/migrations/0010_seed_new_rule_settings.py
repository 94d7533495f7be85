"""Version 1 of the thresholds added after the first seed (0008): CBC escalation and
stale counts, the complete-CBC set and the nurses' follow-up calls. Frozen values, as in
0008; a later change to a code default ships as a new version in a new migration."""

from datetime import date

from django.db import migrations

from patients.rule_settings_migrations import seed_rule_settings

EFFECTIVE_FROM = date(2026, 1, 1)

# (key, value, unit, status, source)
ROWS = [
    (
        "schedule.cbc.complete_requires.WBC",
        "1",
        "1 = required in the same draw",
        "common",
        "Clinical reference sec. 4: a CBC is WBC, ANC, platelets and hemoglobin from one draw; one count on its own is not a CBC (common practice)",
    ),
    (
        "schedule.cbc.complete_requires.ANC",
        "1",
        "1 = required in the same draw",
        "common",
        "Clinical reference sec. 4: a CBC is WBC, ANC, platelets and hemoglobin from one draw; one count on its own is not a CBC (common practice)",
    ),
    (
        "schedule.cbc.complete_requires.PLT",
        "1",
        "1 = required in the same draw",
        "common",
        "Clinical reference sec. 4: a CBC is WBC, ANC, platelets and hemoglobin from one draw; one count on its own is not a CBC (common practice)",
    ),
    (
        "schedule.cbc.complete_requires.HGB",
        "1",
        "1 = required in the same draw",
        "common",
        "Clinical reference sec. 4: a CBC is WBC, ANC, platelets and hemoglobin from one draw; one count on its own is not a CBC (common practice)",
    ),
    (
        "flags.cbc_overdue.urgent_after_intervals",
        "1",
        "CBC intervals",
        "common",
        "Clinical reference sec. 10 (local policy, configurable): an overdue CBC while dosing becomes urgent when a whole interval has passed beyond the due date",
    ),
    (
        "flags.cytopenia.stale_after_intervals",
        "1",
        "CBC intervals",
        "common",
        "Clinical reference sec. 10 (local policy, configurable): a cytopenia flag is shown as stale when its count is older than the CBC interval now in force",
    ),
    (
        "followup.after_start.first_call_from_hours",
        "48",
        "hours",
        "common",
        "Clinical reference sec. 10: follow-up calls 48-72 hours, 1 week and 1 month after an oral anticancer drug starts (oral-chemotherapy programmes; ASCO/ONS safety standards)",
    ),
    (
        "followup.after_start.first_call_by_hours",
        "72",
        "hours",
        "common",
        "Clinical reference sec. 10: follow-up calls 48-72 hours, 1 week and 1 month after an oral anticancer drug starts (oral-chemotherapy programmes; ASCO/ONS safety standards)",
    ),
    (
        "followup.after_start.week_call_days",
        "7",
        "days",
        "common",
        "Clinical reference sec. 10: follow-up calls 48-72 hours, 1 week and 1 month after an oral anticancer drug starts (oral-chemotherapy programmes; ASCO/ONS safety standards)",
    ),
    (
        "followup.after_start.month_call_days",
        "30",
        "days",
        "common",
        "Clinical reference sec. 10: follow-up calls 48-72 hours, 1 week and 1 month after an oral anticancer drug starts (oral-chemotherapy programmes; ASCO/ONS safety standards)",
    ),
    (
        "followup.after_start.call_window_days",
        "2",
        "days",
        "common",
        "Product default: the 1-week and 1-month calls may be made up to 2 days late",
    ),
]


def seed(apps, schema_editor):
    seed_rule_settings(
        apps, ROWS, effective_from=EFFECTIVE_FROM, reason="Thresholds added in this release"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0009_engine_incremental"),
        ("patients", "0004_engine_incremental"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
