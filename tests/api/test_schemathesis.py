"""Schemathesis against the served OpenAPI document: generated calls (valid and not) to
every operation find no server error and no response outside the documented schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal import create_app
from portal.services import clocks, tokens
from portal.services.transaction import transaction
from tests.factories import World, fuzz_examples

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _operations() -> list[str]:
    # The document does not depend on the database: read it once to parametrize.
    spec_app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                           "SECRET_KEY": "x"})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", spec_app)
    return sorted(result.ok().label for result in schema.get_all_operations())


@pytest.fixture
def callers(app):
    """A world with one request, and tokens of an agency official and of a reviewer."""
    with transaction():
        clocks.load_defaults()
    world = World()
    reference = world.file(["@a", "https://x.com/b/status/1"]).reference
    headers = []
    for role in ("official", "reviewer"):
        _, token = tokens.create_token(getattr(world, role), "schemathesis",
                                       scopes=["read", "file", "act"])
        # Schemathesis's WSGI transport asks for gzip (requests' default) but reads the
        # body undecoded; compression has its own test (test_compression.py).
        headers.append({"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"})
    return headers, reference


@pytest.mark.parametrize("label", _operations())
def test_operation_conforms_to_the_openapi_document(app, callers, label):
    every_role, reference = callers
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = next(r.ok() for r in schema.get_all_operations() if r.ok().label == label)
    calls = []

    @given(case=operation.as_strategy())
    @settings(max_examples=fuzz_examples(40), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        if "reference" in (case.path_parameters or {}):
            # Random references are all 404 (tested elsewhere): aim at a real request.
            case.path_parameters["reference"] = reference
        for headers in every_role:
            case.call_and_validate(headers=headers, checks=CHECKS)
            calls.append(1)

    run()
    assert calls, f"no call was made to {label}"
