"""Forms check shape and types; the services check what needs the database."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms

from patients.models import Diagnosis, Patient
from patients.services import DIAGNOSIS_FIELDS, PATIENT_FIELDS
from patients.widgets import IsoDateInput

DATE = IsoDateInput()  # ISO text, not the locale's mm/dd/yyyy picker


class TestedSelect(forms.Select):
    """A finding that may be untested: None is 'not tested', never 'absent'."""

    def __init__(self, attrs=None):
        super().__init__(
            attrs, choices=[("", "Not tested"), ("true", "Detected"), ("false", "Not detected")]
        )

    def format_value(self, value):
        # A list, as every Django choice widget expects: a bare string made the "" option
        # match by substring ("" in "true"), so Yes/No showed as the blank choice and the
        # next save of the form wiped the stored fact.
        return [{True: "true", False: "false", "true": "true", "false": "false"}.get(value, "")]

    def value_from_datadict(self, data, files, name):
        return {"true": True, "false": False}.get(data.get(name))


class YesNoUnknownSelect(TestedSelect):
    def __init__(self, attrs=None):
        forms.Select.__init__(
            self, attrs, choices=[("", "Unknown"), ("true", "Yes"), ("false", "No")]
        )


def _helper(*layout) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    if layout:
        helper.layout = Layout(*layout)
    return helper


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = list(PATIENT_FIELDS)
        widgets = {
            "date_of_birth": DATE,
            "date_of_death": DATE,
            "address": forms.Textarea(attrs={"rows": 2}),
            "menses_in_past_24_months": YesNoUnknownSelect,
            "menses_regular": YesNoUnknownSelect,
        }
        labels = {
            "height_cm": "Height (cm)",
            "menses_in_past_24_months": "Menses in the past 24 months",
        }
        help_texts = {
            "reproductive_potential": "Feeds the REMS risk category. Can become pregnant: any female with "
            "menses in the past 24 consecutive months and no hysterectomy or bilateral oophorectomy.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            Fieldset(
                "Identity",
                Row(Column("mrn"), Column("given_name"), Column("family_name")),
                Row(Column("date_of_birth"), Column("sex_at_birth"), Column("height_cm")),
            ),
            Fieldset("Contact", Row(Column("phone"), Column("email")), "address"),
            Fieldset("Status", Row(Column("status"), Column("date_of_death"))),
            Fieldset(
                "Reproductive potential (REMS)",
                "reproductive_potential",
                Row(Column("menses_in_past_24_months"), Column("menses_regular")),
                Row(Column("hysterectomy"), Column("bilateral_oophorectomy")),
            ),
        )

    def _post_clean(self):
        # Model validation (MRN per clinic, constraints) runs in the service, which knows the
        # clinic and answers with a clearer message.
        pass


class DiagnosisForm(forms.ModelForm):
    class Meta:
        model = Diagnosis
        fields = list(DIAGNOSIS_FIELDS)
        widgets = {
            "diagnosed_on": DATE,
            "cytogenetics_tested_on": DATE,
            **dict.fromkeys(
                ("del_17p", "t_4_14", "t_14_16", "t_14_20", "gain_1q", "del_1p"), TestedSelect
            ),
        }
        help_texts = {"induction_regimen": "For example VRd x4, Dara-VRd x6."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            Fieldset(
                "Myeloma diagnosis",
                Row(Column("diagnosed_on"), Column("heavy_chain"), Column("light_chain")),
                Row(Column("iss_stage"), Column("riss_stage")),
            ),
            Fieldset(
                "Cytogenetics (FISH)",
                "cytogenetics_tested_on",
                Row(Column("del_17p"), Column("t_4_14"), Column("t_14_16")),
                Row(Column("t_14_20"), Column("gain_1q"), Column("del_1p")),
            ),
            Fieldset(
                "Treatment history and risk factors",
                Row(Column("induction_regimen"), Column("best_response_pre_maintenance")),
                Row(Column("prior_vte"), Column("neuropathy_grade"), Column("on_dialysis")),
            ),
        )

    def _post_clean(self):
        pass


class RegistrationExtrasForm(forms.Form):
    clinic = forms.ModelChoiceField(queryset=None, empty_label=None)
    transplant_date = forms.DateField(
        required=False, widget=DATE, label="Autologous transplant date"
    )
    weight_kg = forms.DecimalField(
        required=False,
        max_digits=5,
        decimal_places=1,
        label="Weight today (kg)",
        min_value=25,
        max_value=350,
    )

    def __init__(self, *args, clinics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics
        self.helper = _helper(Row(Column("clinic"), Column("transplant_date"), Column("weight_kg")))


class TransplantForm(forms.Form):
    transplanted_on = forms.DateField(widget=DATE, label="Transplant date")
    kind = forms.ChoiceField(choices=[("autologous", "Autologous"), ("allogeneic", "Allogeneic")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(Row(Column("transplanted_on"), Column("kind")))


class WeightForm(forms.Form):
    measured_on = forms.DateField(widget=DATE, label="Date measured")
    weight_kg = forms.DecimalField(max_digits=5, decimal_places=1, label="Weight (kg)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(Row(Column("measured_on"), Column("weight_kg")))


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why is this entered in error?",
        help_text="For example: wrong patient, duplicate entry, typing error. The record is kept and marked.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class ChangeReasonForm(forms.Form):
    change_reason = forms.CharField(
        required=False, max_length=200, label="Reason for change (kept in history)"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class PatientSearchForm(forms.Form):
    q = forms.CharField(required=False, label="MRN or name")
    clinic = forms.ModelChoiceField(queryset=None, required=False, empty_label="All my clinics")
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Patient.Status.choices]
    )

    def __init__(self, *args, clinics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics
