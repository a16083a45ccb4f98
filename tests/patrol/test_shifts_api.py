"""Shifts over the API: starting and ending idempotently, who sees whose shifts, the list's
filters and cost, a shift's track as GeoJSON, and the report computed when it ends."""

import dataclasses
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import GridAssignment
from accounts.services import grid_assign, grid_unassign
from patrol import services
from patrol.models import Shift, ShiftEnd, ShiftStatus
from patrol.services import shift_end, shift_start, track_points_ingest
from tests.factories import make_people
from tests.patrol.conftest import as_body, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(now, small_city):
    """The shared personas, made at the tests' fixed clock: their grids are held from then."""
    return make_people(small_city)


def start(client, user, client_uuid=None, **body):
    client.force_login(user)
    return client.post(
        "/api/v1/patrol/shifts/",
        {"client_uuid": str(client_uuid or uuid.uuid4()), **body},
        content_type="application/json",
    )


def end(client, user, shift_id, **body):
    client.force_login(user)
    return client.post(
        f"/api/v1/patrol/shifts/{shift_id}/end/", body, content_type="application/json"
    )


def walked_shift(people, inspector, grid, at, n=20) -> Shift:
    [shift_id] = track_points_ingest(inspector=inspector, fixes=walk(grid, at, n)).shifts
    return Shift.objects.get(pk=shift_id)


def listed(client, user, **query) -> list[int]:
    client.force_login(user)
    response = client.get("/api/v1/patrol/shifts/", query)
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- start and end ---------------------------------------------------------------------------


def test_starting_a_shift_twice_with_one_client_uuid_gives_the_same_shift(client, people, now):
    key = uuid.uuid4()

    first = start(client, people.inspector_a, key)
    again = start(client, people.inspector_a, key)

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["status"] == "open" and first.json()["opened_auto"] is False
    assert Shift.objects.count() == 1


def test_another_persons_client_uuid_is_409_and_reveals_nothing(client, people, now):
    key = uuid.uuid4()
    start(client, people.inspector_a, key)

    response = start(client, people.inspector_b, key)

    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "client_uuid_reused",
            "message": "This client_uuid was already used for another shift.",
        }
    }
    assert Shift.objects.count() == 1


def test_starting_a_shift_closes_the_open_one_at_its_last_fix(client, people, now, time_machine):
    earlier = walked_shift(people, people.inspector_a, people.grid_a, now - timedelta(minutes=20))
    time_machine.shift(60)

    response = start(client, people.inspector_a)

    earlier.refresh_from_db()
    assert (earlier.status, earlier.end_reason) == (ShiftStatus.CLOSED, ShiftEnd.NEXT)
    assert earlier.ended_at == earlier.last_point_at
    assert response.status_code == 201 and response.json()["id"] != earlier.pk


def test_a_start_sent_late_takes_over_the_shift_its_fixes_opened(client, people, now):
    opened = walked_shift(people, people.inspector_a, people.grid_a, now - timedelta(minutes=20))

    response = start(client, people.inspector_a, started_at="2026-11-24T09:39:00+08:00")

    opened.refresh_from_db()
    assert response.status_code == 201 and response.json()["id"] == opened.pk
    assert opened.client_uuid is not None and not opened.opened_auto
    assert opened.started_at == now - timedelta(minutes=21)


def test_a_start_in_the_future_is_400(client, people, now):
    response = start(client, people.inspector_a, started_at="2026-11-24T11:00:00+08:00")

    assert response.status_code == 400
    assert "started_at" in response.json()["error"]["fields"]
    assert not Shift.objects.exists()


def test_only_inspectors_start_shifts(client, people, now):
    for user in (people.supervisor, people.dispatcher, people.admin, people.citizen):
        assert start(client, user).status_code == 403
    assert not Shift.objects.exists()


def test_ending_a_shift_twice_ends_it_once(client, people, now, time_machine):
    shift_id = start(client, people.inspector_a).json()["id"]
    time_machine.shift(3600)

    first = end(client, people.inspector_a, shift_id)
    time_machine.shift(600)
    again = end(client, people.inspector_a, shift_id, ended_at="2026-11-24T12:00:00+08:00")

    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == "closed" and first.json()["end_reason"] == "ended"
    assert again.json()["ended_at"] == first.json()["ended_at"] == "2026-11-24T11:00:00+08:00"


def test_a_shift_never_ends_before_its_last_fix(client, people, now):
    shift = walked_shift(people, people.inspector_a, people.grid_a, now - timedelta(minutes=5))

    response = end(client, people.inspector_a, shift.pk, ended_at="2026-11-24T09:50:00+08:00")

    assert response.json()["ended_at"] == "2026-11-24T09:56:35+08:00"


def test_a_shift_is_ended_by_its_inspector_only(client, people, now):
    shift_id = start(client, people.inspector_a).json()["id"]

    assert end(client, people.supervisor, shift_id).status_code == 403
    assert end(client, people.admin, shift_id).status_code == 403
    assert end(client, people.inspector_b, shift_id).status_code == 404
    assert Shift.objects.get().status == ShiftStatus.OPEN


# --- a shift the inspector started: not cut by a gap in the fixes ------------------------------


def upload_walk(client, user, grid, at, n, prefix):
    response = client.post(
        "/api/v1/patrol/points/",
        as_body(walk(grid, at, n, prefix=prefix)),
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["accepted"] == n, response.content
    return response.json()["shifts"]


def test_a_started_shift_is_not_cut_by_a_34_minute_gap_which_is_offline_time_in_its_report(
    client, people, now
):
    # 上岗 at 08:30; 30 minutes of walking; 34 minutes indoors without a fix; 26 more minutes.
    shift_id = start(client, people.inspector_a, started_at="2026-11-24T08:30:00+08:00").json()[
        "id"
    ]
    morning = upload_walk(
        client, people.inspector_a, people.grid_a, now - timedelta(minutes=90), 361, "m"
    )
    assert services.shifts_close_idle() == 0  # 60 minutes after the last fix: still on patrol
    later = upload_walk(
        client, people.inspector_a, people.grid_a, now - timedelta(minutes=26), 313, "l"
    )

    assert morning == later == [shift_id]
    shift = Shift.objects.get()
    assert (shift.status, shift.points_count, shift.opened_auto) == (ShiftStatus.OPEN, 674, False)
    response = end(client, people.inspector_a, shift_id)
    assert response.status_code == 200
    report = client.get(f"/api/v1/patrol/shifts/{shift_id}/report/").json()["report"]
    assert [(o["cause"], o["seconds"]) for o in report["offline"]] == [("gap", 34 * 60.0)]
    assert report["offline_s"] == 34 * 60.0
    assert report["online_s"] == (30 + 26) * 60.0


def test_the_same_fixes_without_a_started_shift_make_two_shifts(client, people, now):
    client.force_login(people.inspector_a)
    morning = upload_walk(
        client, people.inspector_a, people.grid_a, now - timedelta(minutes=90), 361, "m"
    )
    later = upload_walk(
        client, people.inspector_a, people.grid_a, now - timedelta(minutes=26), 313, "l"
    )

    assert morning != later
    first, second = Shift.objects.order_by("started_at")
    assert (first.end_reason, second.status) == (ShiftEnd.IDLE, ShiftStatus.OPEN)


def test_a_started_shift_ends_after_the_long_silence_at_its_last_fix(
    client, people, now, time_machine, settings
):
    shift_id = start(client, people.inspector_a).json()["id"]
    upload_walk(client, people.inspector_a, people.grid_a, now, 1, "a")
    last = now
    time_machine.shift(timedelta(minutes=settings.GRIDCITY_PATROL_SHIFT_SILENCE_MINUTES))
    assert services.shifts_close_idle() == 0
    time_machine.shift(timedelta(minutes=1))

    assert services.shifts_close_idle() == 1

    shift = Shift.objects.get(pk=shift_id)
    assert (shift.status, shift.end_reason, shift.ended_at) == (
        ShiftStatus.CLOSED,
        ShiftEnd.IDLE,
        last,
    )


def test_a_fix_after_the_long_silence_opens_a_shift_of_its_own(
    client, people, now, time_machine, settings
):
    shift_id = start(client, people.inspector_a).json()["id"]
    upload_walk(client, people.inspector_a, people.grid_a, now, 1, "a")
    silence = timedelta(minutes=settings.GRIDCITY_PATROL_SHIFT_SILENCE_MINUTES + 1)
    time_machine.shift(silence)

    [new_id] = upload_walk(client, people.inspector_a, people.grid_a, now + silence, 1, "b")

    started, new = Shift.objects.get(pk=shift_id), Shift.objects.get(pk=new_id)
    assert (started.status, started.end_reason, started.ended_at) == (
        ShiftStatus.CLOSED,
        ShiftEnd.IDLE,
        now,
    )
    assert new.opened_auto and new.status == ShiftStatus.OPEN


def test_a_started_shift_ends_when_it_has_lasted_the_longest_shift(
    client, people, now, time_machine, settings
):
    settings.GRIDCITY_PATROL_SHIFT_MAX_HOURS = 1
    shift_id = start(client, people.inspector_a).json()["id"]
    time_machine.shift(timedelta(minutes=50))
    upload_walk(client, people.inspector_a, people.grid_a, now, 601, "a")  # 10:00 to 10:50
    time_machine.shift(timedelta(minutes=9))
    assert services.shifts_close_idle() == 0
    time_machine.shift(timedelta(minutes=1))

    assert services.shifts_close_idle() == 1

    shift = Shift.objects.get(pk=shift_id)
    assert (shift.status, shift.end_reason) == (ShiftStatus.CLOSED, ShiftEnd.LIMIT)
    assert shift.ended_at == shift.last_point_at == now + timedelta(minutes=50)


def test_fixes_beyond_the_longest_shift_open_another_and_end_the_started_one(
    client, people, now, time_machine, settings
):
    settings.GRIDCITY_PATROL_SHIFT_MAX_HOURS = 1
    shift_id = start(client, people.inspector_a).json()["id"]
    time_machine.shift(timedelta(minutes=70))

    # 10:00 to 11:10 in one upload, every 5 s: the last ten minutes are beyond 11:00.
    shifts = upload_walk(client, people.inspector_a, people.grid_a, now, 841, "a")

    started = Shift.objects.get(pk=shift_id)
    [other] = Shift.objects.exclude(pk=shift_id)
    assert sorted(shifts) == sorted([shift_id, other.pk])
    assert (started.end_reason, started.last_point_at) == (ShiftEnd.LIMIT, now + timedelta(hours=1))
    assert started.points_count == 721 and other.points_count == 120
    assert other.opened_auto and other.status == ShiftStatus.OPEN


def test_ending_a_shift_computes_its_report_after_commit(
    client, people, now, django_capture_on_commit_callbacks
):
    half_an_hour_ago = now - timedelta(minutes=30)
    shift = walked_shift(people, people.inspector_a, people.grid_a, half_an_hour_ago, 300)

    with django_capture_on_commit_callbacks(execute=True):
        response = end(client, people.inspector_a, shift.pk)

    assert response.status_code == 200
    shift.refresh_from_db()
    assert shift.report is not None and shift.report_points == 300
    assert shift.report_at == now
    client.force_login(people.supervisor)
    detail = client.get(f"/api/v1/patrol/shifts/{shift.pk}/").json()
    assert detail["report"] == shift.report


def test_the_report_is_made_against_the_checkpoints_and_grids_held_during_the_shift(
    people, now, monkeypatch
):
    from shapely.geometry import Point as ShapelyPoint

    seen = {}

    class Report:
        def to_dict(self):
            return {"distance_m": 1.0}

    def analyse(t, lon, lat, **kwargs):
        seen.update(t=t, lon=lon, kwargs=kwargs)
        return Report()

    monkeypatch.setattr(services, "analyse_track", analyse)
    grid_a2 = people.grid_a.community.grids.exclude(pk=people.grid_a.pk).order_by("code").first()
    grid_assign(grid=grid_a2, inspector=people.inspector_a, kind="backup")
    shift = walked_shift(people, people.inspector_a, people.grid_a, now - timedelta(minutes=10))

    computed = services.shift_report_compute(shift=shift)

    assert computed.report == {"distance_m": 1.0} and computed.report_points == 20
    assert list(seen["t"]) == sorted(seen["t"]) and len(seen["lon"]) == 20
    codes = {c.code for c in seen["kwargs"]["checkpoints"]}
    assert codes == {f"{people.grid_a.code}001", f"{grid_a2.code}001"}
    assert seen["kwargs"]["checkpoints"][0].min_dwell_s == 300
    area = seen["kwargs"]["grids"]
    assert area.contains(ShapelyPoint(*people.grid_a.geom.point_on_surface.coords))
    assert not area.contains(ShapelyPoint(*people.grid_b.geom.point_on_surface.coords))


def test_the_nightly_run_redoes_missing_and_stale_reports_of_yesterday(
    people, now, time_machine, monkeypatch
):
    from patrol.tasks import shift_reports_nightly_task

    done = []
    monkeypatch.setattr(
        services, "shift_report_compute", lambda *, shift: done.append(shift.pk) or shift
    )
    missing = walked_shift(people, people.inspector_a, people.grid_a, now - timedelta(hours=5))
    fresh = walked_shift(people, people.inspector_b, people.grid_b, now - timedelta(hours=5))
    Shift.objects.filter(pk=fresh.pk).update(report={}, report_at=now, report_points=20)
    time_machine.move_to(now + timedelta(days=1), tick=False)

    assert shift_reports_nightly_task() == 1
    assert done == [missing.pk]


# --- who sees whose shifts -------------------------------------------------------------------


@pytest.fixture
def two_shifts(people, now):
    a = walked_shift(people, people.inspector_a, people.grid_a, now - timedelta(minutes=10))
    b = walked_shift(people, people.inspector_b, people.grid_b, now - timedelta(minutes=10))
    return a, b


def test_an_inspector_sees_their_own_shifts_only(client, people, two_shifts):
    a, b = two_shifts

    assert listed(client, people.inspector_a) == [a.pk]
    assert client.get(f"/api/v1/patrol/shifts/{b.pk}/").status_code == 404
    assert client.get(f"/api/v1/patrol/shifts/{b.pk}/points/").status_code == 404


def test_a_supervisor_sees_the_shifts_of_their_streets_inspectors(client, people, two_shifts):
    a, b = two_shifts

    assert listed(client, people.supervisor) == [a.pk]
    assert client.get(f"/api/v1/patrol/shifts/{a.pk}/").status_code == 200
    assert client.get(f"/api/v1/patrol/shifts/{b.pk}/").status_code == 404
    assert listed(client, people.other_supervisor) == [b.pk]
    assert client.get(f"/api/v1/patrol/shifts/{a.pk}/").status_code == 404


@pytest.mark.parametrize("persona", ["dispatcher", "staff", "citizen"])
def test_the_command_centre_departments_and_citizens_see_no_track(
    client, people, two_shifts, persona
):
    a, _b = two_shifts

    assert listed(client, getattr(people, persona)) == []
    assert client.get(f"/api/v1/patrol/shifts/{a.pk}/").status_code == 404
    assert client.get(f"/api/v1/patrol/shifts/{a.pk}/points/").status_code == 404


def test_an_administrator_sees_every_shift(client, people, two_shifts):
    assert sorted(listed(client, people.admin)) == sorted(s.pk for s in two_shifts)


def test_a_supervisor_sees_what_an_inspector_walked_in_their_street_not_before(
    client, people, now, time_machine
):
    GridAssignment.objects.update(valid_from=now - timedelta(days=3))
    yesterday = walked_shift(people, people.inspector_b, people.grid_b, now - timedelta(days=1))
    time_machine.shift(60)
    grid_unassign(grid=people.grid_b)
    grid_a2 = people.grid_a.community.grids.exclude(pk=people.grid_a.pk).order_by("code").first()
    grid_assign(grid=grid_a2, inspector=people.inspector_b)
    time_machine.shift(60)
    today = walked_shift(people, people.inspector_b, grid_a2, now + timedelta(minutes=2))

    assert listed(client, people.supervisor) == [today.pk]
    assert listed(client, people.other_supervisor) == [yesterday.pk]


def test_the_shift_list_costs_the_same_queries_for_2_or_12_shifts(client, people, now):
    def queries():
        client.force_login(people.supervisor)
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/patrol/shifts/")
        assert response.status_code == 200
        return len(captured), len(response.json()["results"])

    def shifts(n, offset):
        for i in range(n):
            key = uuid.UUID(int=offset + i)
            shift = shift_start(inspector=people.inspector_a, client_uuid=key)
            shift_end(shift=shift, by=people.inspector_a)

    shifts(2, 0)
    few = queries()
    shifts(10, 100)
    many = queries()

    assert (few[1], many[1]) == (2, 12)
    assert few[0] == many[0]


def test_the_list_filters_by_inspector_day_and_street(client, people, now):
    a = walked_shift(people, people.inspector_a, people.grid_a, now - timedelta(minutes=10))
    b = walked_shift(people, people.inspector_b, people.grid_b, now - timedelta(minutes=10))
    old = walked_shift(people, people.inspector_a, people.grid_a, now - timedelta(days=2))
    street_a, street_b = people.grid_a.code[:9], people.grid_b.code[:9]
    admin = people.admin

    assert sorted(listed(client, admin, inspector=people.inspector_a.pk)) == sorted([a.pk, old.pk])
    assert listed(client, admin, date="2026-11-22") == [old.pk]
    assert sorted(listed(client, admin, date="2026-11-24")) == sorted([a.pk, b.pk])
    assert listed(client, admin, street=street_b) == [b.pk]
    assert listed(client, admin, street=street_a, date="2026-11-24") == [a.pk]
    assert sorted(listed(client, admin, status="open")) == sorted([a.pk, b.pk])


# --- the track ---------------------------------------------------------------------------------


def test_a_shifts_track_is_a_linestring_of_its_fixes_in_time_order(client, people, now):
    fixes = walk(people.grid_a, now - timedelta(minutes=10), 30)
    track_points_ingest(inspector=people.inspector_a, fixes=fixes[15:])
    track_points_ingest(inspector=people.inspector_a, fixes=fixes[:15])
    shift = Shift.objects.get()
    client.force_login(people.supervisor)

    plain = client.get(f"/api/v1/patrol/shifts/{shift.pk}/points/").json()
    with_points = client.get(f"/api/v1/patrol/shifts/{shift.pk}/points/?points=1").json()

    [line] = plain["features"]
    assert plain["type"] == "FeatureCollection"
    assert line["geometry"]["type"] == "LineString"
    assert line["geometry"]["coordinates"] == [[f.lon, f.lat] for f in fixes]
    assert line["properties"]["points"] == 30
    first = with_points["features"][1]
    assert len(with_points["features"]) == 31
    assert first["geometry"]["coordinates"] == [fixes[0].lon, fixes[0].lat]
    assert first["properties"] == {
        "t": "2026-11-24T01:50:00.000Z",
        "accuracy": 8.0,
        "speed": 0.4,
        "heading": None,
        "altitude": None,
        "battery": 80,
        "mock": False,
        "segment_start": False,
    }
    assert isinstance(first["properties"]["battery"], int)


def test_a_fix_after_a_recorded_break_says_so_in_the_track(client, people, now):
    """The audit page draws no line across a GPX segment boundary: the fix says where."""
    fixes = walk(people.grid_a, now - timedelta(minutes=10), 10)
    fixes[6] = dataclasses.replace(fixes[6], segment_start=True)
    track_points_ingest(inspector=people.inspector_a, fixes=fixes)
    shift = Shift.objects.get()
    client.force_login(people.supervisor)

    points = client.get(f"/api/v1/patrol/shifts/{shift.pk}/points/?points=1").json()["features"]

    assert [p["properties"]["segment_start"] for p in points[1:]] == [i == 6 for i in range(10)]


def test_the_track_costs_the_same_queries_for_few_or_many_fixes(client, people, now):
    small = walked_shift(people, people.inspector_a, people.grid_a, now - timedelta(minutes=1), 3)
    large = walked_shift(people, people.inspector_b, people.grid_b, now - timedelta(hours=1), 500)
    client.force_login(people.admin)

    def queries(shift):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/api/v1/patrol/shifts/{shift.pk}/points/?points=1")
        assert len(response.json()["features"]) == shift.points_count + 1
        return len(captured)

    assert queries(small) == queries(large)


def test_a_shift_without_fixes_has_a_track_without_geometry(client, people, now):
    shift_id = start(client, people.inspector_a).json()["id"]

    response = client.get(f"/api/v1/patrol/shifts/{shift_id}/points/")

    [line] = response.json()["features"]
    assert line["geometry"] is None and line["properties"]["points"] == 0


# --- trackers and the admin --------------------------------------------------------------------


def test_a_tracker_names_its_inspector_until_it_is_revoked(people):
    from patrol.models import Tracker
    from patrol.selectors import tracker_active
    from patrol.services import tracker_revoke

    tracker = Tracker.objects.create(
        kind=Tracker.Kind.OSMAND, identifier="868123456789012", inspector=people.inspector_a
    )

    assert tracker_active("osmand", "868123456789012").inspector == people.inspector_a
    assert tracker_active("owntracks", "868123456789012") is None
    tracker_revoke(tracker=tracker)
    assert tracker_active("osmand", "868123456789012") is None
    assert tracker_revoke(tracker=tracker).revoked_at == tracker.revoked_at  # idempotent


def test_the_admin_reads_shifts_and_registers_and_revokes_trackers(client, people, now):
    from patrol.models import Tracker

    people.admin.is_superuser = True
    people.admin.save()
    shift = walked_shift(people, people.inspector_a, people.grid_a, now - timedelta(minutes=5))
    client.force_login(people.admin)

    assert client.get("/admin/patrol/shift/").status_code == 200
    page = client.get(f"/admin/patrol/shift/{shift.pk}/change/")
    assert page.status_code == 200 and b"inspector-a" in page.content
    assert client.get("/admin/patrol/shift/add/").status_code == 403
    assert client.get("/admin/patrol/trackpoint/").status_code == 404

    added = client.post(
        "/admin/patrol/tracker/add/",
        {
            "kind": "owntracks",
            "identifier": "zhang.san/phone-7f3a",
            "inspector": people.inspector_a.pk,
        },
    )
    assert added.status_code == 302, added.content[:500]
    tracker = Tracker.objects.get(identifier="zhang.san/phone-7f3a")
    client.post(
        "/admin/patrol/tracker/",
        {"action": "revoke", "_selected_action": [tracker.pk]},
    )
    tracker.refresh_from_db()
    assert tracker.revoked_at is not None
