"""A grid in local metres with a lattice of streets inside it, and the inspector who walks it."""

import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer
from pyproj.enums import TransformDirection
from shapely.geometry.base import BaseGeometry

from patrol.demo.mix import CLOSED_BLOCKS, STREET_CLEARANCE_M, STREET_NODES, PatrolMix


@lru_cache(maxsize=256)
def _tmerc(lon0: float, lat0: float) -> Transformer:
    # A PROJ pipeline: Transformer.from_crs looks EPSG:4326 up in proj.db (20–35 ms), this
    # takes under 0.1 ms (as patrol.analysis does it).
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=tmerc +lat_0={lat0} +lon_0={lon0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84"
    )


class Streets:
    """The grid in local metres with a lattice of streets inside it, and shortest paths."""

    def __init__(self, shape: BaseGeometry, checkpoints, rng: np.random.Generator):
        minx, miny, maxx, maxy = shape.bounds
        self._proj = _tmerc(round((minx + maxx) / 2, 3), round((miny + maxy) / 2, 3))
        self.poly = shapely.transform(
            shape, lambda c: np.column_stack(self.xy_of(c[:, 0], c[:, 1]))
        )
        shapely.prepare(self.poly)
        self.checkpoint_xy = np.array(
            [self.xy_of(c.lon, c.lat) for c in checkpoints], dtype=float
        ).reshape(-1, 2)
        self.min_dwell = np.array([c.min_dwell_s for c in checkpoints], dtype=float)
        nodes, weights = self._lattice(rng)
        if len(nodes) < 4:
            nodes, weights = self._scatter(rng)
        dist = self._all_pairs(weights)
        # The largest connected part: a grid of two parts, or a lattice cut by a narrow
        # neck, is walked where it holds together.
        keep = np.isfinite(dist[int(np.argmax(np.isfinite(dist).sum(axis=1)))])
        self.xy = nodes[keep]
        self.weights = weights[np.ix_(keep, keep)]
        self.dist = dist[np.ix_(keep, keep)]
        self.centre = np.array(self.poly.centroid.coords[0])
        edge = shapely.distance(self.poly.boundary, shapely.points(self.xy))
        near_edge = np.flatnonzero(edge <= max(1.5 * self.spacing, np.quantile(edge, 0.2)))
        self.edge_nodes = near_edge
        if len(self.checkpoint_xy):
            d = np.hypot(*(self.xy[None, :, :] - self.checkpoint_xy[:, None, :]).transpose(2, 0, 1))
            self.checkpoint_node = d.argmin(axis=1)
        else:
            self.checkpoint_node = np.zeros(0, dtype=int)

    def xy_of(self, lon, lat):
        x, y = self._proj.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(x), np.asarray(y)

    def lonlat_of(self, x, y):
        lon, lat = self._proj.transform(x, y, direction=TransformDirection.INVERSE)
        return np.asarray(lon), np.asarray(lat)

    def _lattice(self, rng):
        area = self.poly.area
        walk = self.poly.buffer(-STREET_CLEARANCE_M)
        if walk.is_empty or walk.area < 0.5 * area:
            walk = self.poly
        shapely.prepare(walk)
        corners = np.asarray(shapely.oriented_envelope(self.poly).exterior.coords)[:3]
        sides = np.diff(corners, axis=0)
        long_side = sides[int(np.argmax(np.hypot(sides[:, 0], sides[:, 1])))]
        theta = np.arctan2(long_side[1], long_side[0]) + rng.normal(0, np.radians(4))
        cos, sin = np.cos(theta), np.sin(theta)
        cx, cy = self.poly.centroid.coords[0]
        coords = shapely.get_coordinates(self.poly)
        u = (coords[:, 0] - cx) * cos + (coords[:, 1] - cy) * sin
        v = -(coords[:, 0] - cx) * sin + (coords[:, 1] - cy) * cos
        s = float(np.clip(np.sqrt(area / STREET_NODES), 8.0, 80.0))
        self.spacing = s
        us = u.min() + rng.uniform(0.2, 0.8) * s + s * np.arange(max(1, int((np.ptp(u)) / s)))
        vs = v.min() + rng.uniform(0.2, 0.8) * s + s * np.arange(max(1, int((np.ptp(v)) / s)))
        gu, gv = np.meshgrid(us, vs)  # rows along v, columns along u
        gx, gy = cx + gu * cos - gv * sin, cy + gu * sin + gv * cos
        inside = shapely.contains_xy(walk, gx, gy)
        index = np.full(gx.shape, -1)
        index[inside] = np.arange(int(inside.sum()))
        nodes = np.column_stack([gx[inside], gy[inside]])
        n = len(nodes)
        weights = np.full((n, n), np.inf)
        # Main streets (a third of the lines) are preferred: routes follow them, not a
        # staircase through every block.
        row_cost = np.where(rng.random(len(vs)) < 0.3, 1.0, rng.uniform(1.15, 1.8, len(vs)))
        col_cost = np.where(rng.random(len(us)) < 0.3, 1.0, rng.uniform(1.15, 1.8, len(us)))
        pairs = []
        a, b = index[:, :-1], index[:, 1:]  # along u
        ok = (a >= 0) & (b >= 0)
        pairs.append((a[ok], b[ok], s * np.broadcast_to(row_cost[:, None], a.shape)[ok]))
        a, b = index[:-1, :], index[1:, :]  # along v
        ok = (a >= 0) & (b >= 0)
        pairs.append((a[ok], b[ok], s * np.broadcast_to(col_cost[None, :], a.shape)[ok]))
        a = np.concatenate([p[0] for p in pairs])
        b = np.concatenate([p[1] for p in pairs])
        w = np.concatenate([p[2] for p in pairs])
        # A street section must stay inside the grid (a concave edge between two crossings),
        # and some are closed: dead ends, gated compounds.
        ok = rng.random(len(a)) >= CLOSED_BLOCKS
        for share in (0.25, 0.5, 0.75):
            mid = nodes[a] * (1 - share) + nodes[b] * share
            ok &= shapely.contains_xy(self.poly, mid[:, 0], mid[:, 1])
        weights[a[ok], b[ok]] = weights[b[ok], a[ok]] = w[ok]
        return nodes, weights

    def _scatter(self, rng):
        """A grid too small or thin for a lattice: a few points inside, joined straight."""
        minx, miny, maxx, maxy = self.poly.bounds
        self.spacing = max(maxx - minx, maxy - miny) / 4
        xs, ys = rng.uniform(minx, maxx, 400), rng.uniform(miny, maxy, 400)
        inside = shapely.contains_xy(self.poly, xs, ys)
        p = self.poly.representative_point()
        nodes = np.vstack([np.column_stack([xs[inside], ys[inside]])[:12], [[p.x, p.y]]])
        weights = np.hypot(*(nodes[:, None, :] - nodes[None, :, :]).transpose(2, 0, 1))
        np.fill_diagonal(weights, np.inf)
        return nodes, weights

    @staticmethod
    def _all_pairs(weights: np.ndarray) -> np.ndarray:
        dist = weights.copy()
        np.fill_diagonal(dist, 0.0)
        for k in range(len(dist)):  # Floyd–Warshall, a row of numpy per crossing
            np.minimum(dist, dist[:, k, None] + dist[None, k, :], out=dist)
        return dist

    def path(self, i: int, j: int) -> list[int]:
        """The crossings of a shortest path from ``i`` to ``j``, both included."""
        out, u = [i], i
        for _ in range(len(self.xy)):
            if u == j:
                break
            u = int(np.argmin(self.weights[u] + self.dist[j]))
            out.append(u)
        return out

    def inside(self, x: float, y: float) -> bool:
        return bool(shapely.contains_xy(self.poly, x, y))


@dataclass(frozen=True)
class Inspector:
    pace: float  # m/s
    absent: float
    short_stay: float
    skip: float
    detours: float
    anomalous: bool
    home: int  # the crossing where they come into the grid
    order: tuple[int, ...]  # habitual order of the checkpoints
    altitude: float


def rng_for(seed: int, code: str, *parts: int) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence([seed & 0xFFFFFFFF, zlib.crc32(code.encode()), *parts])
    )


def inspector_draw(streets: Streets, rng, mix: PatrolMix) -> Inspector:
    home = int(rng.choice(streets.edge_nodes))
    order, at, left = [], home, list(range(len(streets.checkpoint_node)))
    while left:  # nearest checkpoint next, from where they come in
        k = min(left, key=lambda c: streets.dist[at, streets.checkpoint_node[c]])
        order.append(k)
        left.remove(k)
        at = streets.checkpoint_node[k]
    return Inspector(
        pace=float(rng.uniform(1.05, 1.35)),
        absent=float(rng.uniform(*mix.absent)),
        short_stay=float(rng.uniform(*mix.short_stay)),
        skip=float(rng.uniform(*mix.skip)),
        detours=float(rng.uniform(*mix.detours)),
        anomalous=bool(rng.random() < mix.anomalous),
        home=home,
        order=tuple(order),
        altitude=float(rng.uniform(3.0, 40.0)),
    )
