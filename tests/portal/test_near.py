"""Near me: the recent public problems in a box or around a point, newest first, capped, in a
fixed number of queries; refused parameters name themselves."""

import pytest
from django.urls import reverse

from cases import selectors
from cases.models import Case
from tests.portal.publicside import move, report

pytestmark = pytest.mark.django_db

BOX = "99,29,101,31"  # the whole small city, near lon 100, lat 30


def filed_cases(world, n: int, grid=None) -> list[Case]:
    out = []
    for _ in range(n):
        case, _reporter = report(world, grid=grid)
        out.append(move(case, world.people, until="file"))
    return out


def numbers(answer) -> list[str]:
    return [f["properties"]["number"] for f in answer.json()["features"]]


def test_near_lists_public_cases_in_the_box_newest_first(client, world):
    older, newer = filed_cases(world, 2)
    report(world)  # not filed: not public

    answer = client.get(reverse("public-near"), {"bbox": BOX})

    assert answer.status_code == 200
    assert numbers(answer) == [newer.number, older.number]
    feature = answer.json()["features"][0]
    assert feature["properties"]["item"] == "井盖松动或缺失"  # the name for citizens
    assert feature["properties"]["state"] == "filed"
    assert feature["geometry"]["type"] == "Point"
    assert answer.json()["truncated"] is False


def test_near_leaves_out_what_is_outside_the_box_or_the_circle(client, world):
    [here] = filed_cases(world, 1, grid=world.people.grid_a)
    [there] = filed_cases(world, 1, grid=world.people.grid_b)
    a = world.people.grid_a.geom.point_on_surface
    box = f"{a.x - 0.001},{a.y - 0.001},{a.x + 0.001},{a.y + 0.001}"

    in_box = numbers(client.get(reverse("public-near"), {"bbox": box}))
    around = numbers(client.get(reverse("public-near"), {"lon": a.x, "lat": a.y, "radius": 200}))

    assert in_box == [here.number] and around == [here.number]
    assert there.number in numbers(client.get(reverse("public-near"), {"bbox": BOX}))


def test_near_is_capped_and_says_so(world):
    filed_cases(world, 3)

    found = selectors.cases_public_near(bbox=(99, 29, 101, 31), limit=2)

    assert len(found.rows) == 2 and found.truncated is True


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "101,29,99,31"}, "bbox"),
        ({"bbox": "0,0,50,50"}, "bbox"),
        ({"lon": "100"}, "lat"),
        ({"lon": "500", "lat": "30"}, "lon"),
        ({"lon": "100", "lat": "30", "radius": "999999"}, "radius"),
        ({"bbox": BOX, "lon": "100", "lat": "30"}, "bbox"),
        ({"crs": "mars"}, "crs"),
    ],
)
def test_bad_near_parameters_are_a_400_naming_them(client, db, query, field):
    answer = client.get(reverse("public-near"), query)

    assert answer.status_code == 400
    assert field in answer.json()["error"]["fields"]


def test_near_costs_the_same_queries_for_few_or_many_cases(
    client, world, django_assert_num_queries
):
    filed_cases(world, 2)
    with django_assert_num_queries(1):
        assert len(numbers(client.get(reverse("public-near"), {"bbox": BOX}))) == 2
    filed_cases(world, 8)
    with django_assert_num_queries(1):
        assert len(numbers(client.get(reverse("public-near"), {"bbox": BOX}))) == 10


def test_the_home_page_costs_the_same_queries_for_few_or_many_cases(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    filed_cases(world, 1)
    with CaptureQueriesContext(connection) as few:
        page = client.get(reverse("portal-home"))
    filed_cases(world, 6)
    with CaptureQueriesContext(connection) as many:
        more = client.get(reverse("portal-home"))

    assert page.status_code == more.status_code == 200
    assert more.content.decode().count('data-number="') == 7
    assert len(many) == len(few)


def test_the_public_case_page_and_api_cost_a_fixed_number_of_queries(
    client, world, django_assert_max_num_queries
):
    [case] = filed_cases(world, 1)
    with django_assert_max_num_queries(4):
        assert client.get(reverse("public-case", args=[case.number])).status_code == 200


def test_the_home_page_lists_recent_public_problems_with_their_state(client, world):
    [case] = filed_cases(world, 1)
    client.cookies.load({"django_language": "zh-hans"})

    page = client.get(reverse("portal-home"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert reverse("portal-case", args=[case.number]) in page
    assert 'class="portal-state state-filed"' in page
    assert 'id="near-map"' in page and "leaflet/leaflet.js" in page
