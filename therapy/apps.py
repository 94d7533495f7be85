from django.apps import AppConfig


class TherapyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "therapy"
    verbose_name = "Maintenance therapy and REMS"

    def ready(self) -> None:
        from patients.panels import register_history_entries
        from therapy.history import history_entries
        from therapy.panels import register_panels
        from therapy.permissions import register_permissions

        register_permissions()
        register_panels()
        # Course, hold, dose, suggestion and REMS events, in words, on the History page.
        register_history_entries(history_entries)
