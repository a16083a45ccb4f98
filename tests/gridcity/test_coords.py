"""gridcity.coords: published reference pairs, exact round trips, edge cases, shapely helper.

No database: plain functions on numbers, numpy arrays and shapely geometries.
"""

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Polygon

from gridcity import coords

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE = 2 * math.pi * EARTH_RADIUS_M / 360
ROUND_TRIP_LIMIT_M = 0.01
# Full-precision published doubles are still compared with this much slack (1 mm): the sources
# and this module evaluate the same formula with operations in a slightly different order.
FULL_PRECISION_LIMIT_M = 0.001


def haversine_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres; scalars or numpy arrays."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2)
    )
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h))


def published_tolerance_m(decimals):
    """How far a value published with ``decimals`` decimals may lie from the exact one.

    One unit in the last place on each axis (some sources truncate rather than round), as
    metres, never below ``FULL_PRECISION_LIMIT_M``.
    """
    return max(FULL_PRECISION_LIMIT_M, 10.0**-decimals * METRES_PER_DEGREE * math.sqrt(2))


# --- Published reference pairs ----------------------------------------------------------------
# Each row: input lon, lat; published output lon, lat; decimals published (the fewest of the
# four numbers' last two). All from the forward, closed-form direction, so they pin the formula.

WGS84_GCJ02_PAIRS = [
    # googollee/eviltransform, python/test.py (TESTS; same in go/transform_test.go): shanghai
    pytest.param(121.5272106, 31.1774276, 121.531541859215, 31.17530398364597, 12, id="shanghai"),
    # googollee/eviltransform, python/test.py (TESTS): shenzhen
    pytest.param(113.912316, 22.543847, 113.9171764808363, 22.540796131694766, 13, id="shenzhen"),
    # googollee/eviltransform, python/test.py (TESTS): beijing
    pytest.param(116.377817, 39.911954, 116.38404722455657, 39.91334545536069, 14, id="beijing"),
    # wandergis/coordtransform, README.md: wgs84togcj02(116.404, 39.915)
    pytest.param(
        116.404, 39.915, 116.41024449916938, 39.91640428150164, 14, id="coordtransform-readme"
    ),
    # hujiulong/gcoord, test/unit/crs/WGS84.spec.ts ("WGS84 to GCJ02", [123, 45]); truncated
    pytest.param(123.0, 45.0, 123.00607541, 45.00197815, 8, id="gcoord-spec"),
]

GCJ02_BD09_PAIRS = [
    # wandergis/coordtransform, README.md: gcj02tobd09(116.404, 39.915)
    pytest.param(
        116.404, 39.915, 116.41036949371029, 39.92133699351021, 14, id="coordtransform-readme"
    ),
    # hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts ("GCJ02 to BD09", [123, 45]); truncated
    pytest.param(123.0, 45.0, 123.00636499, 45.00636899, 8, id="gcoord-spec"),
    # hujiulong/gcoord, test/fixtures/china-cities.json: 驻马店市, "GCJ02" and "BD09" columns,
    # 7 decimals (JSON drops trailing zeros: 114.022306 is 114.0223060)
    pytest.param(114.022306, 33.0115324, 114.0287781, 33.0176697, 7, id="gcoord-zhumadian"),
    # hujiulong/gcoord, test/fixtures/china-cities.json: 那曲地区
    pytest.param(92.0512438, 31.4762063, 92.0576832, 31.4824421, 7, id="gcoord-nagqu"),
    # hujiulong/gcoord, test/fixtures/china-cities.json: 沈阳市
    pytest.param(123.4314787, 41.8057023, 123.438095, 41.8114013, 7, id="gcoord-shenyang"),
]

WGS84_BD09_PAIRS = [
    # hujiulong/gcoord, test/unit/crs/WGS84.spec.ts ("WGS84 to BD09", [123, 45]); truncated
    pytest.param(123.0, 45.0, 123.0124491, 45.0083293, 7, id="gcoord-spec"),
]


@pytest.mark.parametrize(("lon", "lat", "out_lon", "out_lat", "decimals"), WGS84_GCJ02_PAIRS)
def test_wgs84_to_gcj02_matches_published_pair(lon, lat, out_lon, out_lat, decimals):
    got = coords.wgs84_to_gcj02(lon, lat)
    assert haversine_m(*got, out_lon, out_lat) < published_tolerance_m(decimals)


@pytest.mark.parametrize(("lon", "lat", "out_lon", "out_lat", "decimals"), WGS84_GCJ02_PAIRS)
def test_gcj02_to_wgs84_inverts_published_pair(lon, lat, out_lon, out_lat, decimals):
    got = coords.gcj02_to_wgs84(out_lon, out_lat)
    assert haversine_m(*got, lon, lat) < published_tolerance_m(decimals)


@pytest.mark.parametrize(("lon", "lat", "out_lon", "out_lat", "decimals"), GCJ02_BD09_PAIRS)
def test_gcj02_to_bd09_matches_published_pair(lon, lat, out_lon, out_lat, decimals):
    got = coords.gcj02_to_bd09(lon, lat)
    assert haversine_m(*got, out_lon, out_lat) < published_tolerance_m(decimals)


@pytest.mark.parametrize(("lon", "lat", "out_lon", "out_lat", "decimals"), GCJ02_BD09_PAIRS)
def test_bd09_to_gcj02_inverts_published_pair(lon, lat, out_lon, out_lat, decimals):
    got = coords.bd09_to_gcj02(out_lon, out_lat)
    assert haversine_m(*got, lon, lat) < published_tolerance_m(decimals)


@pytest.mark.parametrize(("lon", "lat", "out_lon", "out_lat", "decimals"), WGS84_BD09_PAIRS)
def test_wgs84_to_bd09_matches_published_pair_both_ways(lon, lat, out_lon, out_lat, decimals):
    assert haversine_m(*coords.wgs84_to_bd09(lon, lat), out_lon, out_lat) < published_tolerance_m(
        decimals
    )
    assert haversine_m(*coords.bd09_to_wgs84(out_lon, out_lat), lon, lat) < published_tolerance_m(
        decimals
    )


# Published *inverse* results of libraries that use the one-step closed form (or a loose
# iteration): they are close to, but not exactly, the true inverse. Ours must agree with them
# within that approximation's known error (≤ ~0.2 m for BD-09 → GCJ-02) and, unlike them,
# map back onto the input exactly.
PUBLISHED_APPROXIMATE_INVERSES = [
    # wandergis/coordtransform, README.md: bd09togcj02(116.404, 39.915)
    pytest.param(
        "bd09",
        "gcj02",
        116.404,
        39.915,
        116.39762729119315,
        39.90865673957631,
        id="coordtransform-bd09togcj02",
    ),
    # hujiulong/gcoord, test/unit/crs/BD09.spec.ts ("BD09 to GCJ02", [123, 45])
    pytest.param("bd09", "gcj02", 123.0, 45.0, 122.99363304, 44.99365430, id="gcoord-bd09-gcj02"),
    # hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts ("GCJ02 to WGS84", [123, 45])
    pytest.param("gcj02", "wgs84", 123.0, 45.0, 122.99395597, 44.99804071, id="gcoord-gcj02-wgs84"),
]


@pytest.mark.parametrize(
    ("src", "dst", "lon", "lat", "out_lon", "out_lat"), PUBLISHED_APPROXIMATE_INVERSES
)
def test_exact_inverse_is_close_to_published_approximation(src, dst, lon, lat, out_lon, out_lat):
    got = coords.convert(lon, lat, src, dst)
    assert haversine_m(*got, out_lon, out_lat) < 0.25
    back = coords.convert(*got, dst, src)
    assert haversine_m(*back, lon, lat) < FULL_PRECISION_LIMIT_M


# --- Round trips --------------------------------------------------------------------------------

DIRECTIONS = [
    ("wgs84", "gcj02"),
    ("gcj02", "wgs84"),
    ("gcj02", "bd09"),
    ("bd09", "gcj02"),
    ("wgs84", "bd09"),
    ("bd09", "wgs84"),
]


def random_points_in_china(n, seed=20240601):
    """Points spread over mainland China, Hainan and the South China Sea, off the box edges."""
    rng = np.random.default_rng(seed)
    return rng.uniform(73.5, 135.0, n), rng.uniform(3.9, 53.5, n)


@pytest.mark.parametrize(("src", "dst"), DIRECTIONS)
def test_round_trip_is_under_a_centimetre_vectorised(src, dst):
    lon, lat = random_points_in_china(20_000)
    there = coords.convert(lon, lat, src, dst)
    back = coords.convert(*there, dst, src)
    assert isinstance(back[0], np.ndarray)
    assert back[0].shape == lon.shape
    assert np.max(haversine_m(*back, lon, lat)) < ROUND_TRIP_LIMIT_M
    # And the conversion did something: every point moved by tens to hundreds of metres.
    assert np.min(haversine_m(*there, lon, lat)) > 1.0


@pytest.mark.parametrize(("src", "dst"), DIRECTIONS)
def test_round_trip_is_under_a_centimetre_for_scalars(src, dst):
    lon, lat = random_points_in_china(300, seed=7)
    for x, y in zip(lon.tolist(), lat.tolist(), strict=True):
        there = coords.convert(x, y, src, dst)
        back = coords.convert(*there, dst, src)
        assert haversine_m(*back, x, y) < ROUND_TRIP_LIMIT_M


@pytest.mark.parametrize(("src", "dst"), DIRECTIONS)
def test_scalar_and_vectorised_paths_agree(src, dst):
    lon, lat = random_points_in_china(300, seed=11)
    vec_lon, vec_lat = coords.convert(lon, lat, src, dst)
    for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
        got_lon, got_lat = coords.convert(x, y, src, dst)
        assert type(got_lon) is float
        assert type(got_lat) is float
        assert haversine_m(got_lon, got_lat, vec_lon[i], vec_lat[i]) < 1e-4


def test_vectorised_path_keeps_array_shape():
    lon, lat = random_points_in_china(24)
    got_lon, got_lat = coords.bd09_to_wgs84(lon.reshape(4, 6), lat.reshape(4, 6))
    assert got_lon.shape == got_lat.shape == (4, 6)
    expected_lon, expected_lat = coords.bd09_to_wgs84(lon, lat)
    np.testing.assert_allclose(got_lon.ravel(), expected_lon, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got_lat.ravel(), expected_lat, rtol=0, atol=1e-9)


def test_arrays_of_different_shapes_are_rejected():
    with pytest.raises(ValueError, match="same shape"):
        coords.wgs84_to_gcj02(np.zeros(3), np.zeros(4))


def test_integers_and_numpy_scalars_take_the_scalar_path():
    from_int = coords.wgs84_to_gcj02(114, 23)
    from_np = coords.wgs84_to_gcj02(np.float64(114.0), np.int64(23))
    assert all(type(v) is float for v in (*from_int, *from_np))
    assert from_int == from_np == coords.wgs84_to_gcj02(114.0, 23.0)


# --- Outside China, bad input -----------------------------------------------------------------

OUTSIDE_CHINA = [
    (2.3522, 48.8566),  # Paris
    (-74.006, 40.7128),  # New York
    (139.6917, 35.6895),  # Tokyo: east of the 137.8347 box edge
    (151.2093, -33.8688),  # Sydney
    (100.0, 0.5),  # south of the 0.8293 box edge
    (71.9, 40.0),  # west of the 72.004 box edge
]


@pytest.mark.parametrize(("lon", "lat"), OUTSIDE_CHINA)
def test_gcj02_offset_leaves_points_outside_china_unchanged(lon, lat):
    assert coords.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert coords.gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_gcj02_offset_leaves_points_outside_china_unchanged_in_arrays():
    lon = np.array([p[0] for p in OUTSIDE_CHINA] + [113.85])
    lat = np.array([p[1] for p in OUTSIDE_CHINA] + [22.65])
    for func in (coords.wgs84_to_gcj02, coords.gcj02_to_wgs84):
        got_lon, got_lat = func(lon, lat)
        np.testing.assert_array_equal(got_lon[:-1], lon[:-1])
        np.testing.assert_array_equal(got_lat[:-1], lat[:-1])
        assert haversine_m(got_lon[-1], got_lat[-1], lon[-1], lat[-1]) > 100


def test_nan_stays_nan_without_disturbing_other_points():
    lon = np.array([np.nan, 113.85, 113.9])
    lat = np.array([22.65, np.nan, 22.7])
    for src, dst in DIRECTIONS:
        got_lon, got_lat = coords.convert(lon, lat, src, dst)
        assert np.isnan(got_lon[0]) or np.isnan(got_lat[0])
        assert np.isnan(got_lon[1]) or np.isnan(got_lat[1])
        expected = coords.convert(113.9, 22.7, src, dst)
        assert haversine_m(got_lon[2], got_lat[2], *expected) < 1e-4


@pytest.mark.parametrize(
    ("src", "dst", "bad"), [("epsg3857", "wgs84", "epsg3857"), ("wgs84", "WGS84", "WGS84")]
)
def test_convert_rejects_unknown_crs_by_name(src, dst, bad):
    with pytest.raises(ValueError, match=bad):
        coords.convert(113.85, 22.65, src, dst)


@pytest.mark.parametrize("crs", coords.CRS_CHOICES)
def test_convert_to_same_crs_returns_input_unchanged(crs):
    lon = np.array([113.85, 114.0])
    lat = np.array([22.65, 22.5])
    got_lon, got_lat = coords.convert(lon, lat, crs, crs)
    assert got_lon is lon
    assert got_lat is lat
    assert coords.convert(113.85, 22.65, crs, crs) == (113.85, 22.65)


def test_convert_dispatches_to_the_named_functions():
    lon, lat = 113.85, 22.65
    assert coords.convert(lon, lat, "wgs84", "gcj02") == coords.wgs84_to_gcj02(lon, lat)
    assert coords.convert(lon, lat, "gcj02", "wgs84") == coords.gcj02_to_wgs84(lon, lat)
    assert coords.convert(lon, lat, "gcj02", "bd09") == coords.gcj02_to_bd09(lon, lat)
    assert coords.convert(lon, lat, "bd09", "gcj02") == coords.bd09_to_gcj02(lon, lat)
    assert coords.convert(lon, lat, "wgs84", "bd09") == coords.wgs84_to_bd09(lon, lat)
    assert coords.convert(lon, lat, "bd09", "wgs84") == coords.bd09_to_wgs84(lon, lat)


# --- shapely ------------------------------------------------------------------------------------

SHENZHEN_SQUARE = Polygon(
    [(113.84, 22.64), (113.86, 22.64), (113.86, 22.66), (113.84, 22.66), (113.84, 22.64)]
)


def test_shapely_transform_moves_shenzhen_polygon_by_the_gcj02_offset():
    moved = coords.shapely_transform(SHENZHEN_SQUARE, "wgs84", "gcj02")
    assert moved.geom_type == "Polygon"
    before = shapely.get_coordinates(SHENZHEN_SQUARE)
    after = shapely.get_coordinates(moved)
    assert after.shape == before.shape
    shift = haversine_m(before[:, 0], before[:, 1], after[:, 0], after[:, 1])
    # The GCJ-02 offset around Bao'an is about 0.005° east and 0.003° south: ~600 m.
    assert np.all((shift > 450) & (shift < 700))
    expected = np.array([coords.wgs84_to_gcj02(x, y) for x, y in before.tolist()])
    np.testing.assert_allclose(after, expected, rtol=0, atol=1e-12)


def test_shapely_transform_round_trip_restores_vertices():
    there = coords.shapely_transform(SHENZHEN_SQUARE, "wgs84", "bd09")
    back = coords.shapely_transform(there, "bd09", "wgs84")
    before = shapely.get_coordinates(SHENZHEN_SQUARE)
    after = shapely.get_coordinates(back)
    assert np.max(haversine_m(before[:, 0], before[:, 1], after[:, 0], after[:, 1])) < 0.01


def test_shapely_transform_keeps_z_and_handles_geometry_arrays():
    line = LineString([(113.85, 22.65, 12.5), (113.86, 22.66, 30.0)])
    moved = coords.shapely_transform(line, "gcj02", "wgs84")
    assert moved.has_z
    np.testing.assert_array_equal(shapely.get_coordinates(moved, include_z=True)[:, 2], [12.5, 30])
    both = coords.shapely_transform(np.array([SHENZHEN_SQUARE, line]), "gcj02", "wgs84")
    assert shapely.get_num_coordinates(both).tolist() == [5, 2]
    assert not both[0].has_z
    assert both[1].has_z


def test_shapely_transform_rejects_unknown_crs():
    with pytest.raises(ValueError, match="mercator"):
        coords.shapely_transform(SHENZHEN_SQUARE, "mercator", "wgs84")
