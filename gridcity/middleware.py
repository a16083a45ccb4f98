"""Request bodies within bounds: refused by their length before a byte of them is read.

A 400 MB multipart "photo" used to be read whole (and held in memory) before the photo code
found it too large. Now every route has a body limit (:func:`body_limit`): a case photo
``GRIDCITY_PHOTO_MAX_BYTES``, the track upload and the tracker endpoints
``GRIDCITY_PATROL_MAX_BODY_BYTES``, a GPX file ``GRIDCITY_PATROL_MAX_GPX_BYTES`` (the multipart
ones with room for their framing), everything else ``GRIDCITY_MAX_BODY_BYTES``. A request whose
``Content-Length`` says more is answered 413 in the API's error shape, its body unread; a body
sent without a length (chunked) is counted as it is read and refused once it passes the limit.

Two places do it, because the two server kinds read bodies at different times:

* :class:`BodyLimitASGIMiddleware` wraps the ASGI application (uvicorn, daphne). Django's
  ASGI handler reads the whole body into a temporary file *before* any Django middleware runs,
  so under ASGI only a wrapper around the application can refuse before reading: by the
  header at once, or by counting the chunks as they arrive.
* :class:`BodyLimitMiddleware`, first in ``MIDDLEWARE``, does the same under WSGI (gunicorn),
  where the body is read only when a view asks for it.
"""

import json
import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

from gridcity.errors import error_body

# Room for the multipart framing around a file: boundaries, part headers, the small text
# fields beside it (stage, client_id, crs). 64 KiB is far more than any of them take.
MULTIPART_SLACK = 64 * 1024

# (path pattern, the limit of its body in bytes); the first match wins.
ROUTE_LIMITS: list[tuple[re.Pattern, Callable[[], int]]] = [
    (
        re.compile(r"^/api/v1/cases/[^/]+/photos/?$"),
        lambda: settings.GRIDCITY_PHOTO_MAX_BYTES + MULTIPART_SLACK,
    ),
    (re.compile(r"^/api/v1/patrol/points/?$"), lambda: settings.GRIDCITY_PATROL_MAX_BODY_BYTES),
    (
        re.compile(r"^/api/v1/patrol/gpx/?$"),
        lambda: settings.GRIDCITY_PATROL_MAX_GPX_BYTES + MULTIPART_SLACK,
    ),
]


def route_limit_add(pattern: str, limit: Callable[[], int]) -> None:
    """Give the paths that ``pattern`` (a regular expression) matches a body limit of their own.
    For routes an app generates, added from its ``AppConfig.ready``: patrol's tracker
    protocols, one URL per registered protocol."""
    compiled = re.compile(pattern)
    if all(known.pattern != compiled.pattern for known, _limit in ROUTE_LIMITS):
        ROUTE_LIMITS.append((compiled, limit))


def body_limit(path: str) -> int:
    """The most bytes a request body to ``path`` may have."""
    for pattern, limit in ROUTE_LIMITS:
        if pattern.match(path):
            return int(limit())
    return int(settings.GRIDCITY_MAX_BODY_BYTES)


def _declared_length(value) -> int | None:
    """The Content-Length as a number, or None when absent or not a plain number."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _language(accept_language: str) -> str:
    """The UI language the client asks for, as LocaleMiddleware would choose it from the header
    (neither middleware has run it yet)."""
    for code, _quality in parse_accept_lang_header(accept_language or ""):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def too_large_body(limit: int, accept_language: str = "") -> dict:
    """The 413 answer's body, in the API's error shape and the client's language."""
    with translation.override(_language(accept_language)):
        message = _("The request body is too large: at most %(limit)d bytes are accepted here.")
        return error_body("too_large", message % {"limit": limit})


class _BoundedStream:
    """A request's body stream that raises RequestDataTooBig once more than ``limit`` bytes
    were read from it: the count for a body that came without a Content-Length."""

    def __init__(self, stream, limit: int):
        self._stream = stream
        self._limit = limit
        self._read = 0

    def _count(self, data: bytes) -> bytes:
        self._read += len(data)
        if self._read > self._limit:
            raise RequestDataTooBig(f"The request body is larger than {self._limit} bytes.")
        return data

    def _room(self, size: int | None) -> int:
        """How much to ask of the stream: never more than one byte past the limit."""
        room = max(self._limit + 1 - self._read, 0)
        return room if size is None or size < 0 else min(size, room)

    def read(self, size: int | None = -1) -> bytes:
        return self._count(self._stream.read(self._room(size)))

    def readline(self, size: int | None = -1) -> bytes:
        return self._count(self._stream.readline(self._room(size)))

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class BodyLimitMiddleware:
    """Refuse a body over its route's limit before it is read (WSGI), and bound one that came
    without a Content-Length by counting it as it is read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = body_limit(request.path_info)
        length = _declared_length(request.META.get("CONTENT_LENGTH"))
        if length is not None and length > limit:
            return JsonResponse(
                too_large_body(limit, request.META.get("HTTP_ACCEPT_LANGUAGE", "")), status=413
            )
        if length is None and getattr(request, "_stream", None) is not None:
            request._stream = _BoundedStream(request._stream, limit)
        return self.get_response(request)


class BodyLimitASGIMiddleware:
    """The ASGI application within body limits: 413 by the Content-Length header without
    reading the body, or as soon as the chunks received pass the limit; the inner application
    is then told the client went away, so Django answers nothing more."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, root = scope.get("path", ""), scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        limit = body_limit(path)
        headers = dict(scope.get("headers") or [])
        language = headers.get(b"accept-language", b"").decode("latin-1")
        length = _declared_length(headers.get(b"content-length"))
        if length is not None and length > limit:
            await _send_too_large(send, limit, language)
            return None
        received = 0
        refused = False

        async def bounded_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _send_too_large(send, limit, language)
                    return {"type": "http.disconnect"}
            return message

        return await self.app(scope, bounded_receive, send)


async def _send_too_large(send, limit: int, accept_language: str) -> None:
    body = json.dumps(too_large_body(limit, accept_language), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is never read: the connection cannot carry another request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
