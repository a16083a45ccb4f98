"""Domain errors, and the one place they become an answer.

A service, a selector or a parser that refuses something raises a ``DomainError``: it says
what went wrong for the caller to act on, and carries how it is answered — an HTTP status, a
machine code, a message for people and, for refused input, the fields. Every front end answers
it the same way, from :func:`answer_of`:

- the API's DRF exception handler (``gridcity.api.errors.exception_handler``);
- plain Django views and middleware that answer programs (the positioning apps' endpoints,
  the body and NUL checks) through :func:`error_response`;
- pages, which catch the error and show ``answer().message`` to the person, in the form's
  error area or as a Django message (the log-in page: ``accounts.views.LoginForm``).

The body is always ``{"error": {"code", "message", "fields"}}`` (``fields`` only when some are
named), plus what a kind of error adds (a case's current ``status`` on a 409).
"""

from dataclasses import dataclass, field

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.utils.translation import gettext as _


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


@dataclass(frozen=True)
class ErrorAnswer:
    """How an error is answered: ``status``, ``code``, ``message``, ``fields``; ``extra`` goes
    into the error object beside them, ``headers`` onto the response."""

    status: int
    code: str
    message: str
    fields: dict[str, list[str]] | None = None
    extra: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict:
        body = error_body(self.code, self.message, self.fields)
        body["error"].update(self.extra)
        return body


class DomainError(Exception):
    """A refusal the caller can act on; answered ``status`` with ``code`` and the message.

    Subclasses set ``status`` and ``code`` (the code may also be given per instance) and
    override :meth:`answer` when they say more (fields, the current state, a header).
    """

    status: int = 400
    code: str = "invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def answer(self) -> ErrorAnswer:
        return ErrorAnswer(self.status, self.code, str(self.message))


class FieldInvalid(DomainError, ValueError):
    """Input refused (400 ``invalid``): ``field`` names the part (``points[3].t``, dotted for
    nested ones), ``message`` says why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.args = (f"{field}: {message}",)

    def answer(self) -> ErrorAnswer:
        message = str(self.message)
        shown = message if self.field == "non_field_errors" else f"{self.field}: {message}"
        return ErrorAnswer(400, "invalid", shown, {self.field: [message]})


class Conflict(DomainError):
    """A request that contradicts what is stored (409): someone else acted first, a retried
    write with another body, a database that stayed busy."""

    status = 409
    code = "conflict"


def answer_of(exc: BaseException) -> ErrorAnswer | None:
    """The answer to ``exc``, or None when it is no refusal of ours (the front end's own
    handling, or a 500, applies)."""
    if isinstance(exc, DomainError):
        return exc.answer()
    if isinstance(exc, RequestDataTooBig):
        # Django's own limit on a body held in memory, or a route's body limit.
        return ErrorAnswer(413, "too_large", _("The request body is too large."))
    return None


def error_response(answer: ErrorAnswer) -> JsonResponse:
    """The answer as a plain Django response, for views and middleware outside DRF."""
    response = JsonResponse(answer.body(), status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response
