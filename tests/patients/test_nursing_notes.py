"""Telephone and clinic notes: written, corrected with history, withdrawn, never deleted;
a follow-up date puts a call on the worklist; only the clinic's clinical roles see them."""

from datetime import date, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import FollowUpCall, PatientNote
from patients.nursing import errors
from patients.nursing import services as nursing_services

pytestmark = pytest.mark.django_db

NOON = timezone.make_aware(datetime(2026, 3, 2, 12, 0))


@pytest.fixture(autouse=True)
def _clinic_day(time_machine):
    time_machine.move_to(NOON, tick=False)


def _post_note(client, patient, **overrides):
    data = {
        "kind": "telephone",
        "reason": "symptoms",
        "contact_at": "2026-03-02T10:15",
        "text": "Rash on both forearms since Saturday, no fever. Advised cetirizine.",
        "follow_up_on": "",
        **overrides,
    }
    return client.post(reverse("patients:note_add", args=[patient.public_id]), data)


def _note(patient, user, text="Called about refill; supply lasts until Friday.", **extra):
    return nursing_services.note_create(
        patient=patient,
        user=user,
        kind="telephone",
        reason="medication",
        text=text,
        contact_at=timezone.now(),
        **extra,
    )


def test_nurse_writes_a_note_and_reads_it_on_the_patient_page(client_for, nurse, patient):
    client = client_for(nurse)
    response = _post_note(client, patient)
    assert response.status_code == 302
    note = PatientNote.objects.get(patient=patient)
    assert note.author == nurse and note.kind == "telephone"
    assert note.contact_at == timezone.make_aware(datetime(2026, 3, 2, 10, 15))
    page = client.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
    assert "Telephone and clinic notes" in page
    assert "Rash on both forearms since Saturday" in page
    assert "2026-03-02 10:15" in page
    assert note.history.count() == 1


def test_an_empty_note_is_refused_with_words_and_nothing_is_saved(client_for, nurse, patient):
    response = _post_note(client_for(nurse), patient, text="   ")
    assert response.status_code == 400
    assert errors.NOTE_TEXT_REQUIRED in response.content.decode()
    assert not PatientNote.objects.exists()


def test_a_note_dated_tomorrow_is_refused(client_for, nurse, patient):
    response = _post_note(client_for(nurse), patient, contact_at="2026-03-03T09:00")
    assert response.status_code == 400
    assert "is in the future" in response.content.decode()
    assert not PatientNote.objects.exists()


def test_a_follow_up_date_puts_a_call_on_the_list_and_correcting_it_moves_the_call(
    client_for, nurse, patient
):
    client = client_for(nurse)
    _post_note(client, patient, follow_up_on="2026-03-05")
    note = PatientNote.objects.get()
    call = FollowUpCall.objects.get(note=note)
    assert (call.status, call.due_from, call.due_by) == ("open", date(2026, 3, 5), date(2026, 3, 5))
    response = client.post(
        reverse("patients:note_correct", args=[patient.public_id, note.public_id]),
        {
            "kind": "telephone",
            "reason": "symptoms",
            "contact_at": "2026-03-02T10:15",
            "text": note.text,
            "follow_up_on": "2026-03-06",
            "change_reason": "Patient asked for Friday",
        },
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.due_from == date(2026, 3, 6)
    assert FollowUpCall.objects.filter(note=note).count() == 1


def test_a_correction_keeps_the_earlier_text_in_the_history_page(client_for, nurse, patient):
    note = _note(patient, nurse, text="Refill due Friday.")
    client = client_for(nurse)
    url = reverse("patients:note_correct", args=[patient.public_id, note.public_id])
    response = client.post(
        url,
        {
            "kind": "telephone",
            "reason": "medication",
            "contact_at": "2026-03-02T12:00",
            "text": "Refill due Thursday.",
            "change_reason": "Wrong day",
        },
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.text == "Refill due Thursday."
    page = client.get(
        reverse("patients:note", args=[patient.public_id, note.public_id])
    ).content.decode()
    assert "Refill due Friday." in page and "Refill due Thursday." in page
    assert "Correction: Wrong day" in page


def test_a_correction_needs_a_reason(client_for, nurse, patient):
    note = _note(patient, nurse)
    response = client_for(nurse).post(
        reverse("patients:note_correct", args=[patient.public_id, note.public_id]),
        {
            "kind": "telephone",
            "reason": "medication",
            "contact_at": "2026-03-02T12:00",
            "text": "Changed.",
        },
    )
    assert response.status_code == 400
    assert errors.CORRECTION_REASON_REQUIRED in response.content.decode()
    note.refresh_from_db()
    assert note.text != "Changed."


def test_entered_in_error_keeps_the_note_and_cancels_its_call(client_for, nurse, patient):
    note = _note(patient, nurse, follow_up_on=date(2026, 3, 4))
    client = client_for(nurse)
    response = client.post(
        reverse("patients:note_mark_error", args=[patient.public_id, note.public_id]),
        {"reason": "Wrong patient"},
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.is_entered_in_error and note.entered_in_error_reason == "Wrong patient"
    assert FollowUpCall.objects.get(note=note).status == "cancelled"
    listing = client.get(reverse("patients:notes", args=[patient.public_id])).content.decode()
    assert note.text not in listing
    shown = client.get(
        reverse("patients:notes", args=[patient.public_id]) + "?in_error=1"
    ).content.decode()
    assert note.text in shown and "entered in error" in shown


def test_only_the_author_may_correct_a_note(client_for, nurse, physician, patient):
    note = _note(patient, nurse)
    client = client_for(physician)
    url = reverse("patients:note_correct", args=[patient.public_id, note.public_id])
    assert client.get(url).status_code == 403
    assert client.post(url, {"text": "x", "change_reason": "y"}).status_code == 403
    # The physician still reads it.
    detail = reverse("patients:note", args=[patient.public_id, note.public_id])
    assert client.get(detail).status_code == 200


def test_rems_administrator_may_not_read_or_write_notes(client_for, rems_admin, nurse, patient):
    _note(patient, nurse)
    client = client_for(rems_admin)
    assert client.get(reverse("patients:notes", args=[patient.public_id])).status_code == 403
    assert _post_note(client, patient).status_code == 403
    page = client.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
    assert "Telephone and clinic notes" not in page


def test_outsider_gets_404_for_notes_of_a_patient_of_another_clinic(
    client_for, outsider, nurse, patient
):
    note = _note(patient, nurse)
    client = client_for(outsider)
    assert client.get(reverse("patients:notes", args=[patient.public_id])).status_code == 404
    detail = reverse("patients:note", args=[patient.public_id, note.public_id])
    assert client.get(detail).status_code == 404
    assert _post_note(client, patient).status_code == 404


def test_a_note_id_of_another_patient_answers_404(client_for, nurse, patient, clinic_a):
    from tests.factories import PatientFactory

    other = PatientFactory(clinic=clinic_a, mrn="A-2002")
    note = _note(other, nurse)
    url = reverse("patients:note", args=[patient.public_id, note.public_id])
    assert client_for(nurse).get(url).status_code == 404


def test_notes_appear_on_the_patient_history_page(client_for, nurse, patient):
    _note(patient, nurse)
    page = (
        client_for(nurse)
        .get(reverse("patients:history", args=[patient.public_id]))
        .content.decode()
    )
    assert "Note" in page and "Note written" in page


def test_notes_are_timeline_events(nurse, patient):
    from patients.nursing.selectors import note_events

    _note(patient, nurse, text="Clinic visit: no new symptoms.")
    (event,) = note_events(patient)
    assert event.on == date(2026, 3, 2)
    assert event.label == "Telephone call: Medication, supply or adherence"
    assert event.detail == "Clinic visit: no new symptoms."


def test_the_timeline_page_shows_a_note_as_an_event(client_for, nurse, physician, patient):
    from therapy import services as therapy_services
    from therapy.models import Regimen

    therapy_services.course_start(
        patient=patient,
        user=physician,
        regimen=Regimen.objects.get(code="len-10-d1-21"),
        start_date=date(2026, 2, 2),
        vte_prophylaxis="aspirin",
        aspirin_dose_mg=81,
        justification="Synthetic test course",
    )
    _note(patient, nurse, text="Asked about missed dose on Sunday.")
    response = client_for(physician).get(reverse("monitoring:timeline", args=[patient.public_id]))
    assert response.status_code == 200
    assert "Telephone call: Medication, supply or adherence" in response.content.decode()


def test_the_patient_header_has_a_notes_tab_for_clinicians_only(
    client_for, nurse, rems_admin, patient
):
    notes = reverse("patients:notes", args=[patient.public_id])
    detail = reverse("patients:detail", args=[patient.public_id])
    assert f'href="{notes}">Notes</a>' in client_for(nurse).get(detail).content.decode()
    assert notes not in client_for(rems_admin).get(detail).content.decode()
