"""OsmAnd protocol, as Traccar Client (and OsmAnd's own tracker) send it: GET with query
parameters, a form POST, or Traccar Client 9's JSON body (read by
``patrol.protocols.osmand_parse``). The device identifier ``id`` is the registered identifier.

Answer: 200 with the counts of the ingestion — ``{"accepted", "duplicate", "rejected":
{reason: n}}`` — whatever the filters made of the fixes: the app only checks for a 200, and one
that got anything else would send the same fix again for ever. A heartbeat without coordinates
(or with only cell and Wi-Fi data) is a 200 with zero counts.
"""

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy as _

from patrol.protocols import osmand_parse
from patrol.trackers import TrackerProtocol, register


@register
class OsmAnd(TrackerProtocol):
    kind = "osmand"
    label = _("Traccar Client / OsmAnd")
    methods = ("get", "post")
    batch_field = "location"

    def read(self, request: HttpRequest, *, body, received):
        params, raw = request.GET, b""
        if request.content_type == "multipart/form-data":
            # Not what Traccar Client sends, but what an HTML form or curl -F does.
            params = params or request.POST
        else:
            raw = body()
        return osmand_parse(params, raw, request.content_type or "", received=received)

    def answer(self, reading, counts):
        return JsonResponse({key: counts[key] for key in ("accepted", "duplicate", "rejected")})
