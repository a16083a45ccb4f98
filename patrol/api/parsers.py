"""JSON bodies of the track upload, plain or gzip-compressed, within a size limit.

Handhelds that come back online after hours upload their buffer, and gzip shrinks a batch of
fixes about tenfold over a mobile link. The body is decompressed with a limit on what comes
out (GRIDCITY_PATROL_MAX_BODY_BYTES): a small body that would inflate to gigabytes (a gzip
bomb) is refused with 413 before it takes the memory. What comes out is read as strict JSON
(``gridcity.api.parsers.json_parse``).
"""

import zlib

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser

from gridcity.api.parsers import BodyTooLarge, json_parse


class UnsupportedEncoding(exceptions.APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_code = "unsupported_encoding"
    default_detail = _("Send the body as it is or gzip-compressed (Content-Encoding: gzip).")


def gunzip(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip header and trailer
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise exceptions.ParseError(_("The body is not valid gzip.")) from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge()
    if not inflater.eof:
        raise exceptions.ParseError(_("The gzip body is truncated."))
    return out


class BoundedJSONParser(BaseParser):
    """``application/json``, identity or gzip content encoding, at most the size limit."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.GRIDCITY_PATROL_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        meta = request.META if request is not None else {}
        encoding = meta.get("HTTP_CONTENT_ENCODING", "").strip().lower()
        if encoding not in ("", "identity", "gzip"):
            raise UnsupportedEncoding()
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise BodyTooLarge()
        if encoding == "gzip":
            data = gunzip(data, limit)
        # Strict JSON: no NaN, no 1e400, no lone surrogate or NUL, at most 64 levels deep.
        return json_parse(data)
