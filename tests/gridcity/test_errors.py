"""Domain errors carry their answer, and one place renders it: the DRF exception handler, the
tracker endpoints and the middleware all give ``{"error": {"code", "message", "fields"}}``."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import translation

from accounts.auth import LoginRefused
from cases.models import Case
from cases.photos import PhotoRejected
from cases.services import CaseConflict, CaseInvalid
from gridcity.db import DatabaseBusy
from gridcity.errors import DomainError, ErrorAnswer, answer_of, error_response
from patrol.fixes import FixFormatError
from patrol.selectors import AreaOutOfScope
from patrol.services import PatrolInvalid, ShiftConflict

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "cases", "patrol", "gridcity")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (CaseConflict(None, "taken", code="client_uuid_reused"), 409, "client_uuid_reused"),
        (ShiftConflict("another shift"), 409, "conflict"),
        (DatabaseBusy("database is locked"), 409, "busy"),
        (AreaOutOfScope("440306001"), 403, "permission_denied"),
        (PhotoRejected("too_large"), 413, "too_large"),
        (LoginRefused(), 401, "invalid_credentials"),
        (LoginRefused(locked_out=True), 429, "locked_out"),
    ],
)
def test_each_domain_error_says_its_status_and_code(error, status, code):
    answer = answer_of(error)

    assert (answer.status, answer.code) == (status, code)
    assert answer.message


@pytest.mark.parametrize("kind", [CaseInvalid, PatrolInvalid, FixFormatError])
def test_refused_input_is_a_400_naming_the_field(kind):
    answer = answer_of(kind("points[3].t", "Not an ISO 8601 time."))

    assert answer == ErrorAnswer(
        400,
        "invalid",
        "points[3].t: Not an ISO 8601 time.",
        {"points[3].t": ["Not an ISO 8601 time."]},
    )


def test_a_refusal_of_the_whole_input_names_no_field_in_its_message():
    answer = answer_of(FixFormatError("non_field_errors", "A JSON object is required."))

    assert answer.message == "A JSON object is required."
    assert answer.fields == {"non_field_errors": ["A JSON object is required."]}


def test_a_case_conflict_says_the_state_the_case_is_in():
    body = answer_of(CaseConflict(Case(status="handling"), "too late")).body()

    assert body == {"error": {"code": "conflict", "message": "too late", "status": "handling"}}


def test_a_refused_photo_names_the_file_field():
    body = answer_of(PhotoRejected("not_an_image")).body()["error"]

    assert body["code"] == "not_an_image"
    assert list(body["fields"]) == ["file"]
    assert body["message"] == f"file: {body['fields']['file'][0]}"


def test_a_lockout_says_how_long_to_wait_in_minutes_and_in_retry_after():
    answer = answer_of(LoginRefused(locked_out=True, retry_after=timedelta(minutes=15)))

    assert "Try again in 15 minutes" in answer.message
    assert answer.headers == {"Retry-After": "900"}


def test_a_plain_django_answer_has_the_api_shape_and_the_headers():
    answer = ErrorAnswer(429, "locked_out", "wait", headers={"Retry-After": "60"})

    response = error_response(answer)

    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert json.loads(response.content) == {"error": {"code": "locked_out", "message": "wait"}}


def test_an_error_that_is_no_refusal_of_ours_has_no_answer():
    assert answer_of(ValueError("a bug")) is None
    assert answer_of(KeyError("points")) is None


def test_domain_errors_stay_value_errors_where_callers_catch_those():
    assert isinstance(FixFormatError("t", "x"), ValueError)
    assert isinstance(CaseInvalid("note", "x"), DomainError)


def _sources():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def test_no_view_answers_domain_errors_on_its_own():
    # Views call services and let the one handler answer: no handle_exception override, no
    # error body assembled beside gridcity.errors (the 413 of the ASGI wrapper needs a dict).
    allowed = {"gridcity/errors.py", "gridcity/api/errors.py", "gridcity/middleware.py"}
    offenders = []
    for path in _sources():
        text = path.read_text()
        name = str(path.relative_to(ROOT))
        if re.search(r"def handle_exception\(", text):
            offenders.append(f"{name}: handle_exception")
        if name not in allowed and re.search(r"\berror_body\(", text):
            offenders.append(f"{name}: error_body")
    assert offenders == []
