"""Live positions (实时位置): the newest fix of each inspector, pushed to the map as it arrives.

Ingestion calls ``positions_publish`` after a batch of fixes commits; it sends, per street, one
channel-layer message with the newest positions of the inspectors in that street to the group
``patrol.street.<id>`` that ``patrol.consumers.PatrolLiveConsumer`` sockets join, and keeps them
in the cache so that a map opened later shows something at once (``positions_latest``).

The cache holds one key per inspector (their newest position, with the server time it came)
and one small index per street (the inspectors seen there lately, with when). A position's
own ``street_ids`` decides whether it belongs to a street's snapshot, so an inspector who walked
on into the next street drops out of the first one's snapshot at once although they stay in its
index until it expires. Both kinds of key live GRIDCITY_PATROL_LIVE_TTL_S (15 minutes by
default): a handheld silent for that long is off the map.

With the in-memory channel layer and local-memory cache this works within one process; with
``REDIS_URL`` (channels-redis and the Redis cache) across every ASGI and ingestion process.
"""

import logging
import time
from datetime import datetime

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache

log = logging.getLogger("gridcity.patrol.live")

# What a position carries, and no more: ingestion may hand over richer rows one day, and the
# socket must not start leaking whatever they hold.
POSITION_FIELDS = (
    "inspector_id",
    "username",
    "name",
    "lon",
    "lat",
    "t",
    "speed",
    "battery",
    "accuracy",
    "street_ids",
    "grid_ids",
)

# A street's index is rewritten only when an inspector enters it, or when their entry is this
# old: so a street with 500 inspectors on patrol is not rewritten on every upload. Two uploads
# that add different inspectors at once may lose one addition (the cache has no atomic update
# of a dict); it comes back with that inspector's next upload, seconds later.
INDEX_REFRESH_S = 60.0


def street_group(street_id: int) -> str:
    """The channel-layer group of the sockets watching one street."""
    return f"patrol.street.{street_id}"


def street_cache_key(street_id: int) -> str:
    """The cache key of a street's index: ``{inspector_id: when last seen there}``."""
    return f"patrol:live:street:{street_id}"


def position_cache_key(inspector_id: int) -> str:
    """The cache key of an inspector's newest position: ``(when received, position)``."""
    return f"patrol:live:position:{inspector_id}"


def live_ttl_s() -> float:
    return float(settings.GRIDCITY_PATROL_LIVE_TTL_S)


def _instant(t) -> float | None:
    """Seconds since the epoch of a position's ``t`` (an ISO string), None if unreadable."""
    try:
        moment = t if isinstance(t, datetime) else datetime.fromisoformat(t)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None  # a naive time cannot be ordered against aware ones
    return moment.timestamp()


def is_older(position: dict, than: dict) -> bool:
    """Whether ``position`` is older than ``than`` (same inspector); unreadable times are not."""
    a, b = _instant(position.get("t")), _instant(than.get("t"))
    return a is not None and b is not None and a < b


def _position(row: dict) -> dict:
    """The published shape of one inspector's newest fix; raises on a row that has none."""
    position = {name: row.get(name) for name in POSITION_FIELDS}
    position["inspector_id"] = int(row["inspector_id"])
    if isinstance(position["t"], datetime):
        position["t"] = position["t"].isoformat()
    position["street_ids"] = [int(pk) for pk in row.get("street_ids") or ()]
    position["grid_ids"] = [int(pk) for pk in row.get("grid_ids") or ()]
    return position


def positions_publish(latest: list[dict]) -> None:
    """Push the newest position of each inspector in ``latest`` to the sockets of their streets.

    Called by ingestion from ``transaction.on_commit`` after a batch of fixes is stored, with
    one dict per inspector: ``{inspector_id, username, name, lon, lat, t (ISO 8601), speed,
    battery, accuracy, street_ids, grid_ids}``. One ``group_send`` per street, carrying every
    position of that street in the batch, and two cache round trips (three when a street's
    index changes). A position older than the one already cached for the inspector (an upload
    that committed late) is dropped. Never raises: a channel layer or cache that is down costs
    the live map a beat, not the handheld its upload; the failure is logged.
    """
    try:
        positions = []
        for row in latest:
            try:
                positions.append(_position(row))
            except (KeyError, TypeError, ValueError):
                log.warning("live position without an inspector or streets skipped: %r", row)
        if not positions:
            return
        by_street = _positions_remember(positions)
    except Exception:  # the cache is down: still push what came
        log.warning("live positions: cache update failed", exc_info=True)
        by_street = _by_street(positions)
    _positions_send(by_street)


def _by_street(positions: list[dict]) -> dict[int, list[dict]]:
    by_street: dict[int, list[dict]] = {}
    for position in positions:
        for street_id in position["street_ids"]:
            by_street.setdefault(street_id, []).append(position)
    return by_street


def _positions_remember(positions: list[dict]) -> dict[int, list[dict]]:
    """Store the positions that are news in the cache; those, by street."""
    now, ttl = time.time(), live_ttl_s()
    newest: dict[int, dict] = {}
    for position in positions:  # a batch holding one inspector twice keeps the newer
        held = newest.get(position["inspector_id"])
        if held is None or not is_older(position, held):
            newest[position["inspector_id"]] = position
    street_ids = {pk for position in newest.values() for pk in position["street_ids"]}
    keys = [position_cache_key(pk) for pk in newest] + [street_cache_key(pk) for pk in street_ids]
    cached = cache.get_many(keys)

    fresh = []
    for inspector_id, position in newest.items():
        held = cached.get(position_cache_key(inspector_id))
        if held is not None and is_older(position, held[1]):
            continue
        fresh.append(position)
    writes = {position_cache_key(p["inspector_id"]): (now, p) for p in fresh}
    for street_id in street_ids:
        index = cached.get(street_cache_key(street_id)) or {}
        entering = [
            p["inspector_id"]
            for p in fresh
            if street_id in p["street_ids"]
            and now - index.get(p["inspector_id"], 0.0) > INDEX_REFRESH_S
        ]
        if entering:
            index = {pk: seen for pk, seen in index.items() if now - seen < ttl}
            index.update(dict.fromkeys(entering, now))
            writes[street_cache_key(street_id)] = index
    if writes:
        cache.set_many(writes, timeout=ttl)
    return _by_street(fresh)


def _positions_send(by_street: dict[int, list[dict]]) -> None:
    if not by_street:
        return
    try:
        layer = get_channel_layer()
        if layer is None:
            return

        async def send_all():
            for street_id, positions in by_street.items():
                try:
                    await layer.group_send(
                        street_group(street_id),
                        {"type": "patrol.positions", "street": street_id, "positions": positions},
                    )
                except Exception:  # one street's failure must not silence the others
                    log.warning("live positions to street %s failed", street_id, exc_info=True)

        async_to_sync(send_all)()
    except Exception:  # e.g. called on an event loop's thread: log, and let the upload be
        log.warning("live positions not sent", exc_info=True)


def positions_latest(street_ids) -> list[dict]:
    """The newest cached position of each inspector now in one of ``street_ids`` (a snapshot).

    Two cache round trips whatever the number of inspectors: the streets' indexes, then their
    inspectors' positions. Positions older than the TTL, or whose inspector has since left
    those streets, are left out.
    """
    street_ids = set(street_ids)
    if not street_ids:
        return []
    now, ttl = time.time(), live_ttl_s()
    indexes = cache.get_many([street_cache_key(pk) for pk in street_ids])
    inspector_ids = sorted({pk for index in indexes.values() for pk in index})
    if not inspector_ids:
        return []
    held = cache.get_many([position_cache_key(pk) for pk in inspector_ids])
    out = []
    for inspector_id in inspector_ids:
        entry = held.get(position_cache_key(inspector_id))
        if entry is None:
            continue
        received_at, position = entry
        if now - received_at < ttl and street_ids.intersection(position["street_ids"]):
            out.append(position)
    return out
