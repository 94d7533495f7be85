"""The interface queue: held and refused lab messages, and what a person can do with them.

Nurses see the messages of their clinics; administrators (superusers) also see those from
unregistered senders, which belong to no clinic yet. Every action is a service that
writes the message's history (who, when, why).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from monitoring.interop import hl7 as ingest
from monitoring.interop import services as interop_services
from monitoring.interop.forms import (
    CodeMappingForm,
    MatchPatientForm,
    RejectForm,
    UnitMappingForm,
)
from monitoring.interop.models import InterfaceMessage
from patients import services as patient_services
from patients.access import require_perm
from patients.errors import DomainError
from patients.models import Patient

VIEW = "monitoring.view_interfacemessage"
CHANGE = "monitoring.change_interfacemessage"
# The mapping tables are global (every clinic's results): administrators only, never a
# clinical role by default. Matching a patient, retrying and rejecting need CHANGE only.
MAP_CODE = ("monitoring.add_labcodemapping", "monitoring.change_labcodemapping")
MAP_UNIT = ("monitoring.add_unitmapping", "monitoring.change_unitmapping")
MAPPING_FORBIDDEN = "Only an administrator may change the code and unit mapping tables."
PAGE_SIZE = 25


def message_for(user, pk: int, *, perm: str) -> InterfaceMessage:
    require_perm(user, perm)
    row = (
        InterfaceMessage.objects.for_user(user)
        .select_related("clinic", "patient", "resolved_by")
        .filter(pk=pk)
        .first()
    )
    if row is None:
        raise Http404("No such message.")
    return row


@login_required
@require_GET
def queue(request):
    require_perm(request.user, VIEW)
    show = request.GET.get("show", "open")
    rows = InterfaceMessage.objects.for_user(request.user).select_related("clinic", "patient")
    if show != "all":
        rows = rows.needing_action()
    page = Paginator(rows.order_by("-received_at"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "interop/queue.html", {"page": page, "show": show})


def _parsed(row: InterfaceMessage) -> list[tuple[str, list[tuple[int, str]]]]:
    """Each segment with its non-empty fields, numbered as in the HL7 standard."""
    segments = []
    for line in ingest.normalise(row.raw).split("\r"):
        parts = line.split("|")
        name = parts[0][:3]
        offset = 1 if name == "MSH" else 0  # MSH-1 is the field separator itself
        fields = [(n + offset, value) for n, value in enumerate(parts[1:], start=1) if value]
        segments.append((name, fields))
    return segments


@login_required
@require_GET
def message_detail(request, pk: int):
    row = message_for(request.user, pk, perm=VIEW)
    if row.patient is not None:
        patient_services.access_record(user=request.user, patient=row.patient, path=request.path)
    problems = row.problems or []
    first_code = next(
        (p for p in problems if p.get("segment") == "OBX" and p.get("field") == 3), None
    )
    first_unit = next(
        (p for p in problems if p.get("segment") == "OBX" and p.get("field") == 6), None
    )
    context = {
        "row": row,
        "problems": problems,
        "segments": _parsed(row) if row.channel != InterfaceMessage.Channel.FHIR else [],
        "history": row.history.select_related("history_user").order_by("-history_date")[:50],
        "can_act": request.user.has_perm(CHANGE) and row.status in InterfaceMessage.OPEN_STATUSES,
        "match_form": MatchPatientForm(),
        "code_form": CodeMappingForm(initial={"local_code": _quoted(first_code)}),
        "unit_form": UnitMappingForm(initial={"spelling": _quoted(first_unit)}),
        "reject_form": RejectForm(),
        "needs_code": first_code is not None,
        "needs_unit": first_unit is not None,
        "needs_patient": any(p.get("segment") == "PID" for p in problems),
        "can_map_code": request.user.has_perms(MAP_CODE),
        "can_map_unit": request.user.has_perms(MAP_UNIT),
    }
    return render(request, "interop/message.html", context)


def _quoted(problem: dict | None) -> str:
    """The first 'quoted' value of a problem text (the code or unit it names)."""
    if not problem:
        return ""
    text = problem.get("problem", "")
    start = text.find("'")
    end = text.find("'", start + 1)
    return text[start + 1 : end] if start >= 0 and end > start else ""


def _done(request, row: InterfaceMessage):
    if row.status == InterfaceMessage.Status.ACCEPTED:
        messages.success(
            request, f"Message {row.control_id}: stored, {len(row.result_ids)} results."
        )
    elif row.status == InterfaceMessage.Status.REJECTED:
        messages.success(request, f"Message {row.control_id or row.pk}: rejected.")
    else:
        messages.warning(request, f"Still held: {row.reason}")
    return redirect("interface:message", pk=row.pk)


@login_required
@require_POST
def message_retry(request, pk: int):
    row = message_for(request.user, pk, perm=CHANGE)
    try:
        row = interop_services.message_retry(message=row, user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("interface:message", pk=pk)
    return _done(request, row)


@login_required
@require_POST
def message_match(request, pk: int):
    row = message_for(request.user, pk, perm=CHANGE)
    form = MatchPatientForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the patient's MRN.")
        return redirect("interface:message", pk=pk)
    patients = (
        Patient.objects.for_user(request.user).valid().filter(mrn=form.cleaned_data["mrn"].strip())
    )
    if row.clinic_id:
        patients = patients.filter(clinic_id=row.clinic_id)
    patient = patients.select_related("clinic").first()
    if patient is None:
        messages.error(request, f"No patient with MRN {form.cleaned_data['mrn']} in your clinics.")
        return redirect("interface:message", pk=pk)
    try:
        row = interop_services.message_match_patient(
            message=row, patient=patient, user=request.user
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("interface:message", pk=pk)
    return _done(request, row)


@login_required
@require_POST
def message_map_code(request, pk: int):
    row = message_for(request.user, pk, perm=CHANGE)
    if not request.user.has_perms(MAP_CODE):
        raise PermissionDenied(MAPPING_FORBIDDEN)
    form = CodeMappingForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the laboratory code and choose a catalogue test.")
        return redirect("interface:message", pk=pk)
    interop_services.code_mapping_save(
        facility=row.sending_facility, user=request.user, **form.cleaned_data
    )
    return message_retry(request, pk)


@login_required
@require_POST
def message_map_unit(request, pk: int):
    row = message_for(request.user, pk, perm=CHANGE)
    if not request.user.has_perms(MAP_UNIT):
        raise PermissionDenied(MAPPING_FORBIDDEN)
    form = UnitMappingForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the unit as sent and choose a catalogue unit.")
        return redirect("interface:message", pk=row.pk)
    try:
        interop_services.unit_mapping_save(user=request.user, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("interface:message", pk=row.pk)
    return message_retry(request, pk)


@login_required
@require_POST
def message_reject(request, pk: int):
    row = message_for(request.user, pk, perm=CHANGE)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, interop_services.REASON_REQUIRED)
        return redirect("interface:message", pk=pk)
    try:
        row = interop_services.message_reject(
            message=row, user=request.user, reason=form.cleaned_data["reason"]
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("interface:message", pk=pk)
    return _done(request, row)
