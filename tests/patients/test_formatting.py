from decimal import Decimal

import pytest
from django.template import Context, Template

from patients.formatting import (
    MISSING,
    clinical_number,
    clinical_power_of_ten,
    clinical_quantity,
    person,
    person_named,
)


@pytest.mark.parametrize(
    ("value", "places", "shown"),
    [
        (Decimal("1.9900000000"), None, "1.99"),
        (Decimal("0E-10"), None, "0"),
        (Decimal("101.0000000000"), None, "101"),
        (Decimal("30.0000"), None, "30"),
        (Decimal("0.5000"), None, "0.5"),
        (Decimal("1E+3"), None, "1000"),
        (Decimal("0.0004"), 2, "0"),
        (Decimal("0.125"), 2, "0.13"),
        (Decimal("-0.0001"), 2, "0"),
        (Decimal("12.30"), 1, "12.3"),
        (7, None, "7"),
        (1.5, None, "1.5"),
        (None, None, MISSING),
        ("positive", None, "positive"),
    ],
)
def test_clinical_number_has_no_trailing_zeros_or_exponent(value, places, shown):
    assert clinical_number(value, places) == shown


def test_clinical_quantity_joins_unit_but_not_for_missing_values():
    assert clinical_quantity(Decimal("1.9900"), "g/dL") == "1.99 g/dL"
    assert clinical_quantity(None, "g/dL") == MISSING


def test_template_filter_uses_the_same_formatter():
    out = Template("{% load clinical %}{{ a|clinical }} {{ b|clinical:1 }}").render(
        Context({"a": Decimal("0.5000"), "b": Decimal("7.25")})
    )
    assert out == "0.5 7.3"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("0.0000020000"), "2 × 10^-6"),
        (Decimal("0.0000125"), "1.25 × 10^-5"),
        (Decimal("0.00001"), "1 × 10^-5"),
        (Decimal("0.0025"), "0.0025"),
        (Decimal("0"), "0"),
        (None, MISSING),
    ],
)
def test_a_small_fraction_reads_as_a_power_of_ten_never_an_exponent(value, shown):
    assert clinical_power_of_ten(value, 7) == shown


@pytest.mark.django_db
def test_a_person_is_named_by_full_name_else_username_else_system(django_user_model):
    named = django_user_model.objects.create_user("ada.l", first_name="Ada", last_name="Lovelace")
    bare = django_user_model.objects.create_user("rems.b")
    shown = Template("{% load clinical %}{{ a|person }} / {{ b|person }} / {{ c|person }}")
    assert shown.render(Context({"a": named, "b": bare, "c": None})) == (
        "Ada Lovelace / rems.b / system"
    )
    assert [person(u) for u in (named, bare, None)] == ["Ada Lovelace", "rems.b", "system"]
    # the same rule from a row's columns (lists read as tuples)
    assert [
        person_named("ada.l", "Ada", "Lovelace"),
        person_named("ada.l", "Ada", ""),
        person_named("rems.b", "", ""),
        person_named("rems.b", None, None),
        person_named(None, None, None),
    ] == ["Ada Lovelace", "Ada", "rems.b", "rems.b", "system"]
