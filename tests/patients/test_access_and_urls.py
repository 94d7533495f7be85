"""Every URL pattern: anonymous users are sent to log in; another clinic's user gets 404."""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

PUBLIC_NAMES = {"login", "logout", "fhir:metadata"}  # the API schema is for signed-in users


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{entry.namespace}:" if entry.namespace else prefix
            yield from _walk(entry.url_patterns, namespace if entry.namespace else prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{prefix}{entry.name}", entry


def _sample_kwargs(pattern, public_id):
    kwargs = {}
    for name, converter in pattern.pattern.converters.items():
        kind = type(converter).__name__
        kwargs[name] = {"UUIDConverter": public_id, "IntConverter": 1}.get(kind, "weight")
    return kwargs


def app_urls(public_id):
    """(name, url) for every named URL of our own apps (admin is covered by its own test)."""
    for name, pattern in _walk(get_resolver().url_patterns):
        if name.startswith("admin:") or name in PUBLIC_NAMES:
            continue
        try:
            yield name, reverse(name, kwargs=_sample_kwargs(pattern, public_id))
        except Exception:  # noqa: S112 - patterns with converters we do not sample
            continue


@pytest.mark.django_db
def test_every_page_sends_anonymous_users_to_log_in(client, patient):
    urls = list(app_urls(patient.public_id))
    assert len(urls) >= 8
    for name, url in urls:
        response = client.get(url)
        if url.startswith(("/api/", "/fhir/")):
            assert response.status_code in (401, 403), name  # the API answers, it does not redirect
            continue
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name


@pytest.mark.django_db
def test_outsider_gets_404_for_every_patient_page_of_another_clinic(client_for, outsider, patient):
    client = client_for(outsider)
    patient_urls = [(n, u) for n, u in app_urls(patient.public_id) if str(patient.public_id) in u]
    assert len(patient_urls) >= 6
    for name, url in patient_urls:
        assert client.get(url).status_code in (404, 405), name
        # 405 (method not allowed) is answered the same for a patient that does not exist.
        assert client.post(url, {}).status_code in (404, 405), name


@pytest.mark.django_db
def test_unknown_patient_and_other_clinics_patient_look_the_same(client_for, outsider, patient):
    client = client_for(outsider)
    other = client.get(reverse("patients:detail", args=[patient.public_id]))
    missing = client.get(reverse("patients:detail", args=[uuid.uuid4()]))
    assert other.status_code == missing.status_code == 404
    assert patient.family_name not in other.content.decode()
    assert other.templates[0].name == missing.templates[0].name == "404.html"


@pytest.mark.django_db
def test_outsider_does_not_see_other_clinics_patients_in_the_list(client_for, outsider, patient):
    response = client_for(outsider).get(reverse("patients:list"), {"q": patient.mrn})
    assert patient.family_name not in response.content.decode()
    assert "No patients match" in response.content.decode()


@pytest.mark.django_db
def test_login_page_is_open_and_says_log_in(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "Log in" in response.content.decode()
