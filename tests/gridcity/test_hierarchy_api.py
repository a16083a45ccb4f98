"""The read API: GeoJSON of each level, filters by ancestor code and bbox, simplify, paging."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridcity.models import WorkGrid


def test_grids_of_a_street_as_a_feature_collection(small_city, client):
    street = small_city.streets[1]

    body = client.get("/api/v1/grids/", {"street": street.code}).json()

    assert body["type"] == "FeatureCollection"
    codes = [f["id"] for f in body["features"]]
    assert codes == sorted(g.code for g in small_city.grids if g.code.startswith(street.code))
    assert len(codes) == 36
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert feature["properties"]["parent_code"] == feature["id"][:12]
    assert feature["properties"]["checkpoint_count"] == 1
    assert feature["properties"]["area_m2"] > 0


@pytest.mark.parametrize(
    ("path", "param", "expected"),
    [
        ("/api/v1/streets/", {"district": "999901"}, 4),
        ("/api/v1/communities/", {"street": "999901002"}, 4),
        ("/api/v1/communities/", {"district": "999901"}, 16),
        ("/api/v1/grids/", {"community": "999901002003"}, 9),
        ("/api/v1/checkpoints/", {"grid": "999901002003004"}, 1),
        ("/api/v1/grids/", {"street": "99990100"}, 0),  # malformed code matches nothing
    ],
)
def test_filter_by_ancestor_code(small_city, admin_client, path, param, expected):
    response = admin_client.get(path, param)

    assert response.status_code == 200
    assert len(response.json()["features"]) == expected


def test_bbox_keeps_grids_that_meet_it(small_city, client):
    grid = small_city.grids[0]
    minx, miny, maxx, maxy = grid.geom.extent
    inner = (minx + 0.0001, miny + 0.0001, maxx - 0.0001, maxy - 0.0001)

    body = client.get("/api/v1/grids/", {"bbox": ",".join(map(str, inner))}).json()

    assert [f["id"] for f in body["features"]] == [grid.code]


def test_bad_bbox_is_a_400(small_city, client):
    response = client.get("/api/v1/grids/", {"bbox": "1,2,three"})

    assert response.status_code == 400
    assert "bbox" in response.json()["error"]["message"]


def test_simplify_drops_vertices_but_keeps_the_shape(small_city, client):
    grid = small_city.grids[0]
    # Give one grid a wiggly edge of many close vertices.
    from django.contrib.gis.geos import MultiPolygon, Polygon

    minx, miny, maxx, maxy = grid.geom.extent
    wiggle = [(minx + (maxx - minx) * i / 200, miny + (1e-7 if i % 2 else 0)) for i in range(201)]
    ring = [*wiggle, (maxx, maxy), (minx, maxy), wiggle[0]]
    WorkGrid.objects.filter(pk=grid.pk).update(geom=MultiPolygon(Polygon(ring), srid=4326))

    def vertices(params):
        body = client.get(f"/api/v1/grids/{grid.code}/", params).json()
        return sum(len(ring) for poly in body["geometry"]["coordinates"] for ring in poly)

    assert vertices({}) > 200
    assert vertices({"simplify": 5}) <= 6


def test_bad_simplify_is_a_400_naming_it(small_city, client):
    response = client.get("/api/v1/grids/", {"simplify": "-3"})

    assert response.status_code == 400
    assert "simplify" in response.json()["error"]["fields"]


def test_one_grid_by_code(small_city, client):
    grid = small_city.grids[3]

    body = client.get(f"/api/v1/grids/{grid.code}/").json()

    assert body["type"] == "Feature"
    assert body["id"] == grid.code
    assert body["properties"]["name"] == grid.name


def test_unknown_code_is_a_json_404(small_city, client):
    response = client.get("/api/v1/grids/999901999999999/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_pages_follow_the_cursor(small_city, client):
    seen, url, params = [], "/api/v1/grids/", {"district": "999901", "page_size": 50}
    while url:
        body = client.get(url, params).json()
        seen += [f["id"] for f in body["features"]]
        url, params = body["next"], None

    assert seen == sorted(g.code for g in small_city.grids)


def test_updated_since_returns_only_later_changes(small_city, client):
    grid = small_city.grids[10]
    grid.name = "新名字"
    grid.save()

    body = client.get("/api/v1/grids/", {"updated_since": grid.updated_at.isoformat()}).json()

    assert [f["id"] for f in body["features"]] == [grid.code]


@pytest.mark.parametrize("path", ["/api/v1/grids/", "/api/v1/communities/", "/api/v1/checkpoints/"])
def test_list_query_count_does_not_grow_with_rows(small_city, admin_client, path):
    with CaptureQueriesContext(connection) as few:
        admin_client.get(path, {"page_size": 5})
    with CaptureQueriesContext(connection) as many:
        admin_client.get(path, {"page_size": 100})

    assert len(many) == len(few)


def test_openapi_schema_and_docs_work_offline(client, db):
    schema = client.get("/api/schema/", {"format": "json"})
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert "/api/v1/locate/" in schema.json()["paths"]
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar" in html
    assert "cdn" not in html.lower()


def test_client_with_current_copy_gets_304(small_city, client):
    first = client.get("/api/v1/grids/", {"street": "999901001"})

    again = client.get("/api/v1/grids/", {"street": "999901001"}, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304
    assert again["ETag"] == first["ETag"]


@pytest.mark.parametrize(
    ("if_none_match", "expected"),
    [
        ("{etag}", 304),
        ("W/{etag}", 304),  # If-None-Match compares weakly
        ('"an-old-copy", {etag}', 304),
        ("*", 304),
        ('"an-old-copy"', 200),
        ('"{etag}"', 200),  # a tag that merely contains the current one
    ],
)
def test_if_none_match_is_compared_as_http_says(small_city, client, if_none_match, expected):
    url, params = "/api/v1/grids/", {"street": "999901001"}
    etag = client.get(url, params)["ETag"]

    again = client.get(url, params, HTTP_IF_NONE_MATCH=if_none_match.format(etag=etag))

    assert again.status_code == expected
    assert again["ETag"] == etag
    assert again["Cache-Control"] == "no-cache"


def test_an_if_match_naming_an_old_copy_is_refused(small_city, client):
    response = client.get("/api/v1/grids/", HTTP_IF_MATCH='"an-old-copy"')

    assert response.status_code == 412
    assert response.json()["error"]["code"] == "precondition_failed"


def test_cached_answer_follows_a_change_to_the_grids(small_city, client):
    grid = small_city.grids[0]
    first = client.get(f"/api/v1/grids/{grid.code}/")
    grid.name = "新名字"
    grid.save()

    again = client.get(f"/api/v1/grids/{grid.code}/", HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 200
    assert again.json()["properties"]["name"] == "新名字"
    assert again["ETag"] != first["ETag"]


def test_checkpoints_are_not_public(small_city, client):
    response = client.get("/api/v1/checkpoints/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
