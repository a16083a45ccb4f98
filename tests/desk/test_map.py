"""The map of open cases: who opens it, what the GeoJSON holds, its filters, box and cap, and
the counts per grid it answers for a view holding more cases than it draws one by one."""

from datetime import datetime

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Case
from desk.web import map as case_map

PAGE = reverse("desk-map")
CASES = reverse("desk-map-cases")


def features(client, **params) -> list[dict]:
    answer = client.get(CASES, params)
    assert answer.status_code == 200, answer.content
    return answer.json()["features"]


def numbers(client, **params) -> set[str]:
    return {f["properties"]["number"] for f in features(client, **params)}


def box_around(point, half: float = 0.001) -> str:
    return f"{point.x - half},{point.y - half},{point.x + half},{point.y + half}"


@pytest.fixture
def report_in(people, item):
    """Report a case in a given grid (at its centre, nudged by ``step`` thousandths of its
    side so that cases of a grid do not all share one spot)."""
    from cases import services

    def make(grid, step: int = 0):
        centre = grid.geom.point_on_surface
        lon, lat = centre.x + step * 1e-5, centre.y + step * 1e-5
        return services.case_report(
            by=people.citizen, item=item, lon=lon, lat=lat, description="井盖缺失"
        ).case

    return make


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("dispatcher", 200),
        ("staff", 200),
        ("supervisor", 200),
        ("admin", 200),
        ("inspector_a", 403),
        ("citizen", 403),
    ],
)
def test_the_map_is_for_the_people_with_a_desk_workbench(client, people, persona, status):
    client.force_login(getattr(people, persona))
    assert client.get(PAGE).status_code == status
    assert client.get(CASES).status_code == status


def test_anonymous_people_are_sent_to_log_in(client, people):
    answer = client.get(PAGE)
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")


def test_the_page_holds_the_map_its_filters_and_legend(client, people):
    client.force_login(people.dispatcher)
    page = client.get(PAGE, {"item": "0101"}).content.decode()
    assert f'data-cases-url="{CASES}"' in page
    assert 'name="item" value="0101"' in page
    assert "vendor/markercluster/leaflet.markercluster.js" in page
    assert 'class="case-map-legend"' in page
    assert "desk/map.js" in page


def test_a_case_is_a_point_with_its_number_item_state_and_deadline(client, people, report):
    case = report(steps=["file", "dispatch"])
    client.force_login(people.dispatcher)
    answer = client.get(CASES).json()
    assert answer["type"] == "FeatureCollection"
    assert answer["truncated"] is False and answer["total"] == 1
    [feature] = answer["features"]
    assert feature["geometry"]["type"] == "Point"
    assert feature["geometry"]["coordinates"] == pytest.approx([case.point.x, case.point.y])
    properties = feature["properties"]
    assert datetime.fromisoformat(properties.pop("due")) == case.handle_due
    assert properties == {
        "number": case.number,
        "status": "dispatched",
        "item": "0101",
        "item_name": case.item.name,
        "overdue": False,
        "escalated": False,
    }


def test_each_person_sees_the_open_cases_of_their_scope_only(client, people, report):
    reported = report()
    dispatched = report(steps=["file", "dispatch"])
    client.force_login(people.other_supervisor)
    assert numbers(client) == set()
    client.force_login(people.supervisor)
    assert numbers(client) == {reported.number, dispatched.number}
    client.force_login(people.staff)
    assert numbers(client) == {dispatched.number}  # the department's own


def test_closed_rejected_and_cancelled_cases_are_not_on_the_map(client, people, report):
    open_case = report()
    report(steps=["reject"])
    report(steps=["file", "dispatch", "accept", "handle", "close"])
    client.force_login(people.dispatcher)
    assert numbers(client) == {open_case.number}
    assert numbers(client, status="closed") == set()


def test_the_queue_filters_apply(client, people, report):
    reported = report()
    filed = report(steps=["file"])
    street = people.grid_a.community.street.code
    client.force_login(people.dispatcher)
    assert numbers(client, status="filed") == {filed.number}
    assert numbers(client, item="0101", street=street) == {reported.number, filed.number}
    assert numbers(client, item="9999") == set()
    assert numbers(client, grid=people.grid_b.code) == set()
    assert numbers(client, source="citizen") == set()
    assert numbers(client, overdue="true") == set()


def test_only_the_cases_in_the_box_are_answered(client, people, report):
    case = report()
    client.force_login(people.dispatcher)
    assert numbers(client, bbox=box_around(case.point)) == {case.number}
    far = people.grid_b.geom.point_on_surface
    assert numbers(client, bbox=box_around(far)) == set()


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "10,10,0,0", "100,20,110,30", "0,0,0,95"])
def test_a_bad_box_is_a_400_naming_bbox(client, people, bbox):
    client.force_login(people.dispatcher)
    answer = client.get(CASES, {"bbox": bbox})
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/json"
    assert "bbox" in answer.json()["error"]["fields"]


def test_a_bad_filter_is_a_400_naming_it(client, people):
    client.force_login(people.dispatcher)
    answer = client.get(CASES, {"status": "nonsense"})
    assert answer.status_code == 400
    assert "status" in answer.json()["error"]["fields"]


def test_the_answer_is_capped_newest_first_and_says_so(client, people, report, monkeypatch):
    made = [report(f"第{i}件") for i in range(3)]
    monkeypatch.setattr(case_map, "MAP_LIMIT", 2)
    client.force_login(people.dispatcher)
    answer = client.get(CASES).json()
    assert answer["truncated"] is True
    assert answer["total"] == 3
    assert [f["properties"]["number"] for f in answer["features"]] == [
        made[2].number,
        made[1].number,
    ]


def test_the_geojson_takes_the_same_queries_for_3_cases_as_for_30(client, people, report, settings):
    settings.GRIDCITY_CODEBOOK_CHECK_SECONDS = 3600  # no code book check inside the window
    for _ in range(3):
        report()
    client.force_login(people.dispatcher)
    client.get(CASES)  # the code books and the session, read once
    with CaptureQueriesContext(connection) as three:
        assert len(features(client)) == 3
    for _ in range(27):
        report()
    with CaptureQueriesContext(connection) as thirty:
        assert len(features(client)) == 30
    assert len(thirty.captured_queries) == len(three.captured_queries)
    # The session, the user, the dispatcher's scope (three), the counts per grid, the cases.
    assert len(three.captured_queries) <= 7


# --- a view holding more than the cap: counts per grid --------------------------------------


def test_a_view_holding_more_than_the_cap_is_answered_as_counts_per_grid(
    client, people, report_in, monkeypatch
):
    in_a = [report_in(people.grid_a, step) for step in range(3)]
    report_in(people.grid_b)
    Case.objects.filter(pk=in_a[0].pk).update(overdue=True)
    monkeypatch.setattr(case_map, "MAP_LIMIT", 3)
    client.force_login(people.dispatcher)
    answer = client.get(CASES).json()
    assert answer["grouped"] == "grid"
    assert answer["truncated"] is False
    assert answer["total"] == 4
    groups = {f["properties"]["code"]: f for f in answer["features"]}
    assert set(groups) == {people.grid_a.code, people.grid_b.code}
    a = groups[people.grid_a.code]
    assert a["properties"]["name"] == people.grid_a.name
    assert a["properties"]["count"] == 3
    assert a["properties"]["overdue"] == 1
    assert groups[people.grid_b.code]["properties"] == {
        **groups[people.grid_b.code]["properties"],
        "count": 1,
        "overdue": 0,
    }
    # The bubble stands inside its grid; its box holds every one of its cases.
    assert people.grid_a.geom.contains(Point(*a["geometry"]["coordinates"], srid=4326))
    west, south, east, north = a["properties"]["bbox"]
    for case in in_a:
        assert west <= round(case.point.x, 6) <= east and south <= round(case.point.y, 6) <= north


def test_zooming_onto_a_grids_box_shows_its_cases_one_by_one(
    client, people, report_in, monkeypatch
):
    in_a = {report_in(people.grid_a, step).number for step in range(3)}
    report_in(people.grid_b)
    monkeypatch.setattr(case_map, "MAP_LIMIT", 3)
    client.force_login(people.dispatcher)
    groups = client.get(CASES).json()["features"]
    [a] = [g for g in groups if g["properties"]["code"] == people.grid_a.code]
    answer = client.get(CASES, {"bbox": ",".join(map(str, a["properties"]["bbox"]))}).json()
    assert answer["grouped"] is None and answer["truncated"] is False
    assert {f["properties"]["number"] for f in answer["features"]} == in_a


def test_the_counts_follow_the_filters_and_the_persons_scope(
    client, people, report_in, monkeypatch
):
    for step in range(2):
        report_in(people.grid_a, step)
        report_in(people.grid_b, step)
    report_in(people.grid_b, 2)
    monkeypatch.setattr(case_map, "MAP_LIMIT", 1)
    client.force_login(people.dispatcher)
    answer = client.get(CASES, {"street": people.grid_b.community.street.code}).json()
    assert answer["total"] == 3
    # One grid holds them all: more than the cap, cut to the newest, as before.
    assert answer["grouped"] is None and answer["truncated"] is True
    assert len(answer["features"]) == 1
    client.force_login(people.supervisor)  # street A only
    answer = client.get(CASES).json()
    assert answer["total"] == 2 and answer["truncated"] is True


def test_a_view_over_more_grids_than_the_limit_is_counted_per_community(
    client, people, report_in, monkeypatch
):
    report_in(people.grid_a)
    report_in(people.grid_b)
    neighbour = next(
        g for g in people.grid_a.community.grids.order_by("code") if g.pk != people.grid_a.pk
    )
    report_in(neighbour)
    monkeypatch.setattr(case_map, "MAP_LIMIT", 1)
    monkeypatch.setattr(case_map, "MAP_GROUP_LIMIT", 2)
    client.force_login(people.dispatcher)
    answer = client.get(CASES).json()
    assert answer["grouped"] == "community"
    counts = {f["properties"]["code"]: f["properties"]["count"] for f in answer["features"]}
    assert counts == {people.grid_a.community.code: 2, people.grid_b.community.code: 1}
    [a] = [f for f in answer["features"] if f["properties"]["code"] == people.grid_a.community.code]
    assert a["properties"]["name"] == people.grid_a.community.name
    assert people.grid_a.community.geom.contains(Point(*a["geometry"]["coordinates"], srid=4326))


def test_cases_outside_every_grid_are_counted_together(client, people, report_in, monkeypatch):
    report_in(people.grid_a)
    loose = [report_in(people.grid_b, step) for step in range(2)]
    Case.objects.filter(pk__in=[c.pk for c in loose]).update(grid=None)
    monkeypatch.setattr(case_map, "MAP_LIMIT", 2)
    client.force_login(people.dispatcher)
    answer = client.get(CASES).json()
    assert answer["grouped"] == "grid"
    [outside] = [f for f in answer["features"] if f["properties"]["code"] is None]
    assert outside["properties"]["count"] == 2
    west, south, east, north = outside["properties"]["bbox"]
    assert outside["geometry"]["coordinates"] == pytest.approx(
        [(west + east) / 2, (south + north) / 2]
    )


def test_the_counts_take_the_same_queries_for_2_grids_as_for_12(
    client, people, report_in, small_city, monkeypatch, settings
):
    settings.GRIDCITY_CODEBOOK_CHECK_SECONDS = 3600
    monkeypatch.setattr(case_map, "MAP_LIMIT", 1)
    report_in(people.grid_a)
    report_in(people.grid_b)
    client.force_login(people.dispatcher)
    client.get(CASES)
    with CaptureQueriesContext(connection) as two:
        assert len(features(client)) == 2
    for grid in small_city.grids[1:11]:
        report_in(grid)
    with CaptureQueriesContext(connection) as twelve:
        assert len(features(client)) == 12
    assert len(twelve.captured_queries) == len(two.captured_queries)
    # The session, the user, the dispatcher's scope (three), the counts, the label points.
    assert len(two.captured_queries) <= 7
