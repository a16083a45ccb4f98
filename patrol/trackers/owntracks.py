"""OwnTracks in HTTP mode: a POST of one JSON message or a list of them (read by
``patrol.protocols.owntracks_parse``). The device is ``user/device`` from the
``X-Limit-U``/``X-Limit-D`` headers the apps send, else from the ``?u=user&d=device`` query of
the Recorder's URL form, else from the messages' ``topic``; that is the registered identifier.

Answer: 200 with ``[]`` (no messages for the app) once the locations are stored, or when the
request holds no location and names no device (a ``lwt``, a ``waypoint``…, or the zero-length
POST the apps send when a friend is deleted). The app's HTTP Basic credentials, if it sends
any, are not checked: the registered identifier is the credential, as for OsmAnd.
"""

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from patrol.protocols import owntracks_parse, owntracks_response
from patrol.trackers import TrackerProtocol, register


@register
class OwnTracks(TrackerProtocol):
    kind = "owntracks"
    label = _("OwnTracks")
    anonymous_ok = True

    def read(self, request: HttpRequest, *, body, received):
        return owntracks_parse(
            body(),
            user=request.headers.get("X-Limit-U", ""),
            device=request.headers.get("X-Limit-D", ""),
            query=request.GET,
        )

    def answer(self, reading, counts):
        return JsonResponse(owntracks_response(), safe=False)

    def identifier_errors(self, identifier):
        user, _slash, device = identifier.partition("/")
        if not user or not device or "/" in device:
            return [_g("OwnTracks identifiers are user/device (X-Limit-U/X-Limit-D).")]
        return []
