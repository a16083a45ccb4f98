"""Property-based fuzzing of the whole API from its own schema (schemathesis): every operation of
/api/schema/, called anonymously and with each persona's token (inspector, supervisor,
dispatcher, department staff, hotline, citizen, administrator), answers no 5xx and nothing the
schema does not describe (status, content type, body).

Bounded and deterministic: a fixed number of examples an operation, derandomized, no example
database; the seed is the small test city with one case, one shift and the personas. Half of
the examples of a route with a path parameter name objects that exist (the case, the shift,
a grid, a checkpoint), so the fuzz reaches the views and not only their 404.
"""

import contextlib
import uuid

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.test_openapi import seed_api_world

EXAMPLES = 8  # an operation and persona: ~55 operations × 8 personas × 8 ≈ 3,500 requests
PERSONAS = [
    None,
    "inspector_a",
    "supervisor",
    "dispatcher",
    "staff",
    "hotline",
    "citizen",
    "admin",
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@contextlib.contextmanager
def wsgi_app_in_test_transaction():
    """Django's WSGI handler inside the test's transaction: as Django's test client does, the
    connection is not closed at the end of each request (on PostgreSQL that would end the
    test's transaction). The test client connects the closing again after each of its own
    requests, so this holds only while no test-client request is made."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p or "anonymous")
def test_no_operation_answers_5xx_or_outside_the_schema(persona, people, client):
    world = seed_api_world(people)
    token = world["tokens"].get(persona)
    # Uncompressed answers: the WSGI client does not undo the GZip middleware.
    headers = {"Accept-Encoding": "identity"}
    if token:
        headers["Authorization"] = f"Token {token}"
    shift = client.post(
        "/api/v1/patrol/shifts/",
        {"client_uuid": str(uuid.uuid4())},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {world['tokens']['inspector_a']}",
    ).json()["id"]
    real = {
        "number": world["case"].number,
        "id": shift,
        "code": people.grid_a.code,
        "kind": "display",
    }
    checkpoint = people.grid_a.checkpoints.first().code
    with wsgi_app_in_test_transaction() as app:
        contract = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)
        failures = fuzz(contract, headers, real, checkpoint)
    assert not failures, "\n\n".join(failures)


def fuzz(contract, headers: dict, real: dict, checkpoint: str) -> list[str]:
    """Every operation's examples; the failures found, one entry an operation."""
    failures = []
    for result in contract.get_all_operations():
        operation = result.ok()
        if operation.method.upper() == "DELETE" and operation.path == "/api/v1/auth/token/":
            continue  # logging out kills the token the rest of the run uses
        names = {p.name for p in operation.path_parameters}
        # Valid requests, and requests that break the schema on purpose (wrong types, missing
        # fields, out-of-range numbers): both must get a documented answer, never a 5xx.
        strategies = [operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)]
        if names:
            given_real = {name: real[name] for name in names if name in real}
            if operation.path.startswith("/api/v1/checkpoints/"):
                given_real["code"] = checkpoint
            strategies.append(operation.as_strategy(path_parameters=given_real))

        @given(case=st.one_of(strategies))
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            call()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # schemathesis' FailureGroup: go on, report them all
            found = "\n".join(str(e) for e in getattr(exc, "exceptions", [exc]))
            failures.append(f"{operation.method.upper()} {operation.path}: {found}")
    return failures
