"""OsmAnd protocol, as Traccar Client (and OsmAnd's own tracker) send it: GET with query
parameters, a form POST, or Traccar Client 9's JSON body (read by ``osmand_parse``). The device
identifier ``id`` is the registered identifier.

Answer: 200 with the counts of the ingestion — ``{"accepted", "duplicate", "rejected":
{reason: n}}`` — whatever the filters made of the fixes: the app only checks for a 200, and one
that got anything else would send the same fix again for ever. A heartbeat without coordinates
(or with only cell and Wi-Fi data) is a 200 with zero counts.
"""

import math
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy as _

from gridcity import jsonsafe
from patrol import readers
from patrol.fixes import Fix, FixFormatError
from patrol.trackers import Reading, TrackerProtocol, register

# International knot, exactly 1852 m an hour: Traccar Client's query form sends speed in knots
# (org.traccar.client.Position: ``location.speed * 1.943844``).
KNOT = 1852 / 3600
# A form POST holds one fix: Traccar Client sends about fifteen parameters. A body of millions of
# ``a&a&…`` would otherwise become a list of millions of pairs.
OSMAND_MAX_FIELDS = 200


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


def osmand_parse(
    params: Mapping[str, str] | None = None,
    body: bytes | None = None,
    content_type: str = "",
    *,
    received: float | None = None,
) -> Reading:
    """Read one OsmAnd-protocol request as the Traccar server does: the device identifier,
    its fixes and its battery level.

    Follows ``org.traccar.protocol.OsmAndProtocolDecoder`` (Traccar 6.7+): a body whose content
    type is ``application/json`` is JSON; otherwise the query parameters are read, or the
    form-encoded body when the query is empty (Traccar Client 8 and older, and the current
    client's SDK, POST the parameters; OsmAnd's own tracker uses GET).

    Query or form parameters: ``id`` (or ``deviceid``), ``lat`` and ``lon`` (or
    ``location=lat,lon``), ``timestamp`` (epoch seconds, epoch milliseconds — a number from
    2^31 up — or ISO 8601), ``speed`` in knots, ``bearing`` or ``heading`` (°), ``altitude``
    (m), ``accuracy`` (m), ``batt`` (%), ``mock`` and ``valid`` (``true``/``1``). A fix the
    device marks ``valid=false`` is not returned. ``hdop``, ``charge``, ``cell``, ``wifi`` and
    the rest are ignored: a dilution of precision is not metres, and a position is not guessed
    from cell towers.

    A request without ``lat``, ``lon`` and ``location`` is a heartbeat: no fix, but its battery
    is read. Traccar Client sends one when it stands still (``id``, ``timestamp``, ``batt``,
    ``charge``) and retries the oldest unanswered request for ever, so it must be answered;
    a request with only cell or Wi-Fi data is read the same way. A fix without ``timestamp``
    gets ``received`` (the server's clock, now if not given), as Traccar does, and is marked
    ``time_from_server``: a replay of such a request cannot be told from a new fix.

    JSON, either the transistorsoft background-geolocation shape of Traccar Client 9
    (``{"device_id", "location": {"timestamp", "coords": {...}, "battery": {...}}}``, where
    ``coords.speed`` is m/s, ``battery.level`` 0..1 and -1 means unknown; ``location`` may be
    a list, and a location without ``coords`` gives no fix), or a list of objects holding the
    query parameters (the Traccar Client SDK's ``uploadJson``).
    """
    now = time.time() if received is None else received
    mime = content_type.split(";", 1)[0].strip().lower()
    raw = body or b""
    if mime == "application/json" or (not params and raw.lstrip()[:1] in (b"{", b"[")):
        return _json(raw, now)
    if not params:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FixFormatError("body", "form parameters are not UTF-8") from None
        try:
            # The last of repeated parameters wins, as in QueryDict.
            params = dict(parse_qsl(text, max_num_fields=OSMAND_MAX_FIELDS))
        except ValueError:
            raise FixFormatError("body", f"more than {OSMAND_MAX_FIELDS} parameters") from None
    return _query(params, now)


def _query(params: Mapping[str, str], now: float, prefix: str = "") -> Reading:
    def get(name: str) -> str:
        # Traccar skips empty values (``speed=`` is no speed).
        value = params.get(name)
        return value.strip() if isinstance(value, str) else ""

    def field(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    key = "deviceid" if get("deviceid") and not get("id") else "id"
    identifier = readers.identifier(get(key), field(key))
    battery = readers.percent(get("batt"), field("batt"))
    timestamp = get("timestamp")
    t = readers.epoch_or_iso(timestamp, field("timestamp")) if timestamp else now

    if not (get("lat") or get("lon") or get("location")):
        return Reading(identifier, [], battery)  # a heartbeat, or cell and Wi-Fi data only
    if get("lat") or get("lon") or not get("location"):
        lat, lon = readers.lat(get("lat"), field("lat")), readers.lon(get("lon"), field("lon"))
    else:
        parts = get("location").split(",")
        if len(parts) != 2:
            raise FixFormatError(field("location"), "expected lat,lon")
        lat, lon = (
            readers.lat(parts[0], field("location")),
            readers.lon(parts[1], field("location")),
        )

    heading_key = "bearing" if get("bearing") else "heading"
    speed = readers.non_negative(get("speed"), field("speed"))
    fix = Fix(
        t=t,
        lon=lon,
        lat=lat,
        accuracy=readers.accuracy(get("accuracy"), field("accuracy")),
        speed=None if speed is None else speed * KNOT,
        heading=readers.non_negative(get(heading_key), field(heading_key)),
        altitude=readers.optional(get("altitude"), field("altitude")),
        battery=battery,
        mock=readers.true(get("mock")),
        time_from_server=not timestamp,
    )
    if get("valid") and not readers.true(get("valid")):
        return Reading(identifier, [], battery)
    return Reading(identifier, [fix], battery)


def _json(body: bytes, now: float) -> Reading:
    try:
        root = jsonsafe.loads(body)
    except jsonsafe.JSONRejected as error:
        raise FixFormatError("body", f"not JSON: {error}") from None
    if isinstance(root, list):
        return _json_flat(root, now)
    if not isinstance(root, dict):
        raise FixFormatError("body", "expected a JSON object")
    identifier = readers.identifier(root.get("device_id"), "device_id")
    locations = root.get("location")
    if isinstance(locations, dict):
        items = [("location", locations)]
    elif isinstance(locations, list):
        items = [(f"location[{i}]", item) for i, item in enumerate(locations)]
    else:
        raise FixFormatError("location", "required: an object, or a list of them")

    fixes, battery, battery_t = [], None, -math.inf
    for prefix, location in items:
        if not isinstance(location, dict):
            raise FixFormatError(prefix, "expected an object")
        t, fix, level = _json_location(location, prefix, now)
        if fix is not None:
            fixes.append(fix)
        if level is not None and t >= battery_t:
            battery, battery_t = level, t
    return Reading(identifier, fixes, battery)


def _json_location(location: dict, prefix: str, now: float):
    """The location's time, its fix (None without ``coords``) and its battery level."""
    stamp = location.get("timestamp")
    t = now if stamp is None or stamp == "" else readers.epoch_or_iso(stamp, f"{prefix}.timestamp")

    battery = None
    if (charge := location.get("battery")) is not None:
        if not isinstance(charge, dict):
            raise FixFormatError(f"{prefix}.battery", "expected an object")
        battery = readers.fraction_percent(charge.get("level"), f"{prefix}.battery.level")

    coords = location.get("coords")
    if coords is None:
        return t, None, battery
    if not isinstance(coords, dict):
        raise FixFormatError(f"{prefix}.coords", "expected an object")
    c = f"{prefix}.coords"

    mock = location.get("mock", False)
    if not isinstance(mock, bool):
        raise FixFormatError(f"{prefix}.mock", "expected true or false")
    client_id = location.get("uuid") or ""
    if not isinstance(client_id, str) or len(client_id) > readers.CLIENT_ID_MAX:
        raise FixFormatError(
            f"{prefix}.uuid", f"expected a string of {readers.CLIENT_ID_MAX} or fewer"
        )

    if "latitude" not in coords:
        raise FixFormatError(f"{c}.latitude", "required")
    if "longitude" not in coords:
        raise FixFormatError(f"{c}.longitude", "required")
    fix = Fix(
        t=t,
        lon=readers.lon(coords["longitude"], f"{c}.longitude"),
        lat=readers.lat(coords["latitude"], f"{c}.latitude"),
        accuracy=readers.accuracy(coords.get("accuracy"), f"{c}.accuracy"),
        speed=readers.non_negative(coords.get("speed"), f"{c}.speed"),  # already m/s here
        heading=readers.non_negative(coords.get("heading"), f"{c}.heading"),
        altitude=readers.optional(coords.get("altitude"), f"{c}.altitude"),
        battery=battery,
        mock=mock,
        client_id=client_id,
        time_from_server=stamp is None or stamp == "",
    )
    return t, fix, battery


def _json_flat(items: list, now: float) -> Reading:
    """The Traccar Client SDK's JSON upload: a list of objects with the query's parameters
    (``id``, ``lat``, ``lon``, ``timestamp`` in seconds, ``speed`` in knots, ``batt``…)."""
    if not items:
        raise FixFormatError("body", "an empty list names no device")
    identifier, fixes, battery = None, [], None
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise FixFormatError(f"[{i}]", "expected an object")
        params = {}
        for name, value in item.items():
            if isinstance(value, bool):
                params[name] = "true" if value else "false"
            elif isinstance(value, int | float | str):
                params[name] = str(value)
            elif value is not None:
                raise FixFormatError(f"[{i}].{name}", "expected a number or a string")
        reading = _query(params, now, prefix=f"[{i}]")
        if identifier is None:
            identifier = reading.identifier
        elif reading.identifier != identifier:
            raise FixFormatError(f"[{i}].id", "another device than the first item's")
        fixes += reading.fixes
        battery = reading.battery if reading.battery is not None else battery
    return Reading(identifier, fixes, battery)
