"""One date format everywhere (ISO), times in the clinic's time zone, date inputs typed as
shown rather than in the browser locale's mm/dd/yyyy."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse

from patients.formatting import MISSING, clinical_date, clinical_datetime
from patients.forms import WeightForm

# settings.TIME_ZONE is the clinic's zone (America/New_York): 5 hours behind UTC in winter.
UTC_EVENING = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)  # 2026-11-29 21:30 in New York


def test_a_time_is_shown_in_the_clinic_time_zone():
    assert clinical_datetime(UTC_EVENING) == "2026-11-29 21:30"


def test_a_stored_iso_time_with_an_offset_reads_the_same():
    assert clinical_datetime("2026-11-01T09:30:00-05:00") == "2026-11-01 09:30"
    assert clinical_datetime("2026-11-30T02:30:00+00:00") == "2026-11-29 21:30"


def test_a_date_is_iso_and_a_datetime_takes_the_clinic_calendar_day():
    assert clinical_date(date(2026, 3, 4)) == "2026-03-04"
    assert clinical_date(UTC_EVENING) == "2026-11-29"
    assert clinical_date(None) == MISSING


def test_dates_printed_without_a_format_are_iso():
    out = Template("{{ d }} · {{ t }}").render(Context({"d": date(2026, 3, 4), "t": UTC_EVENING}))
    assert out == "2026-03-04 · 2026-11-29 21:30"


def test_date_inputs_are_text_with_an_iso_placeholder_not_the_locale_picker():
    html = str(WeightForm()["measured_on"])
    assert 'type="text"' in html and 'type="date"' not in html
    assert 'placeholder="YYYY-MM-DD"' in html


def test_an_iso_date_parses_and_a_locale_date_is_refused():
    assert WeightForm({"measured_on": "2026-03-04", "weight_kg": "70"}).is_valid()
    form = WeightForm({"measured_on": "03/04/2026", "weight_kg": "70"})
    assert not form.is_valid() and "measured_on" in form.errors


@pytest.mark.django_db
def test_a_weight_typed_as_iso_is_saved_and_shown_without_trailing_zeros(
    client_for, nurse, patient
):
    client = client_for(nurse)
    response = client.post(
        reverse("patients:weight_add", args=[patient.public_id]),
        {"measured_on": "2026-03-04", "weight_kg": "70.0"},
    )
    assert response.status_code == 302
    assert patient.weights.get(measured_on=date(2026, 3, 4)).weight_kg == Decimal("70.0")
    page = client.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
    assert "70 kg · 2026-03-04" in page
