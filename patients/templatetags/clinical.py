"""``{% load clinical %}`` then ``{{ value|clinical }}`` or ``{{ value|clinical:2 }}``: the one
formatter (``patients.formatting``) for clinical numbers in templates; ``clinical_datetime``
and ``clinical_date`` for times (clinic time zone, ``YYYY-MM-DD HH:MM``) and dates;
``person`` for who did something (full name, else username, else "system")."""

from django import template

from patients.formatting import clinical_date as format_date
from patients.formatting import clinical_datetime as format_datetime
from patients.formatting import clinical_number
from patients.formatting import person as format_person

register = template.Library()


@register.filter(name="clinical")
def clinical(value, places=None):
    if places in (None, ""):
        return clinical_number(value)
    try:
        return clinical_number(value, int(places))
    except (TypeError, ValueError):
        return clinical_number(value)


@register.filter(name="clinical_datetime")
def clinical_datetime(value):
    return format_datetime(value)


@register.filter(name="clinical_date")
def clinical_date(value):
    return format_date(value)


@register.filter(name="person")
def person(user):
    return format_person(user)
