"""Production settings pass Django's deploy checks; every page carries the security headers."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECURE": "1",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "mmm.example.org",
    "DJANGO_MANIFEST_STATIC": "1",
}


def test_production_settings_pass_check_deploy_with_no_warnings():
    env = {**os.environ, **PRODUCTION_ENV}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests in this process only
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.django_db
def test_pages_send_csp_frame_denial_referrer_policy_and_nosniff(client_for, physician, patient):
    response = client_for(physician).get(reverse("patients:detail", args=[patient.public_id]))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_no_template_has_an_inline_script_or_style():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    inline_handler = re.compile(r"\son[a-z]+=\"", re.IGNORECASE)
    offenders = []
    for template in ROOT.glob("templates/**/*.html"):
        text = template.read_text()
        if inline_script.search(
            text.replace('type="application/json"', "")
        ) or inline_handler.search(text):
            offenders.append(str(template.relative_to(ROOT)))
        if re.search(r"\sstyle=\"", text):
            offenders.append(f"{template.relative_to(ROOT)} (style attribute)")
    assert offenders == []


def test_no_template_or_asset_loads_from_a_cdn():
    cdn = re.compile(r"https?://(cdn\.|cdnjs\.|unpkg\.com|[^\"']*jsdelivr)")
    files = [
        *ROOT.glob("templates/**/*.html"),
        *ROOT.glob("static/**/*.css"),
        *ROOT.glob("static/**/*.js"),
    ]
    assert [str(f) for f in files if cdn.search(f.read_text())] == []


@pytest.mark.django_db
def test_a_revoked_api_token_no_longer_opens_the_api(client, nurse, patient):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=nurse)
    url = reverse("api-patient", args=[patient.public_id])
    assert client.get(url, HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200
    token.delete()  # revocation: Django admin lists tokens; deleting one revokes it
    assert client.get(url, HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 401


def test_create_api_token_command_prints_a_token_for_an_existing_user(db, nurse, capsys):
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    call_command("create_api_token", "nurse.a")
    assert Token.objects.get(user=nurse).key in capsys.readouterr().out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "body", "content_type"),
    [
        (
            "post",
            "/api/v1/patients/{id}/courses/",
            '{"regimen": "len\\u0000", "start_date": "2026-01-01"}',
            "application/json",
        ),
        ("get", "/api/v1/patients/{id}/labs/?test=AN%00C", None, None),
        (
            "post",
            "/patients/{id}/weights/",
            "measured_on=2026-01-01&weight_kg=7%000",
            "application/x-www-form-urlencoded",
        ),
    ],
)
def test_a_nul_character_is_refused_with_a_clear_400_not_a_server_error(
    client_for, physician, patient, method, url, body, content_type
):
    client = client_for(physician)
    url = url.format(id=patient.public_id)
    response = (
        client.post(url, body, content_type=content_type) if method == "post" else client.get(url)
    )
    assert response.status_code == 400
    assert "NUL (0x00)" in response.content.decode()
