from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from monitoring import access, fragments, selectors, services, tasks
from monitoring.errors import LabEntryRejected
from monitoring.forms import (
    AcknowledgeForm,
    CorrectionForm,
    LabPanelForm,
    ReasonForm,
    ResultFilterForm,
)
from monitoring.models import Flag
from monitoring.nursing import selectors as nursing_selectors
from patients import lab_selectors
from patients import services as patient_services
from patients.access import clinics_for_user
from patients.errors import DomainError
from patients.lab_catalogue import PANELS, find_test
from therapy import selectors as therapy_selectors
from therapy.forms import DismissForm

PAGE_SIZE = 25
# The nurse works the worklist from the top: the ten most urgent patients, each with all of
# their items, then "next page" (the page shows how many patients are waiting in all); and
# the ten follow-up calls due first, then "show all".
WORKLIST_PAGE_SIZE = 10
# What a worklist row includes: editing one of them renders the cached rows afresh.
WORKLIST_ROW_INCLUDES = (
    "monitoring/_flag.html",
    "monitoring/_severity.html",
    "monitoring/_notify_physician.html",
)
SWEEP_LATER = (
    "Flags could not be checked right away (the task queue is unreachable); "
    "they will be checked at the next sweep, within 30 minutes."
)


def _log_access(request, patient) -> None:
    patient_services.access_record(user=request.user, patient=patient, path=request.path)


@require_http_methods(["GET", "POST"])
def lab_entry(request, public_id, panel):
    if panel not in PANELS:
        raise Http404("No such panel.")
    patient = access.patient_for(request.user, public_id, perm="patients.add_labresult")
    codes = PANELS[panel].test_codes
    units = lab_selectors.default_units(request.user, patient.clinic_id, codes)
    form = LabPanelForm(
        request.POST or None,
        panel=panel,
        units=units,
        clinic_units=lab_selectors.clinic_units(patient.clinic_id, codes),
    )
    problems = {}
    if request.method == "POST" and form.is_valid():
        try:
            with tasks.queue_outcome() as not_queued:
                saved = services.lab_results_record(
                    patient=patient,
                    user=request.user,
                    collected_at=form.cleaned_data["collected_at"],
                    entries=form.entries(),
                    panel=panel,
                    **form.extras(),
                )
        except LabEntryRejected as rejected:
            problems = rejected.by_test()
            form.add_error(None, "Nothing was saved: correct the values marked below.")
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request,
                f"{PANELS[panel].name}: {len(saved)} results saved."
                + (f" {SWEEP_LATER}" if not_queued else ""),
            )
            return redirect(
                "monitoring:collection",
                public_id=patient.public_id,
                collection_id=saved[0].collection_id,
            )
    return render(
        request,
        "monitoring/lab_entry.html",
        {
            "patient": patient,
            "panel": PANELS[panel],
            "panels": PANELS.values(),
            "form": form,
            "problems": problems,
        },
        status=400 if request.method == "POST" else 200,
    )


def lab_collection(request, public_id, collection_id):
    patient = access.patient_for(request.user, public_id, perm="patients.view_labresult")
    results = lab_selectors.collection_results(patient, collection_id)
    if not results:
        raise Http404("No such collection.")
    return render(
        request, "monitoring/lab_collection.html", {"patient": patient, "results": results}
    )


def lab_list(request, public_id):
    patient = access.patient_for(request.user, public_id, perm="patients.view_labresult")
    _log_access(request, patient)
    form = ResultFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    results = lab_selectors.patient_results(
        patient,
        test=filters.get("test") or None,
        since=filters.get("since"),
        until=filters.get("until"),
        include_in_error=request.GET.get("in_error") == "1",
    )
    page = Paginator(results, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "monitoring/lab_list.html",
        {
            "patient": patient,
            "page": page,
            "form": form,
            "query": query.urlencode(),
            "panels": PANELS.values(),
        },
        # A filter out of range (until=9999-12-31) is named on the form, with a 400.
        status=400 if form.errors else 200,
    )


def lab_result(request, public_id, result_id):
    patient, result = access.result_for(
        request.user, public_id, result_id, perm="patients.view_labresult"
    )
    _log_access(request, patient)
    history = result.history.select_related("history_user").order_by("-history_date")
    return render(
        request,
        "monitoring/lab_result.html",
        {
            "patient": patient,
            "result": result,
            "history": history,
            "corrections": result.corrections.all(),
        },
    )


@require_http_methods(["GET", "POST"])
def lab_correct(request, public_id, result_id):
    patient, result = access.result_for(
        request.user, public_id, result_id, perm="patients.change_labresult"
    )
    test = find_test(result.test_code)
    if result.source == "computed":
        raise Http404("Computed results follow their inputs; correct kappa or lambda instead.")
    form = CorrectionForm(
        request.POST or None,
        test=test,
        initial={
            "value": result.value_as_entered or result.qualitative,
            "unit": result.unit_as_entered,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            new = services.lab_result_correct(
                result=result,
                user=request.user,
                value=data["value"],
                unit=data.get("unit", ""),
                reason=data["reason"],
                confirm_suspicious=data.get("confirm", False),
            )
        except LabEntryRejected as rejected:
            for problem in rejected.problems:
                form.add_error("value", problem.message)
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request, "Result corrected. The previous value is kept, marked entered-in-error."
            )
            return redirect("monitoring:result", public_id=patient.public_id, result_id=new.pk)
    return render(
        request,
        "monitoring/lab_form.html",
        {"patient": patient, "result": result, "form": form, "title": f"Correct {result}"},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
def lab_mark_error(request, public_id, result_id):
    patient, result = access.result_for(
        request.user, public_id, result_id, perm="patients.change_labresult"
    )
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.lab_result_mark_entered_in_error(
                result=result, user=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                f"{result} marked entered-in-error. It no longer counts in rules and charts.",
            )
            return redirect("monitoring:labs", public_id=patient.public_id)
    return render(
        request,
        "monitoring/lab_form.html",
        {
            "patient": patient,
            "result": result,
            "form": form,
            "title": f"Mark entered in error: {result}",
            "danger": True,
        },
        status=400 if request.method == "POST" else 200,
    )


def patient_flags(request, public_id):
    patient = access.patient_for(request.user, public_id, perm="monitoring.view_flag")
    _log_access(request, patient)
    status = request.GET.get("status", "")
    flags = selectors.patient_flags(patient, status=status if status in Flag.Status.values else "")
    page = Paginator(flags, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = selectors.mark_nobody_notified(list(page.object_list))
    return render(
        request,
        "monitoring/patient_flags.html",
        {
            "patient": patient,
            "page": page,
            "status": status,
            "ack_form": AcknowledgeForm(),
            "query": f"status={status}",
        },
    )


@require_POST
def flag_acknowledge(request, flag_id):
    flag = access.flag_for(request.user, flag_id, perm="monitoring.acknowledge_flag")
    form = AcknowledgeForm(request.POST)
    form.is_valid()
    try:
        services.flag_acknowledge(
            flag=flag, user=request.user, note=form.cleaned_data.get("note", "")
        )
    except DomainError as error:
        messages.warning(request, error.message)
    else:
        messages.success(
            request, f"{flag.get_kind_display()} acknowledged for {flag.patient.full_name}."
        )
    target = form.cleaned_data.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("monitoring:patient_flags", kwargs={"public_id": flag.patient.public_id})
    return redirect(target)


def _clinic_choice(request, perm):
    """The clinic asked for and the user's clinics for the switcher, read in one query."""
    clinics = list(clinics_for_user(request.user))
    clinic = access.clinic_for(request.user, request.GET.get("clinic"), perm=perm, clinics=clinics)
    return clinic, clinics


def worklist(request):
    """The nurse worklist: one row per patient with all of their open items, worst first;
    acknowledged items move to the collapsed "done today" section."""
    clinic, clinics = _clinic_choice(request, "monitoring.view_flag")
    today = timezone.localdate()
    # The follow-up calls whose deadline comes first; "show all" lists every one.
    follow_ups, calls_due = nursing_selectors.worklist_calls(
        clinic.pk,
        as_of=today,
        shown=None if request.GET.get("calls") == "all" else WORKLIST_PAGE_SIZE,
    )
    # Every patient's place is known (small tuples); only this page's patients are read.
    page = Paginator(
        selectors.worklist_patients(clinic.pk, as_of=today), WORKLIST_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "monitoring/worklist.html",
        {
            "clinic": clinic,
            "clinics": clinics,
            "today": today,
            "page": page,
            # Each row rendered once per content (flags, patient, permissions): see fragments.
            "rows": fragments.rendered(
                request,
                "monitoring/_worklist_row.html",
                ({"row": row} for row in selectors.worklist_rows(page.object_list, as_of=today)),
                includes=WORKLIST_ROW_INCLUDES,
            ),
            "done": selectors.done_today(clinic.pk, kinds=selectors.WORKLIST_KINDS, on=today),
            "ack_form": AcknowledgeForm(),
            "query": f"clinic={clinic.pk}",
            # The calls block, rendered once per content as the rows are (the calls and
            # their patients, today, the reader's permissions).
            "follow_ups_html": fragments.rendered(
                request,
                "monitoring/_followups.html",
                [
                    {
                        "follow_ups": follow_ups,
                        "patients": [call.patient for call in follow_ups],
                        "today": today,
                        "more_calls": calls_due - len(follow_ups),
                        "query": f"clinic={clinic.pk}",
                    }
                ],
                includes=("nursing/_call.html",),
            )[0],
        },
    )


def inbox(request):
    clinic, clinics = _clinic_choice(request, "monitoring.decide_flag")
    page = Paginator(selectors.decision_flags(clinic.pk), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    flags = selectors.mark_nobody_notified(list(page.object_list))
    patient_ids = [flag.patient_id for flag in flags]
    rows = _with_suggestions(flags, therapy_selectors.pending_suggestions(patient_ids))
    return render(
        request,
        "monitoring/inbox.html",
        {
            "clinic": clinic,
            "clinics": clinics,
            "page": page,
            "rows": rows,
            "done": selectors.done_today(
                clinic.pk, kinds=Flag.DECISION_KINDS, on=timezone.localdate()
            ),
            "physician_requests": nursing_selectors.physician_requests(clinic.pk),
            "ack_form": AcknowledgeForm(),
            "query": f"clinic={clinic.pk}",
            "can_decide_suggestions": request.user.has_perm(DECIDE_SUGGESTION),
        },
    )


def _with_suggestions(flags, pending) -> list[tuple]:
    """Each flag with the pending suggestion it raised; a suggestion no listed flag raised
    (a resume after recovery) goes with the patient's first flag, so each shows once."""
    linked = {flag.dose_suggestion_id for flag in flags if flag.dose_suggestion_id}
    loose: dict[int, list] = {}
    by_id = {}
    for suggestion in pending:
        by_id[suggestion.pk] = suggestion
        if suggestion.pk not in linked:
            loose.setdefault(suggestion.patient_id, []).append(suggestion)
    rows = []
    for flag in flags:
        own = [by_id[flag.dose_suggestion_id]] if flag.dose_suggestion_id in by_id else []
        rows.append((flag, own + loose.pop(flag.patient_id, [])))
    return rows


# --- Decisions on therapy suggestions (they close the flag that raised them) -------------

DECIDE_SUGGESTION = "therapy.decide_dosesuggestion"


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _suggestion(request, public_id, suggestion_id):
    patient = access.patient_for(request.user, public_id, perm=DECIDE_SUGGESTION)
    _log_access(request, patient)
    suggestion = therapy_selectors.suggestion_for(patient, suggestion_id)
    if suggestion is None:
        raise Http404("No such suggestion.")
    return patient, suggestion


@require_POST
def suggestion_accept(request, public_id, suggestion_id):
    patient, suggestion = _suggestion(request, public_id, suggestion_id)
    try:
        services.dose_suggestion_accept(
            suggestion=suggestion, user=request.user, on=timezone.localdate()
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Accepted: {suggestion.get_kind_display()} for {patient.full_name}. "
            "The flag it answered is resolved.",
        )
    return redirect(_safe_next(request, reverse("therapy:course", args=[patient.public_id])))


@require_http_methods(["GET", "POST"])
def suggestion_dismiss(request, public_id, suggestion_id):
    patient, suggestion = _suggestion(request, public_id, suggestion_id)
    form = DismissForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.dose_suggestion_dismiss(
                suggestion=suggestion, user=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request,
                "Suggestion dismissed; the reason is kept with it and the flag is acknowledged.",
            )
            return redirect(
                _safe_next(request, reverse("therapy:course", args=[patient.public_id]))
            )
    return render(
        request,
        "therapy/form_page.html",
        {
            "patient": patient,
            "form": form,
            "title": f"Dismiss: {suggestion.get_kind_display()}",
            "suggestion": suggestion,
        },
        status=400 if form.errors else 200,
    )
