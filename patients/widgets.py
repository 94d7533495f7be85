"""Form widgets shared by every app's forms."""

from django import forms


class IsoDateInput(forms.DateInput):
    """A date typed as ISO ``YYYY-MM-DD``, the one date format of the whole app.

    A browser's ``type="date"`` picker shows the operating system's locale (``mm/dd/yyyy`` in
    the US) while every page shows ISO dates; a text input with a pattern keeps one format.
    ``DateField`` parses ``%Y-%m-%d`` first, so the forms are unchanged.
    """

    input_type = "text"

    def __init__(self, attrs=None):
        defaults = {
            "placeholder": "YYYY-MM-DD",
            "pattern": r"\d{4}-\d{2}-\d{2}",
            "inputmode": "numeric",
            "autocomplete": "off",
            "title": "Date as YYYY-MM-DD",
            "size": 10,
        }
        super().__init__({**defaults, **(attrs or {})}, format="%Y-%m-%d")
