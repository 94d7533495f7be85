from django.apps import AppConfig

# Lab results are the patients app's (patients.roles): their permissions are named there.
NURSE_PERMISSIONS = [
    "monitoring.view_flag",
    "monitoring.acknowledge_flag",
    "monitoring.view_responseassessment",  # the timeline, read-only
    # The lab interface queue: held messages matched, mapped, retried or rejected.
    "monitoring.view_interfacemessage",
    "monitoring.change_interfacemessage",
]
PHYSICIAN_PERMISSIONS = [
    *NURSE_PERMISSIONS,
    "monitoring.decide_flag",
    # Confirmed IMWG response assessments (the timeline page).
    "monitoring.add_responseassessment",
]
REMS_ADMINISTRATOR_PERMISSIONS = ["monitoring.view_flag"]
# The Cohort page (aggregates of the clinic's patients, never a patient list).
COHORT_PERMISSIONS = ["monitoring.view_cohort"]


class MonitoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "monitoring"
    verbose_name = "Labs and safety flags"

    def ready(self) -> None:
        from monitoring import panels
        from monitoring.cohort import panels as cohort_panels
        from monitoring.history import history_entries
        from monitoring.interop import panels as interop_panels
        from monitoring.rules.registry import all_rule_defaults
        from patients.panels import register_history_entries
        from patients.roles import (
            ANALYST,
            NURSE,
            PHYSICIAN,
            REMS_ADMINISTRATOR,
            register_role_permissions,
        )
        from patients.rulebook import register_rule_defaults

        register_role_permissions(NURSE, NURSE_PERMISSIONS)
        register_role_permissions(PHYSICIAN, PHYSICIAN_PERMISSIONS)
        register_role_permissions(REMS_ADMINISTRATOR, REMS_ADMINISTRATOR_PERMISSIONS)
        register_role_permissions(PHYSICIAN, COHORT_PERMISSIONS)
        register_role_permissions(ANALYST, COHORT_PERMISSIONS)
        panels.register()
        cohort_panels.register()
        interop_panels.register()
        # Lab entries, corrections, entered-in-error and flags, in words, on the History page.
        register_history_entries(history_entries)
        # Rule settings admin accepts only keys a rule reads.
        register_rule_defaults(all_rule_defaults)
