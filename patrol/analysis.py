"""Analysis of one inspector's patrol shift (巡查轨迹分析): distance, moving and stopped time,
stops, checkpoint visits (巡查点打卡) and laps, coverage of the grid, time outside it, anomalies.

Pure and database-free: numpy arrays and shapely geometries in, a ShiftReport out, so it runs in
a Celery worker or a process pool. Vectorised over the fixes: the Python loops run per stop, per
visit, per checkpoint, per anomaly, or per offset inside the short stop window, never per fix.

Conventions used throughout:

- The fixes are sorted by time (ties by position, speed and mock flag, so that any order of the
  same input gives the same report). Fixes without a finite time or position are ignored.
- A *segment* joins two consecutive fixes. A segment longer than ``gap_seconds`` is a *gap*: it
  counts for distance but not as online, moving, stopped or outside time, and no stop, visit or
  coverage line spans it (time nobody observed is not credited).
- A *break* is the segment before a fix marked ``segment_start`` (the recording itself says it
  stopped there: a new GPX track or segment). It is a gap however short, and it counts for no
  distance either: two recordings are not joined by a straight line. No speed or jump anomaly
  nor frozen run spans it. Laps go on across gaps and breaks alike (a recording app that
  splits its track at every pause must not cost the inspector a lap); visits do not span them.
- Distances between fixes are geodesic on the WGS-84 ellipsoid. Everything else (radii,
  coverage, inside/outside) is measured in one local transverse Mercator frame, the same as
  gridcity.geometry.LocalMetric's, centred on the grids, or on the median fix without grids.
- Durations are "from the first fix to the last fix" of a run: a run of one fix lasts 0 s.
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import shapely
from numpy.typing import ArrayLike
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from gridcity.geometry import WGS84_GEOD

ANOMALY_KINDS = ("speed", "jump", "frozen", "mock")


@dataclass(frozen=True)
class AnalysisParams:
    """Every threshold of the analysis; the defaults suit inspectors on foot."""

    stop_radius_m: float = 30.0  # a stop: stayed within this radius of its first fix ...
    stop_min_seconds: float = 120.0  # ... for at least this long
    checkpoint_radius_m: float = 30.0  # a checkpoint is visited when a fix is within this
    # Two visits of one checkpoint this close in time are one: a fix or two drifting out of the
    # radius (GPS noise at its edge) must not split a stay into two short, missed ones.
    visit_merge_seconds: float = 30.0
    coverage_cell_m: float = 25.0  # coverage: share of these square cells of the grid ...
    coverage_reach_m: float = 25.0  # ... whose centre the track passed within this
    max_speed_kmh: float = 45.0  # implied speed impossible on foot or by e-bike
    jump_m: float = 500.0  # a jump: this far between consecutive fixes ...
    jump_seconds: float = 30.0  # ... in under this long (or also above max speed)
    frozen_seconds: float = 300.0  # frozen: identical coordinates this long ...
    frozen_speed_ms: float = 0.5  # ... while the device reports a speed above this
    moving_speed_ms: float = 0.3  # moving vs stopped time, by implied speed between fixes
    gap_seconds: float = 300.0  # a gap in the fixes longer than this is not online time


@dataclass(frozen=True)
class CheckpointSpec:
    id: int
    code: str
    name: str
    lon: float
    lat: float
    min_dwell_s: float

    @classmethod
    def of(cls, checkpoint) -> "CheckpointSpec":
        """The figures analysis needs of a stored ``gridcity.Checkpoint``."""
        return cls(
            id=checkpoint.pk,
            code=checkpoint.code,
            name=checkpoint.name,
            lon=checkpoint.point.x,
            lat=checkpoint.point.y,
            min_dwell_s=checkpoint.min_dwell_minutes * 60,
        )


@dataclass(frozen=True)
class Stop:
    lon: float  # centroid of the fixes of the stop
    lat: float
    start: float  # epoch seconds of its first and last fix
    end: float
    dwell_s: float


@dataclass(frozen=True)
class Visit:
    checkpoint_id: int
    code: str
    enter: float  # first fix within checkpoint_radius_m
    leave: float  # last fix within it, before leaving (or before a gap)
    dwell_s: float  # leave - enter
    met: bool  # dwell_s >= the checkpoint's min_dwell_s


@dataclass(frozen=True)
class CheckpointSummary:
    checkpoint_id: int
    code: str
    name: str
    visits: int
    dwell_s: float  # total over the visits
    met: bool  # at least one single visit lasted min_dwell_s


@dataclass(frozen=True)
class Offline:
    """A stretch of the shift without fixes: a gap longer than gap_seconds, or a break."""

    start: float  # the last fix before it
    end: float  # the first fix after it
    seconds: float
    cause: str  # "gap" or "break"


@dataclass(frozen=True)
class Anomaly:
    kind: str  # one of ANOMALY_KINDS
    start: float
    end: float
    detail: dict  # plain numbers, see _anomalies()


@dataclass(frozen=True)
class ShiftReport:
    """The figures of one shift (``analyse_track``):

    - distance_m: sum of the geodesic lengths of all segments but breaks, gaps and jumps
      included (bad fixes are rejected before they get here). online_s: last − first fix minus
      the gaps and breaks; moving_s: online segments whose implied speed is ≥ moving_speed_ms;
      stopped_s: the rest. offline_s: the gaps and breaks, each listed in ``offline``.
    - stops: a stop starts at the first fix (the anchor) from which every fix stays within
      stop_radius_m of it for at least stop_min_seconds, and runs until the last fix before one
      leaves that radius (maximal run; greedy: the next stop is sought after it ends).
    - visits: maximal runs of fixes within checkpoint_radius_m of a checkpoint, two runs at
      most visit_merge_seconds apart taken as one; the dwell is the time from the first fix
      inside to the last fix inside, to the second.
    - laps: the visits are taken in order of entry; a lap completes at the entry of the visit
      that makes the set of checkpoints visited since the last completed lap (or the start)
      cover every checkpoint; the set then starts empty again. Dwell does not matter for laps;
      it is reported per visit. 0 without checkpoints.
    - coverage: share of the coverage_cell_m cells (square, aligned on the grids' bounding box,
      centre inside the grids) whose centre lies within coverage_reach_m of the track polyline
      (gap segments left out). outside_s: time outside the grids, per non-gap segment its
      duration times the share of its two ends outside (off by at most half a segment at each
      crossing). Both None without grids.
    - anomalies: see _anomalies().
    """

    points: int
    started: float | None
    ended: float | None
    distance_m: float
    online_s: float
    moving_s: float
    stopped_s: float
    offline_s: float = 0.0  # from the first fix to the last, the time not online
    offline: list[Offline] = field(default_factory=list)
    stops: list[Stop] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    checkpoints: list[CheckpointSummary] = field(default_factory=list)
    checkpoints_visited: int = 0
    checkpoints_met: int = 0
    checkpoints_required: int = 0
    laps: int = 0
    lap_ends: list[float] = field(default_factory=list)
    coverage: float | None = None
    coverage_cells: int | None = None
    outside_s: float | None = None
    anomalies: list[Anomaly] = field(default_factory=list)
    anomaly_counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The report as plain JSON-serialisable types; times stay epoch seconds."""
        return asdict(self)


def analyse_track(
    t: ArrayLike,
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    speed: ArrayLike | None = None,
    mock: ArrayLike | None = None,
    segment_start: ArrayLike | None = None,
    checkpoints: Iterable[CheckpointSpec] = (),
    grids: BaseGeometry | None = None,
    params: AnalysisParams = AnalysisParams(),
) -> ShiftReport:
    """Analyse one shift's fixes (``t`` epoch seconds, ``lon``/``lat`` WGS-84 degrees, ``speed``
    m/s reported by the device with nan where unknown, ``mock`` flags, ``segment_start`` flags
    of fixes that begin a new recorded segment) against the grid's ``checkpoints``
    (CheckpointSpec) and ``grids`` (the union of the assigned grids, WGS-84). What each
    figure means is ShiftReport's docstring.
    """
    t, lon, lat, speed, mock, starts = _clean(t, lon, lat, speed, mock, segment_start)
    n = t.size
    grids = grids if grids is not None and not grids.is_empty else None
    checkpoints = list(checkpoints)
    if n == 0:
        return _empty_report(checkpoints, grids, params)

    frame = _Frame.of(grids, lon, lat)
    x, y = frame.xy(lon, lat)
    dt, seg_m, implied, brk, gap = _segments(t, lon, lat, starts, params)
    online_s = float(dt[~gap].sum())
    moving_s = float(dt[~gap & (implied >= params.moving_speed_ms)].sum())
    visits, summaries = _visits(t, x, y, gap, frame, checkpoints, params)
    lap_ends = _lap_ends(visits, checkpoints)
    coverage, coverage_cells, outside_s = _grid_figures(grids, frame, x, y, dt, gap, params)
    anomalies = _anomalies(t, lon, lat, speed, mock, dt, seg_m, implied, brk, params)
    return ShiftReport(
        points=n,
        started=float(t[0]),
        ended=float(t[-1]),
        distance_m=float(seg_m[~brk].sum()),
        online_s=online_s,
        moving_s=moving_s,
        stopped_s=online_s - moving_s,
        offline_s=float(dt[gap].sum()),
        offline=_offline(t, dt, gap, brk),
        stops=_stops(t, x, y, lon, lat, gap, params),
        visits=visits,
        checkpoints=summaries,
        checkpoints_visited=sum(s.visits > 0 for s in summaries),
        checkpoints_met=sum(s.met for s in summaries),
        checkpoints_required=len(checkpoints),
        laps=len(lap_ends),
        lap_ends=lap_ends,
        coverage=coverage,
        coverage_cells=coverage_cells,
        outside_s=outside_s,
        anomalies=anomalies,
        anomaly_counts=_count_kinds(anomalies),
    )


def _segments(t, lon, lat, starts, params: AnalysisParams) -> tuple:
    """Per segment (between fix i and i + 1): its duration, geodesic length, implied speed,
    whether it is a break (the recording says so) and whether it is a gap (or a break)."""
    dt = np.diff(t)
    _az, _back, seg_m = WGS84_GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    with np.errstate(divide="ignore", invalid="ignore"):
        implied = np.where(dt > 0, seg_m / dt, np.where(seg_m > 0, np.inf, 0.0))
    brk = starts[1:]  # the segment before fix i + 1 is a break
    gap = (dt > params.gap_seconds) | brk
    return dt, seg_m, implied, brk, gap


def _grid_figures(grids, frame, x, y, dt, gap, params) -> tuple:
    """(coverage, coverage_cells, outside_s) of the track against the grids; all None without
    grids."""
    if grids is None:
        return None, None, None
    grid_m = frame.geometry(grids)
    shapely.prepare(grid_m)
    coverage, coverage_cells = _coverage(grid_m, x, y, gap, params)
    outside = ~shapely.intersects_xy(grid_m, x, y)
    share_out = (outside[:-1].astype(float) + outside[1:]) / 2
    return coverage, coverage_cells, float((dt * share_out)[~gap].sum())


def _offline(t, dt, gap, brk) -> list[Offline]:
    return [
        Offline(float(t[i]), float(t[i + 1]), float(dt[i]), "break" if brk[i] else "gap")
        for i in np.flatnonzero(gap).tolist()
    ]


def _flags(values, n: int) -> np.ndarray:
    return np.zeros(n, dtype=bool) if values is None else np.asarray(values, dtype=bool).ravel()


def _clean(t, lon, lat, speed, mock, starts):
    t = np.asarray(t, dtype=float).ravel()
    lon = np.asarray(lon, dtype=float).ravel()
    lat = np.asarray(lat, dtype=float).ravel()
    n = t.size
    speed = np.full(n, np.nan) if speed is None else np.asarray(speed, dtype=float).ravel()
    mock, starts = _flags(mock, n), _flags(starts, n)
    if not (lon.size == lat.size == speed.size == mock.size == starts.size == n):
        raise ValueError("t, lon, lat, speed, mock and segment_start must have the same length")
    keep = np.isfinite(t) & np.isfinite(lon) & np.isfinite(lat)
    if not keep.all():
        # A fix dropped here passes its break on to the next fix kept.
        lost = np.flatnonzero(~keep & starts)
        follows = np.searchsorted(np.flatnonzero(keep), lost)
        starts = starts[keep]
        starts[follows[follows < starts.size]] = True
    else:
        starts = starts[keep]
    t, lon, lat, speed, mock = t[keep], lon[keep], lat[keep], speed[keep], mock[keep]
    if np.all(np.diff(t) > 0):  # the usual case, and no ties to break
        return t, lon, lat, speed, mock, starts
    # lexsort: the last key is the primary one.
    order = np.lexsort((starts, mock, speed, lat, lon, t))
    return t[order], lon[order], lat[order], speed[order], mock[order], starts[order]


@lru_cache(maxsize=1024)
def _tmerc(lon0: float, lat0: float) -> Transformer:
    # LocalMetric's projection as a PROJ pipeline: Transformer.from_crs looks EPSG:4326 up in
    # proj.db (20–35 ms a frame), a pipeline takes under 0.1 ms with the same results, and a
    # day's analyses meet a new frame at nearly every grid.
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=tmerc +lat_0={lat0} +lon_0={lon0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84"
    )


class _Frame:
    """Metres in the local transverse Mercator frame of gridcity.geometry.LocalMetric."""

    def __init__(self, lon0: float, lat0: float):
        # Rounded as LocalMetric rounds, so both put a point at the same metres.
        self._forward = _tmerc(round(lon0, 2), round(lat0, 2))

    @classmethod
    def around(cls, geom: BaseGeometry) -> "_Frame":
        minx, miny, maxx, maxy = geom.bounds
        return cls((minx + maxx) / 2, (miny + maxy) / 2)

    @classmethod
    def of(cls, grids: BaseGeometry | None, lon: np.ndarray, lat: np.ndarray) -> "_Frame":
        """Around the grids; without grids, at the median fix (not the bounding box: one wild
        fix must not move the frame off the patrol)."""
        if grids is not None:
            return cls.around(grids)
        return cls(float(np.median(lon)), float(np.median(lat)))

    def xy(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._forward.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(x), np.asarray(y)

    def geometry(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geom, lambda c: np.column_stack(self.xy(c[:, 0], c[:, 1])))


def _runs(mask: np.ndarray, breaks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """First and last index of each maximal run of True in ``mask``; ``breaks[i]`` forbids
    fixes i and i + 1 to share a run."""
    link = mask[:-1] & mask[1:]
    if breaks is not None:
        link &= ~breaks
    starts = np.flatnonzero(mask & ~np.concatenate(([False], link)))
    ends = np.flatnonzero(mask & ~np.concatenate((link, [False])))
    return starts, ends


def _stops(t, x, y, lon, lat, gap, params: AnalysisParams) -> list[Stop]:
    n = t.size
    r2 = params.stop_radius_m**2
    piece = np.concatenate(([0], np.cumsum(gap)))
    # A fix is a possible anchor when every fix up to the first one stop_min_seconds later
    # (``until``) stays within the radius and no gap lies between.
    index = np.arange(n)
    until = np.maximum(np.searchsorted(t, t + params.stop_min_seconds, side="left"), index + 1)
    alive = np.flatnonzero(until < n)
    alive = alive[piece[until[alive]] == piece[alive]]
    seeds = []
    offset = 1
    # One pass per offset inside the window: walking fixes drop out within a few passes.
    while alive.size:
        j = alive + offset
        inside = (x[j] - x[alive]) ** 2 + (y[j] - y[alive]) ** 2 <= r2
        alive = alive[inside]
        done = j[inside] == until[alive]
        seeds.append(alive[done])
        alive = alive[~done]
        offset += 1
    seeds = np.sort(np.concatenate(seeds)) if seeds else np.empty(0, dtype=int)

    stops = []
    cursor = 0
    while (k := np.searchsorted(seeds, cursor)) < seeds.size:
        a = seeds[k]
        away = ((x[a:] - x[a]) ** 2 + (y[a:] - y[a]) ** 2 > r2) | (piece[a:] != piece[a])
        end = a + int(np.argmax(away)) - 1 if away.any() else n - 1
        stops.append(
            Stop(
                lon=float(lon[a : end + 1].mean()),
                lat=float(lat[a : end + 1].mean()),
                start=float(t[a]),
                end=float(t[end]),
                dwell_s=float(t[end] - t[a]),
            )
        )
        cursor = end + 1
    return stops


def _visits(t, x, y, gap, frame, checkpoints, params: AnalysisParams):
    visits, summaries = [], []
    if checkpoints:
        cx, cy = frame.xy([c.lon for c in checkpoints], [c.lat for c in checkpoints])
    r2 = params.checkpoint_radius_m**2
    for i, c in enumerate(checkpoints):
        near = (x - cx[i]) ** 2 + (y - cy[i]) ** 2 <= r2
        starts, ends = _runs(near, gap)
        if len(starts) > 1 and params.visit_merge_seconds > 0:
            apart = t[starts[1:]] - t[ends[:-1]] > params.visit_merge_seconds
            starts = np.concatenate((starts[:1], starts[1:][apart]))
            ends = np.concatenate((ends[:-1][apart], ends[-1:]))
        mine = [
            Visit(
                checkpoint_id=c.id,
                code=c.code,
                enter=float(t[s]),
                leave=float(t[e]),
                dwell_s=float(t[e] - t[s]),
                met=bool(t[e] - t[s] >= c.min_dwell_s),
            )
            for s, e in zip(starts, ends, strict=True)
        ]
        visits.extend(mine)
        summaries.append(
            CheckpointSummary(
                checkpoint_id=c.id,
                code=c.code,
                name=c.name,
                visits=len(mine),
                dwell_s=float(sum(v.dwell_s for v in mine)),
                met=any(v.met for v in mine),
            )
        )
    order = {c.id: i for i, c in enumerate(checkpoints)}
    visits.sort(key=lambda v: (v.enter, order[v.checkpoint_id]))
    return visits, summaries


def _lap_ends(visits: list[Visit], checkpoints) -> list[float]:
    required = {c.id for c in checkpoints}
    ends, seen = [], set()
    if not required:
        return ends
    for v in visits:
        seen.add(v.checkpoint_id)
        if seen >= required:
            ends.append(v.enter)
            seen = set()
    return ends


def _cells(grid_m: BaseGeometry, cell: float) -> np.ndarray:
    """Centres (k × 2) of the cells of the grids' bounding box whose centre is inside."""
    minx, miny, maxx, maxy = grid_m.bounds
    gx, gy = np.meshgrid(
        np.arange(minx + cell / 2, maxx, cell), np.arange(miny + cell / 2, maxy, cell)
    )
    gx, gy = gx.ravel(), gy.ravel()
    inside = shapely.contains_xy(grid_m, gx, gy)
    if not inside.any():  # a sliver narrower than a cell still counts as one cell
        p = grid_m.representative_point()
        return np.array([[p.x, p.y]])
    return np.column_stack([gx[inside], gy[inside]])


def _coverage(grid_m, x, y, gap, params: AnalysisParams) -> tuple[float, int]:
    centres = shapely.points(_cells(grid_m, params.coverage_cell_m))
    if x.size == 0:
        return 0.0, len(centres)
    # The track as one line string per run of fixes between gaps; a run of one fix is a point.
    piece = np.concatenate(([0], np.cumsum(gap)))
    in_line = np.bincount(piece)[piece] >= 2
    near = np.zeros(len(centres), dtype=bool)
    if in_line.any():
        line_of = np.unique(piece[in_line], return_inverse=True)[1]
        lines = shapely.linestrings(np.column_stack([x[in_line], y[in_line]]), indices=line_of)
        track = shapely.multilinestrings(lines)
        # Prepared, the distance search is indexed: about 6 times faster than an STRtree of
        # the segments at a shift's 8,640 fixes.
        shapely.prepare(track)
        near |= shapely.dwithin(track, centres, params.coverage_reach_m)
    if not in_line.all():
        alone = shapely.multipoints(np.column_stack([x[~in_line], y[~in_line]]))
        shapely.prepare(alone)
        near |= shapely.dwithin(alone, centres, params.coverage_reach_m)
    return int(near.sum()) / len(centres), len(centres)


def _anomalies(t, lon, lat, speed, mock, dt, seg_m, implied, brk, params: AnalysisParams):
    """Anomalies in time order; ``detail`` holds plain numbers (no segment that is a break
    counts for speed or jump, and a frozen run ends at a break):

    - speed: runs of segments whose implied speed exceeds max_speed_kmh and that are not jumps;
      {max_kmh (None when two different fixes share a time), distance_m, segments}.
    - jump: runs of segments at least jump_m long, covered in under jump_seconds or above
      max_speed_kmh (an outlier and the way back are one jump); {distance_m (the longest
      segment), segments}.
    - frozen: runs of fixes with identical coordinates, each reporting a speed above
      frozen_speed_ms, lasting at least frozen_seconds; {lon, lat, seconds, fixes}.
    - mock: runs of fixes flagged as mock locations; {fixes}.
    """
    found = []
    too_fast = (implied > params.max_speed_kmh / 3.6) & ~brk
    jump = (seg_m >= params.jump_m) & ((dt < params.jump_seconds) | too_fast) & ~brk
    for s, e in zip(*_runs(too_fast & ~jump), strict=True):
        top = float(implied[s : e + 1].max()) * 3.6
        detail = {
            "max_kmh": top if np.isfinite(top) else None,
            "distance_m": float(seg_m[s : e + 1].sum()),
            "segments": int(e - s + 1),
        }
        found.append(Anomaly("speed", float(t[s]), float(t[e + 1]), detail))
    for s, e in zip(*_runs(jump), strict=True):
        detail = {"distance_m": float(seg_m[s : e + 1].max()), "segments": int(e - s + 1)}
        found.append(Anomaly("jump", float(t[s]), float(t[e + 1]), detail))

    moved = (np.diff(lon) != 0) | (np.diff(lat) != 0) | brk
    for s, e in zip(*_runs(speed > params.frozen_speed_ms, moved), strict=True):
        if t[e] - t[s] >= params.frozen_seconds:
            detail = {
                "lon": float(lon[s]),
                "lat": float(lat[s]),
                "seconds": float(t[e] - t[s]),
                "fixes": int(e - s + 1),
            }
            found.append(Anomaly("frozen", float(t[s]), float(t[e]), detail))
    for s, e in zip(*_runs(mock), strict=True):
        found.append(Anomaly("mock", float(t[s]), float(t[e]), {"fixes": int(e - s + 1)}))
    found.sort(key=lambda a: (a.start, ANOMALY_KINDS.index(a.kind)))
    return found


def _count_kinds(anomalies: list[Anomaly]) -> dict[str, int]:
    counts = dict.fromkeys(ANOMALY_KINDS, 0)
    for a in anomalies:
        counts[a.kind] += 1
    return counts


def _empty_report(checkpoints, grids, params: AnalysisParams) -> ShiftReport:
    coverage = coverage_cells = outside_s = None
    if grids is not None:
        coverage_cells = len(_cells(_Frame.around(grids).geometry(grids), params.coverage_cell_m))
        coverage, outside_s = 0.0, 0.0
    return ShiftReport(
        points=0,
        started=None,
        ended=None,
        distance_m=0.0,
        online_s=0.0,
        moving_s=0.0,
        stopped_s=0.0,
        checkpoints=[
            CheckpointSummary(c.id, c.code, c.name, visits=0, dwell_s=0.0, met=False)
            for c in checkpoints
        ],
        checkpoints_required=len(checkpoints),
        coverage=coverage,
        coverage_cells=coverage_cells,
        outside_s=outside_s,
        anomaly_counts=_count_kinds([]),
    )
