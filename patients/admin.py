from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from patients.models import (
    Clinic,
    Diagnosis,
    Patient,
    PatientAccess,
    RuleSetting,
    Transplant,
    WeightMeasurement,
)
from patients.services import clinic_rules_changed


class NoDeleteAdmin(SimpleHistoryAdmin):
    """Clinical rows are never deleted, not even by a superuser: mark entered-in-error."""

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    filter_horizontal = ["staff"]


@admin.register(Patient)
class PatientAdmin(NoDeleteAdmin):
    list_display = ["mrn", "family_name", "given_name", "clinic", "status"]
    list_filter = ["clinic", "status"]
    search_fields = ["mrn", "family_name", "given_name"]
    readonly_fields = ["public_id"]


@admin.register(Diagnosis)
class DiagnosisAdmin(NoDeleteAdmin):
    list_display = ["patient", "diagnosed_on", "heavy_chain", "light_chain"]


@admin.register(Transplant)
class TransplantAdmin(NoDeleteAdmin):
    list_display = ["patient", "transplanted_on", "kind", "entered_in_error_at"]


@admin.register(WeightMeasurement)
class WeightAdmin(NoDeleteAdmin):
    list_display = ["patient", "measured_on", "weight_kg", "entered_in_error_at"]


@admin.register(PatientAccess)
class PatientAccessAdmin(admin.ModelAdmin):
    """The access log: read-only for administrators."""

    list_display = ["accessed_at", "user", "patient", "path"]
    list_filter = ["accessed_at"]
    search_fields = ["user__username", "patient__mrn", "patient__family_name"]
    list_select_related = ["user", "patient"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RuleSetting)
class RuleSettingAdmin(admin.ModelAdmin):
    """A threshold change is a new version: existing versions are read-only."""

    list_display = ["key", "version", "clinic", "value", "unit", "status", "effective_from"]
    list_filter = ["status", "clinic"]
    search_fields = ["key", "source"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["changed_by"]
        return [f.name for f in obj._meta.fields]

    def save_model(self, request, obj, form, change):
        obj.changed_by = request.user
        super().save_model(request, obj, form, change)
        # A threshold change re-evaluates the clinic (every clinic for a default).
        clinic_rules_changed(obj.clinic_id)

    def has_delete_permission(self, request, obj=None):
        return False


def _superusers_only(request) -> bool:
    # Staff roles work in the clinic pages; Django admin is for superusers alone.
    return request.user.is_active and request.user.is_superuser


admin.site.has_permission = _superusers_only
admin.site.site_header = "Myeloma Maintenance Monitor administration"
