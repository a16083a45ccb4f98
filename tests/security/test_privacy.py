"""Privacy from the caller's side: what an answer names about cases and people it should not.

* A new report's ``possible_duplicates`` named case numbers the reporter could not open; now
  it names only the ones they may open (as ``/api/v1/cases/duplicates/`` does) and counts the
  others.
* A case's timeline showed a citizen's user name as ``actor`` to staff; now a citizen is
  "citizen" (市民) to everyone but the hotline, administrators and the citizen themself.
"""

import pytest
from django.utils import translation

from accounts.models import Role
from accounts.policy import sees_citizen_identity
from tests.cases import conftest as case_fixtures
from tests.cases.conftest import act, centre, reported
from tests.factories import make_user

taxonomy = case_fixtures.taxonomy


# --- duplicates -------------------------------------------------------------------------------


def test_a_citizens_report_does_not_name_the_cases_nearby_they_may_not_open(
    client, people, taxonomy
):
    staff_case = reported(client, people.inspector_a, people.grid_a, taxonomy.event)["number"]

    answer = reported(client, people.citizen, people.grid_a, taxonomy.event)

    assert answer["possible_duplicates"] == []
    assert answer["possible_duplicates_hidden"] == 1
    client.force_login(people.citizen)
    assert client.get(f"/api/v1/cases/{staff_case}/").status_code == 404  # as it should be


def test_the_create_answer_and_the_duplicates_endpoint_name_the_same_cases(
    client, people, taxonomy
):
    own = reported(client, people.citizen, people.grid_a, taxonomy.event)["number"]
    reported(client, people.inspector_a, people.grid_a, taxonomy.event)
    lon, lat = centre(people.grid_a)
    client.force_login(people.citizen)
    listed = client.get(
        "/api/v1/cases/duplicates/", {"item": taxonomy.event.code, "lon": lon, "lat": lat}
    )

    again = reported(client, people.citizen, people.grid_a, taxonomy.event)

    assert [c["number"] for c in listed.json()] == [own]
    assert again["possible_duplicates"] == [own]
    assert again["possible_duplicates_hidden"] == 1


def test_the_command_centre_sees_every_duplicate_named(client, people, taxonomy):
    by_citizen = reported(client, people.citizen, people.grid_a, taxonomy.event)["number"]
    by_inspector = reported(client, people.inspector_a, people.grid_a, taxonomy.event)["number"]

    answer = reported(client, people.dispatcher, people.grid_a, taxonomy.event)

    assert answer["possible_duplicates"] == [by_inspector, by_citizen]
    assert answer["possible_duplicates_hidden"] == 0


# --- a citizen on the timeline ----------------------------------------------------------------


@pytest.fixture
def citizens_case(client, people, taxonomy):
    """A case a citizen reported, filed by the command centre."""
    number = reported(client, people.citizen, people.grid_a, taxonomy.event)["number"]
    assert act(client, people.dispatcher, number, "file").status_code == 200
    return number


def actors(client, user, number) -> list:
    client.force_login(user)
    response = client.get(f"/api/v1/cases/{number}/")
    assert response.status_code == 200, response.content
    return [step["actor"] for step in response.json()["timeline"]]


@pytest.mark.parametrize("who", ["inspector_a", "dispatcher", "supervisor", "staff"])
def test_staff_see_a_citizen_on_the_timeline_as_citizen_not_by_user_name(
    client, people, citizens_case, who
):
    viewer = getattr(people, who)
    if who == "staff":  # the department sees it once it is dispatched to them
        dispatch = act(
            client, people.dispatcher, citizens_case, "dispatch", department=people.department.code
        )
        assert dispatch.status_code == 200, dispatch.content

    seen = actors(client, viewer, citizens_case)

    assert seen[0] == "Citizen"
    assert people.citizen.username not in seen
    assert seen[1] == people.dispatcher.username  # staff are named as before


def test_in_zh_hans_a_citizen_is_shown_as_shimin(client, people, citizens_case):
    client.force_login(people.dispatcher)
    with translation.override("zh-hans"):
        response = client.get(f"/api/v1/cases/{citizens_case}/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.json()["timeline"][0]["actor"] == "市民"


def test_the_hotline_administrators_and_the_citizen_themself_see_who_it_was(
    client, people, citizens_case
):
    hotline = make_user("hotline-1", Role.HOTLINE)

    for viewer in (hotline, people.admin, people.citizen):
        assert actors(client, viewer, citizens_case)[0] == people.citizen.username


def test_who_sees_a_citizens_identity_is_one_rule(people):
    hotline = make_user("hotline-2", Role.HOTLINE)
    other_citizen = make_user("citizen-2", Role.CITIZEN)

    assert sees_citizen_identity(hotline) and sees_citizen_identity(people.admin)
    assert sees_citizen_identity(people.citizen, people.citizen)
    assert not sees_citizen_identity(other_citizen, people.citizen)
    for name in ("inspector_a", "dispatcher", "supervisor", "staff"):
        assert not sees_citizen_identity(getattr(people, name), people.citizen)
    assert not sees_citizen_identity(None)
