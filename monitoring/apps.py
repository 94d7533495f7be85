from django.apps import AppConfig

NURSE_PERMISSIONS = [
    "monitoring.view_labresult",
    "monitoring.add_labresult",
    "monitoring.change_labresult",
    "monitoring.view_flag",
    "monitoring.acknowledge_flag",
    "monitoring.view_responseassessment",  # the timeline, read-only
]
PHYSICIAN_PERMISSIONS = [
    *NURSE_PERMISSIONS,
    "monitoring.decide_flag",
    # Confirmed IMWG response assessments (the timeline page).
    "monitoring.add_responseassessment",
]
REMS_ADMINISTRATOR_PERMISSIONS = ["monitoring.view_labresult", "monitoring.view_flag"]


class MonitoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "monitoring"
    verbose_name = "Labs and safety flags"

    def ready(self) -> None:
        from monitoring import panels
        from monitoring.history import history_entries
        from monitoring.lab_reader import MonitoringLabReader
        from monitoring.rules.registry import all_rule_defaults
        from patients.panels import register_history_entries
        from patients.roles import NURSE, PHYSICIAN, REMS_ADMINISTRATOR, register_role_permissions
        from patients.rulebook import register_rule_defaults
        from therapy.ports import register_lab_reader

        register_role_permissions(NURSE, NURSE_PERMISSIONS)
        register_role_permissions(PHYSICIAN, PHYSICIAN_PERMISSIONS)
        register_role_permissions(REMS_ADMINISTRATOR, REMS_ADMINISTRATOR_PERMISSIONS)
        register_lab_reader(MonitoringLabReader())
        panels.register()
        # Lab entries, corrections, entered-in-error and flags, in words, on the History page.
        register_history_entries(history_entries)
        # Rule settings admin accepts only keys a rule reads.
        register_rule_defaults(all_rule_defaults)
