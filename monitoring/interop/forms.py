"""Forms of the interface queue: shape only; the services decide."""

from __future__ import annotations

from django import forms

from monitoring.interop.models import CATALOGUE_UNITS, TEST_CHOICES

TEXT = {"class": "form-control form-control-sm"}
SELECT = {"class": "form-select form-select-sm"}


class MatchPatientForm(forms.Form):
    mrn = forms.CharField(
        label="MRN of the patient these results belong to",
        max_length=32,
        widget=forms.TextInput(TEXT),
    )


class CodeMappingForm(forms.Form):
    local_code = forms.CharField(
        label="Laboratory code (OBX-3)", max_length=60, widget=forms.TextInput(TEXT)
    )
    test_code = forms.ChoiceField(
        label="Catalogue test",
        choices=[("", "Choose a test…"), *TEST_CHOICES],
        widget=forms.Select(attrs=SELECT),
    )


class UnitMappingForm(forms.Form):
    spelling = forms.CharField(
        label="Unit as sent (OBX-6, exact)", max_length=40, widget=forms.TextInput(TEXT)
    )
    unit = forms.ChoiceField(
        label="Catalogue unit",
        choices=[("", "Choose a unit…"), *((u, u) for u in CATALOGUE_UNITS)],
        widget=forms.Select(attrs=SELECT),
    )

    def clean_spelling(self):
        spelling = self.cleaned_data["spelling"].strip()
        if not spelling:
            raise forms.ValidationError("Enter the unit as the laboratory sent it.")
        return spelling


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason (for example: test message, patient not treated here)",
        widget=forms.Textarea(attrs={"rows": 2, **TEXT}),
        max_length=1000,
    )
