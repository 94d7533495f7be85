"""One table: every URL pattern and API route, every persona, the expected status.

Personas: anonymous, nurse, physician and REMS administrator of clinic A, a superuser (no
clinic), and an outsider (a physician of clinic B). Patient-scoped URLs point at a patient
of clinic A, so the outsider and the superuser must get 404 there, exactly as for a patient
that does not exist. A test fails when a URL exists that the table does not list.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.security.matrix_table import ANON_API, ANON_PAGE, MATRIX, PERSONAS, expand_kwargs


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(
                entry.url_patterns, f"{entry.namespace}:" if entry.namespace else prefix
            )
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{prefix}{entry.name}"


def test_every_named_url_is_in_the_permission_table():
    names = {n for n in _walk(get_resolver().url_patterns) if not n.startswith("admin:")}
    assert sorted(names - set(MATRIX)) == []
    assert sorted(set(MATRIX) - names) == []


ROWS = [
    (name, method, persona)
    for name, spec in MATRIX.items()
    for method in spec.methods
    for persona in PERSONAS
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "persona"), ROWS)
def test_permission_matrix(name, method, persona, matrix_world, client):
    spec = MATRIX[name]
    url = reverse(name, kwargs=expand_kwargs(spec, matrix_world))
    user = matrix_world["users"].get(persona)
    if user is not None:
        client.force_login(user)
    response = getattr(client, method.lower())(
        url, spec.payload(matrix_world) if method == "POST" else None
    )
    expected = spec.expect(persona, method)
    if persona == "anonymous":
        if expected == ANON_PAGE:
            assert response.status_code == 302 and response["Location"].startswith(
                reverse("login")
            ), (name, method)
            return
        if expected == ANON_API:
            assert response.status_code in (401, 403), (name, method, response.status_code)
            return
    assert response.status_code == expected, (name, method, persona, response.status_code)
