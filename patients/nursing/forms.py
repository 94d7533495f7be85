"""Forms for notes and follow-up calls: shape and types only; the services decide the rules."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.utils import timezone

from patients.models import PatientNote
from patients.widgets import IsoDateInput

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
DATE = IsoDateInput()


def _helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    return helper


class NoteForm(forms.Form):
    kind = forms.ChoiceField(label="Type", choices=PatientNote.Kind.choices)
    reason = forms.ChoiceField(choices=[("", "Choose a reason")] + PatientNote.Reason.choices)
    contact_at = forms.DateTimeField(
        label="When",
        input_formats=["%Y-%m-%d %H:%M", DATETIME_LOCAL],
        # Typed as the app shows times (YYYY-MM-DD HH:MM), not the browser's locale picker.
        widget=forms.DateTimeInput(
            attrs={"placeholder": "YYYY-MM-DD HH:MM", "autocomplete": "off"},
            format="%Y-%m-%d %H:%M",
        ),
    )
    # Lenient: the service gives the exact words for an empty or over-long note.
    text = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 5}))
    follow_up_on = forms.DateField(
        label="Follow up on",
        required=False,
        widget=DATE,
        help_text="Optional: puts a call on the nurse worklist on that day.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        if not self.is_bound:
            self.initial.setdefault(
                "contact_at", timezone.localtime().replace(second=0, microsecond=0)
            )


class NoteCorrectionForm(NoteForm):
    change_reason = forms.CharField(
        label="Reason for the correction", required=False, max_length=200
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Why was this note entered in error?", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class CallDoneForm(forms.Form):
    outcome = forms.CharField(
        label="Outcome of the call",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Saved as a telephone note on the patient record.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()
