"""patrol.analysis: a synthetic patrol with known answers, real GPX tracks, anomalies, edge cases.

No database: plain functions on numpy arrays and shapely geometries.
"""

import json
import math
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import shapely

from gridcity.geometry import LocalMetric
from patrol.analysis import AnalysisParams, CheckpointSpec, analyse_track

GPX_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gpx"
EARTH_RADIUS_M = 6_371_008.8

FRAME = LocalMetric(113.88, 22.56)  # near Bao'an centre
T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC, 08:00 in Shenzhen
STEP_S = 5.0
WALK_MS = 1.3
STEP_M = STEP_S * WALK_MS  # 6.5 m between fixes while walking

# The synthetic patrol walks the sides of a 195 m square (30 steps a side, so that fixes fall
# exactly on the corners) in a 325 m square grid, in metres of FRAME.
A, B, C, D = (0.0, 0.0), (195.0, 0.0), (195.0, 195.0), (0.0, 195.0)
F = (0.0, 390.0)  # 130 m beyond the grid's north edge (y = 260)
GRID_M = shapely.box(-65.0, -65.0, 260.0, 260.0)
STAY_S = {"A": 300.0, "B": 420.0, "C": 60.0}
MIN_DWELL_S = {"A": 300.0, "B": 420.0, "C": 120.0}
OUTSIDE_STAY_S = 600.0
# Walking at 6.5 m a fix, the fixes at 26, 19.5, 13 and 6.5 m before and after a checkpoint are
# within its 30 m radius: a visit lasts the stay plus 4 fixes (20 s) on each side.
RADIUS_FIXES_S = 20.0


def to_lonlat(x, y):
    """FRAME metres → WGS-84 degrees, vectorised."""
    line = shapely.linestrings(np.column_stack([np.r_[x, x[-1]], np.r_[y, y[-1]]]))
    lonlat = shapely.get_coordinates(FRAME.to_lonlat(line))[:-1]
    return lonlat[:, 0], lonlat[:, 1]


def lonlat_of(xy):
    lon, lat = to_lonlat(np.array([xy[0]]), np.array([xy[1]]))
    return float(lon[0]), float(lat[0])


def metres_between(lon1, lat1, xy):
    line = shapely.linestrings([[lon1, lat1], [lon1, lat1]])
    x, y = shapely.get_coordinates(FRAME.to_metric(line))[0]
    return math.hypot(x - xy[0], y - xy[1])


class Walker:
    """Builds a track of one fix every STEP_S seconds, in FRAME metres."""

    def __init__(self, start, t0=T0):
        self.x, self.y, self.t = [start[0]], [start[1]], [t0]

    @property
    def now(self):
        return self.t[-1]

    def walk_to(self, to, speed_ms=WALK_MS):
        """Walk in a straight line at speed_ms; returns the time of the fix at ``to``."""
        x0, y0 = self.x[-1], self.y[-1]
        length = math.hypot(to[0] - x0, to[1] - y0)
        steps = max(1, math.ceil(length / (speed_ms * STEP_S) - 1e-9))
        for k in range(1, steps + 1):
            share = min(1.0, k * speed_ms * STEP_S / length)
            self.x.append(x0 + share * (to[0] - x0))
            self.y.append(y0 + share * (to[1] - y0))
            self.t.append(self.now + STEP_S)
        return self.now

    def stay(self, seconds):
        for _ in range(round(seconds / STEP_S)):
            self.x.append(self.x[-1])
            self.y.append(self.y[-1])
            self.t.append(self.now + STEP_S)

    def arrays(self):
        lon, lat = to_lonlat(np.array(self.x), np.array(self.y))
        return np.array(self.t), lon, lat


def checkpoint_specs():
    specs = []
    for i, (code, xy) in enumerate([("A", A), ("B", B), ("C", C)], start=1):
        lon, lat = lonlat_of(xy)
        specs.append(CheckpointSpec(i, code, f"checkpoint {code}", lon, lat, MIN_DWELL_S[code]))
    return specs


def grid_lonlat():
    return FRAME.to_lonlat(GRID_M)


def build_patrol():
    """Two laps D → A → B → C → D; after the first, out of the grid to F and back.

    Returns the walker and the arrival time at each place, in order: (name, arrival, stay).
    """
    w = Walker(D)
    arrivals = []
    for lap in (1, 2):
        for name, xy in (("A", A), ("B", B), ("C", C)):
            arrivals.append((name, w.walk_to(xy), STAY_S[name]))
            w.stay(STAY_S[name])
        w.walk_to(D)
        if lap == 1:
            arrivals.append(("F", w.walk_to(F), OUTSIDE_STAY_S))
            w.stay(OUTSIDE_STAY_S)
            w.walk_to(D)
    return w, arrivals


def reported_speed(w):
    """What a handheld reports: the walking speed while walking, 0 while standing."""
    x, y = np.array(w.x), np.array(w.y)
    moved = np.r_[False, (np.diff(x) != 0) | (np.diff(y) != 0)]
    return np.where(moved, WALK_MS, 0.0)


@pytest.fixture(scope="module")
def patrol():
    w, arrivals = build_patrol()
    t, lon, lat = w.arrays()
    report = analyse_track(
        t,
        lon,
        lat,
        speed=reported_speed(w),
        mock=np.zeros(t.size, dtype=bool),
        checkpoints=checkpoint_specs(),
        grids=grid_lonlat(),
    )
    return w, arrivals, report


def test_patrol_visits_each_checkpoint_twice_with_dwell_to_the_second(patrol):
    _w, arrivals, report = patrol
    expected = [
        {
            "code": name,
            "enter": arrival - RADIUS_FIXES_S,
            "leave": arrival + stay + RADIUS_FIXES_S,
            "dwell_s": stay + 2 * RADIUS_FIXES_S,
        }
        for name, arrival, stay in arrivals
        if name != "F"
    ]
    got = [
        {"code": v.code, "enter": v.enter, "leave": v.leave, "dwell_s": v.dwell_s}
        for v in report.visits
    ]
    assert got == expected
    assert [v.dwell_s for v in report.visits] == [340.0, 460.0, 100.0] * 2


def test_patrol_meets_the_minimum_dwell_at_a_and_b_but_not_at_c(patrol):
    _w, _arrivals, report = patrol
    assert [(v.code, v.met) for v in report.visits] == [("A", True), ("B", True), ("C", False)] * 2
    summaries = {s.code: s for s in report.checkpoints}
    assert {c: (s.visits, s.dwell_s, s.met) for c, s in summaries.items()} == {
        "A": (2, 680.0, True),
        "B": (2, 920.0, True),
        "C": (2, 200.0, False),
    }
    assert summaries["A"].name == "checkpoint A"
    assert report.checkpoints_required == 3
    assert report.checkpoints_visited == 3
    assert report.checkpoints_met == 2


def test_patrol_counts_two_laps_completed_on_entering_c(patrol):
    _w, arrivals, report = patrol
    c_arrivals = [arrival for name, arrival, _stay in arrivals if name == "C"]
    assert report.laps == 2
    assert report.lap_ends == [arrival - RADIUS_FIXES_S for arrival in c_arrivals]


def test_patrol_stops_at_a_b_and_outside_but_not_at_the_one_minute_stay(patrol):
    _w, arrivals, report = patrol
    # The anchor is the fix 26 m before arrival (20 s): the one at 32.5 m is out of radius of
    # the place. Leaving at a right angle, fixes 6.5 and 13 m on are within 30 m of the anchor
    # (26.8 m, 29.1 m), 19.5 m on is not (32.5 m); walking straight back from F, all fixes up
    # to 52 m on are within 30 m of the anchor 26 m before it (8 fixes, 40 s).
    after = {"A": 10.0, "B": 10.0, "F": 40.0}
    places = {"A": A, "B": B, "F": F}
    expected = [
        (name, arrival - 20.0, arrival + stay + after[name])
        for name, arrival, stay in arrivals
        if name != "C"
    ]
    assert [(s.start, s.end, s.dwell_s) for s in report.stops] == [
        (start, end, end - start) for _name, start, end in expected
    ]
    for stop, (name, _start, _end) in zip(report.stops, expected, strict=True):
        assert metres_between(stop.lon, stop.lat, places[name]) < 3.0


def test_patrol_times_distance_and_time_outside_the_grid(patrol):
    w, _arrivals, report = patrol
    assert report.points == len(w.t)
    assert report.started == T0
    assert report.ended == w.t[-1]
    assert report.online_s == w.t[-1] - T0  # no gaps
    assert report.stopped_s == pytest.approx(sum(STAY_S.values()) * 2 + OUTSIDE_STAY_S)
    assert report.moving_s == pytest.approx(report.online_s - report.stopped_s)
    # 8 sides of the square, and out to F and back.
    assert report.distance_m == pytest.approx(10 * 195.0, rel=1e-4)
    # 130 m out and back at 1.3 m/s, and the stay at F; the boundary falls between two fixes'
    # worth of segments, so within one fix interval.
    assert report.outside_s == pytest.approx(2 * 130.0 / WALK_MS + OUTSIDE_STAY_S, abs=STEP_S)


def point_segment_distance(px, py, a, b):
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    share = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return np.hypot(px - (ax + share * dx), py - (ay + share * dy))


def test_patrol_coverage_is_the_share_of_cells_near_the_route(patrol):
    _w, _arrivals, report = patrol
    # Cell centres of the 325 m grid at 25 m: 13 × 13, all inside.
    centres = np.arange(-65.0 + 12.5, 260.0, 25.0)
    px, py = (v.ravel() for v in np.meshgrid(centres, centres))
    route = [(D, A), (A, B), (B, C), (C, D), (D, F)]
    near = np.min([point_segment_distance(px, py, a, b) for a, b in route], axis=0) <= 25.0
    assert report.coverage_cells == 169
    # The square's band is 9 × 9 − 5 × 5 cells, the way out to F 4 more.
    assert near.sum() == 60
    assert report.coverage == pytest.approx(near.sum() / 169)
    assert 0.3 < report.coverage < 0.4


def test_patrol_on_foot_has_no_anomalies(patrol):
    _w, _arrivals, report = patrol
    assert report.anomalies == []
    assert report.anomaly_counts == {"speed": 0, "jump": 0, "frozen": 0, "mock": 0}


def test_report_is_plain_json(patrol):
    _w, _arrivals, report = patrol
    data = report.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["visits"][0]["code"] == "A"
    assert set(data["stops"][0]) == {"lon", "lat", "start", "end", "dwell_s"}


def test_shuffled_fixes_give_the_identical_report():
    w, _arrivals = build_patrol()
    t, lon, lat = w.arrays()
    speed = reported_speed(w)
    mock = np.zeros(t.size, dtype=bool)
    mock[100:110] = True
    kwargs = {"checkpoints": checkpoint_specs(), "grids": grid_lonlat()}
    ordered = analyse_track(t, lon, lat, speed=speed, mock=mock, **kwargs)

    shuffle = np.random.default_rng(3).permutation(t.size)
    shuffled = analyse_track(
        t[shuffle], lon[shuffle], lat[shuffle], speed=speed[shuffle], mock=mock[shuffle], **kwargs
    )

    assert shuffled.to_dict() == ordered.to_dict()
    assert ordered.anomaly_counts["mock"] == 1


def test_laps_need_every_checkpoint_since_the_last_lap():
    # Order of visits A, C, A, B | C: the first lap completes on entering B, C alone is no lap.
    w = Walker((-100.0, -100.0))
    for xy in (A, C, A, B, C):
        w.walk_to(xy)
        w.stay(60)
    t, lon, lat = w.arrays()
    report = analyse_track(t, lon, lat, checkpoints=checkpoint_specs())
    assert [v.code for v in report.visits] == ["A", "C", "A", "B", "C"]
    assert report.laps == 1
    assert report.lap_ends == [report.visits[3].enter]


def test_a_gap_is_not_online_time_and_splits_a_visit():
    w = Walker((0.0, -97.5))
    w.walk_to(A)
    w.stay(120)
    gap_starts = w.now
    w.t.append(w.now + 1200.0)  # the device was off for 20 minutes, at the same place
    w.x.append(A[0])
    w.y.append(A[1])
    w.stay(120)
    w.walk_to((0.0, -97.5))
    t, lon, lat = w.arrays()
    report = analyse_track(t, lon, lat, checkpoints=checkpoint_specs())
    assert report.online_s == pytest.approx(t[-1] - t[0] - 1200.0)
    assert report.visits[0].leave == gap_starts
    assert len(report.visits) == 2
    assert [s.dwell_s for s in report.stops] == [140.0, 140.0]


def test_a_gap_while_walking_is_distance_but_neither_online_nor_moving_time():
    w = straight_walk(minutes=2)
    w.t.append(w.now + 600.0)  # off for 10 minutes, back on 300 m further (0.5 m/s)
    w.x.append(w.x[-1] + 300.0)
    w.y.append(0.0)
    w.walk_to((w.x[-1] + 156.0, 0.0))
    t, lon, lat = w.arrays()
    report = analyse_track(t, lon, lat)
    assert report.online_s == report.moving_s == t[-1] - t[0] - 600.0
    assert report.stopped_s == 0.0
    assert report.distance_m == pytest.approx(156.0 + 300.0 + 156.0, rel=1e-4)


def test_a_fix_drifting_out_of_the_radius_does_not_split_a_stay():
    w = Walker((0.0, -97.5))
    w.walk_to(A)
    w.stay(150)
    w.t.append(w.now + 5.0)  # one fix 45 m off: GPS noise at the checkpoint's edge
    w.x.append(A[0] + 45.0)
    w.y.append(A[1])
    w.t.append(w.now + 5.0)  # and back
    w.x.append(A[0])
    w.y.append(A[1])
    w.stay(150)
    w.walk_to((0.0, -97.5))
    t, lon, lat = w.arrays()
    report = analyse_track(t, lon, lat, checkpoints=checkpoint_specs()[:1])  # A: 300 s
    assert len(report.visits) == 1
    assert report.visits[0].met
    split = analyse_track(
        t,
        lon,
        lat,
        checkpoints=checkpoint_specs()[:1],
        params=AnalysisParams(visit_merge_seconds=0),
    )
    assert len(split.visits) == 2
    assert not any(v.met for v in split.visits)


@pytest.mark.parametrize(("stay_s", "met"), [(260.0, True), (255.0, False)])
def test_a_visit_meets_the_minimum_dwell_from_exactly_that_long(stay_s, met):
    w = Walker((0.0, -97.5))
    w.walk_to(A)
    w.stay(stay_s)
    w.walk_to((0.0, -97.5))
    t, lon, lat = w.arrays()
    report = analyse_track(t, lon, lat, checkpoints=checkpoint_specs()[:1])  # A: 300 s
    assert [(v.dwell_s, v.met) for v in report.visits] == [(stay_s + 40.0, met)]
    assert report.checkpoints[0].met is met


# --- Anomalies ---------------------------------------------------------------------------------


def straight_walk(minutes=10.0):
    w = Walker((0.0, 0.0))
    w.walk_to((WALK_MS * minutes * 60, 0.0))
    return w


def kinds(report):
    return {k: n for k, n in report.anomaly_counts.items() if n}


def test_clean_walk_has_no_anomalies():
    w = straight_walk()
    t, lon, lat = w.arrays()
    report = analyse_track(t, lon, lat, speed=np.full(t.size, WALK_MS), mock=np.zeros(t.size))
    assert report.anomalies == []
    assert report.moving_s == report.online_s == t[-1] - t[0]
    assert report.stops == []


def test_a_ride_at_72_kmh_is_an_impossible_speed():
    w = straight_walk()
    ride_starts = w.now
    w.walk_to((w.x[-1] + 1200.0, 0.0), speed_ms=20.0)  # 12 fixes, 100 m apart
    ride_ends = w.now
    w.walk_to((w.x[-1] + 100.0, 0.0))
    t, lon, lat = w.arrays()
    report = analyse_track(t, lon, lat)
    assert kinds(report) == {"speed": 1}
    (anomaly,) = report.anomalies
    assert (anomaly.kind, anomaly.start, anomaly.end) == ("speed", ride_starts, ride_ends)
    assert anomaly.detail["max_kmh"] == pytest.approx(72.0, rel=1e-3)
    assert anomaly.detail["segments"] == 12


def test_one_fix_two_km_away_is_one_jump():
    w = straight_walk()
    t, lon, lat = w.arrays()
    i = 40
    lat = lat.copy()
    lat[i] += 2000.0 / 111_000  # about 2 km north, then back on the next fix
    report = analyse_track(t, lon, lat)
    assert kinds(report) == {"jump": 1}
    (anomaly,) = report.anomalies
    assert (anomaly.start, anomaly.end) == (t[i - 1], t[i + 1])
    assert anomaly.detail["segments"] == 2
    assert anomaly.detail["distance_m"] == pytest.approx(2000.0, rel=0.02)


def test_identical_fixes_while_the_device_reports_walking_are_frozen():
    w = straight_walk(minutes=2)
    frozen_from = w.now
    w.stay(400)  # 400 s at one place while the speed says walking: frozen
    w.walk_to((w.x[-1] + 100.0, 0.0))
    short_from = w.now
    w.stay(200)  # 200 s only: below frozen_seconds
    w.walk_to((w.x[-1] + 100.0, 0.0))
    w.stay(400)  # standing still and saying so: not frozen
    t, lon, lat = w.arrays()
    speed = np.full(t.size, WALK_MS)
    speed[-80:] = 0.0
    report = analyse_track(t, lon, lat, speed=speed)
    assert kinds(report) == {"frozen": 1}
    (anomaly,) = report.anomalies
    assert (anomaly.start, anomaly.end) == (frozen_from, frozen_from + 400.0)
    assert anomaly.detail["fixes"] == 81
    assert short_from > anomaly.end


def test_unknown_device_speed_never_reads_as_frozen():
    w = straight_walk(minutes=1)
    w.stay(900)
    t, lon, lat = w.arrays()
    report = analyse_track(t, lon, lat, speed=np.full(t.size, np.nan))
    assert report.anomaly_counts["frozen"] == 0


def test_mock_flagged_fixes_are_one_mock_anomaly_per_run():
    w = straight_walk()
    t, lon, lat = w.arrays()
    mock = np.zeros(t.size, dtype=bool)
    mock[10:20] = True
    mock[50] = True
    report = analyse_track(t, lon, lat, mock=mock)
    assert kinds(report) == {"mock": 2}
    first, second = report.anomalies
    assert (first.start, first.end, first.detail) == (t[10], t[19], {"fixes": 10})
    assert (second.start, second.end, second.detail) == (t[50], t[50], {"fixes": 1})


# --- Edge cases --------------------------------------------------------------------------------


def test_empty_track_reports_nothing_done():
    report = analyse_track([], [], [])
    assert report.points == 0
    assert (report.started, report.ended) == (None, None)
    assert report.distance_m == report.online_s == report.moving_s == report.stopped_s == 0.0
    assert report.stops == report.visits == report.anomalies == []
    assert report.laps == 0
    assert report.coverage is None and report.outside_s is None
    json.dumps(report.to_dict(), allow_nan=False)


def test_empty_track_with_grid_and_checkpoints_covers_nothing():
    report = analyse_track([], [], [], checkpoints=checkpoint_specs(), grids=grid_lonlat())
    assert report.coverage == 0.0
    assert report.coverage_cells == 169
    assert report.outside_s == 0.0
    assert report.checkpoints_required == 3
    assert report.checkpoints_visited == 0
    assert [(s.code, s.visits, s.met) for s in report.checkpoints] == [
        ("A", 0, False),
        ("B", 0, False),
        ("C", 0, False),
    ]


def test_one_fix_at_a_checkpoint_is_a_visit_of_no_dwell():
    lon, lat = lonlat_of(A)
    only_a = checkpoint_specs()[:1]
    report = analyse_track([T0], [lon], [lat], checkpoints=only_a, grids=grid_lonlat())
    assert report.points == 1
    assert report.started == report.ended == T0
    assert report.distance_m == report.online_s == 0.0
    assert report.stops == []
    assert [(v.code, v.dwell_s, v.met) for v in report.visits] == [("A", 0.0, False)]
    assert report.laps == 1
    assert report.outside_s == 0.0
    assert 0 < report.coverage < 0.1


def test_all_fixes_in_one_place_are_one_stop():
    lon, lat = lonlat_of(B)
    t = T0 + STEP_S * np.arange(100)
    report = analyse_track(t, np.full(100, lon), np.full(100, lat))
    assert report.distance_m == 0.0
    assert report.moving_s == 0.0
    assert report.stopped_s == 495.0
    assert [(s.start, s.end, s.dwell_s) for s in report.stops] == [(T0, T0 + 495.0, 495.0)]
    assert report.coverage is None and report.outside_s is None
    assert report.laps == 0 and report.checkpoints_required == 0


def test_thresholds_come_from_the_params():
    w = straight_walk(minutes=1)
    w.stay(60)
    t, lon, lat = w.arrays()
    assert analyse_track(t, lon, lat).stops == []
    report = analyse_track(t, lon, lat, params=AnalysisParams(stop_min_seconds=60.0))
    assert len(report.stops) == 1


def test_mismatched_arrays_are_refused():
    with pytest.raises(ValueError, match="same length"):
        analyse_track([T0, T0 + 5], [113.88], [22.56, 22.56])


# --- Real tracks -------------------------------------------------------------------------------


def read_gpx(path):
    """Track points with a time, in file order: epoch seconds, lon, lat."""
    root = ET.parse(path).getroot()
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    rows = []
    for point in root.iter(f"{ns}trkpt"):
        when = point.find(f"{ns}time")
        if when is None or not when.text:
            continue  # a fix without a time is never ingested
        stamp = datetime.fromisoformat(when.text.strip().replace("Z", "+00:00")).timestamp()
        rows.append((stamp, float(point.get("lon")), float(point.get("lat"))))
    return np.array(rows).T


def haversine_sum_m(lon, lat):
    lon, lat = np.radians(lon), np.radians(lat)
    h = (
        np.sin(np.diff(lat) / 2) ** 2
        + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2
    )
    return float(np.sum(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h))))


GPX_FILES = sorted(GPX_DIR.glob("*.gpx")) if GPX_DIR.is_dir() else []


@pytest.mark.skipif(not GPX_FILES, reason=f"no GPX tracks in {GPX_DIR} (the shared data)")
@pytest.mark.parametrize("path", GPX_FILES, ids=lambda p: p.stem)
def test_distance_of_a_real_track_is_within_one_percent_of_haversine(path):
    t, lon, lat = read_gpx(path)
    assert t.size > 50
    order = np.argsort(t, kind="stable")
    expected = haversine_sum_m(lon[order], lat[order])

    report = analyse_track(t, lon, lat)

    assert report.points == t.size
    assert (report.started, report.ended) == (t.min(), t.max())
    assert report.distance_m == pytest.approx(expected, rel=0.01)
    assert expected > 500.0


# --- Breaks: the recording's own segment boundaries ---------------------------------------------


def two_recordings(apart_m=1000.0, apart_s=10.0):
    """Two straight walks of two minutes, the second starting ``apart_m`` east of where the
    first ended and ``apart_s`` later: a GPX file of two tracks; the flags mark the second."""
    first = straight_walk(minutes=2)
    second = Walker((first.x[-1] + apart_m, 0.0), t0=first.now + apart_s)
    second.walk_to((second.x[0] + WALK_MS * 120, 0.0))
    t1, lon1, lat1 = first.arrays()
    t2, lon2, lat2 = second.arrays()
    starts = np.zeros(t1.size + t2.size, bool)
    starts[t1.size] = True
    return np.r_[t1, t2], np.r_[lon1, lon2], np.r_[lat1, lat2], starts


def test_a_break_counts_no_distance_online_or_moving_time_however_short():
    t, lon, lat, starts = two_recordings()
    walked = 2 * WALK_MS * 120

    report = analyse_track(t, lon, lat, segment_start=starts)

    assert report.distance_m == pytest.approx(walked, rel=1e-4)
    assert report.online_s == report.moving_s == 240.0
    assert report.offline_s == 10.0
    assert [(o.cause, o.seconds) for o in report.offline] == [("break", 10.0)]
    assert report.anomalies == []


def test_the_same_fixes_without_the_break_are_joined_by_a_jump():
    t, lon, lat, _starts = two_recordings()

    report = analyse_track(t, lon, lat)

    assert report.distance_m == pytest.approx(2 * WALK_MS * 120 + 1000.0, rel=1e-4)
    assert kinds(report) == {"jump": 1}
    assert report.offline == []


def test_a_break_splits_stops_visits_and_coverage_lines():
    # Standing at A, the recording breaks and goes on at B, at the other corner.
    w = Walker(A)
    w.stay(150)
    t1, lon1, lat1 = w.arrays()
    v = Walker(B, t0=w.now + 5.0)
    v.stay(150)
    t2, lon2, lat2 = v.arrays()
    t, lon, lat = np.r_[t1, t2], np.r_[lon1, lon2], np.r_[lat1, lat2]
    starts = np.zeros(t.size, bool)
    starts[t1.size] = True
    around = {"checkpoints": checkpoint_specs(), "grids": grid_lonlat()}

    report = analyse_track(t, lon, lat, segment_start=starts, **around)
    joined = analyse_track(t, lon, lat, **around)

    assert [s.dwell_s for s in report.stops] == [150.0, 150.0]
    assert [(v.code, v.dwell_s) for v in report.visits] == [("A", 150.0), ("B", 150.0)]
    assert report.outside_s == 0.0 and report.online_s == 300.0
    # Joined, the 195 m line from A to B covers the cells along the grid's south side.
    assert report.coverage < joined.coverage


def test_breaks_travel_with_their_fixes_when_the_input_is_shuffled():
    t, lon, lat, starts = two_recordings()
    order = np.random.default_rng(3).permutation(t.size)

    shuffled = analyse_track(t[order], lon[order], lat[order], segment_start=starts[order])

    assert shuffled == analyse_track(t, lon, lat, segment_start=starts)


def test_a_dropped_fix_passes_its_break_on_to_the_next():
    t, lon, lat, starts = two_recordings()
    lat = lat.copy()
    lat[starts.argmax()] = np.nan  # the first fix of the second recording is unreadable

    report = analyse_track(t, lon, lat, segment_start=starts)

    assert report.distance_m == pytest.approx(2 * WALK_MS * 120 - STEP_M, rel=1e-4)
    assert [o.cause for o in report.offline] == ["break"]


def read_gpx_segments(path):
    """The timed segments of a GPX file with gpxpy: (t, lon, lat, segment_start), and gpxpy's
    own figures for them (length_2d, duration)."""
    gpxpy = pytest.importorskip("gpxpy")
    with open(path, encoding="utf-8") as f:
        gpx = gpxpy.parse(f)
    segments = [
        s
        for track in gpx.tracks
        for s in track.segments
        if s.points and all(p.time is not None for p in s.points)
    ]
    rows = [
        (p.time.timestamp(), p.longitude, p.latitude, k == 0 and n > 0)
        for n, s in enumerate(segments)
        for k, p in enumerate(s.points)
    ]
    t, lon, lat, starts = (np.array(c) for c in zip(*rows, strict=True))
    gaps = [
        b.time_difference(a)
        for s in segments
        for a, b in zip(s.points, s.points[1:], strict=False)
        if b.time_difference(a) > AnalysisParams().gap_seconds
    ]
    return (t, lon, lat, starts.astype(bool)), segments, sum(gaps)


# gpxpy's test files with several tracks (shared data, from github.com/tkrajina/gpxpy
# test_files/): cerknicko-jezero.gpx, a walk recorded as 7 timed tracks minutes apart, and
# korita-zbevnica.gpx, 2 timed tracks 5 minutes apart (besides one without times). Joined, the
# first measured 13,676 m against gpxpy's 4,580 m.
MULTI_TRACK = [p for p in GPX_FILES if p.stem in ("cerknicko-jezero", "korita-zbevnica")]


@pytest.mark.skipif(not MULTI_TRACK, reason=f"no multi-track GPX files in {GPX_DIR}")
@pytest.mark.parametrize("path", MULTI_TRACK, ids=lambda p: p.stem)
def test_a_real_multi_track_file_measures_what_gpxpy_measures(path):
    (t, lon, lat, starts), segments, gaps_within = read_gpx_segments(path)
    assert starts.sum() == len(segments) - 1 >= 1

    report = analyse_track(t, lon, lat, segment_start=starts)
    joined = analyse_track(t, lon, lat)

    assert report.distance_m == pytest.approx(sum(s.length_2d() for s in segments), rel=0.005)
    # Online: each track's own duration, less the gaps within it; never the time between.
    assert report.online_s == pytest.approx(sum(s.get_duration() for s in segments) - gaps_within)
    assert report.offline_s == pytest.approx(t.max() - t.min() - report.online_s)
    assert report.distance_m < joined.distance_m
