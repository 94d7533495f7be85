"""Forms check shape and types; the services check the rules (ladder, dates, overlaps).

Fields whose rule lives in a service (the dose ladder, the 28-day supply, the reasons
required for a justification or a dismissal) are deliberately lenient here, so the user
reads the service's exact message, the same one the API and tests see.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms

from patients.widgets import IsoDateInput
from therapy import dosing
from therapy.dosing import DoseLevel
from therapy.models import DoseChange, Hold, MaintenanceCourse, Regimen, RemsEnrollment
from therapy.rems_rules import ACTIONS, RiskCategory

DATE = IsoDateInput()  # ISO text, not the locale's mm/dd/yyyy picker
LEVEL_CHOICES = [
    (f"{dosing.format_mg(level.dose_mg)}:{level.dosing_days}", level.label)
    for level in dosing.SELECTABLE_LEVELS
]


def _helper(*layout) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    if layout:
        helper.layout = Layout(*layout)
    return helper


def level_value(level: DoseLevel | None) -> str:
    return f"{dosing.format_mg(level.dose_mg)}:{level.dosing_days}" if level else ""


class DoseLevelField(forms.CharField):
    """ "10:21" -> DoseLevel(10 mg, days 1-21). Whether the level is allowed is the
    service's rule (``therapy.errors.DOSE_NOT_ON_LADDER``)."""

    widget = forms.Select

    def __init__(self, *, blank_label: str | None = None, **kwargs):
        super().__init__(**kwargs)
        choices = ([("", blank_label)] if blank_label else []) + LEVEL_CHOICES
        self.widget.choices = choices

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            dose, days = value.split(":", 1)
            return DoseLevel(Decimal(dose), int(days), 28)
        except (ValueError, InvalidOperation):
            raise forms.ValidationError(
                "Choose a dose level such as 10 mg days 1-21 of 28."
            ) from None


class CourseStartForm(forms.Form):
    regimen = forms.ModelChoiceField(queryset=Regimen.objects.selectable())
    start_date = forms.DateField(
        widget=DATE,
        help_text="A later date plans the course: it shows as planned and starts on that day.",
    )
    dose_level = DoseLevelField(
        required=False,
        blank_label="The regimen's starting dose",
        label="Lenalidomide starting dose",
        help_text="Only for a reduced start (for example renal dosing: CrCl 30-59 mL/min 5 mg, "
        "< 30 mL/min 2.5 mg).",
    )
    vte_prophylaxis = forms.ChoiceField(
        label="Clot prophylaxis", choices=MaintenanceCourse.Prophylaxis.choices
    )
    aspirin_dose_mg = forms.IntegerField(label="Aspirin dose (mg daily)", required=False)
    vte_prophylaxis_note = forms.CharField(
        label="Prophylaxis note (why none, which LMWH/DOAC)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    justification = forms.CharField(
        label="Justification for starting despite a failed item",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            Row(
                Column("regimen", css_class="col-md-6"),
                Column("start_date", css_class="col-md-3"),
                Column("dose_level", css_class="col-md-3"),
            ),
            Row(
                Column("vte_prophylaxis", css_class="col-md-4"),
                Column("aspirin_dose_mg", css_class="col-md-2"),
                Column("vte_prophylaxis_note", css_class="col-md-6"),
            ),
            "justification",
        )


class DoseChangeForm(forms.Form):
    dose_level = DoseLevelField(label="New dose level")
    effective_from = forms.DateField(widget=DATE)
    reason = forms.ChoiceField(choices=DoseChange.Reason.choices)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class HoldForm(forms.Form):
    start_date = forms.DateField(widget=DATE)
    end_date = forms.DateField(
        widget=DATE, required=False, help_text="First day dosing resumes; leave blank while held."
    )
    reason = forms.ChoiceField(choices=Hold.Reason.choices)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class HoldEndForm(forms.Form):
    end_date = forms.DateField(widget=DATE, label="Dosing resumes on")
    resume_level = DoseLevelField(
        required=False, blank_label="Same dose as before the hold", label="Resume at"
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class DiscontinueForm(forms.Form):
    discontinued_on = forms.DateField(widget=DATE)
    reason = forms.ChoiceField(choices=MaintenanceCourse.DiscontinuationReason.choices)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class CourseCorrectionForm(forms.Form):
    discontinued_on = forms.DateField(widget=DATE)
    discontinuation_reason = forms.ChoiceField(
        choices=MaintenanceCourse.DiscontinuationReason.choices
    )
    discontinuation_note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    change_reason = forms.CharField(
        label="Why is this corrected?", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class DismissForm(forms.Form):
    reason = forms.CharField(
        label="Why is the suggestion dismissed?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


# --- REMS -------------------------------------------------------------------------------------


class RemsEnrollmentForm(forms.Form):
    patient_risk_category = forms.ChoiceField(
        label="Patient risk category (confirm)", choices=RiskCategory.CHOICES
    )
    status = forms.ChoiceField(choices=RemsEnrollment.Status.choices)
    rems_patient_id = forms.CharField(label="REMS patient ID", max_length=40, required=False)
    enrolled_on = forms.DateField(label="Enrollment date", widget=DATE, required=False)
    agreement_signed_on = forms.DateField(
        label="Patient-physician agreement signed", widget=DATE, required=False
    )
    counselled_on = forms.DateField(label="Counselling date", widget=DATE, required=False)
    prescriber_name = forms.CharField(max_length=120, required=False)
    prescriber_enrollment_id = forms.CharField(
        label="Prescriber enrollment ID", max_length=40, required=False
    )
    prescriber_certification_expires_on = forms.DateField(
        label="Prescriber certification expiry", widget=DATE, required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            Row(
                Column("patient_risk_category", css_class="col-md-6"),
                Column("status", css_class="col-md-3"),
                Column("rems_patient_id", css_class="col-md-3"),
            ),
            Row(
                Column("enrolled_on", css_class="col-md-4"),
                Column("agreement_signed_on", css_class="col-md-4"),
                Column("counselled_on", css_class="col-md-4"),
            ),
            Row(
                Column("prescriber_name", css_class="col-md-4"),
                Column("prescriber_enrollment_id", css_class="col-md-4"),
                Column("prescriber_certification_expires_on", css_class="col-md-4"),
            ),
        )


class AuthorizationForm(forms.Form):
    authorization_number = forms.CharField(max_length=40)
    obtained_on = forms.DateField(label="Date obtained", widget=DATE)
    days_supply = forms.IntegerField(label="Days' supply")
    dispensed_on = forms.DateField(label="Dispensed", widget=DATE, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class DispenseForm(forms.Form):
    dispensed_on = forms.DateField(label="Dispensed", widget=DATE, required=False)
    reason = forms.CharField(label="Reason for the change", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class SurveyForm(forms.Form):
    completed_on = forms.DateField(label="Survey completed", widget=DATE)
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


REMS_STATUS_CHOICES = [
    ("", "Any status"),
    ("compliant", "Compliant"),
    ("action_needed", "Action needed (any)"),
    *[(action, action.replace("_", " ").capitalize()) for action in ACTIONS],  # = rems_action_label
]


class RemsFilterForm(forms.Form):
    q = forms.CharField(
        label="Name or MRN",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or MRN"}),
    )
    clinic = forms.ModelChoiceField(queryset=None, required=False, empty_label="All my clinics")
    status = forms.ChoiceField(choices=REMS_STATUS_CHOICES, required=False)
    sort = forms.ChoiceField(
        label="Order",
        choices=[("urgency", "Most urgent first"), ("name", "By name")],
        required=False,
    )
    include_inactive = forms.BooleanField(
        label="Include patients off therapy, transferred or deceased", required=False
    )

    def __init__(self, *args, clinics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics
        self.helper = _helper(
            Row(
                Column("q", css_class="col-md-3"),
                Column("clinic", css_class="col-md-2"),
                Column("status", css_class="col-md-3"),
                Column("sort", css_class="col-md-2"),
                Column("include_inactive", css_class="col-md-2 pt-md-2"),
            )
        )
