"""The nurse's lab entry page, through the client."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from monitoring import errors
from patients.models import ClinicLabUnit, LabResult, UserLabUnit
from tests.monitoring.conftest import at, record

pytestmark = pytest.mark.django_db

WHEN = "2025-03-03T08:30"


def entry_url(patient, panel="cbc"):
    return reverse("monitoring:lab_entry", args=[patient.public_id, panel])


def cbc_post(**overrides):
    data = {
        "collected_at": WHEN,
        "value_WBC": "5.2",
        "unit_WBC": "10^9/L",
        "value_ANC": "0.8",
        "unit_ANC": "10^9/L",
        "value_LYMPH": "1.1",
        "unit_LYMPH": "10^9/L",
        "value_HGB": "121",
        "unit_HGB": "g/L",
        "value_PLT": "140",
        "unit_PLT": "10^9/L",
    }
    data.update(overrides)
    return data


def _entry_form(page: str) -> str:
    return page.split('method="post" novalidate', 1)[1].split("</form>", 1)[0]


def _tab_stops(form_html: str) -> list[str]:
    """Names of the form's fields in Tab order (document order, tabindex=-1 skipped)."""
    stops = []
    for tag in re.findall(r"<(?:input|select|textarea|button)\b[^>]*>", form_html):
        if 'type="hidden"' in tag or 'tabindex="-1"' in tag:
            continue
        name = re.search(r'name="([^"]+)"', tag)
        stops.append(name.group(1) if name else "submit")
    return stops


def test_keyboard_first_collected_at_then_the_values_then_save(client_for, nurse, patient):
    page = client_for(nurse).get(entry_url(patient)).content.decode()
    stops = _tab_stops(_entry_form(page))
    # "Collected at" first (autofocused, defaulted to now), then the values one after the
    # other: the units are the clinic's defaults, so Tab skips them; then Save.
    assert stops == [
        "collected_at",
        "value_WBC",
        "value_ANC",
        "value_LYMPH",
        "value_HGB",
        "value_PLT",
        "submit",
    ]
    assert stops.index("value_WBC") <= 2
    collected = re.search(r'<input[^>]*name="collected_at"[^>]*>', page).group(0)
    assert "autofocus" in collected and re.search(
        r'value="\d{4}-\d{2}-\d{2} \d{2}:\d{2}"', collected
    )


def test_a_unit_other_than_the_clinic_default_stays_in_the_tab_order(client_for, nurse, patient):
    UserLabUnit.objects.create(user=nurse, test_code="HGB", unit="g/L")
    stops = _tab_stops(_entry_form(client_for(nurse).get(entry_url(patient)).content.decode()))
    assert stops[stops.index("value_HGB") + 1] == "unit_HGB"
    assert "unit_WBC" not in stops


def test_saved_panel_shows_canonical_values_grades_and_range_marks(client_for, nurse, patient):
    response = client_for(nurse).post(entry_url(patient), cbc_post(), follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][1] == 302
    assert LabResult.objects.filter(patient=patient).count() == 5
    assert "0.8 10^9/L" in page  # ANC, canonical, no trailing zero
    assert "CTCAE grade 3" in page  # ANC 0.8 < 1.0
    assert "12.1 g/dL" in page  # 121 g/L converted
    assert "121 g/L" in page  # as entered is kept
    hgb = LabResult.objects.get(test_code="HGB")
    assert hgb.canonical_value == Decimal("12.1")
    assert hgb.ctcae_grade == 0 and hgb.ctcae_version == "5.0"
    plt = LabResult.objects.get(test_code="PLT")
    assert plt.out_of_range == "low" and plt.ctcae_grade == 1
    assert plt.entered_by == nurse and plt.collected_at == at(date(2025, 3, 3), 8).replace(
        minute=30
    )
    assert plt.entered_at > plt.collected_at


def test_impossible_value_is_refused_with_the_limit_and_nothing_is_saved(
    client_for, nurse, patient
):
    response = client_for(nurse).post(
        entry_url(patient), cbc_post(value_HGB="300", unit_HGB="g/dL")
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "above the plausible maximum of 25 g/dL" in page
    assert "Nothing was saved" in page
    assert not LabResult.objects.exists()  # the valid values of the panel were not saved either


def test_unit_the_test_does_not_accept_is_refused(client_for, nurse, patient):
    response = client_for(nurse).post(entry_url(patient), cbc_post(unit_HGB="mg/dL"))
    assert response.status_code == 400
    assert not LabResult.objects.exists()


def test_not_a_number_is_refused_with_the_words_a_nurse_reads(client_for, nurse, patient):
    response = client_for(nurse).post(entry_url(patient), cbc_post(value_ANC="0.8.1x"))
    assert (
        errors.NOT_A_NUMBER.format(test="Neutrophils (ANC)", value="0.8.1x").replace("'", "&#x27;")
        in response.content.decode()
    )


@pytest.mark.parametrize("typed", ["0,4", "25,0", "1,2", "1,25"])
def test_a_decimal_comma_is_refused_not_read_as_a_tenfold_value(client_for, nurse, patient, typed):
    response = client_for(nurse).post(entry_url(patient), cbc_post(value_ANC=typed))
    message = errors.DECIMAL_COMMA.format(test="Neutrophils (ANC)", value=typed).replace(
        "'", "&#x27;"
    )
    assert message.replace("->", "-&gt;") in response.content.decode()
    assert not LabResult.objects.filter(patient=patient).exists()


def test_thousands_grouping_is_still_accepted(client_for, nurse, patient):
    client_for(nurse).post(entry_url(patient), cbc_post(value_PLT="145,000", unit_PLT="/uL"))
    assert LabResult.objects.get(patient=patient, test_code="PLT").canonical_value == Decimal("145")


def test_duplicate_collection_is_refused_with_a_link_to_the_existing_result(
    client_for, nurse, patient
):
    client = client_for(nurse)
    client.post(entry_url(patient), cbc_post())
    existing = LabResult.objects.get(test_code="ANC")
    response = client.post(entry_url(patient), cbc_post())
    page = response.content.decode()
    assert response.status_code == 400
    assert "is already recorded" in page
    assert reverse("monitoring:result", args=[patient.public_id, existing.pk]) in page
    assert LabResult.objects.count() == 5


def test_hundredfold_change_needs_the_confirmation_box(client_for, nurse, patient):
    record(patient, nurse, date(2025, 2, 1), PLT="150")
    client = client_for(nurse)
    # 150000 typed with the unit left at 10^9/L would be caught as impossible; 15000 /uL is
    # 15: a tenfold fall, fine. A typo of 1.5 (x100 fall) needs a confirmation.
    data = {"collected_at": WHEN, "value_PLT": "1.5", "unit_PLT": "10^9/L"}
    refused = client.post(entry_url(patient), data)
    assert refused.status_code == 400
    assert "100-fold fall" in refused.content.decode()
    assert 'name="confirm_PLT"' in refused.content.decode()
    assert LabResult.objects.count() == 1
    accepted = client.post(entry_url(patient), {**data, "confirm_PLT": "on"})
    assert accepted.status_code == 302
    saved = LabResult.objects.get(test_code="PLT", canonical_value=Decimal("1.5"))
    assert saved.suspicious_confirmed


def test_units_default_to_the_clinic_then_to_what_the_nurse_used_last(
    client_for, nurse, patient, clinic_a
):
    ClinicLabUnit.objects.create(clinic=clinic_a, test_code="HGB", unit="g/L")
    client = client_for(nurse)
    page = client.get(entry_url(patient)).content.decode()
    assert '<option value="g/L" selected>' in page
    client.post(entry_url(patient), cbc_post(value_HGB="7.5", unit_HGB="mmol/L"))
    assert UserLabUnit.objects.get(user=nurse, test_code="HGB").unit == "mmol/L"
    page = client.get(entry_url(patient)).content.decode()
    assert '<option value="mmol/L" selected>' in page


def test_flc_ratio_is_computed_when_kappa_and_lambda_are_entered(client_for, nurse, patient):
    data = {
        "collected_at": WHEN,
        "value_FLC_KAPPA": "4.5",
        "unit_FLC_KAPPA": "mg/dL",
        "value_FLC_LAMBDA": "15",
        "unit_FLC_LAMBDA": "mg/L",
        "value_SPEP_M": "0.4",
        "unit_SPEP_M": "g/dL",
    }
    response = client_for(nurse).post(entry_url(patient, "myeloma"), data, follow=True)
    ratio = LabResult.objects.get(test_code="FLC_RATIO")
    assert ratio.canonical_value == Decimal("3")  # 45 mg/L / 15 mg/L
    assert ratio.out_of_range == "high" and ratio.source == "computed"
    assert "Kappa/lambda ratio" in response.content.decode()


def test_pregnancy_panel_keeps_the_test_sensitivity(client_for, nurse, patient):
    data = {"collected_at": WHEN, "value_HCG_URINE_QUAL": "negative", "hcg_sensitivity": "25"}
    assert client_for(nurse).post(entry_url(patient, "pregnancy"), data).status_code == 302
    result = LabResult.objects.get()
    assert result.qualitative == "negative" and result.hcg_sensitivity_miu_ml == Decimal("25")


def test_mrd_panel_keeps_method_and_sensitivity(client_for, nurse, patient):
    data = {
        "collected_at": WHEN,
        "value_MRD": "negative",
        "mrd_method": "NGS",
        "mrd_sensitivity": "6",
    }
    assert client_for(nurse).post(entry_url(patient, "mrd"), data).status_code == 302
    result = LabResult.objects.get()
    assert (result.mrd_method, result.mrd_sensitivity_exponent) == ("NGS", 6)


def test_collection_time_in_the_future_is_refused(client_for, nurse, patient):
    response = client_for(nurse).post(entry_url(patient), cbc_post(collected_at="2099-01-01T08:00"))
    assert response.status_code == 400
    assert "is in the future" in response.content.decode()


def test_correction_keeps_the_old_value_marked_in_error(client_for, nurse, patient):
    (anc,) = record(patient, nurse, date(2025, 3, 1), ANC="0.8")
    url = reverse("monitoring:result_correct", args=[patient.public_id, anc.pk])
    response = client_for(nurse).post(
        url, {"value": "1.8", "unit": "10^9/L", "reason": "Transcription slip"}
    )
    assert response.status_code == 302
    anc.refresh_from_db()
    new = LabResult.objects.valid().get(test_code="ANC")
    assert anc.entered_in_error_reason == "Corrected: Transcription slip"
    assert new.corrects == anc and new.canonical_value == Decimal("1.8") and new.ctcae_grade == 1
    page = (
        client_for(nurse)
        .get(reverse("monitoring:result", args=[patient.public_id, anc.pk]))
        .content.decode()
    )
    assert "Corrected: Transcription slip" in page


def test_entered_in_error_result_drops_out_of_the_list_and_rules(client_for, nurse, patient):
    (anc,) = record(patient, nurse, date(2025, 3, 1), ANC="0.3")
    url = reverse("monitoring:result_mark_error", args=[patient.public_id, anc.pk])
    assert client_for(nurse).post(url, {"reason": ""}).status_code == 400
    assert client_for(nurse).post(url, {"reason": "Wrong patient"}).status_code == 302
    page = (
        client_for(nurse).get(reverse("monitoring:labs", args=[patient.public_id])).content.decode()
    )
    assert "No results." in page
    from patients.lab_selectors import latest_values

    assert latest_values(patient.pk, ["ANC"], as_of=date(2025, 3, 2)) == {}


def test_marking_kappa_in_error_withdraws_the_computed_ratio(nurse, patient):
    from monitoring import services

    saved = record(patient, nurse, date(2025, 3, 1), FLC_KAPPA="30", FLC_LAMBDA="10")
    kappa = next(r for r in saved if r.test_code == "FLC_KAPPA")
    services.lab_result_mark_entered_in_error(result=kappa, user=nurse, reason="Wrong tube")
    assert not LabResult.objects.valid().filter(test_code="FLC_RATIO").exists()
    assert LabResult.objects.filter(test_code="FLC_RATIO").count() == 1


def test_lab_list_filters_by_test_and_dates(client_for, nurse, patient):
    record(patient, nurse, date(2025, 3, 1), ANC="2.0", PLT="200")
    record(patient, nurse, date(2025, 4, 1), ANC="2.1")
    url = reverse("monitoring:labs", args=[patient.public_id])
    page = client_for(nurse).get(url, {"test": "ANC", "since": "2025-03-15"}).content.decode()
    assert (
        "2.1 10^9/L" in page
        and ">2 10^9/L<" not in page
        and "Platelets" not in page.split("<tbody>")[1]
    )


def test_record_page_shows_latest_labs_and_open_flags(client_for, nurse, patient):
    record(patient, nurse, date(2025, 3, 1), ANC="0.8")
    from tests.monitoring.conftest import evaluate

    evaluate(patient, date(2025, 3, 2))
    page = (
        client_for(nurse).get(reverse("patients:detail", args=[patient.public_id])).content.decode()
    )
    assert "Latest labs" in page and "0.8 10^9/L" in page
    assert "Neutropenia" in page and "Enter labs" in page
