"""One error shape for the whole API: ``{"error": {"code", "message", "fields"}}``."""

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.audit import audit_api_denial
from gridcity.api.parsers import BodyTooLarge


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


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


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        # Django's own limit on a body held in memory (DATA_UPLOAD_MAX_MEMORY_SIZE), met when
        # DRF reads a JSON or form body: a 413 in the API's shape, not Django's HTML 400.
        exc = BodyTooLarge()
    elif isinstance(exc, Http404):
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
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return defaults.page_not_found(request, exception)
