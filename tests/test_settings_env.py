"""Settings read from the environment: a number of seconds that is not one stops start-up
with a message naming the variable (the app never runs with a window it cannot use)."""

import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import settings as project_settings
from config.settings import env_seconds


@pytest.mark.parametrize(
    ("raw", "seconds"), [("0", 0.0), ("0.001", 0.001), ("0.5", 0.5), (" 2 ", 2.0)]
)
def test_seconds_zero_or_more_are_taken(monkeypatch, raw, seconds):
    monkeypatch.setenv("MMM_TEST_SECONDS", raw)
    assert env_seconds("MMM_TEST_SECONDS", "9", most=60) == seconds


@pytest.mark.parametrize("raw", ["-0.001", "-1", "60.001", "3600", "soon", "", "nan", "inf"])
def test_anything_else_stops_start_up_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("MMM_TEST_SECONDS", raw)
    with pytest.raises(
        ImproperlyConfigured, match=r"MMM_TEST_SECONDS must be a number of seconds from 0 to 60 "
    ):
        env_seconds("MMM_TEST_SECONDS", "9", most=60)


def test_the_default_is_used_when_unset(monkeypatch):
    monkeypatch.delenv("MMM_TEST_SECONDS", raising=False)
    assert env_seconds("MMM_TEST_SECONDS", "0.5", most=60) == 0.5


def test_the_evaluation_window_defaults_to_half_a_second():
    if "MONITORING_EVALUATION_WINDOW_SECONDS" in os.environ:
        pytest.skip("set in this environment")
    assert project_settings.MONITORING_EVALUATION_WINDOW_SECONDS == 0.5
