"""OwnTracks in HTTP mode: a POST of one JSON message or a list of them (read by
``owntracks_parse``). The device is ``user/device`` from the ``X-Limit-U``/``X-Limit-D``
headers the apps send, else from the ``?u=user&d=device`` query of the Recorder's URL form,
else from the messages' ``topic``; that is the registered identifier.

Answer: 200 with ``[]`` (no messages for the app) once the locations are stored, or when the
request holds no location and names no device (a ``lwt``, a ``waypoint``…, or the zero-length
POST the apps send when a friend is deleted). The app's HTTP Basic credentials, if it sends
any, are not checked: the registered identifier is the credential, as for OsmAnd.
"""

from collections.abc import Mapping

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from gridcity import jsonsafe
from patrol import readers
from patrol.fixes import Fix, FixFormatError
from patrol.trackers import Reading, TrackerProtocol, register

KMH = 1 / 3.6  # OwnTracks ``vel`` is km/h


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
    fixes: list[Fix] = []
    topics: set[str] = set()
    for prefix, message in _messages(body):
        if not isinstance(message, dict):
            raise FixFormatError(prefix or "body", "expected a JSON object")
        kind = message.get("_type")
        if kind == "encrypted":
            raise FixFormatError(f"{prefix}._type".lstrip("."), "encrypted payloads are not read")
        if kind != "location":
            continue
        fixes.append(_fix(message, prefix))
        if isinstance(topic := message.get("topic"), str) and topic.strip():
            topics.add(_topic_identifier(topic, f"{prefix}.topic".lstrip(".")))
    identifier = _identifier(user, device, query or {}, topics, located=bool(fixes))
    return Reading(identifier, fixes, readers.newest_battery(fixes))


def _messages(body: bytes) -> list[tuple[str, object]]:
    """The body's messages, each with the prefix of its fields' names."""
    try:
        payload = jsonsafe.loads(body)
    except jsonsafe.JSONRejected as error:
        raise FixFormatError("body", f"not JSON: {error}") from None
    if isinstance(payload, dict):
        return [("", payload)]
    if isinstance(payload, list):
        return [(f"[{i}]", message) for i, message in enumerate(payload)]
    raise FixFormatError("body", "expected a JSON object or a list of them")


def _identifier(
    user: str, device: str, query: Mapping[str, str], topics: set[str], *, located: bool
) -> str:
    """``user/device`` from the headers, else the query, else the one topic of the messages."""
    u, d = (query.get(name) for name in ("u", "d"))
    if user.strip() and device.strip():
        return readers.identifier(f"{user.strip()}/{device.strip()}", "X-Limit-U/X-Limit-D")
    if isinstance(u, str) and isinstance(d, str) and u.strip() and d.strip():
        return readers.identifier(f"{u.strip()}/{d.strip()}", "u/d")
    if len(topics) == 1:
        return topics.pop()
    if topics:
        raise FixFormatError("topic", "locations of more than one device in one request")
    if located:
        raise FixFormatError("topic", "no X-Limit-U and X-Limit-D headers and no topic")
    return ""


def _topic_identifier(topic: str, field: str) -> str:
    parts = topic.strip().split("/")
    if len(parts) < 3 or not parts[1] or not parts[2]:
        raise FixFormatError(field, f"expected owntracks/user/device, got {topic!r}")
    return readers.identifier(f"{parts[1]}/{parts[2]}", field)


def _fix(message: dict, prefix: str) -> Fix:
    def field(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    for name in ("lat", "lon", "tst"):
        if message.get(name) is None:
            raise FixFormatError(field(name), "required")
    velocity = readers.non_negative(message.get("vel"), field("vel"))
    return Fix(
        # Numbers may still be strings from apps older than Android 0.5.11 / iOS 8.0.
        t=readers.number(message["tst"], field("tst")),
        lon=readers.lon(message["lon"], field("lon")),
        lat=readers.lat(message["lat"], field("lat")),
        accuracy=readers.accuracy(message.get("acc"), field("acc")),
        speed=None if velocity is None else velocity * KMH,
        heading=readers.non_negative(message.get("cog"), field("cog")),
        altitude=readers.optional(message.get("alt"), field("alt")),
        battery=readers.percent(message.get("batt"), field("batt")),
    )


def owntracks_response() -> list:
    """The answer to an OwnTracks POST: a JSON array of messages for the app, here none.

    The booklet (tech/http): a 200 "will typically return an empty JSON payload array ``[]``";
    the apps treat any answer, even a 5xx, as delivered and do not resend.
    """
    return []
