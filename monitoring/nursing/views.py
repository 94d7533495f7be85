"""Nurse tool pages: notify physician, the printable worklist, the patient's dosing calendar."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from monitoring import access
from monitoring import selectors as monitoring_selectors
from monitoring.nursing import selectors, services
from patients import services as patient_services
from patients.access import clinics_for_user
from patients.errors import DomainError

PRINT_ROWS = 500  # a printed list longer than this is no longer a worklist
DEFAULT_CYCLES, MAX_CYCLES = 3, 6
CYCLES_MESSAGE = f"Cycles must be a whole number from 1 to {MAX_CYCLES}."


def _back(request, flag):
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("monitoring:patient_flags", kwargs={"public_id": flag.patient.public_id})
    return redirect(target)


@require_POST
def flag_notify_physician(request, flag_id):
    flag = access.flag_for(request.user, flag_id, perm="monitoring.acknowledge_flag")
    try:
        services.flag_notify_physician(flag=flag, user=request.user, note=request.POST.get("note"))
    except DomainError as error:
        messages.warning(request, error.message)
    else:
        messages.success(
            request,
            f"{flag.get_kind_display()} for {flag.patient.full_name} sent to the physician inbox.",
        )
    return _back(request, flag)


@require_POST
def flag_physician_seen(request, flag_id):
    flag = access.flag_for(request.user, flag_id, perm="monitoring.decide_flag")
    try:
        services.flag_physician_seen(flag=flag, user=request.user)
    except DomainError as error:
        messages.warning(request, error.message)
    else:
        messages.success(request, f"Nurse's request about {flag.patient.full_name} marked seen.")
    return _back(request, flag)


def worklist_print(request):
    """The nurse worklist on paper: every row, no navigation, no buttons."""
    clinic = access.clinic_for(request.user, request.GET.get("clinic"), perm="monitoring.view_flag")
    today = timezone.localdate()
    return render(
        request,
        "nursing/worklist_print.html",
        {
            "clinic": clinic,
            "clinics": clinics_for_user(request.user),
            "today": today,
            "printed_at": timezone.localtime(),
            "cbc": monitoring_selectors.cbc_due(clinic.pk, as_of=today)[:PRINT_ROWS],
            "cytopenias": monitoring_selectors.cytopenia_flags(clinic.pk)[:PRINT_ROWS],
            "pregnancy": monitoring_selectors.pregnancy_flags(clinic.pk)[:PRINT_ROWS],
            "follow_ups": selectors.worklist_follow_ups(clinic.pk, as_of=today)[:PRINT_ROWS],
        },
    )


def dosing_calendar(request, public_id):
    """The calendar handed to the patient: each day's dose, blood tests, pregnancy tests."""
    patient = access.patient_for(request.user, public_id, perm="therapy.view_maintenancecourse")
    patient_services.access_record(user=request.user, patient=patient, path=request.path)
    raw = request.GET.get("cycles", str(DEFAULT_CYCLES))
    # ASCII digits only: "²".isdigit() is true but int("²") fails.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_CYCLES:
        return render(
            request,
            "nursing/dosing_calendar.html",
            {"patient": patient, "error": CYCLES_MESSAGE},
            status=400,
        )
    today = timezone.localdate()
    plan = selectors.dosing_calendar(patient, today=today, cycles=int(raw))
    return render(
        request,
        "nursing/dosing_calendar.html",
        {
            "patient": patient,
            "clinic": patient.clinic,
            "plan": plan,
            "today": today,
            "cycles": int(raw),
            "cycle_choices": range(1, MAX_CYCLES + 1),
        },
    )
