"""The positioning apps' endpoints: OsmAnd (Traccar Client) at ``/osmand/`` and OwnTracks (HTTP
mode) at ``/owntracks/``.

Neither protocol carries a password or a token: a fix names its device, and the device
identifier registered as a ``Tracker`` (admin) is the credential. So these views take no
session and no token, are exempt from CSRF (no cookie is read, nothing a browser holds is
trusted), and refuse an unknown or revoked identifier with a 403 before anything is stored.
The identifier travels in every request: serve these over TLS, and register long random
identifiers (``Tracker.clean`` refuses short ones).

Every request of a registered app, with fixes or without (a heartbeat), records the tracker's
last contact and battery (``services.tracker_contact``). The apps resend a request until it
gets a 2xx, so what carries no fix — Traccar Client's stationary heartbeat, an OwnTracks
zero-length POST — is answered 200, never 400. Bodies are read as strict JSON
(``gridcity.jsonsafe``): NaN, 1e400, a lone surrogate or nesting past 64 levels is a 400.

Plain Django views rather than DRF's: a handheld sends one request per fix, every 5–10 s, and
needs none of DRF's authentication, content negotiation or parsers. The answers keep the API's
error shape, ``{"error": {"code", "message", "fields"}}``.
"""

import hashlib
import logging
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from accounts.audit import client_ip
from gridcity.api.errors import error_body
from patrol import services
from patrol.fixes import FixFormatError
from patrol.models import Tracker
from patrol.protocols import Reading, osmand_parse, owntracks_parse, owntracks_response
from patrol.selectors import tracker_active

log = logging.getLogger(__name__)

# A forgotten phone whose tracker was revoked keeps sending a fix every few seconds: say so in
# the log once per identifier in this many seconds, not 17,000 times a day.
REFUSED_LOG_EVERY_S = 600


def _error(status: int, code: str, message: str, fields: dict | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, fields), status=status)


def _invalid(error: FixFormatError) -> JsonResponse:
    return _error(400, "invalid", f"{error.field}: {error.message}", {error.field: [error.message]})


def _too_large() -> JsonResponse:
    return _error(413, "too_large", _("The request body is too large."))


def _refused(request: HttpRequest, kind: str, identifier: str) -> JsonResponse:
    """403 for an identifier that is not registered, or revoked; logged (rate-limited). The log
    shows only the start of the identifier: a revoked one was a credential, and a typo of a
    live one is most of it."""
    digest = hashlib.sha256(f"{kind}\0{identifier}".encode()).hexdigest()[:16]
    if cache.add(f"patrol:tracker-refused:{digest}", 1, REFUSED_LOG_EVERY_S):
        log.warning(
            "%s fix refused: device identifier %s… (%d characters) is not registered or is "
            "revoked; from %s",
            kind,
            identifier[:4],
            len(identifier),
            client_ip(request) or "?",
        )
    return _error(
        403,
        "unknown_device",
        _("This device identifier is not registered, or it was revoked."),
    )


def _too_many(field: str) -> JsonResponse:
    n = settings.GRIDCITY_PATROL_MAX_BATCH
    return _invalid(FixFormatError(field, _("At most %(n)d locations in one request.") % {"n": n}))


def _store(tracker: Tracker, reading: Reading, received: datetime) -> services.IngestResult:
    """The reading's fixes stored for the tracker's inspector, and the tracker's contact."""
    result = services.IngestResult()
    if reading.fixes:
        result = services.track_points_ingest(inspector=tracker.inspector, fixes=reading.fixes)
    services.tracker_contact(tracker=tracker, at=received, battery=reading.battery)
    return result


class _ProtocolView(View):
    def http_method_not_allowed(self, request, *args, **kwargs):
        response = _error(405, "method_not_allowed", _("Method %s not allowed.") % request.method)
        response["Allow"] = ", ".join(m.upper() for m in self._allowed_methods())
        return response

    def _body(self, request: HttpRequest) -> bytes:
        """The body, within both Django's limit and the fixes' (RequestDataTooBig beyond)."""
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.GRIDCITY_PATROL_MAX_BODY_BYTES:
            raise RequestDataTooBig()
        return request.body


@method_decorator(csrf_exempt, name="dispatch")
class OsmAndPositionsApi(_ProtocolView):
    """OsmAnd protocol, as Traccar Client (and OsmAnd's own tracker) send it: GET with query
    parameters, a form POST, or Traccar Client 9's JSON body (``patrol.protocols.osmand_parse``).

    200 with the counts of the ingestion — ``{"accepted", "duplicate", "rejected": {reason: n}}``
    — whatever the filters made of the fixes: the app only checks for a 200, and one that got
    anything else would send the same fix again for ever. A heartbeat without coordinates
    (or with only cell and Wi-Fi data) is a 200 with zero counts: no fix, the last contact and
    battery recorded. A fix without ``timestamp`` is stored at the time it was received,
    marked so. 400 naming the parameter for a request that cannot be read, 403 for an
    identifier that is not registered (kind ``osmand``) or is revoked; nothing stored either
    way.
    """

    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest):
        received = timezone.now()
        try:
            params, body = request.GET, b""
            if request.content_type == "multipart/form-data":
                # Not what Traccar Client sends, but what an HTML form or curl -F does.
                params = params or request.POST
            else:
                body = self._body(request)
            reading = osmand_parse(
                params, body, request.content_type or "", received=received.timestamp()
            )
        except RequestDataTooBig:
            return _too_large()
        except FixFormatError as error:
            return _invalid(error)
        if len(reading.fixes) > settings.GRIDCITY_PATROL_MAX_BATCH:
            return _too_many("location")
        tracker = tracker_active(Tracker.Kind.OSMAND, reading.identifier)
        if tracker is None:
            return _refused(request, Tracker.Kind.OSMAND, reading.identifier)
        result = _store(tracker, reading, received)
        counts = result.as_dict()
        return JsonResponse({key: counts[key] for key in ("accepted", "duplicate", "rejected")})

    post = get


@method_decorator(csrf_exempt, name="dispatch")
class OwnTracksPositionsApi(_ProtocolView):
    """OwnTracks in HTTP mode: a POST of one JSON message or a list of them
    (``patrol.protocols.owntracks_parse``). The device is ``user/device`` from the
    ``X-Limit-U``/``X-Limit-D`` headers the apps send, else from the ``?u=user&d=device``
    query of the Recorder's URL form, else from the messages' ``topic``.

    200 with ``[]`` (no messages for the app) once the locations are stored, or when the
    request holds no location and names no device (a ``lwt``, a ``waypoint``…, or the
    zero-length POST the apps send when a friend is deleted). 403 for a device that is not
    registered (kind ``owntracks``) or is revoked, 400 naming the field for a body that cannot
    be read. The app's HTTP Basic credentials, if it sends any, are not checked: the
    registered identifier is the credential, as for OsmAnd.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest):
        received = timezone.now()
        try:
            reading = owntracks_parse(
                self._body(request),
                user=request.headers.get("X-Limit-U", ""),
                device=request.headers.get("X-Limit-D", ""),
                query=request.GET,
            )
        except RequestDataTooBig:
            return _too_large()
        except FixFormatError as error:
            return _invalid(error)
        if len(reading.fixes) > settings.GRIDCITY_PATROL_MAX_BATCH:
            return _too_many("body")
        if reading.identifier:
            tracker = tracker_active(Tracker.Kind.OWNTRACKS, reading.identifier)
            if tracker is None:
                return _refused(request, Tracker.Kind.OWNTRACKS, reading.identifier)
            _store(tracker, reading, received)
        return JsonResponse(owntracks_response(), safe=False)
