"""The regimen catalogue is edited here by physicians and administrators; clinical rows
are read and corrected through the app's pages and never deleted."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from therapy.models import (
    Agent,
    DoseChange,
    DoseSuggestion,
    Hold,
    MaintenanceCourse,
    Regimen,
    RegimenComponent,
    RemsAuthorization,
    RemsEnrollment,
    RemsSurvey,
)


class NoDeleteAdmin(SimpleHistoryAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


class ComponentInline(admin.TabularInline):
    model = RegimenComponent
    extra = 0
    can_delete = False


@admin.register(Agent)
class AgentAdmin(NoDeleteAdmin):
    list_display = ["name", "code", "drug_class"]


@admin.register(Regimen)
class RegimenAdmin(NoDeleteAdmin):
    list_display = ["name", "kind", "lenalidomide_dose_mg", "lenalidomide_dosing_days", "is_active"]
    list_filter = ["kind", "is_active"]
    inlines = [ComponentInline]


@admin.register(MaintenanceCourse)
class CourseAdmin(NoDeleteAdmin):
    list_display = ["patient", "regimen", "start_date", "status", "dose_mg", "dosing_days"]
    list_filter = ["status", "regimen"]
    list_select_related = ["patient", "regimen"]
    readonly_fields = ["public_id", "eligibility_snapshot"]
    raw_id_fields = ["patient"]


@admin.register(DoseChange)
class DoseChangeAdmin(NoDeleteAdmin):
    list_display = ["course", "effective_from", "from_dose_mg", "to_dose_mg", "reason"]
    raw_id_fields = ["course"]


@admin.register(Hold)
class HoldAdmin(NoDeleteAdmin):
    list_display = ["course", "start_date", "end_date", "reason"]
    raw_id_fields = ["course"]


@admin.register(DoseSuggestion)
class DoseSuggestionAdmin(NoDeleteAdmin):
    list_display = ["patient", "kind", "status", "raised_on", "rule_id"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["patient", "course", "created_hold", "created_dose_change"]


@admin.register(RemsEnrollment)
class RemsEnrollmentAdmin(NoDeleteAdmin):
    list_display = ["patient", "patient_risk_category", "status", "enrolled_on", "rems_patient_id"]
    raw_id_fields = ["patient"]


@admin.register(RemsAuthorization)
class RemsAuthorizationAdmin(NoDeleteAdmin):
    list_display = ["patient", "authorization_number", "obtained_on", "expires_on", "days_supply"]
    raw_id_fields = ["patient"]


@admin.register(RemsSurvey)
class RemsSurveyAdmin(NoDeleteAdmin):
    list_display = ["patient", "completed_on"]
    raw_id_fields = ["patient"]
