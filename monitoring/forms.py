"""Forms check shape (numbers, choices, a time) and hand plain entries to the services;
limits, duplicates and unit mix-ups are decided in ``monitoring.services``."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from monitoring.rules.catalogue import PANELS, find_test
from monitoring.services import COMPUTED_CODES, LabEntry
from patients.widgets import IsoDateInput

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
MRD_METHODS = [
    ("", "—"),
    ("NGF", "Next-generation flow"),
    ("NGS", "Next-generation sequencing"),
    ("other", "Other"),
]
MRD_SENSITIVITIES = [("", "—"), ("5", "10^-5"), ("6", "10^-6"), ("4", "10^-4")]


class LabPanelForm(forms.Form):
    """One panel for one collection time: a value, a unit and (when asked) a confirmation
    per test, in the order a nurse reads them off the lab report."""

    collected_at = forms.DateTimeField(
        label="Collected at",
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "autofocus": True}, format=DATETIME_LOCAL
        ),
    )

    def __init__(self, *args, panel: str, units: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.panel = PANELS[panel]
        self.tests = [
            find_test(code) for code in self.panel.test_codes if code not in COMPUTED_CODES
        ]
        if not self.is_bound:
            self.initial.setdefault(
                "collected_at", timezone.localtime().replace(second=0, microsecond=0)
            )
        for test in self.tests:
            if test.is_numeric:
                self.fields[f"value_{test.code}"] = forms.CharField(
                    label=test.name,
                    required=False,
                    max_length=30,
                    widget=forms.TextInput(
                        attrs={"inputmode": "decimal", "autocomplete": "off", "size": 8}
                    ),
                )
                self.fields[f"unit_{test.code}"] = forms.ChoiceField(
                    label=f"{test.name} unit",
                    choices=[(u, u) for u in test.accepted_units],
                    initial=units.get(test.code, test.canonical_unit),
                    required=False,  # only needed with a value; the service says so
                )
                self.fields[f"confirm_{test.code}"] = forms.BooleanField(
                    label="Value and unit checked", required=False
                )
            else:
                self.fields[f"value_{test.code}"] = forms.ChoiceField(
                    label=test.name,
                    required=False,
                    choices=[
                        ("", "—"),
                        *((c, c.replace("_", " ").capitalize()) for c in test.choices),
                    ],
                )
        if panel == "mrd":
            self.fields["mrd_method"] = forms.ChoiceField(
                label="MRD method", choices=MRD_METHODS, required=False
            )
            self.fields["mrd_sensitivity"] = forms.ChoiceField(
                label="MRD sensitivity", choices=MRD_SENSITIVITIES, required=False
            )
        if panel == "pregnancy":
            self.fields["hcg_sensitivity"] = forms.DecimalField(
                label="Test sensitivity (mIU/mL)",
                required=False,
                min_value=0,
                max_digits=8,
                decimal_places=2,
                help_text="The lowest hCG level the test detects (REMS: 50 mIU/mL or lower).",
            )

    def rows(self):
        """(test, value field, unit field or None, confirm field or None) in tab order."""
        for test in self.tests:
            yield (
                test,
                self[f"value_{test.code}"],
                self[f"unit_{test.code}"] if test.is_numeric else None,
                self[f"confirm_{test.code}"] if test.is_numeric else None,
            )

    def entries(self) -> list[LabEntry]:
        data = self.cleaned_data
        entries = []
        for test in self.tests:
            value = (data.get(f"value_{test.code}") or "").strip()
            if not value:
                continue
            entries.append(
                LabEntry(
                    test=test.code,
                    value=value,
                    unit=data.get(f"unit_{test.code}", "") if test.is_numeric else "",
                    confirm_suspicious=bool(data.get(f"confirm_{test.code}")),
                )
            )
        return entries

    def extras(self) -> dict:
        data = self.cleaned_data
        sensitivity = data.get("mrd_sensitivity")
        return {
            "mrd_method": data.get("mrd_method", ""),
            "mrd_sensitivity_exponent": int(sensitivity) if sensitivity else None,
            "hcg_sensitivity_miu_ml": data.get("hcg_sensitivity"),
        }


class CorrectionForm(forms.Form):
    value = forms.CharField(label="Corrected value", max_length=30)
    unit = forms.ChoiceField(label="Unit", required=False, choices=[])
    confirm = forms.BooleanField(label="Value and unit checked (large change)", required=False)
    reason = forms.CharField(
        label="Why is it corrected?", widget=forms.Textarea(attrs={"rows": 2}), max_length=1000
    )

    def __init__(self, *args, test, **kwargs):
        super().__init__(*args, **kwargs)
        if test.is_numeric:
            self.fields["unit"].choices = [(u, u) for u in test.accepted_units]
            self.fields["unit"].required = True
        else:
            del self.fields["unit"]
            del self.fields["confirm"]
            self.fields["value"] = forms.ChoiceField(
                label="Corrected result", choices=[(c, c) for c in test.choices]
            )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason (for example: wrong patient, duplicate entry)",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
    )


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"placeholder": "Note (optional)"}),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class ResultFilterForm(forms.Form):
    test = forms.ChoiceField(required=False, choices=[])
    since = forms.DateField(required=False, widget=IsoDateInput())
    until = forms.DateField(required=False, widget=IsoDateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from monitoring.rules.catalogue import TESTS

        self.fields["test"].choices = [("", "All tests"), *((t.code, t.name) for t in TESTS)]
