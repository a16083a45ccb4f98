"""locate: which work grid (and community, street, district) holds a point.

Every GPS fix and every case is placed by this, so it answers from an in-process spatial index:
a shapely STRtree over the grids' bounding boxes, then a point-in-polygon test on prepared
geometries of the few candidates. The index is built lazily on first use and rebuilt when the
hierarchy changes: at once in the process that changed it (signals), and in every other process
within ``GRIDCITY_LOCATE_INDEX_CHECK_SECONDS``, by comparing a cheap fingerprint of the four
tables. A point the index does not place goes to the database, which stays the authority.
"""

from dataclasses import dataclass

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import Point

from gridcity import coords, geometry
from gridcity.fingerprint import FingerprintCache, tables_fingerprint
from gridcity.models import Community, District, Street, WorkGrid


@dataclass(frozen=True, slots=True)
class Place:
    code: str
    name: str
    id: int = 0  # the row's primary key, for a caller that stores the place


@dataclass(frozen=True, slots=True)
class Location:
    """The answer of locate: the grid and its ancestors, codes and names."""

    grid_id: int
    grid: Place
    community: Place
    street: Place
    district: Place

    def as_dict(self) -> dict:
        return {
            level: {"code": place.code, "name": place.name}
            for level, place in (
                ("grid", self.grid),
                ("community", self.community),
                ("street", self.street),
                ("district", self.district),
            )
        }


def hierarchy_fingerprint() -> tuple:
    """Changes whenever a unit of the hierarchy is added, changed or removed."""
    return tables_fingerprint(WorkGrid, Community, Street, District)


def _location_of(grid: WorkGrid) -> Location:
    community = grid.community
    street = community.street
    district = street.district
    return Location(
        grid_id=grid.id,
        grid=Place(grid.code, grid.name, grid.id),
        community=Place(community.code, community.name, community.id),
        street=Place(street.code, street.name, street.id),
        district=Place(district.code, district.name, district.id),
    )


def _grids_with_ancestors():
    # Only the ancestors' codes and names: their polygons are large and not needed here.
    return (
        WorkGrid.objects.select_related("community__street__district")
        .only(
            *("id", "code", "name", "geom"),
            *(f"{level}__{field}" for level in _ANCESTORS for field in ("code", "name")),
        )
        .order_by("code")
    )


_ANCESTORS = ("community", "community__street", "community__street__district")


class GridIndex:
    """An immutable snapshot of every grid: STRtree of envelopes + prepared polygons."""

    def __init__(self, fingerprint: tuple, grids: list[WorkGrid]):
        self.fingerprint = fingerprint
        self.locations = [_location_of(g) for g in grids]
        self.geoms = np.array([geometry.to_shapely(g.geom) for g in grids], dtype=object)
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)

    def find(self, lon: float, lat: float) -> Location | None:
        # The tree compares envelopes, then tests the few candidates against their prepared
        # polygons, all in C. Grids are held in code order, so on a shared edge the lowest
        # index is the lowest code: a stable answer whichever neighbour the tree lists first.
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits) == 0:
            return None
        return self.locations[hits[0] if len(hits) == 1 else hits.min()]


class _IndexHolder:
    """The process's grid index; ``invalidate()`` makes the next look-up build it again."""

    def __init__(self) -> None:
        self._cache = FingerprintCache(
            fingerprint=hierarchy_fingerprint,
            build=lambda fingerprint: GridIndex(fingerprint, list(_grids_with_ancestors())),
            interval=lambda: settings.GRIDCITY_LOCATE_INDEX_CHECK_SECONDS,
        )

    def invalidate(self) -> None:
        self._cache.clear()

    def get(self) -> GridIndex:
        return self._cache.get()


grid_index = _IndexHolder()


def grid_at(lon: float, lat: float, crs: str = "wgs84") -> Location | None:
    """The work grid holding the point (lon, lat) given in ``crs``, or None outside them all."""
    if crs != "wgs84":
        lon, lat = coords.convert(lon, lat, crs, "wgs84")
    found = grid_index.get().find(lon, lat)
    if found is not None:
        return found
    return grid_at_from_database(lon, lat)


def grid_at_from_database(lon: float, lat: float) -> Location | None:
    """The authoritative answer, from a spatial query (WGS-84 coordinates)."""
    grid = _grids_with_ancestors().filter(geom__intersects=Point(lon, lat, srid=4326)).first()
    return _location_of(grid) if grid is not None else None
