"""Fixtures of the patrol tests: a fixed clock, tracks walked in grid A, uploads."""

import gzip
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from patrol import partitions
from patrol.fixes import Fix

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _partitions_forgotten():
    """Each test's transaction is rolled back, and the partitions it made with it: the cache
    of made partitions must not outlive them."""
    partitions.forget()
    yield
    partitions.forget()


@pytest.fixture
def now(time_machine) -> datetime:
    time_machine.move_to(NOW, tick=False)
    return NOW


def grid_centre(grid) -> tuple[float, float]:
    p = grid.geom.point_on_surface
    return p.x, p.y


def walk(
    grid,
    start: datetime,
    n: int,
    *,
    every_s: float = 5.0,
    step_deg: float = 0.00002,
    prefix: str = "f",
    **extra,
) -> list[Fix]:
    """``n`` fixes every ``every_s`` seconds from ``start``, walking east from the grid's centre
    at about 2 m a step (a pace of 1.5 km/h)."""
    lon, lat = grid_centre(grid)
    return [
        Fix(
            t=(start + timedelta(seconds=i * every_s)).timestamp(),
            lon=lon + i * step_deg,
            lat=lat,
            accuracy=8.0,
            speed=0.4,
            battery=80.0,
            client_id=f"{prefix}{i}",
            **extra,
        )
        for i in range(n)
    ]


def as_body(fixes: list[Fix], **extra) -> dict:
    """The batch API's body for these fixes (times as epoch milliseconds)."""
    return {
        **extra,
        "points": [
            {
                "id": f.client_id,
                "t": round(f.t * 1000),
                "lon": f.lon,
                "lat": f.lat,
                "acc": f.accuracy,
                "speed": f.speed,
                "batt": f.battery,
            }
            for f in fixes
        ],
    }


def upload(client, user, body, *, compress: bool = False, raw: bytes | None = None):
    client.force_login(user)
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {}
    if compress:
        data = gzip.compress(data)
        headers["HTTP_CONTENT_ENCODING"] = "gzip"
    return client.post("/api/v1/patrol/points/", data, content_type="application/json", **headers)
