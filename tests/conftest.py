"""Personas and shared fixtures: a nurse, a physician and a REMS administrator in clinic A,
and an outsider (a physician) in clinic B."""

import os
from urllib.parse import urlsplit

import hypothesis
import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from django.test import override_settings

from patients.roles import NURSE, PHYSICIAN, REMS_ADMINISTRATOR, ensure_roles
from tests.ci import ci_enabled
from tests.factories import (
    ClinicFactory,
    DiagnosisFactory,
    PatientFactory,
    TransplantFactory,
    UserFactory,
)

# Hypothesis loads its "ci" profile whenever CI is set, even to "false": decide here.
hypothesis.settings.load_profile("ci" if ci_enabled() else "default")


REDIS_URL_GIVEN = settings.REDIS_URL  # before a worker takes a database of its own


def _redis_database_of_this_worker() -> None:
    """Under pytest-xdist each worker process has a Redis database of its own: gw0 keeps
    REDIS_URL's database, gwN takes the one N below it (CI's 15 -> 15, 14). Queues, results,
    cached pages and beat locks of two workers then never meet: a Celery worker started by one
    test process cannot take another's task. (Each also has its own test database, named
    ``..._gwN`` by pytest-django.) Django has read the settings before this conftest runs, so
    they are overridden here, and the environment too for the worker processes tests start."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not settings.REDIS_URL or not worker.startswith("gw") or worker == "gw0":
        return
    url = urlsplit(settings.REDIS_URL)
    database = int(url.path.strip("/") or 0) - int(worker.removeprefix("gw"))
    if database < 0:
        raise pytest.UsageError(
            f"xdist worker {worker} needs Redis database {database}: "
            "give REDIS_URL a higher database number or run fewer workers (-n)"
        )
    own = url._replace(path=f"/{database}").geturl()
    os.environ["REDIS_URL"] = own
    override_settings(
        REDIS_URL=own,
        CELERY_BROKER_URL=own,
        CELERY_RESULT_BACKEND=own,
        CACHES={"default": {**settings.CACHES["default"], "LOCATION": own}},
    ).enable()  # its setting_changed signal makes Django open the cache anew

    from config.celery import app

    app.conf.update(broker_url=own, result_backend=own)


_redis_database_of_this_worker()


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    return [
        f"database: {db['ENGINE'].rsplit('.', 1)[-1]} ({db.get('HOST') or 'local file'})",
        f"broker: {settings.CELERY_BROKER_URL.split('@')[-1]}",
    ]


DB_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


@pytest.fixture(autouse=True)
def _no_evaluation_task_waiting():
    """No evaluation task is waiting when a test starts: the start time a save records
    (``patients.services._evaluation_task_waiting``) lives in the cache, which outlives a
    test, and the next test's patients would be left to a task that was never sent."""
    from django.core.cache import cache

    from patients.services import EVALUATION_TASK_STARTS_KEY

    cache.delete(EVALUATION_TASK_STARTS_KEY)


@pytest.fixture(autouse=True)
def _roles(request):
    """The role groups exist in every test that uses the database. Pure rule tests do not
    touch it, so they run without one (fast enough to mutation-test, ``make mutate``)."""
    uses_db = request.node.get_closest_marker("django_db") or DB_FIXTURES & set(
        request.fixturenames
    )
    if not uses_db:
        return
    if "transactional_db" in request.fixturenames:
        request.getfixturevalue("transactional_db")
    else:
        request.getfixturevalue("db")
    ensure_roles()


@pytest.fixture
def clinic_a(db):
    return ClinicFactory(code="alpha", name="Alpha Clinic")


@pytest.fixture
def clinic_b(db):
    return ClinicFactory(code="beta", name="Beta Clinic")


def _member(username, role, clinic, **extra):
    user = UserFactory(username=username, **extra)
    user.groups.add(Group.objects.get(name=role))
    clinic.staff.add(user)
    return user


@pytest.fixture
def nurse(clinic_a):
    return _member("nurse.a", NURSE, clinic_a, first_name="Nadia", last_name="Nurse")


@pytest.fixture
def physician(clinic_a):
    return _member("physician.a", PHYSICIAN, clinic_a, first_name="Paul", last_name="Physician")


@pytest.fixture
def rems_admin(clinic_a):
    return _member("rems.a", REMS_ADMINISTRATOR, clinic_a)


@pytest.fixture
def outsider(clinic_b):
    return _member("physician.b", PHYSICIAN, clinic_b)


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def patient(clinic_a):
    patient = PatientFactory(
        clinic=clinic_a, mrn="A-1001", given_name="Ada", family_name="Lovelace"
    )
    DiagnosisFactory(patient=patient)
    TransplantFactory(patient=patient)
    return patient


@pytest.fixture
def client_for(client):
    """client_for(user) -> the test client logged in as that user."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def db_vendor():
    return connection.vendor
