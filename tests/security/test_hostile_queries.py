"""Every URL pattern, every persona, a fixed table of hostile query values: no 5xx.

Each request sends one hostile value in every query parameter the app reads (dates,
months, ids, clinics, pages, search words). A refusal must be a 4xx with words; a page
that ignores the parameter may answer 200; nothing may answer 500.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from tests.security.matrix_table import MATRIX, expand_kwargs

# Every query parameter a page or API route reads (grep request.GET / query_params / forms).
PARAMETERS = (
    "month",
    "since",
    "until",
    "clinic",
    "page",
    "cbc_page",
    "flag_page",
    "rems_page",
    "q",
    "status",
    "kind",
    "test",
    "in_error",
    "include_inactive",
    "next",
    "cycles",
    "show",
    "export",
    "_count",
    "patient",
    "code",
    "category",
    "group_by",
    "origin",
    "landmark_days",
)

HOSTILE_VALUES = {
    "far future date": "9999-12-31",
    "first day of year 1": "0001-01-01",
    "far future month": "9999-12",
    "month 1-1": "1-1",
    "year zero month": "0000-01",
    "negative count": "-1",
    "20-digit year": "99999999999999999999-1",
    "20-digit id": "99999999999999999999",
    "superscript two": "²",
    "arabic-indic digits": "٢٠٢٥-٠١",
    "full-width digits": "１２",
    "10 KB string": "A" * 10 * 1024,
    "NUL": "\x00",
    "exponent": "1E+999999999",
}

PERSONAS = ("nurse", "physician", "rems", "superuser", "outsider")
GET_URLS = [name for name, spec in MATRIX.items() if "GET" in spec.methods]


@pytest.fixture
def _quiet_request_log():
    # Thousands of expected 4xx would each format a warning (with a traceback for 403s).
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


# One test per persona (about 850 requests each), so parallel test processes share the walk.
@pytest.mark.django_db
@pytest.mark.usefixtures("_quiet_request_log")
@pytest.mark.parametrize("persona", PERSONAS)
def test_no_url_answers_5xx_to_hostile_query_values(persona, matrix_world, client):
    client.force_login(matrix_world["users"][persona])
    failures = []
    for name in GET_URLS:
        url = reverse(name, kwargs=expand_kwargs(MATRIX[name], matrix_world))
        for label, value in HOSTILE_VALUES.items():
            query = urlencode(dict.fromkeys(PARAMETERS, value))
            try:
                status = client.get(f"{url}?{query}").status_code
            except Exception as error:  # noqa: BLE001 - report every failing URL at once
                status = f"{type(error).__name__}: {error}"[:120]
            if not isinstance(status, int) or status >= 500:
                failures.append((persona, name, label, status))
    assert failures == []
