"""The physician's patient timeline (nurses see it read-only)."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.shortcuts import redirect, render
from django.template import Context, Template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from monitoring.timeline import figures, selectors, services
from monitoring.timeline.forms import ResponseAssessmentForm
from monitoring.timeline.recent import Recent
from patients import services as patient_services
from patients.access import patient_for_user
from patients.errors import DomainError

_FORM = Template("{% load crispy_forms_tags %}{% crispy form %}")


@lru_cache(maxsize=4)
def _blank_form_html(today: date) -> str:
    """The empty assessment form, rendered once a day per process: it depends on nothing but
    the date, and crispy's rendering was a tenth of the page's time."""
    return _FORM.render(Context({"form": ResponseAssessmentForm(initial={"assessed_on": today})}))


def _json_script(value, element_id: str) -> SafeString:
    """Django's ``json_script`` (the same escapes of <, > and &, the same tag), with the
    escapes done by ``str.replace``: its ``str.translate`` took milliseconds on ten years of
    points."""
    text = (
        json.dumps(value, cls=DjangoJSONEncoder)
        .replace("<", "\\u003C")
        .replace(">", "\\u003E")
        .replace("&", "\\u0026")
    )
    return format_html(
        '<script id="{}" type="application/json">{}</script>',
        element_id,
        # Safe: <, > and & are escaped above, as json_script does.
        mark_safe(text),  # noqa: S308  # nosec B308, B703
    )


# The figures' <script> elements by what they draw (below): a few recent patients per process.
_FIGURES = Recent(48)


def _figure_script(element_id: str, build, *args, **kwargs) -> SafeString:
    """``_json_script(build(*args, **kwargs), element_id)``, remembered by its inputs.

    The figure builders are pure functions of their arguments (frozen dataclasses of plain
    values, compared field by field), so the same arguments give the same figure: a page
    viewed again with nothing new skips building and encoding ten years of points (about a
    tenth of the page). Two values that compare equal draw the same: numbers are shown by
    ``clinical_number`` (equal Decimals read the same) and times by their wall clock, which
    is why the time zone is part of the key (equal instants read differently elsewhere)."""
    key = (
        element_id,
        build.__qualname__,
        timezone.get_current_timezone_name(),
        args,
        tuple(sorted(kwargs.items())),
    )
    found = _FIGURES.get(key)
    if found is None:
        found = _json_script(build(*args, **kwargs), element_id)
        _FIGURES.put(key, found)
    return found


def _page(request, patient, form, *, status=200):
    today = timezone.localdate()
    data = selectors.timeline_for(patient, today=today)
    context = {
        "patient": patient,
        "t": data,
        "form": form,
        # A form coming back with errors is rendered afresh; the empty one is the same all day.
        "form_html": None if form.is_bound else _blank_form_html(today),
        "counts_figure": _figure_script(
            "counts-figure",
            figures.counts_figure,
            tuple(data.counts),
            tuple(data.thresholds),
            x_range=data.x_range,
            holds=data.regimen.holds,
            expected_interval_days=data.cbc_interval_days,
        ),
        "regimen_figure": _figure_script(
            "regimen-figure",
            figures.regimen_figure,
            data.regimen,
            x_range=data.x_range,
            today=today,
        ),
        "disease_figure": _figure_script(
            "disease-figure",
            figures.disease_figure,
            data.disease,
            x_range=data.x_range,
            expected_interval_days=data.response_interval_days,
        ),
    }
    return render(request, "timeline/timeline.html", context, status=status)


@require_GET
def data_tables(request, public_id):
    """The charts' values as tables, loaded when the reader opens them (htmx), so the
    timeline page itself does not render years of rows."""
    patient = patient_for_user(request.user, public_id, perm="patients.view_labresult")
    patient_services.access_record(user=request.user, patient=patient, path=request.path)
    context = {
        "patient": patient,
        "t": selectors.timeline_for(patient, today=timezone.localdate()),
        "places": selectors.places_by_code(),
    }
    return render(request, "timeline/_data_tables.html", context)


def timeline(request, public_id):
    patient = patient_for_user(request.user, public_id, perm="patients.view_labresult")
    patient_services.access_record(user=request.user, patient=patient, path=request.path)
    return _page(
        request, patient, ResponseAssessmentForm(initial={"assessed_on": timezone.localdate()})
    )


@require_POST
def assessment_record(request, public_id):
    patient = patient_for_user(request.user, public_id, perm="monitoring.add_responseassessment")
    form = ResponseAssessmentForm(request.POST)
    if form.is_valid():
        today = timezone.localdate()
        suggestion = selectors.timeline_for(patient, today=today).response
        try:
            services.response_assessment_record(
                patient=patient,
                user=request.user,
                data=form.cleaned_data,
                suggestion=suggestion,
                today=today,
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request, "Response assessment recorded. It now leads the summary and the charts."
            )
            return redirect("monitoring:timeline", public_id=patient.public_id)
    return _page(request, patient, form, status=400)
