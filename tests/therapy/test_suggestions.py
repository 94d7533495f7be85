"""Dose suggestions: raised idempotently by the monitoring sweep, accepted in one click by
a physician (creating the hold or dose change, linked), dismissed only with a reason."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from patients.errors import DomainError
from tests.therapy.conftest import START
from therapy import dosing, errors, services
from therapy.models import DoseChange, DoseSuggestion, Hold

pytestmark = pytest.mark.django_db
ON = START + timedelta(days=40)


def hold_finding(anc="0.4", platelets="120", level=dosing.LEVEL_10_21, held=False):
    return dosing.hematologic_dose_guidance(
        anc=anc, platelets=platelets, current_level=level, on_hold_for_cytopenia=held
    )


def raise_hold(patient, course, evidence=None, **kw):
    finding = hold_finding(**kw)
    return services.dose_suggestion_raise(
        patient=patient,
        course=course,
        kind=finding.outcome,
        finding=finding,
        evidence=evidence
        if evidence is not None
        else [{"result_id": 11, "code": "ANC", "value": Decimal("0.4"), "collected_on": ON}],
        as_of=ON,
    )


def test_raising_twice_updates_the_one_pending_suggestion(course, patient):
    first = raise_hold(patient, course)
    second = raise_hold(patient, course, anc="0.3", evidence=[{"result_id": 12}])
    assert first.pk == second.pk
    assert DoseSuggestion.objects.count() == 1
    second.refresh_from_db()
    assert second.finding["values"]["anc"] == "0.3"
    assert second.finding["thresholds"][0]["key"] == "dosing.hold.anc_below"
    assert second.finding["thresholds"][0]["version"] == 1
    assert second.evidence == [{"result_id": 12}]


def test_a_dismissed_suggestion_is_not_raised_again_on_the_same_labs(course, patient, physician):
    first = raise_hold(patient, course)
    services.dose_suggestion_dismiss(suggestion=first, user=physician, reason="Lab error suspected")
    again = raise_hold(patient, course)
    assert again.pk == first.pk and again.status == "dismissed"
    fresh = raise_hold(patient, course, evidence=[{"result_id": 99}])
    assert fresh.status == "pending" and fresh.pk != first.pk


def test_accepting_a_hold_suggestion_creates_the_hold_and_links_it(course, patient, physician):
    suggestion = raise_hold(patient, course)
    services.dose_suggestion_accept(suggestion=suggestion, user=physician, on=ON)
    suggestion.refresh_from_db()
    hold = Hold.objects.get()
    assert (hold.start_date, hold.reason, hold.end_date) == (ON, "neutropenia", None)
    assert suggestion.status == "accepted"
    assert suggestion.created_hold == hold
    assert suggestion.decided_by == physician


def test_accepting_resume_lower_ends_the_hold_and_reduces_the_dose(course, patient, physician):
    hold = services.hold_start(course=course, user=physician, start_date=ON, reason="neutropenia")
    finding = hold_finding(anc="0.9", held=True)
    assert finding.outcome == "resume_lower"
    suggestion = services.dose_suggestion_raise(
        patient=patient, course=course, kind="resume_lower", finding=finding, evidence=[], as_of=ON
    )
    services.dose_suggestion_accept(
        suggestion=suggestion, user=physician, on=ON + timedelta(days=8)
    )
    suggestion.refresh_from_db()
    hold.refresh_from_db()
    assert hold.end_date == ON + timedelta(days=8)
    change = DoseChange.objects.get()
    assert change.to_level == dosing.LEVEL_5_21
    assert suggestion.created_dose_change == change and suggestion.created_hold == hold


def test_accepting_a_renal_review_changes_the_dose_with_reason_renal(course, patient, physician):
    finding = dosing.renal_band_crossed(70, 45, on_dialysis=False)
    suggestion = services.dose_suggestion_raise(
        patient=patient,
        course=course,
        kind="renal_dose_review",
        finding=finding,
        evidence=[],
        as_of=ON,
    )
    services.dose_suggestion_accept(suggestion=suggestion, user=physician, on=ON)
    change = DoseChange.objects.get()
    assert (change.to_level, change.reason) == (dosing.LEVEL_5_28, "renal_function")


def test_dismissing_needs_a_reason(course, patient, physician):
    suggestion = raise_hold(patient, course)
    with pytest.raises(DomainError) as raised:
        services.dose_suggestion_dismiss(suggestion=suggestion, user=physician, reason="  ")
    assert raised.value.message == errors.DISMISS_REASON_REQUIRED
    suggestion.refresh_from_db()
    assert suggestion.status == "pending"


def test_a_decided_suggestion_cannot_be_decided_again(course, patient, physician):
    suggestion = raise_hold(patient, course)
    services.dose_suggestion_dismiss(suggestion=suggestion, user=physician, reason="Known")
    with pytest.raises(DomainError) as raised:
        services.dose_suggestion_accept(suggestion=suggestion, user=physician, on=ON)
    assert raised.value.message == errors.SUGGESTION_NOT_PENDING.format(status="dismissed")
    assert not Hold.objects.exists()


def test_withdrawing_returns_how_many_were_withdrawn(course, patient):
    raise_hold(patient, course)
    assert services.dose_suggestion_withdraw(patient=patient, kind="hold", reason="recovered") == 1
    assert services.dose_suggestion_withdraw(patient=patient, kind="hold", reason="recovered") == 0
    assert DoseSuggestion.objects.get().withdraw_reason == "recovered"


# --- Through the pages --------------------------------------------------------------------


def test_physician_accepts_in_one_click_on_the_course_page(client_for, physician, course, patient):
    suggestion = raise_hold(patient, course)
    client = client_for(physician)
    page = client.get(reverse("therapy:course", args=[patient.public_id])).content.decode()
    assert "dosing.hematologic_dose_guidance" in page
    assert "hold: ANC below 0.5 10^9/L (label" in page  # the threshold and its source
    assert "<code>dosing.hold.anc_below</code>" in page  # its key, in the rule details
    response = client.post(
        reverse("monitoring:suggestion_accept", args=[patient.public_id, suggestion.public_id])
    )
    assert response.status_code == 302
    suggestion.refresh_from_db()
    assert suggestion.status == "accepted" and suggestion.created_hold is not None


def test_nurse_sees_suggestions_read_only_and_cannot_accept(client_for, nurse, course, patient):
    suggestion = raise_hold(patient, course)
    client = client_for(nurse)
    page = client.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
    assert "Interrupt lenalidomide" in page
    assert "A physician decides on this suggestion." in page
    assert ">Accept<" not in page
    url = reverse("monitoring:suggestion_accept", args=[patient.public_id, suggestion.public_id])
    assert client.post(url).status_code == 403
    suggestion.refresh_from_db()
    assert suggestion.status == "pending" and not Hold.objects.exists()


def test_dismissing_on_the_page_without_a_reason_shows_the_message(
    client_for, physician, course, patient
):
    suggestion = raise_hold(patient, course)
    url = reverse("monitoring:suggestion_dismiss", args=[patient.public_id, suggestion.public_id])
    response = client_for(physician).post(url, {"reason": ""})
    assert response.status_code == 400
    assert errors.DISMISS_REASON_REQUIRED in response.content.decode()
    response = client_for(physician).post(url, {"reason": "Repeat CBC first"})
    assert response.status_code == 302
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.dismiss_reason) == ("dismissed", "Repeat CBC first")


def test_raise_needs_a_known_kind(course, patient):
    with pytest.raises(DomainError):
        services.dose_suggestion_raise(
            patient=patient,
            course=course,
            kind="bogus",
            finding=hold_finding(),
            evidence=[],
            as_of=date(2024, 9, 20),
        )
