"""Overland (iOS, https://github.com/aaronpk/Overland-iOS): a POST of JSON
``{"locations": [GeoJSON Feature, …], "current": …, "trip": …}``, batches of up to 200 by
default. Each location is a Feature whose geometry is a Point ``[lon, lat]`` and whose
properties hold ``timestamp`` (ISO 8601, e.g. ``2015-10-01T08:00:00-0700``), ``speed`` (m/s),
``course`` (°), ``horizontal_accuracy`` and ``altitude`` (m) and ``battery_level`` (0..1); -1
means unknown, as iOS reports it. Features with an ``action`` (the app's log lines and visits)
or without a geometry are no fix; ``current`` and ``trip`` are not read.

The device is identified by the access token set in the app's settings, sent as
``Authorization: Bearer <token>`` or, if put in the endpoint URL, as ``?access_token=<token>``:
the token is the registered identifier, the credential, as OsmAnd's ``id`` is. The
``device_id`` property is a free label the user may leave empty, not a credential, and is not
read.

Answer: ``{"result": "ok"}``, which makes the app delete the batch; anything else (a 400, a 403)
makes it keep the batch and send it again, so a refused batch is not lost on the phone.
"""

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy as _

from gridcity import jsonsafe
from patrol import readers
from patrol.fixes import Fix, FixFormatError
from patrol.trackers import Reading, TrackerProtocol, register


@register
class Overland(TrackerProtocol):
    kind = "overland"
    label = _("Overland")
    batch_field = "locations"

    def read(self, request: HttpRequest, *, body, received):
        scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            token = request.GET.get("access_token", "")
        return overland_parse(body(), token=token)

    def answer(self, reading, counts):
        return JsonResponse({"result": "ok"})


def overland_parse(body: bytes, *, token: str) -> Reading:
    """One Overland upload: the token as the identifier, a fix per location Feature, and the
    battery level of the newest location that has one."""
    try:
        root = jsonsafe.loads(body or b"")
    except jsonsafe.JSONRejected as error:
        raise FixFormatError("body", f"not JSON: {error}") from None
    if not isinstance(root, dict):
        raise FixFormatError("body", "expected a JSON object")
    locations = root.get("locations")
    if not isinstance(locations, list):
        raise FixFormatError("locations", "required: a list of GeoJSON Features")
    fixes: list[Fix] = []
    for i, feature in enumerate(locations):
        fix = _feature_fix(feature, f"locations[{i}]")
        if fix is not None:
            fixes.append(fix)
    return Reading(token.strip(), fixes, readers.newest_battery(fixes))


def _feature_fix(feature, prefix: str) -> Fix | None:
    if not isinstance(feature, dict):
        raise FixFormatError(prefix, "expected a GeoJSON Feature")
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        raise FixFormatError(f"{prefix}.properties", "expected an object")
    geometry = feature.get("geometry")
    if properties.get("action") is not None or geometry is None:
        return None  # the app's log lines and visits, or no position
    coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        raise FixFormatError(f"{prefix}.geometry.coordinates", "expected [longitude, latitude]")
    stamp = properties.get("timestamp")
    if not isinstance(stamp, str) or not stamp.strip():
        raise FixFormatError(f"{prefix}.properties.timestamp", "required")

    def field(name: str) -> str:
        return f"{prefix}.properties.{name}"

    return Fix(
        t=readers.iso_seconds(stamp.strip(), field("timestamp")),
        lon=readers.lon(coordinates[0], f"{prefix}.geometry.coordinates[0]"),
        lat=readers.lat(coordinates[1], f"{prefix}.geometry.coordinates[1]"),
        accuracy=readers.accuracy(
            properties.get("horizontal_accuracy"), field("horizontal_accuracy")
        ),
        speed=readers.non_negative(properties.get("speed"), field("speed")),
        heading=readers.non_negative(properties.get("course"), field("course")),
        altitude=readers.optional(properties.get("altitude"), field("altitude")),
        battery=readers.fraction_percent(properties.get("battery_level"), field("battery_level")),
    )
