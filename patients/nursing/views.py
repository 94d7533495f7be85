"""Note and follow-up call pages: form -> access -> service/selector -> render/redirect."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from patients.access import patient_for_user
from patients.errors import DomainError
from patients.nursing import errors, forms, selectors, services
from patients.services import access_record

VIEW_NOTE = "patients.view_patientnote"
ADD_NOTE = "patients.add_patientnote"
CHANGE_NOTE = "patients.change_patientnote"
CHANGE_CALL = "patients.change_followupcall"


def _patient(request, public_id, perm):
    patient = patient_for_user(request.user, public_id, perm=perm)
    access_record(user=request.user, patient=patient, path=request.path)
    return patient


def _note(patient, note_id):
    note = selectors.note_of(patient, note_id)
    if note is None:
        raise Http404("No such note.")
    return note


def _own_note(patient, note_id, user):
    """A note its author may change; anyone else in the clinic gets 403 (they may read it)."""
    note = _note(patient, note_id)
    if note.author_id != user.pk:
        raise PermissionDenied(errors.NOTE_NOT_AUTHOR)
    return note


def _show_error(form, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _form_page(request, patient, form, title, *, note=None, danger=False, status=200):
    context = {"patient": patient, "form": form, "title": title, "note": note, "danger": danger}
    return render(request, "nursing/form_page.html", context, status=status)


def _back(request, patient):
    """Back to the page the call was opened from (the worklist), else the patient's notes."""
    target = request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return _to_notes(patient)


def _to_notes(patient):
    return redirect("patients:notes", public_id=patient.public_id)


def note_list(request, public_id):
    patient = _patient(request, public_id, VIEW_NOTE)
    include = request.GET.get("in_error") == "1"
    return render(
        request,
        "nursing/note_list.html",
        {
            "patient": patient,
            "notes": selectors.notes_for(patient, include_in_error=include),
            "calls": selectors.open_calls_for(patient),
            "include_in_error": include,
        },
    )


@require_http_methods(["GET", "POST"])
def note_add(request, public_id):
    patient = _patient(request, public_id, ADD_NOTE)
    form = forms.NoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.note_create(patient=patient, user=request.user, **form.cleaned_data)
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, "Note saved.")
            return _to_notes(patient)
    status = 400 if request.method == "POST" else 200
    return _form_page(request, patient, form, "New telephone or clinic note", status=status)


def note_detail(request, public_id, note_id):
    patient = _patient(request, public_id, VIEW_NOTE)
    note = _note(patient, note_id)
    versions = note.history.select_related("history_user").order_by("-history_date")
    return render(
        request,
        "nursing/note_detail.html",
        {"patient": patient, "note": note, "versions": versions},
    )


@require_http_methods(["GET", "POST"])
def note_correct(request, public_id, note_id):
    patient = _patient(request, public_id, CHANGE_NOTE)
    note = _own_note(patient, note_id, request.user)
    initial = {f: getattr(note, f) for f in ("kind", "reason", "text", "follow_up_on")}
    initial["contact_at"] = note.contact_at
    form = forms.NoteCorrectionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        change_reason = data.pop("change_reason")
        try:
            services.note_correct(
                note=note, user=request.user, data=data, change_reason=change_reason
            )
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, "Note corrected. The earlier version is kept in its history.")
            return redirect("patients:note", public_id=patient.public_id, note_id=note.public_id)
    status = 400 if request.method == "POST" else 200
    return _form_page(request, patient, form, "Correct a note", note=note, status=status)


@require_http_methods(["GET", "POST"])
def note_mark_error(request, public_id, note_id):
    patient = _patient(request, public_id, CHANGE_NOTE)
    note = _own_note(patient, note_id, request.user)
    form = forms.ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.note_mark_entered_in_error(
                note=note, user=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, "Note marked entered-in-error. It stays in the record.")
            return _to_notes(patient)
    status = 400 if request.method == "POST" else 200
    title = "Mark a note entered in error"
    return _form_page(request, patient, form, title, note=note, danger=True, status=status)


@require_http_methods(["GET", "POST"])
def call_done(request, public_id, call_id):
    patient = _patient(request, public_id, CHANGE_CALL)
    call = selectors.call_of(patient, call_id)
    if call is None:
        raise Http404("No such follow-up call.")
    form = forms.CallDoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.follow_up_call_done(
                call=call, user=request.user, outcome=form.cleaned_data["outcome"]
            )
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, f"{call.get_kind_display()} done for {patient.full_name}.")
            return _back(request, patient)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "nursing/call_done.html",
        {"patient": patient, "call": call, "form": form},
        status=status,
    )
