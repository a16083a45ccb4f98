"""The positioning apps' endpoints: one view for every protocol registered in
``patrol.trackers`` (OsmAnd at ``/osmand/``, OwnTracks at ``/owntracks/``, Overland at
``/overland/``…); the protocol reads the request and writes the app's answer, this view does
the rest.

These protocols carry no password of GridCity's own: a fix names its device, and the identifier
registered as a ``Tracker`` (admin) is the credential (Overland's access token is registered the
same way). So these views take no session and no token, are exempt from CSRF (no cookie is read,
nothing a browser holds is trusted), and refuse an unknown or revoked identifier with a 403
before anything is stored. The identifier travels in every request: serve these over TLS, and
register long random identifiers (``Tracker.clean`` refuses short ones).

Every request of a registered app, with fixes or without (a heartbeat), records the tracker's
last contact and battery (``services.tracker_contact``). The apps resend a request until it
gets the answer they expect, so what carries no fix — Traccar Client's stationary heartbeat, an
OwnTracks zero-length POST — is answered 200, never 400. Bodies are read as strict JSON
(``gridcity.jsonsafe``): NaN, 1e400, a lone surrogate or nesting past 64 levels is a 400 naming
the field, 413 past GRIDCITY_PATROL_MAX_BODY_BYTES; nothing is stored on a refusal.

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
from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from accounts.audit import client_ip
from gridcity.errors import DomainError, ErrorAnswer, answer_of, error_response
from patrol import services
from patrol.fixes import FixFormatError
from patrol.models import Tracker
from patrol.selectors import tracker_active
from patrol.trackers import Reading, TrackerProtocol, protocols

log = logging.getLogger(__name__)

# A forgotten phone whose tracker was revoked keeps sending a fix every few seconds: say so in
# the log once per identifier in this many seconds, not 17,000 times a day.
REFUSED_LOG_EVERY_S = 600


class TrackerRefused(DomainError):
    """A device identifier that is not registered under the protocol's kind, or revoked."""

    status = 403
    code = "unknown_device"


def _refused(request: HttpRequest, kind: str, identifier: str) -> TrackerRefused:
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
    return TrackerRefused(_("This device identifier is not registered, or it was revoked."))


def _too_many(field: str) -> FixFormatError:
    n = settings.GRIDCITY_PATROL_MAX_BATCH
    return FixFormatError(field, _("At most %(n)d locations in one request.") % {"n": n})


def _store(tracker: Tracker, reading: Reading, received: datetime) -> services.IngestResult:
    """The reading's fixes stored for the tracker's inspector, and the tracker's contact."""
    result = services.IngestResult()
    if reading.fixes:
        result = services.track_points_ingest(inspector=tracker.inspector, fixes=reading.fixes)
    services.tracker_contact(tracker=tracker, at=received, battery=reading.battery)
    return result


@method_decorator(csrf_exempt, name="dispatch")
class TrackerPositionsApi(View):
    """A registered protocol's endpoint: read, look the tracker up, store, answer.

    400 naming the field for a request that cannot be read (or holds more than
    GRIDCITY_PATROL_MAX_BATCH fixes), 413 for a body past the limit, 403 for an identifier that
    is not registered under the protocol's kind or is revoked; otherwise the protocol's answer.
    """

    protocol: TrackerProtocol | None = None  # set by tracker_urls()

    def dispatch(self, request, *args, **kwargs):
        self.http_method_names = list(self.protocol.methods)
        try:
            return super().dispatch(request, *args, **kwargs)
        except (DomainError, RequestDataTooBig) as error:
            # Nothing was stored: the reading is refused whole, the tracker refused first.
            return error_response(answer_of(error))

    def http_method_not_allowed(self, request, *args, **kwargs):
        message = _("Method %s not allowed.") % request.method
        response = error_response(ErrorAnswer(405, "method_not_allowed", message))
        response["Allow"] = ", ".join(m.upper() for m in self._allowed_methods())
        return response

    def _body(self, request: HttpRequest) -> bytes:
        """The body, within both Django's limit and the fixes' (RequestDataTooBig beyond)."""
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.GRIDCITY_PATROL_MAX_BODY_BYTES:
            raise RequestDataTooBig()
        return request.body

    def get(self, request: HttpRequest) -> HttpResponse:
        received = timezone.now()
        protocol = self.protocol
        # FixFormatError: 400 naming the field; RequestDataTooBig: 413.
        reading = protocol.read(
            request, body=lambda: self._body(request), received=received.timestamp()
        )
        if len(reading.fixes) > settings.GRIDCITY_PATROL_MAX_BATCH:
            raise _too_many(protocol.batch_field)
        counts = services.IngestResult().as_dict()
        if reading.identifier or reading.fixes or not protocol.anonymous_ok:
            tracker = tracker_active(protocol.kind, reading.identifier)
            if tracker is None:
                raise _refused(request, protocol.kind, reading.identifier)
            counts = _store(tracker, reading, received).as_dict()
        return protocol.answer(reading, counts)

    post = get


def tracker_urls() -> list:
    """``/<kind>/`` for every registered protocol, with or without the trailing slash (a POST
    to a URL without it could not be redirected), named by its kind."""
    return [
        re_path(rf"^{p.kind}/?$", TrackerPositionsApi.as_view(protocol=p), name=p.kind)
        for p in protocols()
    ]
