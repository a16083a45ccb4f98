"""Synthetic patrols for the report tests: walk between places, stay at some, one fix every
few seconds, as a handheld on foot would send them."""

import math
from datetime import datetime, timedelta

from patrol.fixes import Fix

WALK_MS = 1.3
EVERY_S = 5.0


def route(
    start: datetime,
    stops: list[tuple[float, float, float]],
    *,
    every_s: float = EVERY_S,
    walk_ms: float = WALK_MS,
    prefix: str = "r",
) -> list[Fix]:
    """Fixes from the first place on, walking straight to each next one at ``walk_ms`` and
    staying ``stay_s`` at each: ``stops`` are (lon, lat, stay_s). While staying the handheld
    reports a speed of 0, while walking the pace."""
    fixes: list[Fix] = []
    t = start.timestamp()

    def add(lon: float, lat: float, speed: float) -> None:
        nonlocal t
        fixes.append(
            Fix(
                t=t,
                lon=lon,
                lat=lat,
                accuracy=6.0,
                speed=speed,
                battery=90.0,
                client_id=f"{prefix}{len(fixes)}",
            )
        )
        t += every_s

    lon, lat, stay = stops[0]
    for _ in range(int(stay // every_s) + 1):
        add(lon, lat, 0.0)
    for next_lon, next_lat, next_stay in stops[1:]:
        dx = (next_lon - lon) * 111_320 * math.cos(math.radians(lat))
        dy = (next_lat - lat) * 110_574
        steps = max(1, math.ceil(math.hypot(dx, dy) / (walk_ms * every_s)))
        for i in range(1, steps + 1):
            add(lon + (next_lon - lon) * i / steps, lat + (next_lat - lat) * i / steps, walk_ms)
        lon, lat = next_lon, next_lat
        for _ in range(int(next_stay // every_s)):
            add(lon, lat, 0.0)
    return fixes


def end_of(fixes: list[Fix]) -> datetime:
    from django.utils import timezone

    return datetime.fromtimestamp(fixes[-1].t, tz=timezone.get_default_timezone()) + timedelta(
        seconds=1
    )
