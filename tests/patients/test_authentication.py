import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import reverse


@pytest.mark.django_db
def test_a_user_logs_in_and_lands_on_the_app(client, nurse):
    response = client.post(
        reverse("login"), {"username": "nurse.a", "password": "correct-horse-battery"}, follow=True
    )
    assert response.status_code == 200
    assert response.context["user"] == nurse


@pytest.mark.django_db
def test_repeated_failed_logins_lock_the_account(client, nurse):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "nurse.a", "password": "wrong"})
    response = client.post(
        reverse("login"), {"username": "nurse.a", "password": "correct-horse-battery"}
    )
    assert response.status_code == 429
    assert "Account temporarily locked" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_session_expires_after_the_idle_timeout(client, nurse):
    client.force_login(nurse)
    response = client.get(reverse("patients:list"))
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_TIMEOUT_MINUTES * 60 == 15 * 60
    assert response.status_code == 200
    # The server-side expiry is renewed on every request; the cookie itself dies with the browser.
    assert client.session.get_expiry_age() == 15 * 60
    session = client.session
    session.set_expiry(-1)
    session.save()
    assert client.get(reverse("patients:list")).status_code == 302


@pytest.mark.django_db
def test_logout_is_a_post_and_ends_the_session(client, nurse):
    client.force_login(nurse)
    page = client.get(reverse("patients:list")).content.decode()
    assert f'action="{reverse("logout")}"' in page
    client.post(reverse("logout"))
    assert client.get(reverse("patients:list")).status_code == 302


def test_passwords_are_hashed_with_argon2_outside_tests():
    # Tests swap in a fast hasher; a process that is not a test run must hash with Argon2.
    code = "import django; django.setup(); from django.contrib.auth.hashers import get_hasher; print(get_hasher().algorithm)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("MMM_TESTING", None)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "argon2"
