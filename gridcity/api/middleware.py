"""Refuse a NUL character in the path or the query string, before any view sees it.

PostgreSQL's text cannot hold U+0000: a ``%00`` that reaches a query (``/api/v1/cases/%00/``,
``?item=0101%00`` read by a slug field) is an error from the database driver, a 500. Forms and
DRF's character fields refuse it, but not every parameter goes through one (path converters,
slug lookups, cursors), so it is refused here once for every URL: a 400 naming the parameter,
in the API's error shape wherever machines call (the API and the positioning apps' endpoints).
"""

from urllib.parse import parse_qsl

from django.http import HttpResponseBadRequest
from django.utils.translation import gettext as _

from gridcity.errors import FieldInvalid, error_response

# Where the callers are programs that read the API's error shape, not people.
MACHINE_PREFIXES = ("/api/", "/osmand", "/owntracks", "/overland")


def _nul_parameter(request) -> str | None:
    """The name of the first part that holds a NUL: ``path`` or a query parameter's name."""
    if "\x00" in request.path_info:
        return "path"
    query = request.META.get("QUERY_STRING", "")
    if "%00" not in query and "\x00" not in query:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return None


class NulRefusedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = _nul_parameter(request)
        if field is None:
            return self.get_response(request)
        message = _("A NUL character is not allowed.")
        if request.path_info.startswith(MACHINE_PREFIXES):
            return error_response(FieldInvalid(field, message).answer())
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
