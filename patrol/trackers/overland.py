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
from patrol.fixes import Fix, FixFormatError
from patrol.protocols import (
    Reading,
    _accuracy,
    _iso_seconds,
    _lat,
    _lon,
    _non_negative,
    _optional,
    _percent,
)
from patrol.trackers import TrackerProtocol, register


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
    newest = max((f for f in fixes if f.battery is not None), key=lambda f: f.t, default=None)
    return Reading(token.strip(), fixes, None if newest is None else newest.battery)


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
        t=_iso_seconds(stamp.strip(), field("timestamp")),
        lon=_lon(coordinates[0], f"{prefix}.geometry.coordinates[0]"),
        lat=_lat(coordinates[1], f"{prefix}.geometry.coordinates[1]"),
        accuracy=_accuracy(properties.get("horizontal_accuracy"), field("horizontal_accuracy")),
        speed=_non_negative(properties.get("speed"), field("speed")),
        heading=_non_negative(properties.get("course"), field("course")),
        altitude=_optional(properties.get("altitude"), field("altitude")),
        battery=_battery(properties.get("battery_level"), field("battery_level")),
    )


def _battery(value, field: str) -> int | None:
    """``battery_level`` 0..1 as a whole percent; -1 (or any negative) is unknown."""
    level = _non_negative(value, field)
    if level is None:
        return None
    if level > 1:
        raise FixFormatError(field, "expected a fraction from 0 to 1")
    return _percent(level * 100, field)
