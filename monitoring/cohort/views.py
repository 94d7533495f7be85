"""The Cohort page: aggregates of the user's clinics (physicians and analysts)."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import json_script

from monitoring.cohort import analysis, figures, selectors
from monitoring.cohort.forms import CohortForm
from patients.access import clinics_for_user, require_perm

PERMISSION = "monitoring.view_cohort"
CACHE_SECONDS = 6 * 3600


def _csv_safe(value: str) -> str:
    """Spreadsheet formula injection: a leading =, +, -, @, tab or CR is neutralised."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _options(clinic_ids, *, as_of, version) -> dict[str, list[str]]:
    key = selectors.cache_key("options", sorted(clinic_ids), as_of, version)
    options = cache.get(key)
    if options is None:
        rows = selectors.cohort_rows(clinic_ids, as_of=as_of, version=version)
        options = analysis.filter_options(rows)
        cache.set(key, options, timeout=CACHE_SECONDS)
    return options


def _analysed(clinic_ids, params, *, as_of, version):
    """(result, figures as ready-to-embed json_script tags), cached until the data changes."""
    key = selectors.cache_key("result", sorted(clinic_ids), as_of, version, params)
    cached = cache.get(key)
    if cached is None:
        rows = selectors.cohort_rows(clinic_ids, as_of=as_of, version=version)
        result = analysis.analyse(rows, params, as_of=as_of)
        scripts = {
            name: json_script(figure, f"{name.replace('_', '-')}-data")
            for name, figure in figures.cohort_figures(result).items()
        }
        cached = (result, scripts)
        cache.set(key, cached, timeout=CACHE_SECONDS)
    return cached


@login_required
def cohort(request):
    clinics = list(clinics_for_user(request.user))
    if not clinics:
        raise Http404("No clinic.")
    require_perm(request.user, PERMISSION)
    clinic_ids = [c.pk for c in clinics]
    as_of = timezone.localdate()
    version = selectors.data_version()
    options = _options(clinic_ids, as_of=as_of, version=version)
    form = CohortForm(request.GET or None, options=options)
    if form.is_bound and not form.is_valid():
        context = {"form": form, "clinics": clinics, "result": None}
        return render(request, "cohort/cohort.html", context, status=400)
    result, scripts = _analysed(clinic_ids, form.params(), as_of=as_of, version=version)
    export = request.GET.get("export")
    if export:
        return _export(result, export, as_of)
    query = request.GET.copy()
    query.pop("export", None)
    context = {
        "form": form,
        "clinics": clinics,
        "result": result,
        "tables": {t.key: t for t in analysis.tables_in_order(result)},
        "figures": scripts,
        "query": query.urlencode(),
        "as_of": as_of,
        "min_group": analysis.MIN_GROUP,
        "risk_rule": analysis.RISK_RULE,
    }
    return render(request, "cohort/cohort.html", context)


def _export(result, key: str, as_of):
    table = result.tables.get(key)
    if table is None:
        raise Http404("No such table.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cohort-{key}-{as_of}.csv"'
    writer = csv.writer(response)
    writer.writerow([_csv_safe(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_safe(cell) for cell in row])
    if table.note:
        writer.writerow([])
        writer.writerow([_csv_safe(table.note)])
    return response
