"""``{% load clinical %}`` then ``{{ value|clinical }}`` or ``{{ value|clinical:2 }}``: the one
formatter (``patients.formatting``) for clinical numbers in templates."""

from django import template

from patients.formatting import clinical_number

register = template.Library()


@register.filter(name="clinical")
def clinical(value, places=None):
    if places in (None, ""):
        return clinical_number(value)
    try:
        return clinical_number(value, int(places))
    except (TypeError, ValueError):
        return clinical_number(value)
