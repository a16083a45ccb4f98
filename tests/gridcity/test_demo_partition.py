"""The demo city generator: Bao'an cut into 10 streets, 126 communities and 4,833 work grids.

Pure geometry, no database (``-p no:django --noconftest`` runs it without Django at all). The
full city is built once for the module (a couple of seconds); determinism is checked on smaller
cities.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from gridcity.demo import names
from gridcity.demo.partition import (
    GRID_COUNT,
    STREETS,
    DemoCity,
    allocate,
    build_demo_city,
)
from gridcity.geometry import LocalMetric

OUTLINE_PATH = Path(__file__).resolve().parents[2] / "gridcity" / "data" / "baoan_district.geojson"
SMALL_GRID_COUNT = 300
TOLERANCE_M = 1.0


def load_outline() -> shapely.MultiPolygon:
    data = json.loads(OUTLINE_PATH.read_text(encoding="utf-8"))
    return shape(data["features"][0]["geometry"])


@pytest.fixture(scope="module")
def outline():
    return load_outline()


@pytest.fixture(scope="module")
def progress_calls():
    return []


@pytest.fixture(scope="module")
def city(outline, progress_calls) -> DemoCity:
    return build_demo_city(outline, seed=2026, progress=lambda *call: progress_calls.append(call))


@pytest.fixture(scope="module")
def frame(city) -> LocalMetric:
    return LocalMetric.around(city.district.geom)


@pytest.fixture(scope="module")
def metric(city, frame) -> dict[str, np.ndarray]:
    """Every level's geometries in metres, in the order of the city's lists."""

    def shapes(units):
        return frame.to_metric(np.array([u.geom for u in units], dtype=object))

    return {
        "district": shapes([city.district]),
        "streets": shapes(city.streets),
        "communities": shapes(city.communities),
        "grids": shapes(city.grids),
    }


@pytest.fixture(scope="module")
def small_city(outline) -> DemoCity:
    return build_demo_city(outline, seed=7, grid_count=SMALL_GRID_COUNT)


def _levels(city):
    return [
        ("streets", city.streets, [city.district], "district"),
        ("communities", city.communities, city.streets, "streets"),
        ("grids", city.grids, city.communities, "communities"),
    ]


def _fingerprint(city: DemoCity) -> list[tuple]:
    units = [city.district, *city.streets, *city.communities, *city.grids]
    return [(u.code, u.name, u.parent_code, shapely.to_wkb(u.geom)) for u in units] + [
        (c.code, c.name, c.grid_code, shapely.to_wkb(c.point), c.min_dwell_minutes)
        for c in city.checkpoints
    ]


# --- counts and codes -------------------------------------------------------------------------


def test_the_city_has_one_district_ten_streets_126_communities_and_4833_grids(city):
    assert city.district.code == "440306"
    assert city.district.name == "宝安区"
    assert len(city.streets) == 10
    assert len(city.communities) == 126
    assert len(city.grids) == GRID_COUNT == 4833


def test_streets_are_the_real_ones_in_order_with_their_number_of_communities(city):
    assert [s.name for s in city.streets] == [name for name, *_ in STREETS]
    assert [s.code for s in city.streets] == [f"440306{i:03d}" for i in range(1, 11)]
    for street, (_name, _lon, _lat, count) in zip(city.streets, STREETS, strict=True):
        assert sum(c.parent_code == street.code for c in city.communities) == count


def test_codes_are_digit_strings_that_extend_their_parents_code(city):
    lengths = {"streets": 9, "communities": 12, "grids": 15}
    assert re.fullmatch(r"\d{6}", city.district.code)
    for level, units, parents, _ in _levels(city):
        parent_codes = {p.code for p in parents}
        for unit in units:
            assert re.fullmatch(rf"\d{{{lengths[level]}}}", unit.code), unit.code
            assert unit.parent_code in parent_codes
            assert unit.code.startswith(unit.parent_code)
    grid_codes = {g.code for g in city.grids}
    for checkpoint in city.checkpoints:
        assert re.fullmatch(r"\d{18}", checkpoint.code)
        assert checkpoint.grid_code in grid_codes
        assert checkpoint.code.startswith(checkpoint.grid_code)


def test_codes_are_unique_and_numbered_from_001_within_each_parent(city):
    for units in (city.streets, city.communities, city.grids, city.checkpoints):
        codes = [u.code for u in units]
        assert len(set(codes)) == len(codes)
    for _level, units, parents, _ in _levels(city):
        for parent in parents:
            suffixes = sorted(int(u.code[-3:]) for u in units if u.parent_code == parent.code)
            assert suffixes == list(range(1, len(suffixes) + 1))


# --- geometry ---------------------------------------------------------------------------------


def test_every_geometry_is_a_valid_non_empty_multipolygon_in_degrees(city):
    for unit in [city.district, *city.streets, *city.communities, *city.grids]:
        assert isinstance(unit.geom, shapely.MultiPolygon), unit.code
        assert unit.geom.is_valid, (unit.code, shapely.is_valid_reason(unit.geom))
        assert not unit.geom.is_empty
        assert all(not part.is_empty and part.area > 0 for part in unit.geom.geoms)
        minx, miny, maxx, maxy = unit.geom.bounds
        assert 113.7 < minx < maxx < 114.0 and 22.5 < miny < maxy < 22.9


@pytest.mark.parametrize("level", ["streets", "communities", "grids"])
def test_each_level_covers_the_district_without_gaps(metric, level):
    district = metric["district"][0]
    union = shapely.union_all(metric[level])
    assert district.symmetric_difference(union).area < 0.001 * district.area


@pytest.mark.parametrize("level", ["communities", "grids"])
def test_the_children_of_each_unit_cover_it(city, metric, level):
    units = city.communities if level == "communities" else city.grids
    parents = city.streets if level == "communities" else city.communities
    parent_shapes = metric["streets" if level == "communities" else "communities"]
    children = metric[level]
    by_parent = {}
    for i, unit in enumerate(units):
        by_parent.setdefault(unit.parent_code, []).append(i)
    for parent, whole in zip(parents, parent_shapes, strict=True):
        union = shapely.union_all(children[by_parent[parent.code]])
        assert whole.symmetric_difference(union).area < 0.001 * whole.area, parent.code


@pytest.mark.parametrize("level", ["streets", "communities", "grids"])
def test_no_two_siblings_overlap_deeper_than_a_metre(metric, level):
    shapes = metric[level]
    left, right = shapely.STRtree(shapes).query(shapes, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    assert len(left) > len(shapes)  # neighbours do touch: the tiling is connected
    shrunk = shapely.buffer(shapes, -TOLERANCE_M, quad_segs=2)
    overlap = shapely.area(shapely.intersection(shrunk[left], shapes[right]))
    overlap += shapely.area(shapely.intersection(shrunk[right], shapes[left]))
    assert overlap.max() == 0


@pytest.mark.parametrize("level", ["streets", "communities", "grids"])
def test_every_unit_lies_inside_its_parent_within_a_metre(city, metric, level):
    _, units, parents, parent_level = next(lv for lv in _levels(city) if lv[0] == level)
    index = {p.code: i for i, p in enumerate(parents)}
    grown = shapely.buffer(metric[parent_level], TOLERANCE_M, quad_segs=2)
    which = np.array([index[u.parent_code] for u in units])
    assert shapely.covers(grown[which], metric[level]).all()


def test_units_are_single_polygons_except_where_the_small_island_joins_one(city, metric):
    island = min(city.district.geom.geoms, key=lambda p: p.area)
    for level in ("streets", "communities", "grids"):
        units = getattr(city, level)
        multi = [u for u in units if len(u.geom.geoms) > 1]
        assert len(multi) == 1, level
        assert multi[0].geom.buffer(1e-7).covers(island)
    grid = next(g for g in city.grids if len(g.geom.geoms) > 1)
    assert grid.code.startswith(next(c.code for c in city.communities if len(c.geom.geoms) > 1))


def test_grids_are_of_comparable_size(metric):
    areas = shapely.area(metric["grids"])
    mean = metric["district"][0].area / len(areas)
    assert 0.8 * mean < np.median(areas) < 1.2 * mean
    assert areas.min() > 0.1 * mean
    assert areas.max() < 4 * mean


# --- checkpoints ------------------------------------------------------------------------------


def test_checkpoints_lie_inside_their_grids_away_from_the_edge(city, frame, metric):
    index = {g.code: i for i, g in enumerate(city.grids)}
    which = np.array([index[c.grid_code] for c in city.checkpoints])
    points = np.array([c.point for c in city.checkpoints], dtype=object)
    grids_lonlat = np.array([g.geom for g in city.grids], dtype=object)
    assert shapely.contains(grids_lonlat[which], points).all()
    clearance = shapely.distance(shapely.boundary(metric["grids"][which]), frame.to_metric(points))
    assert np.mean(clearance >= 9.9) > 0.99
    assert clearance.min() > 0


def test_grids_have_two_to_four_checkpoints_about_three_on_average(city):
    per_grid = {}
    for checkpoint in city.checkpoints:
        per_grid[checkpoint.grid_code] = per_grid.get(checkpoint.grid_code, 0) + 1
    counts = np.array([per_grid.get(g.code, 0) for g in city.grids])
    assert counts.min() >= 1
    assert counts.max() <= 4
    assert np.mean((counts >= 2) & (counts <= 4)) > 0.99
    assert 2.5 <= counts.mean() <= 3.5


def test_checkpoints_of_a_grid_are_apart_and_have_a_dwell_time(city, frame):
    by_grid = {}
    for checkpoint in city.checkpoints:
        assert 3 <= checkpoint.min_dwell_minutes <= 10
        by_grid.setdefault(checkpoint.grid_code, []).append(checkpoint.point)
    gaps = []
    for points in by_grid.values():
        xy = shapely.get_coordinates(frame.to_metric(np.array(points, dtype=object)))
        d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
        gaps.append(d[np.triu_indices(len(xy), 1)].min(initial=np.inf))
    gaps = np.array(gaps)
    assert gaps.min() >= 10
    assert np.mean(gaps >= 29.9) > 0.99


# --- names ------------------------------------------------------------------------------------


def test_community_names_are_unique_two_character_names_with_shequ(city):
    community_names = [c.name for c in city.communities]
    assert len(set(community_names)) == len(community_names)
    for name in community_names:
        assert re.fullmatch(r"[\u4e00-\u9fff]{2}社区", name), name
        assert name[:2] not in {s[:2] for s, *_ in STREETS}


def test_grid_names_number_the_grids_of_each_community(city):
    grid_names = [g.name for g in city.grids]
    assert len(set(grid_names)) == len(grid_names)
    short = {c.code: c.name.removesuffix("社区") for c in city.communities}
    for grid in city.grids:
        assert grid.name == f"{short[grid.parent_code]}第{grid.code[-3:]}网格"


def test_checkpoint_names_are_places_of_the_community_unique_within_each_grid(city):
    short = {c.code: c.name.removesuffix("社区") for c in city.communities}
    grid_community = {g.code: g.parent_code for g in city.grids}
    by_grid = {}
    for checkpoint in city.checkpoints:
        community_short = short[grid_community[checkpoint.grid_code]]
        assert checkpoint.name.startswith(community_short)
        assert len(checkpoint.name) > len(community_short)
        by_grid.setdefault(checkpoint.grid_code, []).append(checkpoint.name)
    for grid_names in by_grid.values():
        assert len(set(grid_names)) == len(grid_names)


def test_community_short_names_are_distinct_and_repeatable_for_a_seed():
    first = names.community_short_names(126, np.random.default_rng(5))
    assert len(set(first)) == 126
    assert first == names.community_short_names(126, np.random.default_rng(5))
    assert first != names.community_short_names(126, np.random.default_rng(6))
    assert names.grid_name("塘尾", 7) == "塘尾第007网格"


def test_checkpoint_names_are_dealt_without_repeats_while_places_last():
    counts = [4] * 30
    dealt = names.checkpoint_names("塘尾", counts, np.random.default_rng(1))
    flat = [n for grid in dealt for n in grid]
    assert len(flat) == 120
    assert len(set(flat)) == 120 <= len(names.checkpoint_place_names())
    assert all(n.startswith("塘尾") for n in flat)


# --- progress, determinism and parameters -----------------------------------------------------


def test_progress_is_reported_per_street_and_per_community(progress_calls):
    stages = {stage for stage, _done, _total in progress_calls}
    assert {"communities", "grids"} <= stages
    assert ("communities", 10, 10) in progress_calls
    assert ("grids", 126, 126) in progress_calls
    for _stage, done, total in progress_calls:
        assert 0 <= done <= total


def test_a_smaller_city_has_exactly_the_grid_count_asked_for(small_city, metric):
    assert len(small_city.communities) == 126
    assert len(small_city.grids) == SMALL_GRID_COUNT
    frame = LocalMetric.around(small_city.district.geom)
    union = shapely.union_all(
        frame.to_metric(np.array([g.geom for g in small_city.grids], dtype=object))
    )
    district = metric["district"][0]
    assert district.symmetric_difference(union).area < 0.001 * district.area


def test_the_same_seed_gives_identical_codes_names_and_geometry(outline, small_city):
    again = build_demo_city(outline, seed=7, grid_count=SMALL_GRID_COUNT)
    assert _fingerprint(again) == _fingerprint(small_city)


def test_a_different_seed_gives_different_grids(outline, small_city):
    other = build_demo_city(outline, seed=8, grid_count=SMALL_GRID_COUNT)
    assert [s.geom.wkb for s in other.streets] == [s.geom.wkb for s in small_city.streets]
    assert [g.geom.wkb for g in other.grids] != [g.geom.wkb for g in small_city.grids]
    assert [c.name for c in other.communities] != [c.name for c in small_city.communities]


def test_a_grid_count_the_codes_cannot_number_is_refused(outline):
    with pytest.raises(ValueError, match="at least 126"):
        build_demo_city(outline, grid_count=100)
    with pytest.raises(ValueError, match="more than 999"):
        build_demo_city(outline, grid_count=200_000)


def test_allocation_follows_area_with_a_minimum_and_sums_exactly():
    counts = allocate(100, np.array([1.0, 1.0, 2.0, 96.0]), minimum=5)
    assert counts.sum() == 100
    assert counts.min() >= 5
    assert counts[3] == max(counts)
    assert list(allocate(10, np.array([1.0, 1.0, 1.0]), minimum=1)) in (
        [4, 3, 3],
        [3, 4, 3],
        [3, 3, 4],
    )
    assert allocate(7, np.array([5.0, 1.0]), minimum=5).tolist() == [4, 3]
