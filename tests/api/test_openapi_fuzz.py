"""Schemathesis over the OpenAPI document: no 5xx, and every answer as the document says.

Runs in-process against the WSGI app, with a read-and-write token of someone who owns an
incident, a bounded number of examples per operation (HINDSIGHT_FUZZ_EXAMPLES, default 10).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.core import api
from api.tokens import api_token_create
from tests import factories

# No server error, and status codes, content types, headers and bodies as documented. Left out:
# "schema-valid data must be accepted", which an opaque paging cursor cannot promise.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = int(os.environ.get("HINDSIGHT_FUZZ_EXAMPLES", "10"))
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


def test_the_document_is_valid_openapi_3(client):
    from openapi_spec_validator import validate

    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    validate(document)


@pytest.fixture
def in_process_requests():
    # As Django's test client does: a request must not close the test's database connection.
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def seeded(db, monkeypatch, in_process_requests):
    (throttle,) = api.throttle
    monkeypatch.setattr(throttle, "num_requests", 10**9)
    cache.clear()
    owner = factories.user()
    incident = factories.incident(owner=owner)
    factories.cause(incident, whys=2)
    factories.action_item(incident, owner=owner)
    factories.timeline_entry(incident, text="Deploy 14:02")
    token = api_token_create(user=owner, name="fuzz", scope="write")[1]
    return {"Authorization": f"Bearer {token}"}, incident.ref


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_documented(case, seeded):
    headers, ref = seeded
    # Unknown references only ever answer 404 (tested on their own); a real one lets the
    # generated bodies and queries reach the code behind the lookup.
    if case.path_parameters and "ref" in case.path_parameters:
        case.path_parameters["ref"] = ref
    if case.path_parameters and "key" in case.path_parameters:
        case.path_parameters["key"] = "summary"
    case.call_and_validate(headers=headers, checks=CHECKS)
