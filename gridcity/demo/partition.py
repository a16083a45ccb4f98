"""The demo city's geometry: a district outline cut into streets, communities and work grids.

Pure Python (shapely 2, numpy, pyproj; no Django). Every level is a clipped Voronoi diagram
relaxed by a few Lloyd iterations, computed in a local transverse Mercator projection in metres
and converted back to longitude/latitude vertex by vertex, so siblings keep sharing exactly the
same edges. The children of each unit tile it: they cover it, they do not overlap, and clipping
fragments are handed to the neighbour that shares the longest border with them, so that a unit
is a single polygon wherever its parent allows. Parts of a parent that are too small to seed
(the district's small island) stay with the child whose Voronoi cell covers them.

Deterministic: the same outline and seed give the same codes, names and WKB.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
import shapely.ops
from shapely.geometry.base import BaseGeometry

from gridcity.demo import names
from gridcity.geometry import LocalMetric

# (name, approximate longitude, latitude of its centre, number of communities); codes 001..010.
STREETS: tuple[tuple[str, float, float, int], ...] = (
    ("新安街道", 113.885, 22.560, 22),
    ("西乡街道", 113.870, 22.595, 19),
    ("航城街道", 113.845, 22.630, 11),
    ("福永街道", 113.825, 22.670, 11),
    ("福海街道", 113.800, 22.690, 9),
    ("沙井街道", 113.815, 22.730, 16),
    ("新桥街道", 113.845, 22.725, 9),
    ("松岗街道", 113.850, 22.770, 10),
    ("燕罗街道", 113.890, 22.790, 7),
    ("石岩街道", 113.930, 22.680, 12),
)
GRID_COUNT = 4833
MIN_GRIDS_PER_COMMUNITY = 8
CHECKPOINTS_PER_GRID = (2, 3, 4)  # drawn uniformly: about 3 a grid
CHECKPOINT_EDGE_CLEARANCE_M = 10.0
CHECKPOINT_SPACING_M = 30.0
DWELL_MINUTES = (3, 10)

STREET_LLOYD_ITERATIONS = 2
STREET_LLOYD_STEP = 0.5  # half-way to the centroid: streets stay near their real centres
COMMUNITY_LLOYD_ITERATIONS = 8
GRID_LLOYD_ITERATIONS = 10
SEED_PART_SHARE = 0.01  # parts of a parent smaller than this share of it get no seed points
BORDER_EPS_M = 0.01  # how close two edges must be to count as a shared border

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    geom: shapely.MultiPolygon  # longitude/latitude degrees
    parent_code: str | None


@dataclass(frozen=True)
class CheckpointSpec:
    code: str  # grid code + 3-digit sequence
    name: str
    grid_code: str
    point: shapely.Point
    min_dwell_minutes: int


@dataclass
class DemoCity:
    district: UnitSpec
    streets: list[UnitSpec]
    communities: list[UnitSpec]
    grids: list[UnitSpec]
    checkpoints: list[CheckpointSpec]


def _quiet(stage: str, done: int, total: int) -> None:
    pass


def build_demo_city(
    outline: BaseGeometry,
    *,
    seed: int = 2026,
    district_code: str = "440306",
    district_name: str = "宝安区",
    grid_count: int = GRID_COUNT,
    progress: Progress | None = None,
) -> DemoCity:
    """Partition ``outline`` (lon/lat) into the streets of ``STREETS``, their communities and
    ``grid_count`` work grids, with 2–4 checkpoints in each grid. Deterministic for ``seed``."""
    progress = progress or _quiet
    outline = _checked(outline, grid_count)
    streams = np.random.SeedSequence(seed).spawn(4)
    community_rng, grid_rng, checkpoint_rng, name_rng = (np.random.default_rng(s) for s in streams)

    frame = LocalMetric.around(outline)
    district_m = _clean(frame.to_metric(outline))

    street_geoms = _street_cells(frame, district_m)

    # Communities: random seeds in each street, relaxed.
    community_geoms, community_street = _subdivide(
        street_geoms,
        [street[3] for street in STREETS],
        community_rng,
        COMMUNITY_LLOYD_ITERATIONS,
        lambda done, total: progress("communities", done, total),
    )

    # Grids: shared out by community area, then random seeds relaxed in each community.
    grid_geoms, grid_community = _subdivide(
        community_geoms,
        _grid_counts(community_geoms, grid_count),
        grid_rng,
        GRID_LLOYD_ITERATIONS,
        lambda done, total: progress("grids", done, total),
    )

    # Back to lon/lat, all at once.
    grids_m = np.array(grid_geoms, dtype=object)
    streets_ll = _to_lonlat(frame, np.array(street_geoms, dtype=object))
    communities_ll = _to_lonlat(frame, np.array(community_geoms, dtype=object))
    grids_ll = _to_lonlat(frame, grids_m)

    district = UnitSpec(district_code, district_name, _as_multipolygon(outline), None)
    short_names = names.community_short_names(len(community_geoms), name_rng)
    streets, communities, grids = _named(
        (district_code, streets_ll),
        (community_street, communities_ll),
        (grid_community, grids_ll),
        short_names,
    )
    progress("checkpoints", 0, len(grids))
    checkpoints = _checkpoints(
        frame, grids_m, grids, grid_community, short_names, checkpoint_rng, name_rng
    )
    progress("checkpoints", len(grids), len(grids))
    return DemoCity(district, streets, communities, grids, checkpoints)


def _checked(outline: BaseGeometry, grid_count: int) -> BaseGeometry:
    n_communities = sum(street[3] for street in STREETS)
    if grid_count < n_communities:
        raise ValueError(f"grid_count must be at least {n_communities}, one per community")
    outline = _clean(outline)
    if outline.is_empty:
        raise ValueError("the district outline is empty")
    return outline


def _grid_counts(community_geoms: list, grid_count: int) -> np.ndarray:
    """How many grids each community gets: in proportion to its area, a few at least."""
    areas = shapely.area(np.array(community_geoms, dtype=object))
    grid_counts = allocate(grid_count, areas, MIN_GRIDS_PER_COMMUNITY)
    if grid_counts.max() > 999:
        raise ValueError("grid_count too large: a community would need more than 999 grid codes")
    return grid_counts


def _street_cells(frame: LocalMetric, district_m: BaseGeometry) -> np.ndarray:
    """Streets: the real centres (moved inside the outline where needed), gently relaxed."""
    centres_m = shapely.get_coordinates(
        frame.to_metric(shapely.points([(lon, lat) for _n, lon, lat, _c in STREETS]))
    )
    centres_m = _inside(centres_m, _seed_region(district_m))
    centres_m = _lloyd(
        district_m, centres_m, STREET_LLOYD_ITERATIONS, step=STREET_LLOYD_STEP, keep_order=True
    )
    return _partition(district_m, centres_m)


def _named(street_cells, community_cells, grid_cells, short_names):
    """The streets, communities and grids, coded and named: ``street_cells`` is (district
    code, geoms), the others (parent index of each, geoms)."""
    district_code, streets_ll = street_cells
    streets = [
        UnitSpec(f"{district_code}{s + 1:03d}", name, geom, district_code)
        for s, ((name, *_rest), geom) in enumerate(zip(STREETS, streets_ll, strict=True))
    ]
    community_street, communities_ll = community_cells
    grid_community, grids_ll = grid_cells
    communities = _coded(
        streets,
        community_street,
        communities_ll,
        lambda c, _street, _seq: names.community_name(short_names[c]),
    )
    grids = _coded(
        communities,
        grid_community,
        grids_ll,
        lambda _grid, c, seq: names.grid_name(short_names[c], seq),
    )
    return streets, communities, grids


def _subdivide(parents, counts, rng, iterations: int, progress) -> tuple[list, list[int]]:
    """Each parent cut into its count of cells around random seeds relaxed by Lloyd's
    algorithm; the cells, and the index of the parent of each."""
    cells: list[BaseGeometry] = []
    parent_of: list[int] = []
    for i, (parent, count) in enumerate(zip(parents, counts, strict=True)):
        points = _lloyd(parent, _sample(parent, count, rng), iterations)
        cells += list(_partition(parent, points))
        parent_of += [i] * count
        progress(i + 1, len(parents))
    return cells, parent_of


def _coded(parents: list[UnitSpec], parent_of: list[int], geoms, name) -> list[UnitSpec]:
    """Units numbered from 001 within their parent, in order, each named
    ``name(index, parent index, number)``."""
    units = []
    numbers = np.zeros(len(parents), dtype=int)
    for i, p in enumerate(parent_of):
        numbers[p] += 1
        seq = int(numbers[p])
        units.append(
            UnitSpec(f"{parents[p].code}{seq:03d}", name(i, p, seq), geoms[i], parents[p].code)
        )
    return units


# --- geometry helpers -------------------------------------------------------------------------


def _as_multipolygon(geom: BaseGeometry) -> shapely.MultiPolygon:
    """Polygons and collections of them as one MultiPolygon; other parts and empties dropped."""
    parts = _polygons(geom)
    return shapely.MultiPolygon(list(parts))


def _polygons(geom: BaseGeometry) -> np.ndarray:
    """The non-empty polygons with area in ``geom``, flattened, as an array."""
    parts = shapely.get_parts(geom)
    while True:
        nested = shapely.get_type_id(parts) >= 4  # multi-geometries and collections
        if not nested.any():
            break
        parts = np.concatenate([parts[~nested], shapely.get_parts(parts[nested])])
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    return parts[keep]


def _clean(geom: BaseGeometry) -> BaseGeometry:
    """Valid, polygons only, one geometry (Polygon or MultiPolygon)."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = _polygons(geom)
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(list(parts))


def _to_lonlat(frame: LocalMetric, geoms: np.ndarray) -> list[shapely.MultiPolygon]:
    lonlat = frame.to_lonlat(geoms)
    result = []
    for geom in lonlat:
        multi = _as_multipolygon(geom)
        if not multi.is_valid:  # not seen in practice; the projection is smooth and tiny here
            multi = _as_multipolygon(shapely.make_valid(multi))
        result.append(multi)
    return result


def _seed_region(parent: BaseGeometry) -> BaseGeometry:
    """The parts of ``parent`` big enough to hold seed points (all but tiny islands)."""
    parts = _polygons(parent)
    areas = shapely.area(parts)
    big = parts[areas >= SEED_PART_SHARE * areas.sum()]
    region = big[0] if len(big) == 1 else shapely.MultiPolygon(list(big))
    shapely.prepare(region)
    return region


def _sample(parent: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points (n × 2) in the seedable part of ``parent``."""
    region = _seed_region(parent)
    minx, miny, maxx, maxy = region.bounds
    share = region.area / ((maxx - minx) * (maxy - miny))
    found = np.empty((0, 2))
    while len(found) < n:
        batch = int((n - len(found)) / share * 1.5) + 8
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(batch, 2))
        found = np.vstack([found, xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])]])
    return found[:n]


def _inside(points: np.ndarray, region: BaseGeometry) -> np.ndarray:
    """Points outside ``region`` moved to the nearest point a little way inside it."""
    points = points.copy()
    outside = ~shapely.contains_xy(region, points[:, 0], points[:, 1])
    for i in np.flatnonzero(outside):
        near = shapely.ops.nearest_points(region, shapely.Point(points[i]))[0]
        points[i] = shapely.get_coordinates(
            shapely.point_on_surface(region.intersection(near.buffer(200.0)))
        )[0]
    return points


def _voronoi(parent: BaseGeometry, points: np.ndarray) -> np.ndarray:
    """The Voronoi cells of ``points``, in their order, clipped to ``parent``."""
    if len(points) == 1:
        return np.array([parent], dtype=object)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(points), extend_to=parent, ordered=True)
    )
    if len(cells) != len(points):
        raise ValueError("coincident seed points")
    return shapely.intersection(cells, parent)


def _lloyd(
    parent: BaseGeometry,
    points: np.ndarray,
    iterations: int,
    *,
    step: float = 1.0,
    keep_order: bool = False,
) -> np.ndarray:
    """Lloyd relaxation in ``parent``: move each point (a ``step`` of the way) to its cell's
    centroid. A point whose target falls outside the seedable region goes to a point inside
    its cell instead, or stays, so every point keeps a non-empty cell."""
    region = _seed_region(parent)
    for _ in range(iterations):
        cells = _voronoi(parent, points)
        target = shapely.get_coordinates(shapely.centroid(cells))
        target = points + step * (target - points)
        bad = ~shapely.contains_xy(region, target[:, 0], target[:, 1])
        if bad.any():
            inner = shapely.get_coordinates(shapely.point_on_surface(cells[bad]))
            target[bad] = inner
            still = ~shapely.contains_xy(region, target[:, 0], target[:, 1])
            target[still] = points[still]
        points = target
    if keep_order:
        return points
    return points[_reading_order(points, parent)]


def _reading_order(points: np.ndarray, parent: BaseGeometry) -> np.ndarray:
    """Rows from north to south, west to east within a row: the order codes are given in."""
    if len(points) < 2:
        return np.arange(len(points))
    row_height = np.sqrt(parent.area / len(points))
    top = points[:, 1].max()
    rows = np.floor((top - points[:, 1]) / row_height)
    return np.lexsort((points[:, 0], rows))


def _partition(parent: BaseGeometry, points: np.ndarray) -> np.ndarray:
    """``parent`` cut into one geometry per point: clipped Voronoi cells whose stray fragments
    go to the neighbour sharing the longest border with them."""
    cells = _voronoi(parent, points)
    parts, owner = shapely.get_parts(cells, return_index=True)
    areas = shapely.area(parts)
    keep = areas > 0
    parts, owner, areas = parts[keep], owner[keep], areas[keep]
    if len(parts) == len(points):
        if len(np.unique(owner)) != len(points):
            raise ValueError("a seed point has no cell")
        return _polygonal(cells)
    # The main part of a cell holds its seed point (else it is the largest part).
    holds = shapely.contains_xy(parts, points[owner, 0], points[owner, 1])
    order = np.lexsort((areas, holds, owner))
    last = np.r_[np.flatnonzero(np.diff(owner[order])), len(order) - 1]
    if len(last) != len(points):
        raise ValueError("a seed point has no cell")
    anchored = np.zeros(len(parts), dtype=bool)
    anchored[order[last]] = True
    original_owner = owner.copy()
    fragments = np.flatnonzero(~anchored)
    frag_i, piece_j, shared = _borders(parts, fragments)
    pending = _hand_out(set(fragments.tolist()), frag_i, piece_j, shared, owner, anchored)
    _islands_join(pending, frag_i, piece_j, areas, owner)
    moved = owner != original_owner
    changed = set(original_owner[moved].tolist()) | set(owner[moved].tolist())
    result = cells.copy()
    for cell in sorted(changed):
        mine = parts[owner == cell]
        result[cell] = _clean(shapely.union_all(mine)) if len(mine) > 1 else mine[0]
    return _polygonal(result)


def _borders(parts: np.ndarray, fragments: np.ndarray):
    """Border shared by each fragment with each piece it touches: (fragment, piece, length)."""
    tree = shapely.STRtree(parts)
    frag_i, piece_j = tree.query(parts[fragments], predicate="intersects")
    frag_i = fragments[frag_i]
    other = frag_i != piece_j
    frag_i, piece_j = frag_i[other], piece_j[other]
    shared = shapely.length(
        shapely.intersection(
            shapely.boundary(parts[frag_i]),
            shapely.buffer(parts[piece_j], BORDER_EPS_M, quad_segs=1),
        )
    )
    touching = shared > 2 * BORDER_EPS_M
    return frag_i[touching], piece_j[touching], shared[touching]


def _hand_out(pending: set[int], frag_i, piece_j, shared, owner, anchored) -> set[int]:
    """Hand out fragments in rounds, each to the owner of the anchored pieces it shares the
    most border with; fragments touching only fragments wait for a later round. Changes
    ``owner`` and ``anchored``; returns the fragments nobody anchored touches."""
    while pending:
        decided = {}
        for f in sorted(pending):
            sel = (frag_i == f) & anchored[piece_j]
            if not sel.any():
                continue
            totals: dict[int, float] = {}
            for j, length in zip(piece_j[sel], shared[sel], strict=True):
                totals[owner[j]] = totals.get(owner[j], 0.0) + length
            decided[f] = max(sorted(totals), key=totals.__getitem__)
        if not decided:
            break
        for f, new_owner in decided.items():
            owner[f] = new_owner
            anchored[f] = True
            pending.discard(f)
    return pending


def _islands_join(pending: set[int], frag_i, piece_j, areas, owner) -> None:
    """What is left are islands (touching nothing anchored): each island, even if the Voronoi
    edges cut it into pieces, stays whole with the cell that holds most of it."""
    component = {f: f for f in pending}

    def root(f: int) -> int:
        while component[f] != f:
            f = component[f]
        return f

    for f, j in zip(frag_i.tolist(), piece_j.tolist(), strict=True):
        if f in component and j in component:
            a, b = sorted((root(f), root(j)))
            component[b] = a
    islands: dict[int, list[int]] = {}
    for f in sorted(pending):
        islands.setdefault(root(f), []).append(f)
    for pieces in islands.values():
        biggest = max(pieces, key=lambda f: (areas[f], -f))
        owner[pieces] = owner[biggest]


def _polygonal(cells: np.ndarray) -> np.ndarray:
    """Cells as Polygons or MultiPolygons: lines or points an overlay left beside them dropped."""
    cells = cells.copy()
    for i in np.flatnonzero(~np.isin(shapely.get_type_id(cells), (3, 6))):
        cells[i] = _clean(cells[i])
    return cells


def allocate(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """``total`` split in proportion to ``weights`` by largest remainders, at least ``minimum``
    each (less if ``total`` cannot give everyone that much); sums to ``total`` exactly."""
    weights = np.asarray(weights, dtype=float)
    n = len(weights)
    minimum = min(minimum, total // n)
    fixed = np.zeros(n, dtype=bool)
    while True:
        free = total - minimum * fixed.sum()
        quota = np.where(fixed, minimum, free * weights / weights[~fixed].sum())
        low = ~fixed & (quota < minimum)
        if not low.any():
            break
        fixed |= low
    counts = np.floor(quota).astype(int)
    remainder = quota - counts
    short = total - counts.sum()
    counts[np.argsort(-remainder, kind="stable")[:short]] += 1
    return counts


# --- checkpoints ------------------------------------------------------------------------------


def _checkpoints(
    frame: LocalMetric,
    grids_m: np.ndarray,
    grids: list[UnitSpec],
    grid_community: list[int],
    short_names: list[str],
    rng: np.random.Generator,
    name_rng: np.random.Generator,
) -> list[CheckpointSpec]:
    chosen = _checkpoint_spots(grids_m, rng)
    counts = [len(c) for c in chosen]
    xy = np.array([p for c in chosen for p in c])
    points = frame.to_lonlat(shapely.points(xy))
    dwell = rng.integers(DWELL_MINUTES[0], DWELL_MINUTES[1] + 1, size=len(xy))
    grid_names = _checkpoint_names(counts, grid_community, short_names, name_rng)
    checkpoints = []
    k = 0
    for g, grid in enumerate(grids):
        for seq in range(counts[g]):
            checkpoints.append(
                CheckpointSpec(
                    code=f"{grid.code}{seq + 1:03d}",
                    name=grid_names[g][seq],
                    grid_code=grid.code,
                    point=points[k],
                    min_dwell_minutes=int(dwell[k]),
                )
            )
            k += 1
    return checkpoints


def _checkpoint_spots(grids_m: np.ndarray, rng: np.random.Generator) -> list[list]:
    """2–4 spots in each grid, apart and off its edge; one at least, even in a sliver."""
    n = len(grids_m)
    wanted = rng.choice(CHECKPOINTS_PER_GRID, size=n)
    chosen = _spread_points(
        grids_m, wanted, CHECKPOINT_EDGE_CLEARANCE_M, CHECKPOINT_SPACING_M, 32, rng
    )
    # Grids too small or thin for that: closer to the edge and to each other.
    short = np.flatnonzero(np.array([len(c) for c in chosen]) < wanted)
    if len(short):
        retry = _spread_points(
            grids_m[short],
            wanted[short],
            CHECKPOINT_EDGE_CLEARANCE_M / 5,
            CHECKPOINT_SPACING_M / 3,
            128,
            rng,
        )
        for i, pts in zip(short, retry, strict=True):
            if len(pts) > len(chosen[i]):
                chosen[i] = pts
    for i in range(n):
        if not chosen[i]:
            chosen[i] = [tuple(shapely.get_coordinates(grids_m[i].representative_point())[0])]
    return chosen


def _checkpoint_names(counts, grid_community, short_names, name_rng) -> list[list[str]]:
    """Each grid's checkpoint names, drawn per community, unique within a grid."""
    n = len(counts)
    by_community: dict[int, list[int]] = {}
    for g, c in enumerate(grid_community):
        by_community.setdefault(c, []).append(g)
    grid_names: list[list[str]] = [[] for _ in range(n)]
    for c in sorted(by_community):
        members = by_community[c]
        for g, labels in zip(
            members,
            names.checkpoint_names(short_names[c], [counts[g] for g in members], name_rng),
            strict=True,
        ):
            grid_names[g] = labels
    return grid_names


def _spread_points(
    geoms: np.ndarray,
    wanted: np.ndarray,
    clearance: float,
    spacing: float,
    candidates: int,
    rng: np.random.Generator,
) -> list[list[tuple[float, float]]]:
    """Up to ``wanted[i]`` random points in each geometry, ``clearance`` from its edge and
    ``spacing`` apart: candidates drawn in the bounding boxes, filtered and greedily thinned,
    all grids at once."""
    inner = shapely.buffer(geoms, -clearance, quad_segs=2)
    bounds = shapely.bounds(geoms)
    u = rng.random((len(geoms), candidates, 2))
    x = bounds[:, 0, None] + u[..., 0] * (bounds[:, 2] - bounds[:, 0])[:, None]
    y = bounds[:, 1, None] + u[..., 1] * (bounds[:, 3] - bounds[:, 1])[:, None]
    ok = shapely.contains_xy(inner[:, None], x, y)
    accepted = np.zeros_like(ok)
    count = np.zeros(len(geoms), dtype=int)
    for k in range(candidates):
        d2 = (x - x[:, k, None]) ** 2 + (y - y[:, k, None]) ** 2
        clear = ~(accepted & (d2 < spacing**2)).any(axis=1)
        take = ok[:, k] & clear & (count < wanted)
        accepted[:, k] = take
        count += take
    return [
        list(zip(x[i, accepted[i]].tolist(), y[i, accepted[i]].tolist(), strict=True))
        for i in range(len(geoms))
    ]
