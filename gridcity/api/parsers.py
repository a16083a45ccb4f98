"""The API's JSON parser: strict JSON (``gridcity.jsonsafe``) within a size limit.

DRF's own parser hands the body to ``json.load``: nesting 100,000 levels deep raises
``RecursionError`` (a 500), ``1e400`` becomes infinity and is stored, and a lone surrogate
(``"\\ud800"``) or a NUL reaches the database, which refuses it (a 500 on PostgreSQL). This one
refuses all of them with 400 ``parse_error`` saying why, before any view sees the data.
"""

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, parsers, status

from gridcity import jsonsafe


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = gettext_lazy("The request body is too large.")


def json_parse(data: bytes):
    """The parsed body, or DRF's ``ParseError`` (400) saying what is wrong with it."""
    try:
        return jsonsafe.loads(data)
    except jsonsafe.JSONRejected as error:
        raise exceptions.ParseError(_("The body is not valid JSON: %s") % error) from None


class JSONParser(parsers.JSONParser):
    """``application/json`` read with ``gridcity.jsonsafe``, at most
    DATA_UPLOAD_MAX_MEMORY_SIZE bytes (Django's own limit for a body held in memory)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if stream is None:
            return json_parse(b"")
        data = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(data) > limit:
            raise BodyTooLarge()
        return json_parse(data)


def _nul_refused(data):
    """A form's text values without NUL (PostgreSQL's text cannot hold one), else a 400."""
    for name, values in data.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            field = name.replace("\x00", "") or "non_field_errors"
            raise exceptions.ValidationError({field: [_("A NUL character is not allowed.")]})
    return data


class FormParser(parsers.FormParser):
    """``application/x-www-form-urlencoded``, refusing NUL in names and values."""

    def parse(self, stream, media_type=None, parser_context=None):
        return _nul_refused(super().parse(stream, media_type, parser_context))


class MultiPartParser(parsers.MultiPartParser):
    """``multipart/form-data``, refusing NUL in the text fields (files are left as they are)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        _nul_refused(parsed.data)
        return parsed
