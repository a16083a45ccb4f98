"""patrol.analysis: one 12 h shift analysed, and a whole day of shifts on two processes.

Targets: a 12 h shift at one fix every 5 s (8,640 fixes) in under 50 ms, beside a bare numpy
haversine distance over the same arrays; a day of 4,833 shifts (one per work grid) in under
5 minutes on two processes, beside the same shifts analysed in one process. The day is measured
on a sample and extrapolated. No database: the grids, checkpoints and walks are synthetic,
spread over Bao'an so that every shift meets its own metric frame, as a real day does.
"""

import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import shapely

from bench.common import best_of_interleaved, line
from gridcity.geometry import LocalMetric
from patrol.analysis import CheckpointSpec, analyse_track

SHIFT_S = 12 * 3600
STEP_S = 5.0
GRIDS_PER_DAY = 4_833
DAY_SAMPLE = 400
WORKERS = 2
BASE = (113.85, 22.65)  # the walks are built here, then moved around the district
BAOAN = (113.76, 22.55, 113.95, 22.80)  # lon/lat box the shifts are spread over

# A demo-sized work grid (≈ 0.6 km²), in metres, and its checkpoints.
GRID_M = shapely.Polygon([(0, 0), (900, 60), (950, 500), (600, 720), (100, 680), (-50, 300)])
CHECKPOINTS_M = [(150, 120), (800, 150), (780, 520), (200, 560)]


def gps_noise(rng: np.random.Generator, n: int, sigma_m: float = 4.0) -> np.ndarray:
    """Noise of σ metres that drifts over about a minute, as a handheld's does, rather than
    jumping independently at every fix."""
    k = 12
    white = rng.normal(0, sigma_m * np.sqrt(k), n + k - 1)
    return np.convolve(white, np.ones(k) / k, mode="valid")


def walk(seed: int) -> dict:
    """A 12 h patrol on foot: laps of the checkpoints along street-like legs (x, then y) with
    random waypoints between, 3–10 min at each checkpoint, some short stops, a 45 min lunch,
    1.1–1.5 m/s, 4 m of GPS noise; fixes every 5 s."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = GRID_M.bounds
    vt, vx, vy = [0.0], [100.0], [300.0]
    lunch_at = rng.uniform(5, 6) * 3600

    def go(x, y):
        length = abs(x - vx[-1]) + abs(y - vy[-1])
        pace = rng.uniform(1.1, 1.5)
        corner = (x, vy[-1])
        leg1 = abs(x - vx[-1])
        vt.append(vt[-1] + leg1 / pace)
        vx.append(corner[0])
        vy.append(corner[1])
        vt.append(vt[-1] + (length - leg1) / pace)
        vx.append(x)
        vy.append(y)

    def stay(seconds):
        vt.append(vt[-1] + seconds)
        vx.append(vx[-1])
        vy.append(vy[-1])

    while vt[-1] < SHIFT_S:
        for cx, cy in CHECKPOINTS_M:
            for _ in range(rng.integers(1, 4)):
                while True:
                    x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
                    if shapely.intersects_xy(GRID_M, x, y):
                        break
                go(x, y)
                if rng.random() < 0.3:
                    stay(rng.uniform(120, 480))
            go(cx, cy)
            stay(rng.uniform(180, 600))
            if lunch_at and vt[-1] > lunch_at:
                stay(45 * 60)
                lunch_at = 0
    t = np.arange(0.0, SHIFT_S, STEP_S)
    true_x, true_y = np.interp(t, vt, vx), np.interp(t, vt, vy)
    x, y = true_x + gps_noise(rng, t.size), true_y + gps_noise(rng, t.size)
    speed = np.hypot(np.gradient(true_x), np.gradient(true_y)) / STEP_S

    frame = LocalMetric(*BASE)
    lonlat = shapely.get_coordinates(frame.to_lonlat(shapely.linestrings(np.column_stack([x, y]))))
    cps = shapely.get_coordinates(frame.to_lonlat(shapely.multipoints(CHECKPOINTS_M)))
    return {
        "t": 1_767_225_600.0 + t,  # 08:00 in Shenzhen
        "lon": lonlat[:, 0],
        "lat": lonlat[:, 1],
        "speed": speed + rng.normal(0, 0.1, t.size).clip(0),
        "mock": np.zeros(t.size, dtype=bool),
        "checkpoints": [
            CheckpointSpec(i, f"CP{i:03d}", f"checkpoint {i}", lon, lat, 300.0)
            for i, (lon, lat) in enumerate(cps, start=1)
        ],
        "grids": frame.to_lonlat(GRID_M),
    }


def moved(shift: dict, dlon: float, dlat: float) -> dict:
    """The same shift in another part of the district (shifted in degrees: a bench, not a map)."""
    return {
        **shift,
        "lon": shift["lon"] + dlon,
        "lat": shift["lat"] + dlat,
        "checkpoints": [
            CheckpointSpec(c.id, c.code, c.name, c.lon + dlon, c.lat + dlat, c.min_dwell_s)
            for c in shift["checkpoints"]
        ],
        "grids": shapely.transform(shift["grids"], lambda c: c + np.array([dlon, dlat])),
    }


def analyse(shift: dict) -> dict:
    return analyse_track(
        shift["t"],
        shift["lon"],
        shift["lat"],
        speed=shift["speed"],
        mock=shift["mock"],
        checkpoints=shift["checkpoints"],
        grids=shift["grids"],
    ).to_dict()


def haversine_m(lon: np.ndarray, lat: np.ndarray) -> float:
    lon, lat = np.radians(lon), np.radians(lat)
    h = (
        np.sin(np.diff(lat) / 2) ** 2
        + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2
    )
    return float(np.sum(2 * 6_371_008.8 * np.arcsin(np.sqrt(h))))


def day_sample(n: int, seed: int = 11) -> list[dict]:
    rng = np.random.default_rng(seed)
    walks = [walk(s) for s in range(8)]
    minlon, minlat, maxlon, maxlat = BAOAN
    return [
        moved(
            walks[i % len(walks)],
            rng.uniform(minlon, maxlon) - BASE[0],
            rng.uniform(minlat, maxlat) - BASE[1],
        )
        for i in range(n)
    ]


def run():
    shift = walk(1)
    report = analyse(shift)
    ours_s, base_s = best_of_interleaved(
        [lambda: analyse(shift), lambda: haversine_m(shift["lon"], shift["lat"])], repeat=7
    )
    sane = (
        report["checkpoints_visited"] == len(shift["checkpoints"])
        and report["laps"] >= 3
        and not report["anomalies"]
    )
    area_km2 = GRID_M.area / 1e6
    yield line(
        f"analyse_track 12 h shift ({shift['t'].size:,} fixes at 5 s, "
        f"{len(shift['checkpoints'])} checkpoints, {area_km2:.2f} km² grid)",
        f"{ours_s * 1000:.1f} ms ({report['laps']} laps, {len(report['stops'])} stops, "
        f"coverage {report['coverage']:.0%})",
        f"bare numpy haversine distance {base_s * 1000:.2f} ms",
        ours_s / base_s,
        "OK" if ours_s < 0.050 and sane else "BELOW TARGET (< 50 ms, all checkpoints, ≥ 3 laps)",
    )

    sample = day_sample(DAY_SAMPLE)
    with ProcessPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(analyse, sample[:WORKERS]))  # start the workers outside the timing
        started = time.perf_counter()
        pooled = list(pool.map(analyse, sample, chunksize=8))
        pool_s = time.perf_counter() - started
    started = time.perf_counter()
    for s in sample:
        analyse(s)
    serial_s = time.perf_counter() - started
    scale = GRIDS_PER_DAY / DAY_SAMPLE
    day_s, day_serial_s = pool_s * scale, serial_s * scale
    sane = all(r["checkpoints_visited"] == len(CHECKPOINTS_M) for r in pooled)
    yield line(
        f"analyse_track a day of {GRIDS_PER_DAY:,} shifts on {WORKERS} processes "
        f"(measured on {DAY_SAMPLE}, extrapolated)",
        f"{day_s:.0f} s ({DAY_SAMPLE / pool_s:.0f} shifts/s)",
        f"the same in one process {day_serial_s:.0f} s",
        day_s / day_serial_s,
        "OK" if day_s < 300 and sane else "BELOW TARGET (< 5 min)",
    )
