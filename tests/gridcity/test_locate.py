"""locate: grid_at() from the in-process index, the database fallback, and the API."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from gridcity import coords, geometry
from gridcity.locate import GridIndex, grid_at, grid_at_from_database, grid_index
from gridcity.models import WorkGrid
from tests.factories import random_points_inside


def test_grid_at_names_the_grid_and_its_ancestors(small_city):
    grid = small_city.grids[5]
    centre = geometry.to_shapely(grid.geom).centroid

    found = grid_at(centre.x, centre.y)

    community = grid.community
    assert found.grid.code == grid.code
    assert found.community.code == community.code
    assert found.street.code == community.street.code
    assert found.district.code == small_city.district.code
    assert found.grid.name == grid.name


def test_grid_at_is_none_outside_every_grid(small_city):
    assert grid_at(0.5, 0.5) is None
    assert grid_at(100.5, 30.5) is None


def test_grid_at_accepts_gcj02_and_bd09(small_city):
    grid = small_city.grids[40]
    centre = geometry.to_shapely(grid.geom).centroid
    for crs in ("gcj02", "bd09"):
        lon, lat = coords.convert(centre.x, centre.y, "wgs84", crs)
        assert grid_at(lon, lat, crs=crs).grid.code == grid.code


def test_index_sees_a_grid_moved_in_another_process(small_city):
    grid = small_city.grids[0]
    centre = geometry.to_shapely(grid.geom).centroid
    assert grid_at(centre.x, centre.y).grid.code == grid.code
    # Another process moves the grid: no signal reaches this one, only the database changes.
    moved = Polygon.from_bbox((10.0, 10.0, 10.01, 10.01))
    WorkGrid.objects.filter(pk=grid.pk).update(
        geom=MultiPolygon(moved, srid=4326), updated_at=grid.updated_at.replace(year=2099)
    )

    assert grid_at(centre.x, centre.y) is None
    assert grid_at(10.005, 10.005).grid.code == grid.code


def test_index_is_rebuilt_when_this_process_changes_a_grid(small_city):
    grid = small_city.grids[0]
    centre = geometry.to_shapely(grid.geom).centroid
    grid_index.get()
    grid.name = "改名"
    grid.save()

    assert grid_at(centre.x, centre.y).grid.name == "改名"


def test_database_fallback_agrees_with_the_index(small_city):
    for code, x, y in random_points_inside(small_city.grids, 50):
        assert grid_at_from_database(x, y).grid.code == code


def test_lowest_code_wins_on_a_shared_edge(small_city):
    a, b = small_city.grids[0], small_city.grids[1]
    shared_x = geometry.to_shapely(a.geom).bounds[2]
    y = geometry.to_shapely(a.geom).centroid.y
    index = GridIndex(("test",), list(WorkGrid.objects.filter(pk__in=[a.pk, b.pk])))

    assert index.find(shared_x, y).grid.code == min(a.code, b.code)


def test_locate_api_returns_the_hierarchy(small_city, client):
    grid = small_city.grids[7]
    centre = geometry.to_shapely(grid.geom).centroid

    response = client.get("/api/v1/locate/", {"lon": centre.x, "lat": centre.y})

    assert response.status_code == 200
    body = response.json()
    assert body["grid"] == {"code": grid.code, "name": grid.name}
    assert body["community"]["code"] == grid.community.code
    assert body["street"]["code"] == grid.community.street.code
    assert body["district"] == {"code": "999901", "name": "测试区"}


def test_locate_api_converts_gcj02(small_city, client):
    grid = small_city.grids[7]
    centre = geometry.to_shapely(grid.geom).centroid
    lon, lat = coords.wgs84_to_gcj02(centre.x, centre.y)

    body = client.get("/api/v1/locate/", {"lon": lon, "lat": lat, "crs": "gcj02"}).json()

    assert body["grid"]["code"] == grid.code
    assert body["lon"] == pytest.approx(centre.x, abs=1e-8)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": 22.6}, "lon"),
        ({"lon": 113.9}, "lat"),
        ({"lon": 181, "lat": 22.6}, "lon"),
        ({"lon": 113.9, "lat": -91}, "lat"),
        ({"lon": "east", "lat": 22.6}, "lon"),
        ({"lon": "nan", "lat": 22.6}, "lon"),
        ({"lon": 113.9, "lat": 22.6, "crs": "utm"}, "crs"),
    ],
)
def test_locate_api_names_the_bad_field(client, db, params, field):
    response = client.get("/api/v1/locate/", params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert error["message"].startswith(field)
