from django.apps import AppConfig


class TherapyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "therapy"
    verbose_name = "Maintenance therapy and REMS"

    def ready(self) -> None:
        from patients.panels import register_history_source
        from therapy.panels import register_panels
        from therapy.permissions import register_permissions
        from therapy.selectors import history_sources

        register_permissions()
        register_panels()
        # Course, hold, suggestion and REMS changes on the patient's History page.
        register_history_source(history_sources)
