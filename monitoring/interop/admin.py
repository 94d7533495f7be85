"""Admin for the lab interface's mapping tables (with history) and its message log."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from monitoring.interop.models import Hl7Sender, InterfaceMessage, LabCodeMapping, UnitMapping


@admin.register(Hl7Sender)
class Hl7SenderAdmin(SimpleHistoryAdmin):
    list_display = ["facility", "authority", "clinic", "active"]
    list_filter = ["clinic", "active"]
    search_fields = ["facility", "authority"]


@admin.register(LabCodeMapping)
class LabCodeMappingAdmin(SimpleHistoryAdmin):
    list_display = ["facility", "local_code", "test_code"]
    list_filter = ["facility", "test_code"]
    search_fields = ["local_code"]


@admin.register(UnitMapping)
class UnitMappingAdmin(SimpleHistoryAdmin):
    list_display = ["spelling", "unit"]
    search_fields = ["spelling"]


@admin.register(InterfaceMessage)
class InterfaceMessageAdmin(SimpleHistoryAdmin):
    list_display = ["received_at", "sending_facility", "control_id", "status", "ack_code", "clinic"]
    list_filter = ["status", "channel", "clinic"]
    search_fields = ["control_id", "sending_facility"]
    raw_id_fields = ["patient", "resolved_by"]
    readonly_fields = [f.name for f in InterfaceMessage._meta.fields]

    def has_add_permission(self, request):
        return False  # messages arrive through the interface only

    def has_delete_permission(self, request, obj=None):
        return False  # every outcome is kept
