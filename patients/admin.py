import csv
import difflib

from django import forms
from django.contrib import admin
from django.http import HttpResponse
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from patients.formatting import clinical_number
from patients.models import (
    Clinic,
    ClinicLabUnit,
    Diagnosis,
    LabResult,
    Patient,
    PatientAccess,
    RuleSetting,
    Transplant,
    WeightMeasurement,
)
from patients.rulebook import known_rule_defaults
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
    """The access log: read-only for administrators; filtered by user and patient, and
    exported as CSV (the "Export" action, or select all across pages)."""

    list_display = ["accessed_at", "user", "patient", "path"]
    list_filter = [
        ("user", admin.RelatedOnlyFieldListFilter),
        ("patient", admin.RelatedOnlyFieldListFilter),
        "accessed_at",
    ]
    search_fields = ["user__username", "patient__mrn", "patient__family_name", "path"]
    list_select_related = ["user", "patient"]
    actions = ["export_csv"]

    @admin.action(description="Export selected access-log rows as CSV")
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="patient-access-log.csv"'
        writer = csv.writer(response)
        writer.writerow(["Accessed at", "User", "Patient MRN", "Patient", "Route"])
        for row in queryset.select_related("user", "patient").order_by("accessed_at"):
            writer.writerow(
                [
                    f"{timezone.localtime(row.accessed_at):%Y-%m-%d %H:%M:%S %Z}",
                    row.user.get_username(),
                    row.patient.mrn,
                    f"{row.patient.family_name}, {row.patient.given_name}",
                    row.path,
                ]
            )
        return response

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RuleSettingForm(forms.ModelForm):
    """A new version of a threshold: the key must be one a rule reads, and the version must
    be above every stored version of that key and scope (plain words, not a constraint name)."""

    class Meta:
        model = RuleSetting
        fields = [
            "key",
            "version",
            "clinic",
            "value",
            "unit",
            "status",
            "source",
            "effective_from",
            "change_reason",
        ]

    def clean_key(self):
        key = (self.cleaned_data.get("key") or "").strip()
        known = known_rule_defaults()
        if known and key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise forms.ValidationError(
                f"{key!r} is not a rule setting any rule reads, so it would change nothing."
                f"{hint} The keys are listed on the Rules page."
            )
        return key

    def clean(self):
        cleaned = super().clean()
        key, version = cleaned.get("key"), cleaned.get("version")
        if not key or version is None:
            return cleaned
        default = known_rule_defaults().get(key)
        unit = cleaned.get("unit")
        if default is not None and unit is not None and unit.strip() != default.unit:
            self.add_error(
                "unit", f"{key} is read in {default.unit}; enter the value in {default.unit}."
            )
        clinic = cleaned.get("clinic")
        same_scope = RuleSetting.objects.filter(key=key, clinic=clinic)
        newest = same_scope.order_by("-version").values_list("version", flat=True).first()
        if newest is not None and version <= newest:
            scope = clinic.name if clinic else "all clinics"
            raise forms.ValidationError(
                {
                    "version": f"{key} for {scope} already has version {newest}. A change is "
                    f"a new version: use version {newest + 1}, so past decisions keep the "
                    "version they were made under."
                }
            )
        return cleaned

    def validate_constraints(self):
        # The version check above already says it in words; the database constraint stays
        # the last line of defence against a race.
        return


@admin.register(RuleSetting)
class RuleSettingAdmin(admin.ModelAdmin):
    """A threshold change is a new version: existing versions are read-only."""

    form = RuleSettingForm
    list_display = ["key", "version", "clinic", "shown_value", "unit", "status", "effective_from"]
    list_filter = ["status", "clinic"]
    search_fields = ["key", "source"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["changed_by"]
        return [f.name for f in obj._meta.fields]

    @admin.display(description="Value", ordering="value")
    def shown_value(self, obj):
        return clinical_number(obj.value)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A stored version is read-only: no Save button that would save nothing.
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

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


@admin.register(ClinicLabUnit)
class ClinicLabUnitAdmin(admin.ModelAdmin):
    list_display = ["clinic", "test_code", "unit"]
    list_filter = ["clinic"]


@admin.register(LabResult)
class LabResultAdmin(SimpleHistoryAdmin):
    list_display = [
        "patient",
        "test_code",
        "canonical_value",
        "canonical_unit",
        "ctcae_grade",
        "collected_at",
        "entered_in_error_at",
    ]
    list_filter = ["test_code", "panel", "source"]
    raw_id_fields = ["patient", "entered_by", "entered_in_error_by", "corrects"]
    date_hierarchy = "collected_at"

    def has_delete_permission(self, request, obj=None):
        return False  # clinical rows are marked entered-in-error, never deleted
