"""Lockout by username and client together, plus a limit per client (README, "Security").

Nobody can keep a named nurse locked out from elsewhere, and one client cannot spray
passwords across all usernames. The client address is REMOTE_ADDR: a forged
X-Forwarded-For changes nothing unless a trusted proxy header is configured.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from patients.login import CLIENT_THROTTLED

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory
ATTACKER, WARD = "203.0.113.66", "10.20.0.5"


def log_in(client, username, password, address, **headers):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        **headers,
    )


def test_named_user_still_logs_in_from_another_client_while_someone_sprays_her_name(client, nurse):
    for _ in range(settings.AXES_FAILURE_LIMIT * 3):
        log_in(client, "nurse.a", "wrong", ATTACKER)
    assert log_in(client, "nurse.a", "wrong", ATTACKER).status_code == 429
    response = log_in(client, "nurse.a", PASSWORD, WARD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(nurse.pk)


def test_the_spraying_client_is_locked_for_that_name_even_with_the_right_password(client, nurse):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "nurse.a", "wrong", ATTACKER)
    response = log_in(client, "nurse.a", PASSWORD, ATTACKER)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_one_client_spraying_many_usernames_is_throttled(client, nurse):
    for number in range(settings.AXES_CLIENT_FAILURE_LIMIT):
        log_in(client, f"guess.{number}", "wrong", ATTACKER)
    response = log_in(client, "nurse.a", PASSWORD, ATTACKER)
    assert response.status_code == 429
    assert CLIENT_THROTTLED.format(minutes=15) in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another client is not affected.
    assert log_in(client, "nurse.a", PASSWORD, WARD).status_code == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_client_limit(client, nurse):
    for number in range(settings.AXES_CLIENT_FAILURE_LIMIT):
        log_in(
            client,
            f"guess.{number}",
            "wrong",
            ATTACKER,
            HTTP_X_FORWARDED_FOR=f"198.51.100.{number}",
        )
    response = log_in(client, "nurse.a", PASSWORD, ATTACKER, HTTP_X_FORWARDED_FOR="198.51.100.250")
    assert response.status_code == 429


def test_a_few_typos_on_a_shared_ward_address_lock_nobody_else(client, nurse, physician):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "physician.a", "wrong", WARD)
    assert log_in(client, "nurse.a", PASSWORD, WARD).status_code == 302


def test_trusted_proxy_headers_are_off_by_default():
    assert settings.AXES_IPWARE_META_PRECEDENCE_ORDER == ("REMOTE_ADDR",)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
