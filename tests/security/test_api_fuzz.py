"""The API fuzzed from its own OpenAPI schema (schemathesis): whatever the input, no server
error and no response that breaks the schema. Path parameters point at a real patient and
flag of the caller's clinic, so the fuzzed bodies and queries reach the real handlers."""

import json

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Calling the WSGI app directly fires request_started/finished, whose handler closes the
    database connection, and with it the test's transaction on PostgreSQL. Django's test
    client disconnects that handler the same way while it makes a request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _load_schema():
    """The schema served to signed-in users, built at collection by the same generator (the
    endpoint itself refuses anonymous callers and there is no database yet to sign in)."""
    app = get_wsgi_application()
    raw = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(json.dumps(raw, default=str)))
    loaded.app = app
    return loaded


schema = _load_schema()


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_never_errors_and_keeps_to_its_schema(case, matrix_world):
    token = Token.objects.get_or_create(user=matrix_world["users"]["physician"])[0]
    real = {"public_id": str(matrix_world["patient_id"]), "flag_id": matrix_world["flag_id"]}
    for name in list(case.path_parameters or {}):
        if name in real:
            case.path_parameters[name] = real[name]
    case.call_and_validate(
        headers={"Authorization": f"Token {token.key}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
