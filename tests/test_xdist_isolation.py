"""Parallel test processes (pytest-xdist) share no Redis database: tests/conftest.py gives each
worker its own, and the broker, the result backend, the cache and the worker processes a test
starts all use it."""

import os
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from config.celery import app
from tests.conftest import REDIS_URL_GIVEN


def database(url: str) -> int:
    return int(urlsplit(url).path.strip("/") or 0)


@pytest.mark.redis
def test_each_xdist_worker_has_a_redis_database_of_its_own():
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    own = settings.REDIS_URL
    assert database(own) == database(REDIS_URL_GIVEN) - index
    assert os.environ["REDIS_URL"] == own  # worker processes started by a test inherit it
    assert app.conf.broker_url == own
    assert app.conf.result_backend == own
    with app.connection_for_write() as connection:
        assert connection.default_channel.client.connection_pool.connection_kwargs["db"] == (
            database(own)
        )
    cache.set("xdist-probe", os.environ.get("PYTEST_XDIST_WORKER", "main"), timeout=60)
    assert redis.Redis.from_url(own).exists(cache.make_key("xdist-probe")) == 1
    cache.delete("xdist-probe")
