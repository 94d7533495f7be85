from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PatientsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "patients"
    verbose_name = "Patients and clinics"

    def ready(self) -> None:
        from patients.nursing import panels as nursing_panels
        from patients.nursing.history import history_entries as nursing_history
        from patients.panels import register_history_entries
        from patients.roles import ensure_roles_after_migrate

        # Roles are data every installation needs, so they follow the schema.
        post_migrate.connect(ensure_roles_after_migrate, sender=self)
        nursing_panels.register()
        register_history_entries(nursing_history)
