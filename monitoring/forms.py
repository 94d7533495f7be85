"""Forms check shape (numbers, choices, a time) and hand plain entries to the services;
limits, duplicates and unit mix-ups are decided in ``monitoring.services``."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.utils import timezone

from monitoring.services import COMPUTED_CODES, LabEntry
from patients import parsing
from patients.lab_catalogue import PANELS, find_test
from patients.widgets import IsoDateInput

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
# Typed as text ("2026-11-30 09:15"): one tab stop, ISO order, no browser date widget
# whose segments each take a Tab.
COLLECTED_AT_SHOWN = "%Y-%m-%d %H:%M"
COLLECTED_AT_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
)
COLLECTED_AT_INVALID = (
    "Type the collection time as YYYY-MM-DD HH:MM (24-hour clock), for example 2026-11-30 08:15."
)
WHICH_TIME_CHOICES = [
    (parsing.EARLIER, "The first one (daylight time, before the clocks went back)"),
    (parsing.LATER, "The second one (standard time, after the clocks went back)"),
]


class ClinicalDateTimeField(forms.Field):
    """A wall-clock time in the clinic's zone, parsed strictly (a date alone is refused);
    the hour repeated when the clocks go back is settled by the form's ``which`` field."""

    widget = forms.TextInput

    def to_python(self, value):
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            return None
        for fmt in COLLECTED_AT_FORMATS:
            try:
                return datetime.strptime(text, fmt)  # noqa: DTZ007 - zone applied in clean()
            except ValueError:
                continue
        raise forms.ValidationError(COLLECTED_AT_INVALID)


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

    collected_at = ClinicalDateTimeField(
        label="Collected at",
        help_text="YYYY-MM-DD HH:MM, clinic time; now unless the sample was drawn earlier.",
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "inputmode": "numeric",
                "placeholder": "YYYY-MM-DD HH:MM",
                "class": "form-control",
                "size": 16,
            }
        ),
    )
    # Shown only when the time typed happened twice (the night the clocks go back).
    which_time = forms.ChoiceField(
        label="Which one was it?",
        choices=WHICH_TIME_CHOICES,
        required=False,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )

    def __init__(
        self,
        *args,
        panel: str,
        units: dict[str, str],
        clinic_units: dict[str, str] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.panel = PANELS[panel]
        self.tests = [
            find_test(code) for code in self.panel.test_codes if code not in COMPUTED_CODES
        ]
        self.ask_which_time = False
        if not self.is_bound:
            self.initial.setdefault("collected_at", f"{timezone.localtime():{COLLECTED_AT_SHOWN}}")
        clinic_units = clinic_units or {}
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
                unit = units.get(test.code, test.canonical_unit)
                clinic_unit = clinic_units.get(test.code, test.canonical_unit)
                self.fields[f"unit_{test.code}"] = forms.ChoiceField(
                    label=f"{test.name} unit",
                    choices=[(u, u) for u in test.accepted_units],
                    initial=unit,
                    required=False,  # only needed with a value; the service says so
                    # Keyboard-first: Tab goes value -> next value when the unit is the
                    # clinic's default; a unit of the nurse's own stays in the tab order.
                    widget=forms.Select(attrs={"tabindex": "-1"} if unit == clinic_unit else {}),
                )
                self.fields[f"confirm_{test.code}"] = forms.BooleanField(
                    label="Value and unit checked", required=False
                )
                self.fields[f"confirm_low_{test.code}"] = forms.BooleanField(
                    label="The value and unit are right", required=False
                )
                self.fields[f"low_reason_{test.code}"] = forms.CharField(
                    label="Reason", required=False, max_length=1000
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

    def clean(self):
        data = super().clean()
        naive = data.get("collected_at")
        if naive is None:
            return data
        try:
            data["collected_at"] = parsing.make_clinic_aware(
                naive,
                timezone.get_current_timezone(),
                which=data.get("which_time") or "",
                name="Collection time",
            )
        except parsing.ParseError as error:
            self.ask_which_time = isinstance(error, parsing.AmbiguousTimeError)
            self.add_error("collected_at", error.message)
        return data

    def rows(self):
        """(test, value, unit or None, confirm or None, low confirm or None, low reason or
        None) in tab order."""
        for test in self.tests:
            numeric = test.is_numeric
            yield (
                test,
                self[f"value_{test.code}"],
                self[f"unit_{test.code}"] if numeric else None,
                self[f"confirm_{test.code}"] if numeric else None,
                self[f"confirm_low_{test.code}"] if numeric else None,
                self[f"low_reason_{test.code}"] if numeric else None,
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
                    confirm_low=bool(data.get(f"confirm_low_{test.code}")),
                    low_reason=data.get(f"low_reason_{test.code}", "") or "",
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
    confirm = forms.BooleanField(
        label="Value and unit checked (a large change, or below the lower plausibility limit)",
        required=False,
    )
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
        from patients.lab_catalogue import TESTS

        self.fields["test"].choices = [("", "All tests"), *((t.code, t.name) for t in TESTS)]

    # One strict range for query dates (patients.parsing): 9999-12-31 is refused, not
    # turned into a 500 when a day is added to it.
    def clean_since(self):
        return _bounded_date(self.cleaned_data.get("since"), "since")

    def clean_until(self):
        return _bounded_date(self.cleaned_data.get("until"), "until")


def _bounded_date(value, name: str):
    if value is not None and not parsing.EARLIEST_DATE <= value <= parsing.LATEST_DATE:
        raise forms.ValidationError(
            parsing.BAD_DATE.format(
                name=name,
                earliest=parsing.EARLIEST_DATE,
                latest=parsing.LATEST_DATE,
                value=f"{value:%Y-%m-%d}",
            )
        )
    return value
