"""Demo patrols (演示巡查轨迹) of the demo city, written in bulk (``manage.py seed_demo_patrols``).

For each chosen grid's inspector and each day, one or two shifts (about 08:30–12:00 and
14:00–18:00, with jitter; some days missed, some half days, some shifts left early, a few never
ended on the handheld) in which the inspector walks rounds of the grid the way the audit page
expects to see them:

- **streets**: a lattice of streets aligned with the grid's long side, about 160 crossings
  inside the polygon, a share of the blocks closed, main streets preferred; the inspector walks
  along shortest paths on it (all pairs by Floyd–Warshall over the crossings: a few milliseconds
  per grid, once per run), so the track stays inside the grid between checkpoints.
- **rounds**: the inspector's habitual order of the checkpoints (a nearest-neighbour tour from
  where they come in), now and then shuffled or with one skipped, legs that go round a block
  or two; at each checkpoint a stay a little over its minimum dwell, or for some inspectors
  more often than others well under it (a missed checkpoint).
- **elsewhere**: stops to report a problem (2–6 min), a shop or tea (5–12 min, indoors: poorer
  fixes, sometimes none), lunch at the end of some mornings, short excursions over the grid's
  edge.
- **fixes**: one every ``interval_s`` (±0.4 s, about 1 % lost), reported accuracy around 8 m
  (3–30 m, worse indoors, a cold start's first fixes poor, a few poor fixes of 35–95 m), the
  error a quarter of the reported accuracy per axis (a few metres), wandering over a minute.
- **anomalies**, for a small share of inspectors: a jump (one fix 560–600 m off), a
  mock-location run (a fake-GPS app holding the position on a checkpoint while it reports
  walking speed: ``mock`` and ``frozen``), a ride faster than on foot (``speed``). Each is what
  ingestion would have stored: the fixes pass patrol.filters as they stand.

Everything is deterministic for a seed: a grid's streets and inspector from (seed, grid code), a
day from (seed, grid code, day), independent of database ids and of what else is seeded.

Writing: the Shift rows by ``bulk_create`` (closed, with first and last fix and count), the
fixes through ingestion's own statement (``patrol.services._points_insert``: ``INSERT … SELECT
unnest`` on PostgreSQL, multi-row ``INSERT`` with ``MakePoint`` on SpatiaLite, both ``ON CONFLICT
DO NOTHING``), then each shift's report by ``shift_report_compute``, all in one transaction per
batch of inspector-days: Ctrl-C leaves whole inspector-days, reports included. An inspector-day
with a shift already begun on it is skipped, so a second run continues where the first stopped.
"""

import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from pyproj import Transformer
from pyproj.enums import TransformDirection
from shapely.geometry.base import BaseGeometry

from accounts.models import AssignmentKind, GridAssignment, Role
from gridcity.geometry import to_shapely
from gridcity.models import Checkpoint, WorkGrid
from patrol import partitions
from patrol.analysis import CheckpointSpec
from patrol.filters import FixArrays
from patrol.models import Shift, ShiftEnd, ShiftStatus, TrackPoint
from patrol.services import _points_insert, shift_report_compute

DEMO_DISTRICT = "440306"
SHANGHAI = ZoneInfo("Asia/Shanghai")
BATCH_SIZE = 25  # inspector-days per transaction: about 65,000 fixes at 10 s
# Today's patrol is seeded up to the present; before this time of day there would be too
# little of it to show, so the days end yesterday.
TODAY_FROM = time(9, 30)
MIN_SHIFT_FIXES = 30

STREET_NODES = 160  # crossings of the street lattice in a grid, about
STREET_CLEARANCE_M = 2.5  # the lattice keeps this far inside the grid's edge
CLOSED_BLOCKS = 0.12  # share of the lattice's street sections left out
CHECKPOINT_REACH_M = 3.0  # where the inspector stands: within this of the checkpoint

# The jump: one fix this far off, its neighbours within JUMP_CLEAR_S dropped, so that the
# implied speed stays under ingestion's 120 km/h filter and over the analysis' 45 km/h.
JUMP_M = (560.0, 600.0)
JUMP_CLEAR_S = 24.0
MOCK_SPEED_MS = 1.1  # what a fake-GPS app reports while it holds the position
RIDE_SPEED_MS = (13.5, 16.0)  # an e-bike or car: over 45 km/h, well under 120

Progress = Callable[..., None]


@dataclass(frozen=True)
class PatrolMix:
    """How often each thing happens. Ranges are drawn per inspector, uniformly."""

    absent: tuple[float, float] = (0.02, 0.08)  # share of days missed
    half_day: float = 0.08  # only one of the two shifts
    leave_early: float = 0.07  # a shift ended 30–100 minutes early
    forget_end: float = 0.05  # a shift never ended on the handheld: closed for idleness
    # Checkpoints hurried through in a shift (every stay there under the minimum), per
    # inspector; and a stay cut short now and then anywhere.
    short_stay: tuple[float, float] = (0.05, 0.35)
    short_now_and_then: float = 0.05
    skip: tuple[float, float] = (0.0, 0.06)  # checkpoints left out of a round
    shuffle: float = 0.25  # a round in another order than the habitual one
    detours: tuple[float, float] = (1.0, 2.0)  # crossings gone by per leg, on average ...
    inspect: float = 0.6  # ... the chance of a look at a shop front or entrance there ...
    visit: float = 0.12  # ... or of a visit to a shop or household (入户走访, 5–15 min)
    issue_stops: float = 1.5  # stops to report a problem per shift, on average
    shop: float = 0.35  # a shop or tea per shift
    lunch: float = 0.25  # lunch at the end of a morning shift
    excursion: float = 0.3  # a short walk over the grid's edge per shift
    anomalous: float = 0.06  # share of inspectors with anomalies ...
    anomaly: float = 0.7  # ... and the chance of one in each of their shifts ...
    anomaly_kinds: tuple[float, float, float] = (0.4, 0.35, 0.25)  # ... jump, mock, ride
    lost: float = 0.01  # fixes never sent
    poor: float = 0.004  # fixes of 35–95 m accuracy


@dataclass(frozen=True)
class Beat:
    """An inspector and the grid they walk (their open primary assignment)."""

    inspector_id: int
    assignment_id: int
    grid_id: int
    grid_code: str
    shape: BaseGeometry  # WGS-84
    checkpoints: tuple[CheckpointSpec, ...]


def demo_beats(grids: Iterable[WorkGrid]) -> list[Beat]:
    """The beats of these grids, in their order: each grid with its current primary inspector
    (grids without one are left out, and an inspector holding several grids walks the first).
    Two queries besides the grids'."""
    grids = list(grids)
    ids = [g.pk for g in grids]
    held = {
        grid_id: (assignment_id, inspector_id)
        for grid_id, assignment_id, inspector_id in GridAssignment.objects.filter(
            grid_id__in=ids,
            kind=AssignmentKind.PRIMARY,
            valid_to__isnull=True,
            inspector__is_active=True,
            inspector__role=Role.INSPECTOR,
        ).values_list("grid_id", "id", "inspector_id")
    }
    checkpoints: dict[int, list[CheckpointSpec]] = {}
    for c in Checkpoint.objects.filter(grid_id__in=ids).order_by("code"):
        checkpoints.setdefault(c.grid_id, []).append(
            CheckpointSpec(
                id=c.pk,
                code=c.code,
                name=c.name,
                lon=c.point.x,
                lat=c.point.y,
                min_dwell_s=c.min_dwell_minutes * 60,
            )
        )
    beats, walking = [], set()
    for g in grids:
        if g.pk not in held or held[g.pk][1] in walking:
            continue
        assignment_id, inspector_id = held[g.pk]
        walking.add(inspector_id)
        beats.append(
            Beat(
                inspector_id=inspector_id,
                assignment_id=assignment_id,
                grid_id=g.pk,
                grid_code=g.code,
                shape=to_shapely(g.geom),
                checkpoints=tuple(checkpoints.get(g.pk, ())),
            )
        )
    return beats


def patrol_days(days: int, now: datetime) -> list[date]:
    """The ``days`` local days ending today (yesterday before TODAY_FROM), oldest first."""
    local = timezone.localtime(now, SHANGHAI)
    last = local.date() if local.time() >= TODAY_FROM else local.date() - timedelta(days=1)
    return [last - timedelta(days=back) for back in range(days - 1, -1, -1)]


# --- the grid's streets ----------------------------------------------------------------------


@lru_cache(maxsize=256)
def _tmerc(lon0: float, lat0: float) -> Transformer:
    # A PROJ pipeline: Transformer.from_crs looks EPSG:4326 up in proj.db (20–35 ms), this
    # takes under 0.1 ms (as patrol.analysis does it).
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=tmerc +lat_0={lat0} +lon_0={lon0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84"
    )


class _Streets:
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


# --- an inspector and a shift's walk -----------------------------------------------------------


@dataclass(frozen=True)
class _Inspector:
    pace: float  # m/s
    absent: float
    short_stay: float
    skip: float
    detours: float
    anomalous: bool
    home: int  # the crossing where they come into the grid
    order: tuple[int, ...]  # habitual order of the checkpoints
    altitude: float


def _rng(seed: int, code: str, *parts: int) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence([seed & 0xFFFFFFFF, zlib.crc32(code.encode()), *parts])
    )


def _inspector(streets: _Streets, rng, mix: PatrolMix) -> _Inspector:
    home = int(rng.choice(streets.edge_nodes))
    order, at, left = [], home, list(range(len(streets.checkpoint_node)))
    while left:  # nearest checkpoint next, from where they come in
        k = min(left, key=lambda c: streets.dist[at, streets.checkpoint_node[c]])
        order.append(k)
        left.remove(k)
        at = streets.checkpoint_node[k]
    return _Inspector(
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


class _Walk:
    """A walk as knots of a piecewise-linear track (time, x, y) in the grid's metres, and the
    time spans that were indoors, under a mock location, or without fixes."""

    def __init__(self, streets: _Streets, rng, t: float, node: int, pace: float):
        self.s, self.rng, self.pace = streets, rng, pace
        x, y = streets.xy[node]
        self.t, self.x, self.y = [t], [float(x)], [float(y)]
        self.node = node  # the crossing the walker is at, or last left
        self.off_street = False
        self.indoor: list[tuple[float, float]] = []
        self.mock: list[tuple[float, float, float, float]] = []  # t0, t1, x, y
        self.quiet: list[tuple[float, float]] = []

    @property
    def now(self) -> float:
        return self.t[-1]

    def _step(self, x: float, y: float, speed: float) -> None:
        d = float(np.hypot(x - self.x[-1], y - self.y[-1]))
        if d > 0.01:
            self.t.append(self.t[-1] + d / speed)
            self.x.append(float(x))
            self.y.append(float(y))

    def _speed(self) -> float:
        return self.pace * float(self.rng.uniform(0.9, 1.1))

    def to_node(self, j: int, speed: float | None = None) -> None:
        speed = speed or self._speed()
        if self.off_street:
            self._step(*self.s.xy[self.node], speed)
            self.off_street = False
        for k in self.s.path(self.node, j)[1:]:
            self._step(*self.s.xy[k], speed)
        self.node = j

    def to_point(self, x: float, y: float, speed: float | None = None) -> None:
        """Off the street lattice, from the current crossing (or place)."""
        self._step(x, y, speed or self._speed())
        self.off_street = True

    def stay(self, seconds: float) -> None:
        seconds = max(float(seconds), 1.0)
        self.t.append(self.t[-1] + seconds)
        self.x.append(self.x[-1])
        self.y.append(self.y[-1])

    def outward(self, node: int, metres: float) -> tuple[float, float] | None:
        """A place ``metres`` out of the grid beyond this crossing, if that is outside."""
        p = self.s.xy[node]
        away = p - self.s.centre
        norm = float(np.hypot(*away))
        if norm < 1e-6:
            return None
        away /= norm
        for extra in (0.0, 60.0, 150.0):
            x, y = p + away * (metres + extra)
            if not self.s.inside(x, y):
                return float(x), float(y)
        return None


def _patrol(streets, who: _Inspector, rng, t0: float, t1: float, morning: bool, mix: PatrolMix):
    """The walk of one shift from ``t0`` to past ``t1``, and the time of a jump (or None)."""
    w = _Walk(streets, rng, t0, who.home, who.pace)
    span = t1 - t0
    events = [
        (t0 + rng.uniform(0.05, 0.95) * span, "issue") for _ in range(rng.poisson(mix.issue_stops))
    ]
    if rng.random() < mix.shop:
        events.append((t0 + rng.uniform(0.1, 0.9) * span, "shop"))
    if rng.random() < mix.excursion:
        events.append((t0 + rng.uniform(0.1, 0.9) * span, "excursion"))
    jump_at = None
    if who.anomalous and rng.random() < mix.anomaly:
        weights = np.asarray(mix.anomaly_kinds, dtype=float)
        kind = str(rng.choice(["jump", "mock", "ride"], p=weights / weights.sum()))
        at = t0 + rng.uniform(0.15, 0.8) * span
        if kind == "jump":
            jump_at = at
        else:
            events.append((at, kind))
    events.sort()
    lunch_at = t1 - rng.uniform(15, 35) * 60 if morning and rng.random() < mix.lunch else None
    n_checkpoints = len(streets.checkpoint_node)
    start = int(rng.integers(max(n_checkpoints, 1)))
    # Hurried through all shift long: a checkpoint the day's figures show as not met, not
    # only a short visit among good ones.
    hurried = rng.random(n_checkpoints) < who.short_stay

    def pending() -> None:
        while events and events[0][0] <= w.now:
            _event(w, events.pop(0)[1], streets, rng)

    while w.now < t1:
        lap_began = w.now
        if lunch_at is not None and w.now >= lunch_at:
            node = int(rng.choice(streets.edge_nodes))
            w.to_node(node)
            place = w.outward(node, rng.uniform(10, 40)) if rng.random() < 0.5 else None
            if place:
                w.to_point(*place)
            begin = w.now
            w.stay(t1 - w.now + 120)
            w.indoor.append((begin, w.now))
            break
        if n_checkpoints:
            lap = list(who.order[start:] + who.order[:start])
            start = 0
            if rng.random() < mix.shuffle:
                lap = [int(k) for k in rng.permutation(lap)]
        else:
            lap = [None] * 3
        for k in lap:
            if w.now >= t1:
                break
            if k is not None and rng.random() < who.skip:
                continue
            if k is None:  # a grid without checkpoints: the streets
                target = int(rng.integers(len(streets.xy)))
            else:
                target = int(streets.checkpoint_node[k])
            # About as many crossings gone by in a round whatever the number of checkpoints:
            # a round walks the grid's streets, not only from checkpoint to checkpoint.
            for _ in range(min(int(rng.poisson(who.detours * 4.5 / len(lap))), 8)):
                pending()
                via = _detour(streets, rng, w.node, target)
                if via is not None:
                    w.to_node(via)
                    look = rng.random()
                    if look < mix.visit:
                        w.stay(rng.uniform(300, 900))
                    elif look < mix.visit + mix.inspect:
                        w.stay(rng.uniform(60, 300))
            pending()
            w.to_node(target)
            if k is None:
                w.stay(rng.uniform(30, 120))
                continue
            cx, cy = streets.checkpoint_xy[k]
            angle, reach = rng.uniform(0, 2 * np.pi), rng.uniform(0, CHECKPOINT_REACH_M)
            w.to_point(cx + reach * np.cos(angle), cy + reach * np.sin(angle))
            need = streets.min_dwell[k]
            if need <= 0:
                w.stay(rng.uniform(20, 90))
            elif hurried[k] or rng.random() < mix.short_now_and_then:
                # Walking in and out of the 30 m radius adds about 50 s to the dwell the
                # analysis measures: at most 60 % of the minimum stays under it.
                w.stay(need * rng.uniform(0.1, 0.6))
            else:
                w.stay(need * rng.uniform(1.0, 1.4) + rng.uniform(20, 60))
        if w.now == lap_began:  # every checkpoint skipped: a pause, then another round
            w.stay(60)
    return w, jump_at


def _detour(streets: _Streets, rng, here: int, target: int) -> int | None:
    """A crossing to go by on the way: round a block or two, not across the grid and back."""
    slack = rng.uniform(100, 450)
    d = streets.dist
    candidates = np.flatnonzero(d[here] + d[:, target] <= d[here, target] + slack)
    candidates = candidates[(candidates != here) & (candidates != target)]
    return int(rng.choice(candidates)) if len(candidates) else None


def _event(w: _Walk, kind: str, streets: _Streets, rng) -> None:
    if kind == "issue":
        # A problem seen on the way: stop, photograph it, report it (上报).
        near = np.flatnonzero(streets.dist[w.node] <= 150)
        w.to_node(int(rng.choice(near)))
        w.stay(rng.uniform(90, 360))
    elif kind == "shop":
        node = int(rng.choice(streets.edge_nodes))
        w.to_node(node)
        place = w.outward(node, rng.uniform(10, 35)) if rng.random() < 0.5 else None
        if place:
            w.to_point(*place)
        begin = w.now
        length = rng.uniform(240, 720)
        w.stay(length)
        w.indoor.append((begin, w.now))
        if rng.random() < 0.4:  # deep inside, no fix at all for a while
            quiet = min(length - 60, rng.uniform(60, 240))
            w.quiet.append((begin + 30, begin + 30 + quiet))
    elif kind == "excursion":
        node = int(rng.choice(streets.edge_nodes))
        place = w.outward(node, rng.uniform(40, 160))
        if place:
            w.to_node(node)
            w.to_point(*place)
            w.stay(rng.uniform(60, 300))
            w.to_node(node)
    elif kind == "mock":
        # A fake-GPS app holds the handheld on a checkpoint while the inspector is elsewhere.
        if len(streets.checkpoint_node):
            k = int(rng.integers(len(streets.checkpoint_node)))
            w.to_node(int(streets.checkpoint_node[k]))
            x, y = streets.checkpoint_xy[k]
            w.to_point(x, y)
            begin = w.now
            w.stay(rng.uniform(480, 1200))
            w.mock.append((begin, w.now, float(x), float(y)))
    elif kind == "ride":
        node = int(rng.choice(streets.edge_nodes))
        place = w.outward(node, rng.uniform(1200, 2000))
        if place:
            speed = rng.uniform(*RIDE_SPEED_MS)
            w.to_node(node)
            w.to_point(*place, speed=speed)
            w.stay(rng.uniform(240, 600))
            w.to_node(node, speed=speed)


# --- from a walk to fixes ----------------------------------------------------------------------


def _smooth(rng, n: int, tau: float) -> np.ndarray:
    """``n`` values of unit variance, correlated over ``tau`` samples (exponential kernel)."""
    length = max(1, int(np.ceil(4 * tau)))
    kernel = np.exp(-np.arange(length) / max(tau, 1e-6))
    white = rng.standard_normal(n + length - 1)
    return np.convolve(white, kernel, "valid")[:n] / np.sqrt((kernel**2).sum())


def _within(ts: np.ndarray, spans) -> np.ndarray:
    hit = np.zeros(len(ts), dtype=bool)
    for span in spans:
        hit |= (ts >= span[0]) & (ts <= span[1])
    return hit


def _sample(
    w: _Walk,
    streets: _Streets,
    who: _Inspector,
    rng,
    t0: float,
    t1: float,
    cut: float,
    interval: float,
    jump_at: float | None,
    battery: float,
    mix: PatrolMix,
) -> FixArrays:
    """The fixes the handheld sends during [t0, t1], none after ``cut``. Every random draw is
    made for the whole shift before the cut, so the part kept is the same whenever it is cut."""
    n = int((t1 - t0) / interval) + 1
    ts = t0 + rng.uniform(1, interval) + interval * np.arange(n) + rng.uniform(-0.4, 0.4, n)
    kt, kx, ky = np.array(w.t), np.array(w.x), np.array(w.y)
    x, y = np.interp(ts, kt, kx), np.interp(ts, kt, ky)
    dt = np.diff(kt)
    dx, dy = np.diff(kx), np.diff(ky)
    with np.errstate(divide="ignore", invalid="ignore"):
        seg_speed = np.where(dt > 0, np.hypot(dx, dy) / dt, 0.0)
    seg = np.clip(np.searchsorted(kt, ts, side="right") - 1, 0, len(dt) - 1)
    true_speed = seg_speed[seg]
    true_heading = np.degrees(np.arctan2(dx, dy))[seg] % 360

    # Receivers smooth their solution: the error wanders over about a minute, so a
    # standing inspector drifts a metre or so between fixes, not a whole error's width.
    tau = max(60.0 / interval, 0.5)
    accuracy = np.exp(np.log(rng.uniform(6.0, 10.0)) + 0.3 * _smooth(rng, n, tau))
    indoor = _within(ts, w.indoor)
    accuracy[indoor] *= 2.2
    accuracy = np.clip(accuracy, 3.0, 30.0)
    accuracy[:3] = rng.uniform(20, 45, 3)[: min(3, n)]  # a cold start
    sigma = accuracy / 4
    x += sigma * _smooth(rng, n, tau)
    y += sigma * _smooth(rng, n, tau)
    poor = rng.random(n) < mix.poor
    accuracy[poor] = rng.uniform(35, 95, n)[poor]
    off, angle = rng.uniform(0.3, 0.8, n) * accuracy, rng.uniform(0, 2 * np.pi, n)
    x[poor] += (off * np.cos(angle))[poor]
    y[poor] += (off * np.sin(angle))[poor]

    moving = true_speed > 0.3
    speed = np.where(
        moving,
        np.clip(true_speed * (1 + rng.normal(0, 0.08, n)) + rng.normal(0, 0.1, n), 0, None),
        np.abs(rng.normal(0, 0.06, n)),
    )
    heading = np.where(moving, (true_heading + rng.normal(0, 10, n)) % 360, np.nan)
    altitude = who.altitude + rng.normal(0, 2.5, n)
    drain = rng.uniform(4, 8) / 3600
    level = np.clip(np.round(battery - drain * (ts - t0)), 5, 100)

    mock = np.zeros(n, dtype=bool)
    for m0, m1, mx, my in w.mock:
        hold = (ts >= m0) & (ts <= m1)
        mock |= hold
        x[hold], y[hold] = mx, my
        accuracy[hold], speed[hold] = 3.0, MOCK_SPEED_MS
        heading[hold] = float(rng.uniform(0, 360))

    keep = (ts <= min(t1, cut)) & (rng.random(n) >= mix.lost) & ~_within(ts, w.quiet)
    if jump_at is not None:
        k = int(np.clip(np.searchsorted(ts, jump_at), 3, max(n - 4, 3)))
        if k < n and not mock[k]:
            keep &= ~((np.abs(ts - ts[k]) < JUMP_CLEAR_S) & (np.arange(n) != k))
            keep[k] = ts[k] <= min(t1, cut)
            angle, far = rng.uniform(0, 2 * np.pi), rng.uniform(*JUMP_M)
            x[k] += far * np.cos(angle)
            y[k] += far * np.sin(angle)
            accuracy[k] = rng.uniform(20, 45)

    lon, lat = streets.lonlat_of(x[keep], y[keep])
    m = int(keep.sum())
    return FixArrays(
        ms=np.rint(ts[keep] * 1000).astype(np.int64),
        lon=np.round(lon, 7),
        lat=np.round(lat, 7),
        accuracy=np.round(accuracy[keep], 1),
        speed=np.round(speed[keep], 2),
        heading=np.round(heading[keep], 1),
        altitude=np.round(altitude[keep], 1),
        battery=level[keep],
        mock=mock[keep],
        client_id=np.full(m, "", dtype=object),
        unreadable=np.zeros(m, dtype=bool),
    )


# --- a day -------------------------------------------------------------------------------------


@dataclass
class _ShiftPlan:
    started_at: datetime
    ended_at: datetime
    end_reason: str
    client_uuid: uuid.UUID
    fixes: FixArrays
    received_at: datetime


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=SHANGHAI)


def _day_spans(rng, day: date, mix: PatrolMix) -> list[tuple[float, float, bool, str]]:
    """(start, planned end, morning, why it ends) of the day's shifts, epoch seconds."""
    midnight = datetime.combine(day, time.min, tzinfo=SHANGHAI).timestamp()
    minute = 60.0

    def around(hours: float, sd_min: float, lo_min: float, hi_min: float) -> float:
        return (
            midnight + hours * 3600 + float(np.clip(rng.normal(0, sd_min), lo_min, hi_min)) * minute
        )

    spans = [
        [around(8.5, 7, -20, 30), around(12.0, 8, -15, 20), True],
        [around(14.0, 8, -20, 30), around(18.0, 10, -20, 25), False],
    ]
    half, which = rng.random() < mix.half_day, int(rng.integers(2))
    early = rng.random(2) < mix.leave_early
    early_by = rng.uniform(30, 100, 2) * minute
    forget = rng.random(2) < mix.forget_end
    out = []
    for i, (t0, t1, morning) in enumerate(spans):
        if half and i == which:
            continue
        if early[i]:
            t1 -= early_by[i]
        out.append((t0, t1, morning, ShiftEnd.IDLE if forget[i] else ShiftEnd.ENDED))
    return out


def _day_plan(
    beat: Beat,
    streets: _Streets,
    who: _Inspector,
    day: date,
    *,
    seed: int,
    cut: float,
    interval: float,
    mix: PatrolMix,
) -> list[_ShiftPlan] | None:
    """The day's shifts of the beat's inspector; None for a day they did not work."""
    rng = _rng(seed, beat.grid_code, 2, day.toordinal())
    absent = rng.random() < who.absent
    spans = _day_spans(rng, day, mix)
    battery = float(rng.uniform(55, 100))
    if absent:
        return None
    plans = []
    for i, (t0, t1, morning, reason) in enumerate(spans):
        shift_rng = _rng(seed, beat.grid_code, 3, day.toordinal(), i)
        walk, jump_at = _patrol(streets, who, shift_rng, t0, t1, morning, mix)
        fixes = _sample(walk, streets, who, shift_rng, t0, t1, cut, interval, jump_at, battery, mix)
        started = shift_rng.uniform(3, 40)
        ended = shift_rng.uniform(5, 90)
        received = shift_rng.uniform(1, 30)
        client = uuid.UUID(bytes=shift_rng.bytes(16), version=4)
        # Charged over lunch, or not.
        battery = float(shift_rng.uniform(80, 100)) if shift_rng.random() < 0.5 else battery - 20
        if len(fixes) < MIN_SHIFT_FIXES:
            continue
        first, last = int(fixes.ms[0]), int(fixes.ms[-1])
        idle = reason == ShiftEnd.IDLE
        plans.append(
            _ShiftPlan(
                started_at=_moment(first - round(started * 1000)),
                ended_at=_moment(last if idle else min(last + round(ended * 1000), cut * 1000)),
                end_reason=reason,
                client_uuid=client,
                fixes=fixes,
                received_at=_moment(min(last + round(received * 1000), cut * 1000)),
            )
        )
    return plans


# --- writing -----------------------------------------------------------------------------------


def _assignments_backdate(beats: list[Beat], since: datetime) -> int:
    """Let the beats' assignments hold during the seeded days; how many were moved.

    The demo city's assignments begin when it was seeded, the patrols before: a shift that
    began before its inspector held the grid has no grid in its report (no checkpoints, no
    coverage) and no supervisor who may see it. An assignment with nothing before it, of its
    grid or of its inspector, is moved back to ``since``; one with a history before it is
    left alone, and so are the shifts before it.
    """
    ids = [b.assignment_id for b in beats]
    late = list(
        GridAssignment.objects.filter(pk__in=ids, valid_from__gt=since).values_list(
            "pk", "grid_id", "inspector_id", "valid_from"
        )
    )
    if not late:
        return 0
    grids = {grid_id for _pk, grid_id, _who, _at in late}
    people = {who for _pk, _grid_id, who, _at in late}
    first_of: dict[tuple[str, int], datetime] = {}
    for grid_id, who, valid_from in GridAssignment.objects.filter(
        Q(grid_id__in=grids) | Q(inspector_id__in=people)
    ).values_list("grid_id", "inspector_id", "valid_from"):
        for key in (("grid", grid_id), ("inspector", who)):
            first_of[key] = min(first_of.get(key, valid_from), valid_from)
    moved = [
        pk
        for pk, grid_id, who, valid_from in late
        if first_of[("grid", grid_id)] >= valid_from and first_of[("inspector", who)] >= valid_from
    ]
    with transaction.atomic():
        GridAssignment.objects.filter(pk__in=moved).update(valid_from=since)
    return len(moved)


def _batch_write(planned: list[tuple[Beat, date, list[_ShiftPlan]]]) -> tuple[list[Shift], int]:
    """The shifts of these inspector-days and their fixes; the shifts written and the fixes."""
    rows, plans = [], []
    for beat, _day, day_plans in planned:
        for plan in day_plans:
            rows.append(
                Shift(
                    inspector_id=beat.inspector_id,
                    client_uuid=plan.client_uuid,
                    status=ShiftStatus.CLOSED,
                    started_at=plan.started_at,
                    ended_at=plan.ended_at,
                    end_reason=plan.end_reason,
                    first_point_at=_moment(int(plan.fixes.ms[0])),
                    last_point_at=_moment(int(plan.fixes.ms[-1])),
                    points_count=len(plan.fixes),
                )
            )
            plans.append(plan)
    written_shifts, fixes = [], 0
    for shift, plan in zip(Shift.objects.bulk_create(rows), plans, strict=True):
        written = _points_insert(
            inspector_id=shift.inspector_id,
            shift_ids=np.full(len(plan.fixes), shift.pk, dtype=np.int64),
            fixes=plan.fixes,
            received_at=plan.received_at,
        ).get(shift.pk, 0)
        # Fixes of that inspector and time stored already (another shift that reaches into the
        # day): the shift keeps what it got, and one that got nothing goes.
        if not written:
            shift.delete()
            continue
        if written != len(plan.fixes):
            Shift.objects.filter(pk=shift.pk).update(points_count=written)
            shift.points_count = written
        written_shifts.append(shift)
        fixes += written
    return written_shifts, fixes


def _analyze() -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Shift._meta.db_table}, {TrackPoint._meta.db_table}")


def demo_patrols_seed(
    *,
    beats: list[Beat],
    days: int = 1,
    interval_s: float = 10.0,
    seed: int = 2026,
    now: datetime | None = None,
    mix: PatrolMix = PatrolMix(),
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the patrols of these beats for the ``days`` days ending today (``now``, default
    the present; before TODAY_FROM, ending yesterday), none after ``now``; each shift with its
    fixes and its report (``shift_report_compute``).

    One transaction per ``batch_size`` inspector-days; an inspector-day on which a shift of
    the inspector already begins is skipped. The beats' assignments are moved back to the
    first day where they are the first of their grid and inspector
    (``_assignments_backdate``). ``progress(stage, done, total, shifts=…, fixes=…)`` is called
    after each batch. Returns the counts: inspector-days written, skipped (already there) and
    off (not worked), shifts, fixes.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if not 1.0 <= interval_s <= 120.0:
        raise ValueError("the interval must be between 1 and 120 seconds")
    now = now or timezone.now()
    cut = now.timestamp() - 60  # the last minute's fixes are still on their way
    wanted = patrol_days(days, now)
    # Before any transaction: a partition made in one that rolls back would be remembered.
    partitions.track_partitions_ensure(wanted)
    _assignments_backdate(beats, partitions.day_bounds(wanted[0])[0])

    counts = {"inspector-days": 0, "skipped": 0, "off": 0, "shifts": 0, "fixes": 0}
    todo = []
    for day in wanted:
        there = _seeded(beats, day)
        counts["skipped"] += len(there)
        todo += [(beat, day) for beat in beats if beat.inspector_id not in there]
    streets: dict[int, tuple[_Streets, _Inspector]] = {}

    def grid(beat: Beat) -> tuple[_Streets, _Inspector]:
        if beat.grid_id not in streets:
            s = _Streets(beat.shape, beat.checkpoints, _rng(seed, beat.grid_code, 0))
            streets[beat.grid_id] = (s, _inspector(s, _rng(seed, beat.grid_code, 1), mix))
        return streets[beat.grid_id]

    total = len(todo)
    if progress:
        progress("patrols", 0, total, shifts=0, fixes=0)
    for at in range(0, total, batch_size):
        batch = todo[at : at + batch_size]
        planned = []
        for beat, day in batch:
            s, who = grid(beat)
            plans = _day_plan(beat, s, who, day, seed=seed, cut=cut, interval=interval_s, mix=mix)
            planned.append((beat, day, plans))
        with transaction.atomic():
            # Checked again in the transaction: another run may have written some meanwhile.
            there = {d: _seeded(beats, d) for d in {day for _beat, day in batch}}
            fresh = [(b, d, p) for b, d, p in planned if b.inspector_id not in there[d]]
            counts["skipped"] += len(planned) - len(fresh)
            counts["off"] += sum(1 for _b, _d, p in fresh if not p)
            counts["inspector-days"] += sum(1 for _b, _d, p in fresh if p)
            shifts, fixes = _batch_write([(b, d, p) for b, d, p in fresh if p])
            for shift in shifts:
                shift_report_compute(shift=shift)
        counts["shifts"] += len(shifts)
        counts["fixes"] += fixes
        if progress:
            progress(
                "patrols", at + len(batch), total, shifts=counts["shifts"], fixes=counts["fixes"]
            )
    if counts["fixes"]:
        _analyze()
    return counts


def _seeded(beats: list[Beat], day: date) -> set[int]:
    """The beats' inspectors with a shift begun on that local day."""
    if not beats:
        return set()
    start, end = partitions.day_bounds(day)
    return set(
        Shift.objects.filter(
            inspector_id__in=[b.inspector_id for b in beats],
            started_at__gte=start,
            started_at__lt=end,
        ).values_list("inspector_id", flat=True)
    )
