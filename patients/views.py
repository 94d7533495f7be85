from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch
from django.views.decorators.http import require_http_methods, require_POST

from patients import selectors, services
from patients.access import clinics_for_user, patient_for_user, require_perm
from patients.errors import DomainError
from patients.forms import (
    ChangeReasonForm,
    DiagnosisForm,
    PatientForm,
    PatientSearchForm,
    ReasonForm,
    RegistrationExtrasForm,
    TransplantForm,
    WeightForm,
)
from patients.models import Patient, Transplant, WeightMeasurement
from patients.roles import ANALYST, NURSE, PHYSICIAN, REMS_ADMINISTRATOR

PAGE_SIZE = 25


def _show_error(form, error: DomainError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


# Where each role starts its day: nurses work the worklist, physicians their inbox of
# decisions, REMS administrators the REMS list. Named URLs, so patients imports no other app.
HOME_BY_ROLE = [
    ("monitoring.view_flag", NURSE, "monitoring:worklist"),
    ("therapy.decide_dosesuggestion", PHYSICIAN, "monitoring:inbox"),
    ("therapy.change_remsenrollment", REMS_ADMINISTRATOR, "therapy:rems_list"),
    ("monitoring.view_cohort", ANALYST, "monitoring:cohort"),
]


def home(request):
    roles = {g.name for g in request.user.groups.all()}
    for perm, role, url_name in HOME_BY_ROLE:
        if role in roles and request.user.has_perm(perm):
            try:
                return redirect(url_name)
            except NoReverseMatch:
                break
    return redirect("patients:list")


def patient_list(request):
    require_perm(request.user, "patients.view_patient")
    clinics = clinics_for_user(request.user)
    form = PatientSearchForm(request.GET or None, clinics=clinics)
    filters = form.cleaned_data if form.is_valid() else {}
    clinic = filters.get("clinic")
    patients = selectors.patient_list(
        user=request.user,
        search=filters.get("q", ""),
        clinic_id=clinic.pk if clinic else None,
        status=filters.get("status", ""),
    )
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "patients/patient_list.html",
        {"form": form, "page": page, "query": query.urlencode(), "clinics": clinics},
    )


@require_http_methods(["GET", "POST"])
def patient_create(request):
    require_perm(request.user, "patients.add_patient")
    clinics = clinics_for_user(request.user)
    patient_form = PatientForm(request.POST or None, prefix="patient")
    diagnosis_form = DiagnosisForm(request.POST or None, prefix="diagnosis")
    extras_form = RegistrationExtrasForm(request.POST or None, clinics=clinics, prefix="extras")
    # A list, not a generator: every form is validated so every error shows at once.
    forms_ok = request.method == "POST" and all(
        [f.is_valid() for f in (patient_form, diagnosis_form, extras_form)]  # noqa: C419
    )
    if forms_ok:
        extras = extras_form.cleaned_data
        try:
            patient = services.patient_create(
                clinic=extras["clinic"],
                user=request.user,
                patient_data=patient_form.cleaned_data,
                diagnosis_data=diagnosis_form.cleaned_data,
                transplant_dates=[extras["transplant_date"]]
                if extras.get("transplant_date")
                else [],
                weight_kg=extras.get("weight_kg"),
            )
        except DomainError as error:
            target = patient_form if error.field in patient_form.fields else diagnosis_form
            if error.field in extras_form.fields or error.field in (
                "transplanted_on",
                "measured_on",
            ):
                target = extras_form
            _show_error(target, error)
        else:
            messages.success(request, f"Registered {patient.full_name} ({patient.mrn}).")
            return redirect("patients:detail", public_id=patient.public_id)
    return render(
        request,
        "patients/patient_create.html",
        {
            "patient_form": patient_form,
            "diagnosis_form": diagnosis_form,
            "extras_form": extras_form,
        },
    )


def patient_detail(request, public_id):
    patient = patient_for_user(request.user, public_id)
    services.access_record(user=request.user, patient=patient, path=request.path)
    patient = selectors.patient_summary(patient)
    return render(
        request,
        "patients/patient_detail.html",
        {
            "patient": patient,
            "risk": selectors.cytogenetic_risk_for(getattr(patient, "diagnosis", None)),
            "transplant_form": TransplantForm(),
            "weight_form": WeightForm(),
        },
    )


def patient_history(request, public_id):
    patient = patient_for_user(request.user, public_id)
    services.access_record(user=request.user, patient=patient, path=request.path)
    return render(
        request,
        "patients/patient_history.html",
        {
            "patient": selectors.patient_summary(patient),
            "entries": selectors.patient_history(patient),
        },
    )


def _edit_record(request, patient, form, *, save, title: str, saved: str):
    """An edit page: the record's form and a reason for the change, saved by ``save``."""
    reason_form = ChangeReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and reason_form.is_valid():
        try:
            save(
                patient=patient,
                user=request.user,
                data=form.cleaned_data,
                reason=reason_form.cleaned_data["change_reason"],
            )
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, f"{saved} The previous values are kept in the history.")
            return redirect("patients:detail", public_id=patient.public_id)
    context = {"patient": patient, "form": form, "reason_form": reason_form, "title": title}
    return render(request, "patients/record_form.html", context)


@require_http_methods(["GET", "POST"])
def patient_edit(request, public_id):
    patient = patient_for_user(request.user, public_id, perm="patients.change_patient")
    form = PatientForm(request.POST or None, instance=patient)
    return _edit_record(
        request,
        patient,
        form,
        save=services.patient_update,
        title="Edit demographics",
        saved="Demographics saved.",
    )


@require_http_methods(["GET", "POST"])
def diagnosis_edit(request, public_id):
    patient = patient_for_user(request.user, public_id, perm="patients.change_diagnosis")
    form = DiagnosisForm(request.POST or None, instance=selectors.diagnosis_for(patient))
    return _edit_record(
        request,
        patient,
        form,
        save=services.diagnosis_save,
        title="Edit diagnosis and history",
        saved="Diagnosis and history saved.",
    )


@require_POST
def transplant_add(request, public_id):
    patient = patient_for_user(request.user, public_id, perm="patients.add_transplant")
    form = TransplantForm(request.POST)
    if form.is_valid():
        try:
            services.transplant_add(patient=patient, user=request.user, **form.cleaned_data)
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, "Transplant recorded.")
            return redirect("patients:detail", public_id=patient.public_id)
    return _render_single_form(request, patient, form, "Record a transplant")


@require_POST
def weight_add(request, public_id):
    patient = patient_for_user(request.user, public_id, perm="patients.add_weightmeasurement")
    form = WeightForm(request.POST)
    if form.is_valid():
        try:
            services.weight_add(patient=patient, user=request.user, **form.cleaned_data)
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, "Weight recorded.")
            return redirect("patients:detail", public_id=patient.public_id)
    return _render_single_form(request, patient, form, "Record a weight")


def _render_single_form(request, patient, form, title):
    return render(
        request,
        "patients/record_form.html",
        {"patient": patient, "form": form, "title": title},
        status=400,
    )


ERROR_MARKABLE = {
    "patient": (Patient, "patients.change_patient"),
    "transplant": (Transplant, "patients.change_transplant"),
    "weight": (WeightMeasurement, "patients.change_weightmeasurement"),
}


@require_http_methods(["GET", "POST"])
def mark_entered_in_error(request, public_id, kind, record_id):
    if kind not in ERROR_MARKABLE:
        return render(request, "404.html", status=404)
    model, perm = ERROR_MARKABLE[kind]
    patient = patient_for_user(request.user, public_id, perm=perm)
    if model is Patient:  # a whole registration made by mistake (for example a duplicate)
        record = get_object_or_404(Patient, pk=record_id, public_id=patient.public_id)
    else:
        record = get_object_or_404(model, pk=record_id, patient=patient)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                services.mark_entered_in_error(
                    record=record, user=request.user, reason=form.cleaned_data["reason"]
                )
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, f"{record} marked entered-in-error. It stays in the history.")
            return redirect("patients:detail", public_id=patient.public_id)
    return render(
        request,
        "patients/record_form.html",
        {
            "patient": patient,
            "form": form,
            "title": f"Mark entered in error: {record}",
            "danger": True,
        },
    )


def about(request):
    """A small static page (also the 'trivial logged-in page' the benchmarks compare to)."""
    return render(request, "patients/about.html")


def rule_settings(request):
    """Every threshold the software applies, with its version, source and status."""
    rows = selectors.rule_settings_in_force()
    return render(request, "patients/rule_settings.html", {"rows": rows})
