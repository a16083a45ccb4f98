"""One error shape for the whole API: ``{"error": {"code", "message", "fields"}}``.

Domain errors (``gridcity.errors``) are answered as they say; DRF's own exceptions (validation,
authentication, permissions, parsing) are put in the same shape.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from accounts.audit import audit_api_denial
from gridcity.errors import ErrorAnswer, answer_of, error_body, error_response

__all__ = ["error_body", "exception_handler", "handler404", "not_found"]


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten(value).items():
                    out[f"{key}.{sub}"] = msgs
            else:
                values = value if isinstance(value, list) else [value]
                out[key] = [str(v) for v in values]
        return out
    values = detail if isinstance(detail, list) else [detail]
    return {"non_field_errors": [str(v) for v in values]}


def _domain_response(exc, answer: ErrorAnswer, context) -> Response:
    headers = dict(answer.headers)
    view, request = context.get("view"), context.get("request")
    if answer.status == 401 and view is not None and request is not None:
        # As DRF does for its own 401s: say which credential the route reads.
        challenge = view.get_authenticate_header(request)
        if challenge:
            headers["WWW-Authenticate"] = challenge
    set_rollback()
    response = Response(answer.body(), status=answer.status, headers=headers)
    audit_api_denial(exc=exc, context=context, response=response)  # 401 and 403 are audited
    return response


def exception_handler(exc, context):
    answer = answer_of(exc)
    if answer is not None:
        # A domain error, or Django's limit on a body held in memory (DATA_UPLOAD_MAX_MEMORY_SIZE)
        # met when DRF reads a JSON or form body: a 413 in the API's shape, not an HTML 400.
        return _domain_response(exc, answer, context)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first_field, first = next(iter(fields.items()))
        message = first[0] if first_field == "non_field_errors" else f"{first_field}: {first[0]}"
        response.data = error_body("invalid", message, fields)
    else:
        detail = getattr(exc, "detail", str(exc))
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = error_body(str(code), str(detail))
    audit_api_denial(exc=exc, context=context, response=response)  # 401 and 403 are audited
    return response


def not_found(message: str | None = None) -> Response:
    return Response(
        error_body("not_found", message or _("Not found.")), status=status.HTTP_404_NOT_FOUND
    )


def handler404(request, exception):
    """A URL under /api/ that no route matches (``/api/v1/patrol/shifts/abc/``) answers in the
    API's error shape, as the schema says every 404 does; pages keep Django's 404 page."""
    if request.path.startswith("/api/"):
        return error_response(ErrorAnswer(404, "not_found", _("Not found.")))
    return defaults.page_not_found(request, exception)
