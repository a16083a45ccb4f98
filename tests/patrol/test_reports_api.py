"""A shift's report over the API (served from storage, computed when missing or stale, live
while on patrol) and the supervisors' summary of a day: every inspector of their street
against their grids' requirements."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from accounts.services import grid_assign
from gridcity.models import Checkpoint
from patrol.models import PatrolRequirement, Shift, ShiftStatus
from patrol.services import shift_end, shift_report_compute, track_points_ingest
from tests.factories import make_people, make_user
from tests.patrol.conftest import walk
from tests.patrol.routes import route

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(now, small_city):
    """The shared personas, made at the tests' fixed clock: their grids are held from then."""
    people = make_people(small_city)
    # Held since the day before, so that the morning's patrols lie inside the assignments.
    from accounts.models import GridAssignment

    GridAssignment.objects.update(valid_from=now - timedelta(days=1))
    return people


@pytest.fixture
def checkpoints(people):
    """Grid A's own checkpoint at its centre (5 minutes) and a second one 120 m north-east
    (3 minutes)."""
    centre = Checkpoint.objects.get(grid=people.grid_a)
    x, y = centre.point.x, centre.point.y
    second = Checkpoint.objects.create(
        code=f"{people.grid_a.code}002",
        name="菜市场",
        grid=people.grid_a,
        point=Point(x + 0.00083, y + 0.00083, srid=4326),
        min_dwell_minutes=3,
    )
    return centre, second


def patrol(people, checkpoints, start, *, end=True) -> Shift:
    """Inspector A: 6 minutes at the centre checkpoint, then the market twice for a minute or
    less, back at the centre between: two laps, the centre met, the market visited twice and
    never long enough."""
    centre, market = checkpoints
    c, m = (centre.point.x, centre.point.y), (market.point.x, market.point.y)
    fixes = route(start, [(*c, 360), (*m, 60), (*c, 30), (*m, 30), (*c, 0)])
    [shift_id] = track_points_ingest(inspector=people.inspector_a, fixes=fixes).shifts
    shift = Shift.objects.get(pk=shift_id)
    if end:
        shift = shift_end(shift=shift, by=people.inspector_a)
    return shift


def report_of(client, user, shift_id):
    client.force_login(user)
    return client.get(f"/api/v1/patrol/shifts/{shift_id}/report/")


def summary(client, user, **query):
    client.force_login(user)
    return client.get("/api/v1/patrol/inspectors/", {"date": "2026-11-24", **query})


def rows_by_username(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content
    return {row["inspector"]["username"]: row for row in response.json()["results"]}


# --- the report of one shift ---------------------------------------------------------------


def test_the_report_counts_the_visits_laps_and_dwell_of_a_patrol(client, people, checkpoints, now):
    shift = patrol(people, checkpoints, now - timedelta(hours=2))
    centre, market = checkpoints

    response = report_of(client, people.supervisor, shift.pk)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["shift"] == {
        "id": shift.pk,
        "inspector": {
            "id": people.inspector_a.pk,
            "username": "inspector-a",
            "name": "inspector-a",
        },
        "started_at": "2026-11-24T08:00:00+08:00",
        "ended_at": body["shift"]["ended_at"],
        "status": "closed",
        "points_count": shift.points_count,
    }
    assert body["grids"] == [{"code": people.grid_a.code, "name": people.grid_a.name}]
    assert [c["code"] for c in body["checkpoints"]] == [centre.code, market.code]
    assert body["checkpoints"][1]["min_dwell_s"] == 180
    assert body["checkpoints"][0]["radius_m"] == 30
    report = body["report"]
    assert report["laps"] == 2 and len(report["lap_ends"]) == 2
    visits = {c["code"]: c for c in report["checkpoints"]}
    assert (visits[centre.code]["visits"], visits[centre.code]["met"]) == (3, True)
    assert (visits[market.code]["visits"], visits[market.code]["met"]) == (2, False)
    assert report["checkpoints_visited"] == 2 and report["checkpoints_met"] == 1
    assert visits[centre.code]["dwell_s"] >= 360
    # Times are epoch seconds: the first fix at 08:00 in Shanghai.
    assert report["started"] == (now - timedelta(hours=2)).timestamp()
    assert [s["dwell_s"] >= 360 for s in report["stops"]][:1] == [True]
    assert body["fresh"] is True and body["live"] is False
    shift.refresh_from_db()
    assert shift.report == report and shift.report_points == shift.points_count


def _haversine_m(lon1, lat1, lon2, lat2) -> float:
    """Independent of the analysis: the great-circle distance on a sphere of the mean radius."""
    import math

    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * r * math.asin(math.sqrt(a))


def _visits_by_hand(fixes, checkpoint, radius_m=30.0, merge_s=30.0) -> list[tuple[float, float]]:
    """(enter, leave) of each run of fixes within the radius, runs at most merge_s apart
    joined: what a supervisor would count on a printed track."""
    runs: list[list[float]] = []
    for f in fixes:
        if _haversine_m(f.lon, f.lat, checkpoint.point.x, checkpoint.point.y) <= radius_m:
            if runs and f.t - runs[-1][1] <= merge_s:
                runs[-1][1] = f.t
            else:
                runs.append([f.t, f.t])
    return [(a, b) for a, b in runs]


def test_a_shuffled_thrice_replayed_upload_gives_the_identical_report(
    client, people, checkpoints, now
):
    import random

    from patrol.models import TrackPoint
    from tests.patrol.conftest import as_body, upload

    centre, market = checkpoints
    c, m = (centre.point.x, centre.point.y), (market.point.x, market.point.y)
    fixes = route(now - timedelta(hours=2), [(*c, 360), (*m, 60), (*c, 30), (*m, 30), (*c, 0)])

    def uploaded_and_reported(batches) -> dict:
        for batch in batches:
            response = upload(client, people.inspector_a, as_body(batch))
            assert response.status_code == 200, response.content
        shift = Shift.objects.get(inspector=people.inspector_a)
        shift = shift_end(shift=shift, by=people.inspector_a)
        return shift_report_compute(shift=shift).report

    in_order = uploaded_and_reported([fixes[i : i + 100] for i in range(0, len(fixes), 100)])
    TrackPoint.objects.all().delete()
    Shift.objects.all().delete()

    rng = random.Random(5)
    replays = []
    for _ in range(3):
        shuffled = fixes[:]
        rng.shuffle(shuffled)
        replays += [shuffled[i : i + 37] for i in range(0, len(shuffled), 37)]
    rng.shuffle(replays)
    replayed = uploaded_and_reported(replays)

    assert TrackPoint.objects.count() == len(fixes)
    assert TrackPoint.objects.values("t").distinct().count() == len(fixes)
    assert replayed == in_order
    # Exactly the visits and dwell a hand count of the fixes gives, to the second; two laps.
    for checkpoint in (centre, market):
        got = [(v["enter"], v["leave"]) for v in replayed["visits"] if v["code"] == checkpoint.code]
        assert got == _visits_by_hand(fixes, checkpoint)
    assert replayed["laps"] == 2


def test_a_fresh_stored_report_is_served_as_stored(client, people, checkpoints, now):
    shift = patrol(people, checkpoints, now - timedelta(hours=2))
    Shift.objects.filter(pk=shift.pk).update(
        report={"laps": 7}, report_at=now - timedelta(minutes=5), report_points=shift.points_count
    )

    body = report_of(client, people.supervisor, shift.pk).json()

    assert body["report"] == {"laps": 7}
    assert body["computed_at"] == "2026-11-24T09:55:00+08:00"
    assert body["fresh"] is True


def test_a_stale_report_is_computed_again_and_stored(client, people, checkpoints, now):
    shift = patrol(people, checkpoints, now - timedelta(hours=2))
    Shift.objects.filter(pk=shift.pk).update(
        report={"laps": 7}, report_at=now - timedelta(hours=1), report_points=3
    )

    body = report_of(client, people.supervisor, shift.pk).json()

    assert body["report"]["laps"] == 2
    assert body["computed_at"] == "2026-11-24T10:00:00+08:00" and body["fresh"] is True
    shift.refresh_from_db()
    assert shift.report["laps"] == 2 and shift.report_points == shift.points_count
    # Computed once: asked again, it is served from storage.
    client.force_login(people.supervisor)
    with CaptureQueriesContext(connection) as again:
        assert client.get(f"/api/v1/patrol/shifts/{shift.pk}/report/").json()["report"] == (
            shift.report
        )
    assert not [q["sql"] for q in again.captured_queries if "UPDATE" in q["sql"]]


def test_an_open_shift_is_computed_live_and_not_stored(client, people, checkpoints, now):
    shift = patrol(people, checkpoints, now - timedelta(minutes=20), end=False)
    assert shift.status == ShiftStatus.OPEN

    body = report_of(client, people.supervisor, shift.pk).json()

    assert body["live"] is True and body["fresh"] is True
    assert body["report"]["laps"] == 2
    assert body["report"]["points"] == shift.points_count
    shift.refresh_from_db()
    assert shift.report is None and shift.report_at is None


@pytest.mark.parametrize("persona", ["inspector_b", "other_supervisor", "dispatcher", "citizen"])
def test_a_report_is_404_to_whoever_may_not_see_the_shift(
    client, people, checkpoints, now, persona
):
    shift = patrol(people, checkpoints, now - timedelta(hours=2))

    assert report_of(client, getattr(people, persona), shift.pk).status_code == 404
    shift.refresh_from_db()
    assert shift.report is None  # nothing computed for them


def test_the_inspector_and_an_administrator_read_the_report(client, people, checkpoints, now):
    shift = patrol(people, checkpoints, now - timedelta(hours=2))

    assert report_of(client, people.inspector_a, shift.pk).status_code == 200
    assert report_of(client, people.admin, shift.pk).status_code == 200


# --- the supervisors' summary ----------------------------------------------------------------


@pytest.fixture
def inspector_c(people, now):
    """A third inspector, of another grid of street A, who does not patrol."""
    from accounts.models import GridAssignment

    grid = people.grid_a.community.grids.exclude(pk=people.grid_a.pk).order_by("code").first()
    user = make_user("inspector-c", Role.INSPECTOR)
    user.first_name, user.last_name = "三", "张"
    user.save()
    grid_assign(grid=grid, inspector=user)
    GridAssignment.objects.filter(inspector=user).update(valid_from=now - timedelta(days=1))
    return user


def test_the_summary_has_a_row_for_every_inspector_of_the_street_even_without_a_shift(
    client, people, checkpoints, inspector_c, now
):
    shift = patrol(people, checkpoints, now - timedelta(hours=2))
    shift_report_compute(shift=shift)

    rows = rows_by_username(summary(client, people.supervisor))

    assert sorted(rows) == ["inspector-a", "inspector-c"]  # not B, of another street
    a, c = rows["inspector-a"], rows["inspector-c"]
    assert a["inspector"] == {
        "id": people.inspector_a.pk,
        "username": "inspector-a",
        "name": "inspector-a",
    }
    assert a["grids"] == [people.grid_a.code] and a["shifts"] == [shift.pk]
    assert a["laps"] == 2
    assert (a["checkpoints_visited"], a["checkpoints_met"], a["checkpoints_required"]) == (2, 1, 2)
    assert a["distance_m"] > 400 and 700 < a["online_s"] < 900
    assert 0 < a["coverage"] < 0.5
    assert a["anomalies"] == {"speed": 0, "jump": 0, "frozen": 0, "mock": 0}
    assert a["report_pending"] is False
    assert a["short"] is True
    assert {s["kind"] for s in a["shortfalls"]} == {"checkpoints", "online", "coverage"}
    assert {"kind": "checkpoints", "need": 2, "got": 1} in a["shortfalls"]
    assert {"kind": "online", "need": 360 * 60, "got": a["online_s"]} in a["shortfalls"]
    assert c["inspector"]["name"] == "三 张"
    assert c["shifts"] == [] and c["laps"] == 0 and c["checkpoints_required"] == 1
    assert c["short"] is True
    assert c["shortfalls"] == [{"kind": "no_patrol", "need": 1, "got": 0}]


def test_a_grids_own_requirement_decides_whether_its_inspector_is_short(
    client, people, checkpoints, now
):
    shift_report_compute(shift=patrol(people, checkpoints, now - timedelta(hours=2)))
    assert rows_by_username(summary(client, people.supervisor))["inspector-a"]["short"] is True

    PatrolRequirement.objects.create(
        grid=people.grid_a, online_minutes=10, coverage=0.01, all_checkpoints=False
    )
    a = rows_by_username(summary(client, people.supervisor))["inspector-a"]

    assert a["short"] is False and a["shortfalls"] == []
    assert a["requirement"] == {
        "laps": 2,  # the district's default, not overridden
        "online_minutes": 10,
        "coverage": 0.01,
        "all_checkpoints": False,
    }
    PatrolRequirement.objects.filter(grid=people.grid_a).update(laps_per_day=3)
    a = rows_by_username(summary(client, people.supervisor))["inspector-a"]
    assert a["shortfalls"] == [{"kind": "laps", "need": 3, "got": 2}]


def test_the_district_defaults_come_from_the_settings(client, people, checkpoints, now, settings):
    shift_report_compute(shift=patrol(people, checkpoints, now - timedelta(hours=2)))
    settings.GRIDCITY_PATROL_REQUIRED_LAPS = 1
    settings.GRIDCITY_PATROL_REQUIRED_ONLINE_MINUTES = 5
    settings.GRIDCITY_PATROL_REQUIRED_COVERAGE = 0.0
    settings.GRIDCITY_PATROL_REQUIRE_ALL_CHECKPOINTS = False

    a = rows_by_username(summary(client, people.supervisor))["inspector-a"]

    assert a["short"] is False


def test_a_shift_without_a_report_counts_its_online_time_and_is_pending(
    client, people, checkpoints, now
):
    shift = patrol(people, checkpoints, now - timedelta(minutes=20), end=False)

    a = rows_by_username(summary(client, people.supervisor))["inspector-a"]

    assert a["shifts"] == [shift.pk] and a["report_pending"] is True
    assert a["online_s"] == (shift.last_point_at - shift.first_point_at).total_seconds()
    assert a["laps"] == 0 and a["distance_m"] == 0
    shift.refresh_from_db()
    assert shift.report is None  # the summary computes nothing


def test_the_summary_adds_up_the_shifts_of_the_day_only(client, people, checkpoints, now):
    first = patrol(people, checkpoints, now - timedelta(hours=3))
    second = patrol(people, checkpoints, now - timedelta(hours=2))
    yesterday = patrol(people, checkpoints, now - timedelta(hours=24))
    for shift in (first, second, yesterday):
        shift_report_compute(shift=shift)

    a = rows_by_username(summary(client, people.supervisor))["inspector-a"]
    before = rows_by_username(summary(client, people.supervisor, date="2026-11-23"))

    assert a["shifts"] == [first.pk, second.pk] and a["laps"] == 4
    assert before["inspector-a"]["shifts"] == [yesterday.pk]


def test_the_street_parameter_narrows_to_a_street_community_or_grid(
    client, people, checkpoints, inspector_c, now
):
    street, grid = people.grid_a.code[:9], people.grid_a.code

    assert sorted(rows_by_username(summary(client, people.admin))) == [
        "inspector-a",
        "inspector-b",
        "inspector-c",
    ]
    assert sorted(rows_by_username(summary(client, people.admin, street=street))) == [
        "inspector-a",
        "inspector-c",
    ]
    assert list(rows_by_username(summary(client, people.supervisor, area=grid))) == ["inspector-a"]


def test_an_area_outside_the_supervisors_street_is_403_and_an_unknown_one_404(client, people, now):
    street_b = people.grid_b.code[:9]

    assert summary(client, people.supervisor, street=street_b).status_code == 403
    assert summary(client, people.supervisor, street=people.grid_b.code).status_code == 403
    assert summary(client, people.supervisor, street="999901999").status_code == 404
    assert summary(client, people.supervisor, street="12ab").status_code == 400
    assert summary(client, people.other_supervisor, street=street_b).status_code == 200
    assert summary(client, people.inspector_a, street=street_b).status_code == 403


def test_a_street_granted_by_hand_widens_a_supervisors_summary(client, people, now):
    from guardian.shortcuts import assign_perm

    assign_perm("gridcity.view_street", people.supervisor, people.grid_b.community.street)

    rows = rows_by_username(summary(client, people.supervisor, street=people.grid_b.code[:9]))

    assert list(rows) == ["inspector-b"]


def test_an_inspector_gets_their_own_row_only(client, people, inspector_c, now):
    rows = rows_by_username(summary(client, people.inspector_a))

    assert list(rows) == ["inspector-a"]


@pytest.mark.parametrize("persona", ["dispatcher", "staff", "citizen"])
def test_the_command_centre_departments_and_citizens_get_no_summary(client, people, persona):
    assert summary(client, getattr(people, persona)).status_code == 403


def test_the_summary_costs_the_same_queries_for_2_or_12_inspectors(
    client, people, checkpoints, now
):
    from accounts.models import GridAssignment

    def queries():
        client.force_login(people.admin)
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/patrol/inspectors/", {"date": "2026-11-24"})
        assert response.status_code == 200
        return len(captured), len(response.json()["results"])

    def inspectors(n):
        from gridcity.models import WorkGrid

        street = people.grid_a.code[:9]
        grids = WorkGrid.objects.filter(code__startswith=street).exclude(pk=people.grid_a.pk)
        for i, grid in enumerate(grids.order_by("code")[:n]):
            user = make_user(f"extra-{i}", Role.INSPECTOR)
            grid_assign(grid=grid, inspector=user)
            if i % 2:  # half of them patrol, with a report; the others not at all
                fixes = walk(grid, now - timedelta(hours=1), 30, prefix=f"x{i}")
                [pk] = track_points_ingest(inspector=user, fixes=fixes).shifts
                shift_report_compute(shift=Shift.objects.get(pk=pk))
        GridAssignment.objects.update(valid_from=now - timedelta(days=1))

    patrol(people, checkpoints, now - timedelta(hours=2))
    few = queries()
    inspectors(10)
    PatrolRequirement.objects.create(grid=people.grid_b, laps_per_day=1)
    many = queries()

    assert (few[1], many[1]) == (2, 12)
    assert few[0] == many[0]


def test_an_administrator_sets_a_grids_requirement_in_the_admin(client, people):
    people.admin.is_superuser = True
    people.admin.save()
    client.force_login(people.admin)

    added = client.post(
        "/admin/patrol/patrolrequirement/add/",
        {"grid": people.grid_a.pk, "laps_per_day": 3, "online_minutes": "", "coverage": "0.3"},
    )
    refused = client.post(
        "/admin/patrol/patrolrequirement/add/", {"grid": people.grid_b.pk, "coverage": "1.5"}
    )

    assert added.status_code == 302, added.content[:500]
    requirement = PatrolRequirement.objects.get(grid=people.grid_a)
    assert (requirement.laps_per_day, requirement.online_minutes) == (3, None)
    assert requirement.coverage == 0.3 and requirement.all_checkpoints is None
    assert refused.status_code == 200  # the form again, with its error
    assert not PatrolRequirement.objects.filter(grid=people.grid_b).exists()
    assert client.get("/admin/patrol/patrolrequirement/").status_code == 200
