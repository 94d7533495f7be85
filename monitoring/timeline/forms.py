from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms

from monitoring.timeline.models import ResponseAssessment
from patients.widgets import IsoDateInput


class ResponseAssessmentForm(forms.ModelForm):
    class Meta:
        model = ResponseAssessment
        fields = [
            "assessed_on",
            "category",
            "basis",
            "serum_immunofixation",
            "urine_immunofixation",
            "marrow_plasma_cell_pct",
            "marrow_clonal_cells",
            "imaging",
            "imaging_note",
        ]
        widgets = {
            "assessed_on": IsoDateInput(),
            "basis": forms.Textarea(attrs={"rows": 2}),
            "imaging_note": forms.Textarea(attrs={"rows": 1}),
        }
        labels = {"marrow_plasma_cell_pct": "Marrow plasma cells (%)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Row(Column("assessed_on"), Column("category")),
            "basis",
            Row(Column("serum_immunofixation"), Column("urine_immunofixation")),
            Row(Column("marrow_plasma_cell_pct"), Column("marrow_clonal_cells")),
            Row(Column("imaging"), Column("imaging_note")),
        )

    def _post_clean(self):
        # The service validates (with the patient's diagnosis date and IMWG evidence rules).
        pass
