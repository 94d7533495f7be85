"""The Cohort page's filters: each filter can also be the grouping."""

from __future__ import annotations

from django import forms

from monitoring.cohort.analysis import GROUPINGS, ORIGINS, Params

ANY = ("", "Any")
MAX_LANDMARK_DAYS = 3650


class CohortForm(forms.Form):
    group_by = forms.ChoiceField(
        label="Group by", required=False, choices=[("", "No grouping"), *GROUPINGS.items()]
    )
    origin = forms.ChoiceField(
        label="Time from",
        required=False,
        choices=[(key, label.capitalize()) for key, label in ORIGINS.items()],
    )
    landmark_days = forms.IntegerField(
        label="Landmark (days after the origin)",
        required=False,
        min_value=0,
        max_value=MAX_LANDMARK_DAYS,
        help_text="Only patients still event-free and followed then are counted.",
    )

    def __init__(self, *args, options: dict[str, list[str]], **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in GROUPINGS.items():
            self.fields[key] = forms.ChoiceField(
                label=label,
                required=False,
                choices=[ANY, *((value, value) for value in options.get(key, []))],
            )
        # Filters first, then the grouping and the time scale.
        order = [*GROUPINGS, "group_by", "origin", "landmark_days"]
        self.order_fields(order)
        for field in self.fields.values():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs["class"] = (
                f"{css} form-select-sm" if css == "form-select" else f"{css} form-control-sm"
            )

    def params(self) -> Params:
        data = self.cleaned_data if self.is_bound else {}
        return Params(
            filters=tuple((key, data.get(key) or "") for key in GROUPINGS if data.get(key)),
            group_by=data.get("group_by") or "",
            origin=data.get("origin") or "maintenance",
            landmark_days=data.get("landmark_days") or 0,
        )
