from django.contrib import admin

from monitoring.models import Flag, MonitoringStatus, Notification


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = [
        "patient",
        "kind",
        "status",
        "severity",
        "ctcae_grade",
        "opened_at",
        "resolved_at",
    ]
    list_filter = ["kind", "status", "severity"]
    raw_id_fields = ["patient", "acknowledged_by"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MonitoringStatus)
class MonitoringStatusAdmin(admin.ModelAdmin):
    list_display = [
        "patient",
        "cbc_phase",
        "last_cbc_on",
        "cbc_due_on",
        "response_labs_due_on",
        "evaluated_at",
    ]
    raw_id_fields = ["patient"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["subject", "recipient", "created_at", "notified_at", "failed_at", "attempts"]
    list_filter = ["notified_at", "failed_at"]
    raw_id_fields = ["flag"]


# The lab interface's mapping tables (with history) and message log.
from monitoring.interop import admin as interop_admin  # noqa: E402, F401
