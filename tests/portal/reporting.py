"""Helpers of the tests of the portal's report flow: a place in grid A, a photo, a report's
body, the files stored (the fixtures are in this folder's conftest)."""

import io
import uuid

from tests.cases.test_photos import encode, scene


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def spot(grid, east_m: float = 0.0) -> tuple[float, float]:
    """A point in ``grid``, ``east_m`` metres east of its centre (about: 1 m ≈ 1e-5° here)."""
    centre = grid.geom.point_on_surface
    return centre.x + east_m * 1.04e-5, centre.y


def photo(name: str = "photo.jpg", size=(640, 480)):
    f = io.BytesIO(encode(scene(size), "JPEG"))
    f.name = name
    return f


def body(grid, item, *, east_m: float = 0.0, **extra) -> dict:
    lon, lat = spot(grid, east_m)
    return {
        "client_uuid": str(uuid.uuid4()),
        "item": item.code,
        "lon": f"{lon:.7f}",
        "lat": f"{lat:.7f}",
        "address": "新安路 8 号门前",
        "description": "井盖缺失，行人有坠落危险",
        **extra,
    }
