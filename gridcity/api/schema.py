"""The OpenAPI schema tells the whole truth, errors included.

drf-spectacular describes what an operation answers when all goes well. A handheld's generated
client also needs every error it can meet, in the API's one error shape (gridcity.api.errors):
without them it throws on a 404 or a 409 it was never told about. ``AutoSchema`` adds, to every
operation, the error answers its view can give:

- 400 everywhere: a query parameter, a cursor or the URL itself can be refused;
- 401 where a credential is read (an expired or revoked token is refused even on an open
  endpoint), 403 where a permission applies beyond "anyone";
- 404 on routes with a path parameter (an object the caller may not see is a 404 too);
- 413 and 415 where a body is read;
- 409 where the view's writes can meet a conflict (a workflow step the case's state does not
  allow, a retried write with another body, a busy database): views that say ``conflicts``;
- 429 for the log-in (``locked_out``, with Retry-After).

Answers an operation declares itself keep their description; the error body is filled in.
"""

import json

from django.utils.translation import gettext_lazy as _
from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import AllowAny

ERROR_COMPONENT = "Error"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
ERROR_CONTENT = {"application/json": {"schema": ERROR_REF}}

ERROR_SCHEMA = {
    "type": "object",
    "description": "The API's one error shape.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Machine-readable reason, e.g. invalid, not_found, "
                    "not_authenticated, permission_denied, conflict, too_large, locked_out.",
                },
                "message": {"type": "string", "description": "For people, in their language."},
                "fields": {
                    "type": "object",
                    "description": "Each refused field (dotted for nested ones) with its reasons.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
                "status": {
                    "type": "string",
                    "description": "On a 409 of a case: the case's current status.",
                },
                "last_step": {
                    "type": "object",
                    "description": "On a 409 of a case: its latest step, who took it and when "
                    "(someone else acted first); by is “citizen” (市民) for a citizen.",
                    "properties": {
                        "action": {"type": "string"},
                        "by": {"type": "string", "nullable": True},
                        "at": {"type": "string", "format": "date-time"},
                    },
                    "required": ["action", "by", "at"],
                },
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

ERROR_DESCRIPTIONS = {
    "400": _("invalid: a parameter or a field is refused; fields names each with its reasons"),
    "401": _("not_authenticated or authentication_failed: no, an expired or a revoked token"),
    "403": _("permission_denied: the caller's role may not do this"),
    "404": _("not_found: no such object, or one the caller may not see"),
    "409": _("a conflict with what is stored (the case's state, a retried write, a busy database)"),
    "413": _("too_large: the body is over this route's limit"),
    "415": _("unsupported_media_type: the body's Content-Type is not one this route reads"),
    "429": _("locked_out: too many failed log-ins; see Retry-After"),
}

_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _conflicting(view) -> bool:
    """Whether the view's writes can meet a conflict (``gridcity.errors.Conflict``, answered
    409 by the one exception handler): the view says so with ``conflicts = True``."""
    return bool(getattr(view, "conflicts", False))


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, with each operation's error answers and their body."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        registry.register_on_missing(
            ResolvedComponent(
                name=ERROR_COMPONENT,
                type=ResolvedComponent.SCHEMA,
                object=ERROR_COMPONENT,
                schema=ERROR_SCHEMA,
            )
        )
        for parameter in operation.get("parameters", []):
            described = parameter.get("schema", {})
            if parameter["in"] == "path" and described.get("type") == "string":
                # Django's ``<str:…>`` converter: one path segment, never empty, never a slash.
                described.setdefault("pattern", "^[^/]+$")
        responses = operation.setdefault("responses", {})
        for code in self._error_codes(operation):
            answer = responses.setdefault(code, {})
            if not answer.get("description"):
                answer["description"] = str(ERROR_DESCRIPTIONS[code])
            answer.setdefault("content", ERROR_CONTENT)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_codes(self, operation) -> list[str]:
        codes = {"400"}
        authenticated = bool(self.get_auth())
        if authenticated:
            codes.add("401")
            if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
                codes.add("403")
        if "{" in self.path:
            codes.add("404")
        if self.method in _WRITES:
            if "requestBody" in operation:
                codes |= {"413", "415"}
            if _conflicting(self.view):
                codes.add("409")
        # Codes the operation declared itself (the log-in's 429, the GPX import's 413).
        codes |= {c for c in operation.get("responses", {}) if c in ERROR_DESCRIPTIONS}
        return sorted(codes)


def drop_unused_components(result, generator, request, public):
    """Postprocessing hook: drop components no operation refers to (drf-spectacular's GeoJSON
    contrib registers a FeatureCollection per feature serializer, used or not), so the schema
    lists only shapes the API answers."""
    schemas = result.get("components", {}).get("schemas", {})
    text = json.dumps({k: v for k, v in result.items() if k != "components"}, default=str)
    used = {name for name in schemas if f'"#/components/schemas/{name}"' in text}
    pending = list(used)
    while pending:
        inner = json.dumps(schemas[pending.pop()], default=str)
        for name in schemas.keys() - used:
            if f'"#/components/schemas/{name}"' in inner:
                used.add(name)
                pending.append(name)
    for name in schemas.keys() - used:
        del schemas[name]
    return result
