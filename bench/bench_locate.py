"""locate: grid_at() single lookups against a bare shapely STRtree query on the same grids.

Target: grid_at ≥ 50,000 lookups/s and at least half the rate of the bare STRtree query.
"""

import numpy as np
import shapely

from bench.common import best_of_interleaved, line
from gridcity import geometry
from gridcity.locate import grid_at, grid_index
from gridcity.models import WorkGrid

N = 50_000


def random_points_in_grids(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    geoms = [geometry.to_shapely(g) for g in WorkGrid.objects.values_list("geom", flat=True)]
    xs, ys = [], []
    picks = rng.integers(0, len(geoms), size=n)
    for i in picks:
        g = geoms[i]
        minx, miny, maxx, maxy = g.bounds
        while True:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if shapely.intersects_xy(g, x, y):
                xs.append(x)
                ys.append(y)
                break
    return np.array(xs), np.array(ys)


def run():
    xs, ys = random_points_in_grids(N)
    pairs = list(zip(xs.tolist(), ys.tolist(), strict=True))
    grid_index.get()  # build it outside the timing: it is built once per process

    def with_grid_at():
        for x, y in pairs:
            grid_at(x, y)

    geoms = np.array(
        [geometry.to_shapely(g) for g in WorkGrid.objects.values_list("geom", flat=True)]
    )
    tree = shapely.STRtree(geoms)

    def bare_strtree():
        for x, y in pairs:
            tree.query(shapely.Point(x, y), predicate="intersects")

    misses = sum(grid_at(x, y) is None for x, y in pairs[:2000])
    ours_s, base_s = best_of_interleaved([with_grid_at, bare_strtree])
    ours, base = N / ours_s, N / base_s
    ok = ours >= 50_000 and ours >= 0.5 * base and misses == 0
    yield line(
        f"locate grid_at ({len(geoms)} grids, {N:,} points)",
        f"{ours:,.0f} lookups/s",
        f"bare STRtree query {base:,.0f}/s",
        ours / base,
        "OK" if ok else "BELOW TARGET (≥ 50,000/s and ≥ 0.5 × baseline)",
    )
