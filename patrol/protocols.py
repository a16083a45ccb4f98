"""The positioning formats GridCity speaks besides its own batch API: reading and writing.

In: the OsmAnd protocol as Traccar Client sends it (query/form parameters or its JSON body),
OwnTracks over HTTP, and GPX files. Each is read into ``patrol.fixes.Fix`` rows, in WGS-84 and
SI units (m/s, metres, whole percent), or refused whole with a ``FixFormatError`` naming the
part that is wrong. Every number is finite (no NaN, no infinity, in JSON, a query or a GPX
file alike), every latitude and longitude in range; JSON is read by ``gridcity.jsonsafe`` and a
GPX file is screened for depth and size before gpxpy builds it. Out: GPX 1.1 and a GeoJSON
track of stored points.

Pure functions: bytes, strings and mappings in, values out. No database, no request objects;
the protocol plug-ins in ``patrol.trackers`` pass ``request.GET``, ``request.body`` and
``request.content_type`` (or the headers), and the one view of ``patrol.api.protocols`` checks
the identifier against ``Tracker`` and hands the fixes to
``patrol.services.track_points_ingest``, which filters and stores. Overland's reader lives in
its plug-in, ``patrol.trackers.overland``, on the number, time and coordinate readers here.
"""

from __future__ import annotations

import math
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import IO, Any, NamedTuple
from urllib.parse import parse_qsl
from xml.parsers import expat

import gpxpy
import gpxpy.gpx

from gridcity import jsonsafe
from patrol.fixes import Fix, FixFormatError

# International knot, exactly 1852 m an hour: Traccar Client's query form sends speed in knots
# (org.traccar.client.Position: ``location.speed * 1.943844``).
KNOT = 1852 / 3600
KMH = 1 / 3.6  # OwnTracks ``vel`` is km/h

# Traccar's rule for a numeric ``timestamp``: below 2^31 - 1 it is seconds, else milliseconds
# (OsmAndProtocolDecoder: ``if (timestamp < Integer.MAX_VALUE) timestamp *= 1000``).
_EPOCH_MS_FROM = 2**31 - 1

IDENTIFIER_MAX = 128  # Tracker.identifier
# A form POST holds one fix: Traccar Client sends about fifteen parameters. A body of millions of
# ``a&a&…`` would otherwise become a list of millions of pairs.
OSMAND_MAX_FIELDS = 200
CLIENT_ID_MAX = 64  # TrackPoint.client_id

GPX_MAX_POINTS = 200_000
# A GPX document is gpx > trk > trkseg > trkpt > extensions > an extension's element > its
# fields: seven levels (Garmin's TrackPointExtension ``gpxtpx:hr``). gpxpy copies extension
# trees recursively, in C: 200,000 nested elements in one <extensions> overflow the process's
# stack (a segfault, no exception), so nesting is bounded before gpxpy sees the file.
GPX_MAX_DEPTH = 32
# Elements of any kind. gpxpy holds each as an object (about 200 bytes; 1,000,000 of them
# take about 200 MB and 2 s). A real track within GRIDCITY_PATROL_MAX_GPX_BYTES (10 MiB) has
# at most about 300,000: a point with its time, elevation and a Garmin extension is 7 elements
# in some 260 bytes.
GPX_MAX_ELEMENTS = 1_000_000
GPX11_NS = "http://www.topografix.com/GPX/1/1"
# Garmin's TrackPointExtension v2 is the common carrier of speed (m/s) and course (°) in GPX 1.1,
# which dropped GPX 1.0's <speed> and <course>.
GPXTPX_NS = "http://www.garmin.com/xmlschemas/TrackPointExtension/v2"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


# -- numbers, times, coordinates ---------------------------------------------------------------


def _number(value: Any, field: str) -> float:
    """A finite number from JSON or a query string; booleans are not numbers."""
    if value is None or value == "":
        raise FixFormatError(field, "required")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FixFormatError(field, "not a number")
    try:
        number = float(value)
    except ValueError:
        raise FixFormatError(field, f"not a number: {value!r}") from None
    if not math.isfinite(number):
        raise FixFormatError(field, "not a finite number")
    return number


def _optional(value: Any, field: str) -> float | None:
    if value is None or value == "":
        return None
    return _number(value, field)


def _percent(value: Any, field: str) -> int | None:
    """A battery level as the whole percent it is stored as: iOS's ``batteryLevel * 100`` reads
    56.99999999999999 for 57 %. Rounded half up; outside 0..100 (iOS's -1, a broken 255) is
    unknown."""
    number = _optional(value, field)
    if number is None:
        return None
    whole = math.floor(number + 0.5)
    return whole if 0 <= whole <= 100 else None


def _non_negative(value: Any, field: str) -> float | None:
    """Speeds, headings and battery levels where a negative value is the device's "unknown"
    (iOS reports -1 for speed, course and battery it does not have)."""
    number = _optional(value, field)
    return None if number is None or number < 0 else number


def _accuracy(value: Any, field: str) -> float | None:
    """Horizontal accuracy in metres; zero or less means unknown: the Android Traccar Client
    sends ``accuracy=0.0`` for every GPS-provider fix, and iOS -1 for an invalid one."""
    number = _optional(value, field)
    return None if number is None or number <= 0 else number


def _lat(value: Any, field: str) -> float:
    lat = _number(value, field)
    if not -90 <= lat <= 90:
        raise FixFormatError(field, f"latitude out of range: {lat}")
    return lat


def _lon(value: Any, field: str) -> float:
    lon = _number(value, field)
    if not -180 <= lon <= 180:
        raise FixFormatError(field, f"longitude out of range: {lon}")
    return lon


def _iso_seconds(text: str, field: str) -> float:
    """ISO 8601 (``T`` or space between date and time, ``Z`` or an offset); a time without an
    offset is taken as UTC, since the device's zone is unknown (Traccar would use the server's)."""
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    except (ValueError, OverflowError):
        raise FixFormatError(field, f"not a time: {text[:40]!r}") from None


def _epoch_or_iso(value: Any, field: str) -> float:
    """Epoch seconds, epoch milliseconds or ISO 8601, told apart as Traccar does."""
    if isinstance(value, bool):
        raise FixFormatError(field, "not a time")
    numeric = isinstance(value, int | float) or (
        isinstance(value, str) and re.fullmatch(r"\s*-?\d+(?:\.\d*)?\s*", value)
    )
    if numeric:
        number = _number(value, field)
        return number / 1000 if abs(number) >= _EPOCH_MS_FROM else number
    if isinstance(value, str) and value.strip():
        return _iso_seconds(value.strip(), field)
    raise FixFormatError(field, "required")


def _identifier(value: Any, field: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise FixFormatError(field, "required")
    value = value.strip()
    if len(value) > IDENTIFIER_MAX:
        raise FixFormatError(field, f"longer than {IDENTIFIER_MAX} characters")
    if _CONTROL.search(value):
        # A NUL cannot even be looked up in PostgreSQL; no app puts a control character here.
        raise FixFormatError(field, "holds a control character")
    return value


def _true(value: str) -> bool:
    # Traccar: Boolean.parseBoolean(value) || "1".equals(value)
    return value.strip().lower() in ("true", "1")


# -- OsmAnd / Traccar Client -------------------------------------------------------------------


class Reading(NamedTuple):
    """What one request of a positioning app says: whose it is, its fixes (none for a
    heartbeat), and the battery level it reports, a whole percent, with or without a fix."""

    identifier: str
    fixes: list[Fix]
    battery: int | None = None


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
        return _osmand_json(raw, now)
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
    return _osmand_query(params, now)


def _osmand_query(params: Mapping[str, str], now: float, prefix: str = "") -> Reading:
    def get(name: str) -> str:
        # Traccar skips empty values (``speed=`` is no speed).
        value = params.get(name)
        return value.strip() if isinstance(value, str) else ""

    def field(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    key = "deviceid" if get("deviceid") and not get("id") else "id"
    identifier = _identifier(get(key), field(key))
    battery = _percent(get("batt"), field("batt"))
    timestamp = get("timestamp")
    t = _epoch_or_iso(timestamp, field("timestamp")) if timestamp else now

    if not (get("lat") or get("lon") or get("location")):
        return Reading(identifier, [], battery)  # a heartbeat, or cell and Wi-Fi data only
    if get("lat") or get("lon") or not get("location"):
        lat, lon = _lat(get("lat"), field("lat")), _lon(get("lon"), field("lon"))
    else:
        parts = get("location").split(",")
        if len(parts) != 2:
            raise FixFormatError(field("location"), "expected lat,lon")
        lat, lon = _lat(parts[0], field("location")), _lon(parts[1], field("location"))

    heading_key = "bearing" if get("bearing") else "heading"
    speed = _non_negative(get("speed"), field("speed"))
    fix = Fix(
        t=t,
        lon=lon,
        lat=lat,
        accuracy=_accuracy(get("accuracy"), field("accuracy")),
        speed=None if speed is None else speed * KNOT,
        heading=_non_negative(get(heading_key), field(heading_key)),
        altitude=_optional(get("altitude"), field("altitude")),
        battery=battery,
        mock=_true(get("mock")),
        time_from_server=not timestamp,
    )
    if get("valid") and not _true(get("valid")):
        return Reading(identifier, [], battery)
    return Reading(identifier, [fix], battery)


def _osmand_json(body: bytes, now: float) -> Reading:
    try:
        root = jsonsafe.loads(body)
    except jsonsafe.JSONRejected as error:
        raise FixFormatError("body", f"not JSON: {error}") from None
    if isinstance(root, list):
        return _osmand_json_flat(root, now)
    if not isinstance(root, dict):
        raise FixFormatError("body", "expected a JSON object")
    identifier = _identifier(root.get("device_id"), "device_id")
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
        t, fix, level = _osmand_json_location(location, prefix, now)
        if fix is not None:
            fixes.append(fix)
        if level is not None and t >= battery_t:
            battery, battery_t = level, t
    return Reading(identifier, fixes, battery)


def _osmand_json_location(location: dict, prefix: str, now: float):
    """The location's time, its fix (None without ``coords``) and its battery level."""
    stamp = location.get("timestamp")
    t = now if stamp is None or stamp == "" else _epoch_or_iso(stamp, f"{prefix}.timestamp")

    battery = None
    if (charge := location.get("battery")) is not None:
        if not isinstance(charge, dict):
            raise FixFormatError(f"{prefix}.battery", "expected an object")
        level = _non_negative(charge.get("level"), f"{prefix}.battery.level")
        if level is not None and level > 1:
            raise FixFormatError(f"{prefix}.battery.level", "expected a fraction from 0 to 1")
        battery = None if level is None else _percent(level * 100, f"{prefix}.battery.level")

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
    if not isinstance(client_id, str) or len(client_id) > CLIENT_ID_MAX:
        raise FixFormatError(f"{prefix}.uuid", f"expected a string of {CLIENT_ID_MAX} or fewer")

    if "latitude" not in coords:
        raise FixFormatError(f"{c}.latitude", "required")
    if "longitude" not in coords:
        raise FixFormatError(f"{c}.longitude", "required")
    fix = Fix(
        t=t,
        lon=_lon(coords["longitude"], f"{c}.longitude"),
        lat=_lat(coords["latitude"], f"{c}.latitude"),
        accuracy=_accuracy(coords.get("accuracy"), f"{c}.accuracy"),
        speed=_non_negative(coords.get("speed"), f"{c}.speed"),  # already m/s here
        heading=_non_negative(coords.get("heading"), f"{c}.heading"),
        altitude=_optional(coords.get("altitude"), f"{c}.altitude"),
        battery=battery,
        mock=mock,
        client_id=client_id,
        time_from_server=stamp is None or stamp == "",
    )
    return t, fix, battery


def _osmand_json_flat(items: list, now: float) -> Reading:
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
        reading = _osmand_query(params, now, prefix=f"[{i}]")
        if identifier is None:
            identifier = reading.identifier
        elif reading.identifier != identifier:
            raise FixFormatError(f"[{i}].id", "another device than the first item's")
        fixes += reading.fixes
        battery = reading.battery if reading.battery is not None else battery
    return Reading(identifier, fixes, battery)


# -- OwnTracks ---------------------------------------------------------------------------------


def owntracks_parse(
    body: bytes, *, user: str = "", device: str = "", query: Mapping[str, str] | None = None
) -> Reading:
    """Read one OwnTracks HTTP POST: the identifier ``user/device``, the fixes of its
    ``_type: "location"`` messages (https://owntracks.org/booklet/tech/json/) and the battery
    level of the newest of them.

    ``body`` is one message or a list of them. ``lat``, ``lon`` (°) and ``tst`` (epoch seconds)
    are required; ``acc`` (m), ``alt`` (m), ``cog`` (°), ``vel`` (km/h, given here in m/s) and
    ``batt`` (%) are optional — the apps leave out ``acc``, ``alt``, ``cog`` and ``vel`` when
    they are zero. Other message types (``transition``, ``waypoint``, ``lwt``, ``card``,
    ``status``…) give no fix and are no error; ``encrypted`` is refused, since the payload
    cannot be read and would otherwise be lost without a word. An empty body is no error either:
    the apps POST a zero-length payload when a friend is deleted, and the booklet (tech/http)
    says to ignore it.

    The identifier comes from ``user`` and ``device`` — the ``X-Limit-U`` and ``X-Limit-D``
    headers the apps send in HTTP mode — or else from the ``u`` and ``d`` parameters of the
    ``query``, which the Recorder's ``/pub?u=user&d=device`` URL carries, or else from the
    messages' ``topic`` (``owntracks/user/device``). It is "" when nothing in the request is a
    location.
    """
    if not body or not body.strip():
        return Reading("", [])
    try:
        payload = jsonsafe.loads(body)
    except jsonsafe.JSONRejected as error:
        raise FixFormatError("body", f"not JSON: {error}") from None
    if isinstance(payload, dict):
        messages = [("", payload)]
    elif isinstance(payload, list):
        messages = [(f"[{i}]", message) for i, message in enumerate(payload)]
    else:
        raise FixFormatError("body", "expected a JSON object or a list of them")

    fixes: list[Fix] = []
    topics: set[str] = set()
    for prefix, message in messages:
        if not isinstance(message, dict):
            raise FixFormatError(prefix or "body", "expected a JSON object")
        kind = message.get("_type")
        if kind == "encrypted":
            raise FixFormatError(f"{prefix}._type".lstrip("."), "encrypted payloads are not read")
        if kind != "location":
            continue
        fixes.append(_owntracks_fix(message, prefix))
        if isinstance(topic := message.get("topic"), str) and topic.strip():
            topics.add(_owntracks_topic_identifier(topic, f"{prefix}.topic".lstrip(".")))

    query = query or {}
    u, d = (query.get(name) for name in ("u", "d"))
    if user.strip() and device.strip():
        identifier = _identifier(f"{user.strip()}/{device.strip()}", "X-Limit-U/X-Limit-D")
    elif isinstance(u, str) and isinstance(d, str) and u.strip() and d.strip():
        identifier = _identifier(f"{u.strip()}/{d.strip()}", "u/d")
    elif len(topics) == 1:
        identifier = topics.pop()
    elif topics:
        raise FixFormatError("topic", "locations of more than one device in one request")
    elif fixes:
        raise FixFormatError("topic", "no X-Limit-U and X-Limit-D headers and no topic")
    else:
        identifier = ""
    newest = max((f for f in fixes if f.battery is not None), key=lambda f: f.t, default=None)
    return Reading(identifier, fixes, None if newest is None else newest.battery)


def _owntracks_topic_identifier(topic: str, field: str) -> str:
    parts = topic.strip().split("/")
    if len(parts) < 3 or not parts[1] or not parts[2]:
        raise FixFormatError(field, f"expected owntracks/user/device, got {topic!r}")
    return _identifier(f"{parts[1]}/{parts[2]}", field)


def _owntracks_fix(message: dict, prefix: str) -> Fix:
    def field(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    for name in ("lat", "lon", "tst"):
        if message.get(name) is None:
            raise FixFormatError(field(name), "required")
    velocity = _non_negative(message.get("vel"), field("vel"))
    return Fix(
        # Numbers may still be strings from apps older than Android 0.5.11 / iOS 8.0.
        t=_number(message["tst"], field("tst")),
        lon=_lon(message["lon"], field("lon")),
        lat=_lat(message["lat"], field("lat")),
        accuracy=_accuracy(message.get("acc"), field("acc")),
        speed=None if velocity is None else velocity * KMH,
        heading=_non_negative(message.get("cog"), field("cog")),
        altitude=_optional(message.get("alt"), field("alt")),
        battery=_percent(message.get("batt"), field("batt")),
    )


def owntracks_response() -> list:
    """The answer to an OwnTracks POST: a JSON array of messages for the app, here none.

    The booklet (tech/http): a 200 "will typically return an empty JSON payload array ``[]``";
    the apps treat any answer, even a 5xx, as delivered and do not resend.
    """
    return []


# -- GPX ---------------------------------------------------------------------------------------


def gpx_read(data: bytes | str | IO, *, max_points: int = GPX_MAX_POINTS) -> list[list[Fix]]:
    """Read a GPX 1.0 or 1.1 file: one list of fixes per track segment that has points.

    Routes and waypoints are ignored, and so are segments without points (the lists do not
    line up with the file's segments one to one; error fields use the file's own indices).
    The first fix of every list but the first is marked ``segment_start``: a new ``<trk>`` or
    ``<trkseg>`` is a break in the recording, not a straight line from the last point.
    Every track point needs a time — a time without a zone is UTC, as GPX prescribes — or the
    whole file is refused naming the point (``trk[1].trkseg[0].trkpt[0].time``): Garmin's
    saved tracks drop times, and a patrol without times cannot be placed in a shift.
    ``ele`` becomes the altitude; speed (m/s) and course (°) are read from GPX 1.0's
    ``<speed>``/``<course>`` or from a simple extension such as Garmin's
    TrackPointExtension v2 ``<gpxtpx:speed>``/``<gpxtpx:course>``; extension values that are
    no number are ignored. A number that is not finite (``inf``, ``1e999``, ``nan``) in any of
    these, or a latitude or longitude out of range, refuses the file naming the point
    (``trk[0].trkseg[0].trkpt[3].ele``).

    Before gpxpy sees the file, one streaming pass (expat, no tree) refuses it as ``file`` if
    it is not well-formed XML or not GPX, declares entities, nests elements deeper than
    ``GPX_MAX_DEPTH`` or holds more than ``GPX_MAX_ELEMENTS`` elements or more than
    ``max_points`` track points.
    """
    text = _gpx_text(data)
    _gpx_screen(text, max_points=max_points)
    try:
        gpx = gpxpy.parse(text)
    except gpxpy.gpx.GPXException as error:
        raise FixFormatError("file", str(error)) from None

    segments = []
    for i, trk in enumerate(gpx.tracks):
        for j, segment in enumerate(trk.segments):
            fixes = [
                _gpx_fix(point, f"trk[{i}].trkseg[{j}].trkpt[{k}]")
                for k, point in enumerate(segment.points)
            ]
            if fixes:
                if segments:
                    fixes[0] = replace(fixes[0], segment_start=True)
                segments.append(fixes)
    return segments


class _GpxRefused(Exception):
    """Raised from inside expat's callbacks to stop the pass at once."""


def _gpx_screen(text: str, *, max_points: int) -> None:
    """Refuse, as ``file``, what gpxpy must not be given (see ``gpx_read``).

    expat calls back once per element and keeps nothing; exceptions raised in a callback stop
    the parse where it is, so a file nested 200,000 deep is refused at its 33rd level.
    """
    parser = expat.ParserCreate()
    depth = elements = points = 0

    def start(name: str, attributes: dict) -> None:
        nonlocal depth, elements, points
        depth += 1
        elements += 1
        local = name.rsplit(":", 1)[-1]
        if elements == 1 and local != "gpx":
            raise _GpxRefused("not a GPX document")
        if depth > GPX_MAX_DEPTH:
            raise _GpxRefused(f"elements nested deeper than {GPX_MAX_DEPTH} levels")
        if elements > GPX_MAX_ELEMENTS:
            raise _GpxRefused(f"more than {GPX_MAX_ELEMENTS:,} elements")
        if local == "trkpt":
            points += 1
            if points > max_points:
                raise _GpxRefused(f"more than {max_points:,} track points")

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    def entity(*args) -> None:
        # GPX needs none, and entity expansion is how small files become large documents.
        raise _GpxRefused("XML entity declarations are not accepted")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(text, True)
    except _GpxRefused as refusal:
        raise FixFormatError("file", str(refusal)) from None
    except expat.ExpatError as error:
        where = f"line {error.lineno}, column {error.offset + 1}"
        reason = expat.ErrorString(error.code)
        raise FixFormatError("file", f"not well-formed XML: {reason} ({where})") from None
    if not elements:
        raise FixFormatError("file", "not a GPX document")


def _gpx_text(data: bytes | str | IO) -> str:
    if hasattr(data, "read"):
        data = data.read()
    if isinstance(data, str):
        return data
    if not isinstance(data, bytes | bytearray):
        raise FixFormatError("file", "expected bytes, text or a file")
    data = bytes(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = _XML_ENCODING.match(data)
    try:
        if declared:
            return data.decode(declared.group(1).decode("ascii"))
    except (LookupError, UnicodeDecodeError):
        pass
    raise FixFormatError("file", "not UTF-8, and no encoding it declares can read it")


def _gpx_fix(point: gpxpy.gpx.GPXTrackPoint, prefix: str) -> Fix:
    lat = _lat(point.latitude, f"{prefix}.lat")
    lon = _lon(point.longitude, f"{prefix}.lon")
    if point.time is None:
        raise FixFormatError(f"{prefix}.time", "missing or unreadable; every point needs a time")
    moment = point.time if point.time.tzinfo else point.time.replace(tzinfo=UTC)
    try:
        t = moment.timestamp()
    except (OverflowError, ValueError):
        raise FixFormatError(f"{prefix}.time", "out of range") from None
    altitude = _optional(point.elevation, f"{prefix}.ele")
    speed = _optional(point.speed, f"{prefix}.speed")
    course = _optional(point.course, f"{prefix}.course")
    extra = _gpx_extension_values(point, f"{prefix}.extensions")
    speed = extra.get("speed") if speed is None else speed
    course = extra.get("course") if course is None else course
    return Fix(
        t=t,
        lon=lon,
        lat=lat,
        speed=None if speed is None or speed < 0 else speed,
        heading=None if course is None or course < 0 else course,
        altitude=altitude,
    )


def _gpx_extension_values(point: gpxpy.gpx.GPXTrackPoint, prefix: str) -> dict[str, float]:
    """The first ``speed`` and ``course`` found in the point's extensions: a value that is no
    number is skipped (an extension GridCity does not know may use the name otherwise); one
    that is a number but not finite refuses the file."""
    values: dict[str, float] = {}
    for extension in point.extensions:
        for element in extension.iter():
            name = element.tag.rsplit("}", 1)[-1].lower()
            if name in ("speed", "course") and name not in values and element.text:
                try:
                    number = float(element.text)
                except ValueError:
                    continue
                if not math.isfinite(number):
                    raise FixFormatError(f"{prefix}.{name}", "not a finite number")
                values[name] = number
    return values


def _row(point: Any, name: str) -> Any:
    if isinstance(point, Mapping):
        return point.get(name)
    return getattr(point, name, None)


def _utc(value: Any) -> datetime:
    """A stored point's time as an aware UTC datetime (an aware datetime, or epoch seconds as
    in ``Fix.t``)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: points must carry aware times")
        return value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    raise TypeError(f"not a time: {value!r}")


def gpx_write(points: Iterable[Any], *, name: str = "", creator: str = "GridCity") -> str:
    """GPX 1.1 text of one track of ``points``, in their order: one segment, and another from
    each point whose ``segment_start`` is true (a break the recording made: what ``gpx_read``
    reads back as segments).

    ``points`` are dicts (or objects, such as ``Fix``) with ``t`` (aware datetime, or epoch
    seconds), ``lon``, ``lat``, ``altitude`` (m, may be None) and ``speed`` (m/s, may be None).
    Times are written in UTC; speed goes into Garmin's TrackPointExtension v2, which GPX 1.1
    readers (and ``gpx_read``) understand.
    """
    gpx = gpxpy.gpx.GPX()
    gpx.creator = creator
    gpx.nsmap["gpxtpx"] = GPXTPX_NS
    gpx.schema_locations = [
        GPX11_NS,
        "http://www.topografix.com/GPX/1/1/gpx.xsd",
        GPXTPX_NS,
        "https://www8.garmin.com/xmlschemas/TrackPointExtensionv2.xsd",
    ]
    track = gpxpy.gpx.GPXTrack(name=name or None)
    segment = gpxpy.gpx.GPXTrackSegment()
    track.segments.append(segment)
    gpx.tracks.append(track)
    for point in points:
        if _row(point, "segment_start") and segment.points:
            segment = gpxpy.gpx.GPXTrackSegment()
            track.segments.append(segment)
        trkpt = gpxpy.gpx.GPXTrackPoint(
            latitude=_row(point, "lat"),
            longitude=_row(point, "lon"),
            elevation=_row(point, "altitude"),
            time=_utc(_row(point, "t")),
        )
        if (speed := _row(point, "speed")) is not None:
            extension = ET.Element(f"{{{GPXTPX_NS}}}TrackPointExtension")
            ET.SubElement(extension, f"{{{GPXTPX_NS}}}speed").text = f"{speed:.3f}"
            trkpt.extensions.append(extension)
        segment.points.append(trkpt)
    return gpx.to_xml(version="1.1")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def geojson_track(points: Iterable[Any], *, properties: dict, with_points: bool = False) -> dict:
    """A GeoJSON FeatureCollection of one track: a LineString feature of ``points`` (same rows
    as ``gpx_write``), coordinates ``[lon, lat]``, carrying ``properties`` plus ``times``.

    ``times`` holds the UTC ISO 8601 time of each coordinate, parallel to ``coordinates``.
    GeoJSON (RFC 7946) has no place for time in a geometry; a property array parallel to the
    coordinates is the usual convention (Mapbox's togeojson calls it ``coordTimes``). With
    fewer than two points the LineString feature has a null geometry, as RFC 7946 allows no
    one-point line. With ``with_points``, one Point feature per fix follows, with its ``t``,
    ``altitude`` and ``speed``.
    """
    rows = [
        (_row(p, "lon"), _row(p, "lat"), _utc(_row(p, "t")), _row(p, "altitude"), _row(p, "speed"))
        for p in points
    ]
    line = {
        "type": "Feature",
        "geometry": (
            {"type": "LineString", "coordinates": [[lon, lat] for lon, lat, *_ in rows]}
            if len(rows) >= 2
            else None
        ),
        "properties": {**properties, "times": [_iso(t) for _, _, t, _, _ in rows]},
    }
    features = [line]
    if with_points:
        features += [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"t": _iso(t), "altitude": altitude, "speed": speed},
            }
            for lon, lat, t, altitude, speed in rows
        ]
    return {"type": "FeatureCollection", "features": features}
