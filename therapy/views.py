"""Therapy and REMS pages: form -> access -> service/selector -> render/redirect."""

from __future__ import annotations

import csv
from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from patients.access import clinics_for_user, patient_for_user, require_perm
from patients.errors import DomainError
from patients.history import newest_first
from patients.parsing import parse_query_month
from patients.services import access_record
from therapy import forms, permissions, selectors, services
from therapy.history import history_entries as therapy_history_entries
from therapy.models import Hold, RemsAuthorization

PAGE_SIZE = 25


def _show_error(form, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _patient(request, public_id, perm):
    patient = patient_for_user(request.user, public_id, perm=perm)
    access_record(user=request.user, patient=patient, path=request.path)
    return patient


def _course(patient, course_id):
    course = selectors.course_with_history(patient, course_id)
    if course is None:
        raise Http404("No such course.")
    return course


def _form_page(request, patient, form, title, *, course=None, status=200, extra=None):
    context = {"patient": patient, "form": form, "title": title, "course": course, **(extra or {})}
    return render(request, "therapy/form_page.html", context, status=status)


def _to_course(patient):
    return redirect("therapy:course", public_id=patient.public_id)


# --- Courses ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def course_start(request, public_id):
    patient = _patient(request, public_id, permissions.MANAGE_COURSE)
    today = timezone.localdate()
    form = forms.CourseStartForm(request.POST or None, initial={"start_date": today})
    if request.method == "POST" and form.is_valid():
        try:
            # The checklist is judged at the moment the physician saw it (the page uses now()).
            services.course_start(
                patient=patient,
                user=request.user,
                prescription_at=timezone.now(),
                **form.cleaned_data,
            )
        except DomainError as error:
            _show_error(form, error)
        else:
            if form.cleaned_data["start_date"] > today:
                messages.success(request, "Maintenance course planned.")
            else:
                messages.success(request, "Maintenance course started.")
            return _to_course(patient)
    eligibility = selectors.eligibility_for(patient, as_of=today, prescription_at=timezone.now())
    return render(
        request,
        "therapy/course_start.html",
        {"patient": patient, "form": form, "eligibility": eligibility},
        status=400 if form.errors else 200,
    )


def course_detail(request, public_id):
    """The current (or latest) course with its cycle calendar, suggestions and actions."""
    patient = _patient(request, public_id, permissions.VIEW_COURSE)
    today = timezone.localdate()
    courses = selectors.courses_for(patient)
    course = next((c for c in courses if c.is_active and not c.is_entered_in_error), None)
    course = course or next((c for c in courses if not c.is_entered_in_error), None)
    planned = course is not None and course.is_active and course.start_date > today
    month = _month(request.GET.get("month"), course.start_date if planned else today)
    context = {
        "patient": patient,
        "course": course,
        "today": today,
        "courses": courses,
        "suggestions": selectors.suggestions_for(patient),
        "can_manage": request.user.has_perm(permissions.MANAGE_COURSE),
        "can_decide": request.user.has_perm(permissions.DECIDE_SUGGESTION),
        "month": month,
        "planned": planned,
    }
    if course is not None:
        # The day the card describes: today, a planned course's first day, or the last day.
        on = max(today, course.start_date)
        if course.discontinued_on:
            on = min(on, course.discontinued_on)
        context["snapshot"] = selectors.snapshot_of(course, as_of=on)
        calendar = selectors.course_calendar(course, course.holds.all(), course.dose_changes.all())
        context["next_cycle_start"] = calendar.day(on).next_cycle_start
        context["open_hold"] = selectors.open_hold(course)
        context["weeks"] = selectors.month_grid(
            course, year=month.year, month=month.month, today=today
        )
        context["prev_month"], context["next_month"] = _neighbours(month)
    return render(request, "therapy/course_detail.html", context)


# The calendar pages between these months; beyond them ?month= answers 400 with the range
# and the navigation links stop (patients.parsing, one strict parser for query parameters).
FIRST_MONTH, LAST_MONTH = date(2000, 1, 1), date(2099, 12, 1)


def _month(value: str | None, today: date) -> date:
    if not value:
        return today.replace(day=1)
    return parse_query_month(value, name="month", earliest=FIRST_MONTH, latest=LAST_MONTH)


def _neighbours(month: date) -> tuple[str | None, str | None]:
    prev = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    nxt = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return (
        f"{prev:%Y-%m}" if FIRST_MONTH <= prev <= LAST_MONTH else None,
        f"{nxt:%Y-%m}" if FIRST_MONTH <= nxt <= LAST_MONTH else None,
    )


@require_http_methods(["GET", "POST"])
def dose_change(request, public_id, course_id):
    patient = _patient(request, public_id, permissions.MANAGE_COURSE)
    course = _course(patient, course_id)
    form = forms.DoseChangeForm(
        request.POST or None, initial={"effective_from": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.dose_change(
                course=course,
                user=request.user,
                level=data["dose_level"],
                effective_from=data["effective_from"],
                reason=data["reason"],
                note=data["note"],
            )
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, f"Dose changed to {data['dose_level'].label}.")
            return _to_course(patient)
    return _form_page(
        request, patient, form, "Change the dose", course=course, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
def hold_start(request, public_id, course_id):
    patient = _patient(request, public_id, permissions.MANAGE_COURSE)
    course = _course(patient, course_id)
    form = forms.HoldForm(request.POST or None, initial={"start_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.hold_start(course=course, user=request.user, **form.cleaned_data)
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, "Hold recorded. Dosing is paused; later cycles move.")
            return _to_course(patient)
    return _form_page(
        request,
        patient,
        form,
        "Hold lenalidomide",
        course=course,
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def hold_end(request, public_id, course_id, hold_id):
    patient = _patient(request, public_id, permissions.MANAGE_COURSE)
    course = _course(patient, course_id)
    hold = get_object_or_404(Hold.objects.valid(), pk=hold_id, course=course)
    form = forms.HoldEndForm(request.POST or None, initial={"end_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.hold_end(
                hold=hold,
                user=request.user,
                end_date=data["end_date"],
                note=data["note"],
                resume_level=data["resume_level"],
            )
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, "Hold ended; dosing resumes.")
            return _to_course(patient)
    return _form_page(
        request,
        patient,
        form,
        f"Resume dosing ({hold})",
        course=course,
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def course_discontinue(request, public_id, course_id):
    patient = _patient(request, public_id, permissions.MANAGE_COURSE)
    course = _course(patient, course_id)
    if course.is_active and course.start_date > timezone.localdate():
        return _call_off_plan(request, patient, course)
    form = forms.DiscontinueForm(
        request.POST or None,
        initial={"discontinued_on": max(timezone.localdate(), course.start_date)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.course_discontinue(course=course, user=request.user, **form.cleaned_data)
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, "Course discontinued.")
            return _to_course(patient)
    return _form_page(
        request,
        patient,
        form,
        "Discontinue maintenance",
        course=course,
        status=400 if form.errors else 200,
        extra={"danger": True},
    )


def _call_off_plan(request, patient, course):
    """A planned course is called off, not discontinued: no capsule was ever taken."""
    form = forms.CallOffPlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.course_plan_call_off(
                course=course, user=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, "The planned course was called off.")
            return redirect("patients:detail", public_id=patient.public_id)
    return _form_page(
        request,
        patient,
        form,
        f"Call off the plan starting {course.start_date:%Y-%m-%d}",
        course=course,
        status=400 if form.errors else 200,
        extra={"danger": True},
    )


@require_http_methods(["GET", "POST"])
def course_correct(request, public_id, course_id):
    patient = _patient(request, public_id, permissions.MANAGE_COURSE)
    course = _course(patient, course_id)
    initial = {f: getattr(course, f) for f in services.CORRECTABLE}
    form = forms.CourseCorrectionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("change_reason")
        try:
            services.course_correct(course=course, user=request.user, data=data, reason=reason)
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(
                request, "Correction saved. The previous values are kept in the history."
            )
            return _to_course(patient)
    return _form_page(
        request,
        patient,
        form,
        "Correct a discontinued course",
        course=course,
        status=400 if form.errors else 200,
    )


def therapy_history(request, public_id):
    patient = _patient(request, public_id, permissions.VIEW_COURSE)
    return render(
        request,
        "therapy/therapy_history.html",
        {
            "patient": patient,
            "events": selectors.therapy_events(patient),
            # Course, hold, dose, suggestion and REMS changes in words (the History page's).
            "audit": newest_first(therapy_history_entries(patient)),
        },
    )


# Accepting or dismissing a dose suggestion also closes the monitoring flag that raised it,
# so those two actions live in monitoring (monitoring:suggestion_accept / _dismiss).


def regimen_list(request):
    require_perm(request.user, "therapy.view_regimen")
    return render(request, "therapy/regimen_list.html", {"regimens": selectors.regimen_catalogue()})


# --- REMS ------------------------------------------------------------------------------------------


def rems_detail(request, public_id):
    patient = _patient(request, public_id, permissions.VIEW_REMS)
    today = timezone.localdate()
    context = {
        "patient": patient,
        "state": selectors.rems_states([patient.pk], as_of=today)[patient.pk],
        "suggested": selectors.suggested_risk_category(patient, as_of=today),
        "can_edit": request.user.has_perm(permissions.EDIT_ENROLLMENT),
        "can_add_authorization": request.user.has_perm(permissions.ADD_AUTHORIZATION),
        "can_add_survey": request.user.has_perm(permissions.ADD_SURVEY),
        "authorization_form": forms.AuthorizationForm(
            initial={"obtained_on": today, "days_supply": 28}
        ),
        "survey_form": forms.SurveyForm(initial={"completed_on": today}),
        **selectors.rems_record(patient),
    }
    return render(request, "therapy/rems_detail.html", context)


@require_http_methods(["GET", "POST"])
def rems_enrollment_edit(request, public_id):
    patient = _patient(request, public_id, permissions.EDIT_ENROLLMENT)
    record = selectors.rems_record(patient)["enrollment"]
    suggested = selectors.suggested_risk_category(patient, as_of=timezone.localdate())
    initial = (
        {f: getattr(record, f) for f in services.ENROLLMENT_FIELDS}
        if record
        else {"patient_risk_category": suggested.outcome, "status": "active"}
    )
    form = forms.RemsEnrollmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.rems_enrollment_save(
                patient=patient, user=request.user, data=form.cleaned_data
            )
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, "REMS enrollment saved.")
            return redirect("therapy:rems", public_id=patient.public_id)
    return _form_page(
        request,
        patient,
        form,
        "REMS enrollment",
        status=400 if form.errors else 200,
        extra={"suggested": suggested, "back": "therapy:rems"},
    )


@require_POST
def rems_authorization_add(request, public_id):
    patient = _patient(request, public_id, permissions.ADD_AUTHORIZATION)
    form = forms.AuthorizationForm(request.POST)
    if form.is_valid():
        try:
            services.rems_authorization_create(
                patient=patient, user=request.user, **form.cleaned_data
            )
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, "Authorization recorded.")
            return redirect("therapy:rems", public_id=patient.public_id)
    return _form_page(
        request,
        patient,
        form,
        "Record an authorization",
        status=400,
        extra={"back": "therapy:rems"},
    )


@require_http_methods(["GET", "POST"])
def rems_authorization_edit(request, public_id, authorization_id):
    patient = _patient(request, public_id, permissions.CHANGE_AUTHORIZATION)
    authorization = get_object_or_404(
        RemsAuthorization.objects.valid(), public_id=authorization_id, patient=patient
    )
    form = forms.DispenseForm(
        request.POST or None, initial={"dispensed_on": authorization.dispensed_on}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.rems_authorization_update(
                authorization=authorization, user=request.user, **form.cleaned_data
            )
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, "Dispensed date saved.")
            return redirect("therapy:rems", public_id=patient.public_id)
    return _form_page(
        request,
        patient,
        form,
        f"Dispensing: {authorization}",
        status=400 if form.errors else 200,
        extra={"back": "therapy:rems"},
    )


@require_POST
def rems_survey_add(request, public_id):
    patient = _patient(request, public_id, permissions.ADD_SURVEY)
    form = forms.SurveyForm(request.POST)
    if form.is_valid():
        try:
            services.rems_survey_create(patient=patient, user=request.user, **form.cleaned_data)
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, "Survey recorded.")
            return redirect("therapy:rems", public_id=patient.public_id)
    return _form_page(
        request, patient, form, "Record a survey", status=400, extra={"back": "therapy:rems"}
    )


def _rems_rows(request):
    require_perm(request.user, permissions.VIEW_REMS)
    clinics = clinics_for_user(request.user)
    form = forms.RemsFilterForm(request.GET or None, clinics=clinics)
    filters = form.cleaned_data if form.is_valid() else {}
    clinic = filters.get("clinic")
    rows = selectors.rems_list(
        user=request.user,
        as_of=timezone.localdate(),
        clinic_id=clinic.pk if clinic else None,
        status=filters.get("status", ""),
        include_inactive=filters.get("include_inactive", False),
        search=filters.get("q", ""),
        sort=filters.get("sort") or "urgency",
    )
    return form, rows


def rems_list(request):
    form, rows = _rems_rows(request)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "therapy/rems_list.html",
        {"form": form, "page": page, "query": query.urlencode(), "total": page.paginator.count},
    )


CSV_HEADER = [
    "MRN",
    "Name",
    "Clinic",
    "Patient risk category",
    "REMS status",
    "Actions",
    "Authorization expires",
]


def rems_export(request):
    form, rows = _rems_rows(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rems-{timezone.localdate()}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    for row in rows:
        status = row.state.status
        writer.writerow(
            [
                _csv_safe(row.patient.mrn),
                _csv_safe(f"{row.patient.family_name}, {row.patient.given_name}"),
                _csv_safe(row.clinic_name),
                selectors.rems_risk_category_label(row.state.risk_category),
                "Compliant" if status.outcome == "compliant" else "Action needed",
                "; ".join(selectors.rems_action_label(a) for a in status.values["actions"]),
                status.values["authorization_expires_on"] or "",
            ]
        )
    return response


def _csv_safe(value: str) -> str:
    """Spreadsheet formula injection: a leading =, +, -, @, tab or carriage return is neutralised."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
