"""Ingestion of fixes: counts, idempotency whatever the order, shifts opened and extended by
fixes, the idle sweep, the upload API's refusals, gzip, and the live position after commit."""

import gzip
import json
import random
import threading
from dataclasses import replace
from datetime import UTC, timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from accounts.auth import token_issue
from gridcity.coords import wgs84_to_gcj02
from gridcity.geometry import haversine_m
from patrol import services
from patrol.models import Shift, ShiftEnd, ShiftStatus, TrackPoint
from patrol.services import shift_end, shift_start, shifts_close_idle, track_points_ingest
from patrol.tasks import shifts_close_idle_task
from tests.factories import make_people
from tests.patrol.conftest import as_body, upload, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(now, small_city):
    """The shared personas, made at the tests' fixed clock: their grids are held from then."""
    return make_people(small_city)


def stored(inspector=None) -> set[tuple]:
    rows = TrackPoint.objects.all()
    if inspector is not None:
        rows = rows.filter(inspector=inspector)
    return {(p.t, round(p.point.x, 9), round(p.point.y, 9), p.client_id) for p in rows}


def ingest(user, fixes, **kwargs):
    return track_points_ingest(inspector=user, fixes=fixes, **kwargs)


# --- counts and idempotency ----------------------------------------------------------------


def test_a_batch_answers_what_was_accepted_duplicated_and_rejected(people, now):
    fixes = walk(people.grid_a, now - timedelta(minutes=5), 10)
    bad = replace(fixes[0], t=fixes[0].t + 1, lat=95.0, client_id="bad")

    result = ingest(people.inspector_a, [*fixes, fixes[2], bad])

    assert (result.accepted, result.duplicate) == (10, 1)
    assert result.rejected == {"invalid": 1}
    assert result.rejected_points == [(11, "invalid")]
    shift = Shift.objects.get()
    assert result.shifts == [shift.pk]
    assert shift.points_count == 10 == TrackPoint.objects.count()


def test_replaying_a_batch_three_times_shuffled_stores_each_fix_once(people, now):
    fixes = walk(people.grid_a, now - timedelta(minutes=30), 200)
    first = ingest(people.inspector_a, fixes)
    before = stored()

    rng = random.Random(7)
    for _ in range(3):
        shuffled = fixes[:]
        rng.shuffle(shuffled)
        again = ingest(people.inspector_a, shuffled)
        assert (again.accepted, again.duplicate, again.rejected) == (0, 200, {})

    assert first.accepted == 200
    assert stored() == before and len(before) == 200
    assert Shift.objects.get().points_count == 200


def test_batches_out_of_order_store_the_same_track_as_in_order(people, now):
    start = now - timedelta(minutes=50)
    a = walk(people.grid_a, start, 300)
    b = walk(people.grid_b, start, 300)
    batches = lambda fixes: [fixes[i : i + 100] for i in range(0, 300, 100)]  # noqa: E731

    for batch in batches(a):
        ingest(people.inspector_a, batch)
    for batch in reversed(batches(b)):
        ingest(people.inspector_b, batch)

    in_order = Shift.objects.get(inspector=people.inspector_a)
    reversed_ = Shift.objects.get(inspector=people.inspector_b)
    assert {p[0] for p in stored(people.inspector_a)} == {p[0] for p in stored(people.inspector_b)}
    for shift in (in_order, reversed_):
        assert shift.points_count == 300
        assert shift.started_at == shift.first_point_at == start
        assert shift.status == ShiftStatus.OPEN


def test_a_batch_costs_the_same_queries_for_10_or_500_fixes(people, now):
    def queries(user, n):
        fixes = walk(people.grid_a, now - timedelta(minutes=45), n)
        ingest(user, fixes[:1])  # the shift exists: the usual upload continues it
        with CaptureQueriesContext(connection) as captured:
            result = ingest(user, fixes[1:])
        assert result.accepted == n - 1
        return len(captured)

    assert queries(people.inspector_a, 10) == queries(people.inspector_b, 500)


# --- shifts opened, extended and closed by fixes ---------------------------------------------


def test_fixes_with_no_shift_open_one(people, now):
    fixes = walk(people.grid_a, now - timedelta(minutes=5), 10)

    ingest(people.inspector_a, fixes)

    shift = Shift.objects.get()
    assert shift.opened_auto and shift.status == ShiftStatus.OPEN
    assert shift.started_at == shift.first_point_at == now - timedelta(minutes=5)
    assert shift.last_point_at == now - timedelta(minutes=5) + timedelta(seconds=45)


def test_a_gap_longer_than_the_idle_time_starts_another_shift(people, now):
    morning = walk(people.grid_a, now - timedelta(minutes=60), 10)
    later = walk(people.grid_a, now - timedelta(minutes=10), 10, prefix="l")

    ingest(people.inspector_a, [*morning, *later])

    first, second = Shift.objects.order_by("started_at")
    assert (first.status, first.end_reason) == (ShiftStatus.CLOSED, ShiftEnd.IDLE)
    assert first.ended_at == first.last_point_at == now - timedelta(minutes=60, seconds=-45)
    assert second.status == ShiftStatus.OPEN and second.opened_auto
    assert (first.points_count, second.points_count) == (10, 10)


def test_a_later_upload_after_a_gap_closes_the_open_shift_and_opens_another(people, now):
    ingest(people.inspector_a, walk(people.grid_a, now - timedelta(minutes=60), 10))

    ingest(people.inspector_a, walk(people.grid_a, now - timedelta(minutes=5), 10, prefix="l"))

    first, second = Shift.objects.order_by("started_at")
    assert (first.status, first.end_reason) == (ShiftStatus.CLOSED, ShiftEnd.IDLE)
    assert first.ended_at == first.last_point_at
    assert second.status == ShiftStatus.OPEN


def test_fixes_of_days_ago_make_a_closed_shift(people, now):
    ingest(people.inspector_a, walk(people.grid_a, now - timedelta(days=2), 10))

    shift = Shift.objects.get()
    assert shift.opened_auto and shift.status == ShiftStatus.CLOSED
    assert (shift.end_reason, shift.ended_at) == (ShiftEnd.IDLE, shift.last_point_at)


def test_old_fixes_before_the_open_shift_make_a_closed_one_and_leave_it_open(people, now):
    ingest(people.inspector_a, walk(people.grid_a, now - timedelta(minutes=5), 5))

    ingest(people.inspector_a, walk(people.grid_a, now - timedelta(hours=3), 5, prefix="o"))

    old, current = Shift.objects.order_by("started_at")
    assert old.status == ShiftStatus.CLOSED and current.status == ShiftStatus.OPEN


def test_fixes_just_before_a_started_shift_move_its_start_back(people, now):
    started = shift_start(inspector=people.inspector_a, client_uuid="0" * 32)
    fixes = walk(people.grid_a, now - timedelta(minutes=10), 180)  # 10:50 to 10:15 after

    result = ingest(people.inspector_a, fixes)

    shift = Shift.objects.get()
    assert shift.pk == started.pk and result.shifts == [shift.pk]
    assert shift.started_at == now - timedelta(minutes=10) and shift.points_count == 180


def test_fixes_after_a_shift_the_inspector_ended_open_a_new_one(people, now, time_machine):
    shift = shift_start(inspector=people.inspector_a, client_uuid="1" * 32)
    ingest(people.inspector_a, walk(people.grid_a, now, 10))
    time_machine.shift(60)
    shift_end(shift=shift, by=people.inspector_a)

    ingest(people.inspector_a, walk(people.grid_a, now + timedelta(minutes=2), 10, prefix="n"))

    ended, new = Shift.objects.order_by("started_at")
    assert ended.pk == shift.pk and ended.end_reason == ShiftEnd.ENDED
    assert new.opened_auto and new.points_count == 10


def test_late_fixes_continue_a_shift_closed_for_idleness_and_redo_its_report(
    people, now, time_machine, django_capture_on_commit_callbacks, monkeypatch
):
    reports = []
    monkeypatch.setattr(services, "_report_schedule", reports.append)
    fixes = walk(people.grid_a, now - timedelta(minutes=10), 120)  # until now
    ingest(people.inspector_a, fixes[:60])
    time_machine.shift(timedelta(minutes=31))
    with django_capture_on_commit_callbacks(execute=True):
        assert shifts_close_idle() == 1
    shift = Shift.objects.get()
    assert shift.ended_at == shift.last_point_at == now - timedelta(minutes=5, seconds=5)

    with django_capture_on_commit_callbacks(execute=True):
        ingest(people.inspector_a, fixes[60:])

    shift.refresh_from_db()
    assert Shift.objects.count() == 1 and shift.points_count == 120
    assert shift.end_reason == ShiftEnd.IDLE
    assert shift.ended_at == shift.last_point_at == now - timedelta(seconds=5)
    assert reports == [shift.pk, shift.pk]  # closed, then given late fixes


def test_a_shift_closed_for_idleness_goes_on_when_its_fixes_come_after_all(
    people, now, time_machine
):
    fixes = walk(people.grid_a, now - timedelta(minutes=45), 540)  # 45 minutes, until now
    ingest(people.inspector_a, fixes[:12])  # one minute, 44 minutes ago: closed at once

    assert Shift.objects.get().status == ShiftStatus.CLOSED

    ingest(people.inspector_a, fixes[12:])  # the buffer of a handheld back online

    shift = Shift.objects.get()
    assert (shift.status, shift.ended_at, shift.end_reason) == (ShiftStatus.OPEN, None, "")
    assert shift.points_count == 540


def test_idle_shifts_close_at_their_last_fix_once(people, now, time_machine):
    ingest(people.inspector_a, walk(people.grid_a, now, 10))
    time_machine.shift(timedelta(minutes=25))
    ingest(people.inspector_b, walk(people.grid_b, now + timedelta(minutes=25), 10))
    time_machine.shift(timedelta(minutes=6))

    assert shifts_close_idle_task() == 1
    assert shifts_close_idle() == 0

    shift = Shift.objects.get(inspector=people.inspector_a)
    assert (shift.status, shift.end_reason) == (ShiftStatus.CLOSED, ShiftEnd.IDLE)
    assert shift.ended_at == now + timedelta(seconds=45)
    assert Shift.objects.get(inspector=people.inspector_b).status == ShiftStatus.OPEN


def test_a_started_shift_without_fixes_closes_after_the_long_silence_at_its_start(
    people, now, time_machine, settings
):
    shift = shift_start(inspector=people.inspector_a, client_uuid="2" * 32)
    time_machine.shift(timedelta(minutes=settings.GRIDCITY_PATROL_IDLE_MINUTES + 1))
    assert shifts_close_idle() == 0  # the inspector started it: the idle time does not end it
    time_machine.shift(timedelta(minutes=settings.GRIDCITY_PATROL_SHIFT_SILENCE_MINUTES))

    assert shifts_close_idle() == 1

    shift.refresh_from_db()
    assert (shift.end_reason, shift.ended_at) == (ShiftEnd.IDLE, now)
    assert shift.ended_at == shift.started_at


# --- what each fix carries ------------------------------------------------------------------------


def stored_flags() -> list[tuple]:
    return list(
        TrackPoint.objects.order_by("t").values_list("client_id", "segment_start", "battery")
    )


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (56.99999999999999, 57),  # OwnTracks' batt as a fraction × 100, as one handheld sent it
        (80.5, 81),
        (0.2, 0),
        (100.4, 100),
        (-1.0, None),  # Android's "unknown"
        (255.0, None),
        (None, None),
    ],
)
def test_the_battery_is_stored_as_a_whole_percent(client, people, now, sent, kept):
    fix = replace(walk(people.grid_a, now - timedelta(minutes=1), 1)[0], battery=sent)

    response = upload(client, people.inspector_a, as_body([fix]))

    assert response.status_code == 200 and response.json()["accepted"] == 1
    assert TrackPoint.objects.get().battery == kept


def test_a_fix_starting_a_segment_is_stored_so(people, now):
    fixes = walk(people.grid_a, now - timedelta(minutes=5), 6)
    fixes[3] = replace(fixes[3], segment_start=True)

    ingest(people.inspector_a, fixes)

    assert [flag for _id, flag, _b in stored_flags()] == [False] * 3 + [True] + [False] * 2


def test_a_break_before_a_refused_fix_passes_to_the_next_fix_kept(people, now):
    fixes = walk(people.grid_a, now - timedelta(minutes=5), 6)
    # The new segment's first fix is too inaccurate to keep: the break is still before f4.
    fixes[3] = replace(fixes[3], segment_start=True, accuracy=500.0)

    result = ingest(people.inspector_a, fixes)

    assert result.rejected == {"accuracy": 1}
    assert [(cid, flag) for cid, flag, _b in stored_flags()] == [
        ("f0", False),
        ("f1", False),
        ("f2", False),
        ("f4", True),
        ("f5", False),
    ]


def test_a_fix_timed_by_the_server_is_stored_so(people, now):
    fixes = walk(people.grid_a, now - timedelta(minutes=1), 2)
    fixes[1] = replace(fixes[1], time_from_server=True)

    ingest(people.inspector_a, fixes)

    assert list(TrackPoint.objects.order_by("t").values_list("time_from_server", flat=True)) == [
        False,
        True,
    ]


def test_an_imported_file_breaks_between_its_segments_and_the_report_does_not_join_them(
    people, now
):
    first = walk(people.grid_a, now - timedelta(minutes=20), 24, prefix="a")  # until -18:05
    # From -15:00, 400 m east: another recorded segment of the same file.
    second = [
        replace(f, lon=f.lon + 0.004)
        for f in walk(people.grid_a, now - timedelta(minutes=15), 24, prefix="b")
    ]

    result = services.track_points_import(inspector=people.inspector_a, segments=[first, second])

    assert result.accepted == 48
    assert [flag for _id, flag, _b in stored_flags()] == [False] * 24 + [True] + [False] * 23
    shift = services.shift_report_compute(shift=Shift.objects.get())
    report = shift.report
    assert report["online_s"] == 2 * 23 * 5.0
    assert [(o["cause"], o["seconds"]) for o in report["offline"]] == [("break", 185.0)]
    step = haversine_m(first[0].lon, first[0].lat, first[1].lon, first[1].lat)
    assert report["distance_m"] == pytest.approx(2 * 23 * step, rel=0.01)  # never the 400 m
    assert report["anomaly_counts"]["jump"] == 0


# --- coordinates -------------------------------------------------------------------------------


def test_gcj02_fixes_are_stored_in_wgs84(client, people, now):
    fixes = walk(people.grid_a, now - timedelta(minutes=1), 3)
    shifted = [replace(f, lon=x, lat=y) for f in fixes for x, y in [wgs84_to_gcj02(f.lon, f.lat)]]

    response = upload(client, people.inspector_a, as_body(shifted, crs="gcj02"))

    assert response.status_code == 200 and response.json()["accepted"] == 3
    point = TrackPoint.objects.order_by("t").first().point
    assert point.x == pytest.approx(fixes[0].lon, abs=1e-9)
    assert point.y == pytest.approx(fixes[0].lat, abs=1e-9)


def test_a_bd09_zero_fix_is_still_a_zero_fix(people, now):
    zero = replace(walk(people.grid_a, now, 1)[0], lon=0.0, lat=0.0)

    assert ingest(people.inspector_a, [zero], crs="bd09").rejected == {"zero": 1}


# --- the upload API ----------------------------------------------------------------------------


def test_the_upload_answers_with_counts_and_the_reason_of_each_rejected_point(client, people, now):
    body = as_body(walk(people.grid_a, now - timedelta(minutes=1), 5))
    body["points"].append({"t": "2026-11-24T09:59:00+08:00", "lon": 0, "lat": 0})
    body["points"].append(dict(body["points"][0]))

    response = upload(client, people.inspector_a, body)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "accepted": 5,
        "duplicate": 1,
        "rejected": {"zero": 1},
        "rejected_points": [{"index": 5, "reason": "zero"}],
        "shifts": [Shift.objects.get().pk],
    }


def test_iso_times_with_an_offset_and_epoch_milliseconds_are_the_same_time(client, people, now):
    at = now - timedelta(minutes=1)
    lon, lat = walk(people.grid_a, now, 1)[0].lon, walk(people.grid_a, now, 1)[0].lat
    body = {
        "points": [
            {"t": at.isoformat(), "lon": lon, "lat": lat},
            {"t": round(at.timestamp() * 1000), "lon": lon, "lat": lat},
            {"t": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "lon": lon, "lat": lat},
        ]
    }

    response = upload(client, people.inspector_a, body)

    assert response.json()["accepted"] == 1 and response.json()["duplicate"] == 2
    assert TrackPoint.objects.get().t == at


def point(**change):
    return {"id": "x", "t": 1795000000000, "lon": 100.0017, "lat": 30.0017, **change}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"{not json", "detail"),
        ([point()], "non_field_errors"),
        ({"points": {"t": 1}}, "points"),
        ({"crs": "epsg3857", "points": [point()]}, "crs"),
        ({"points": [point(), point(), point(), {"lon": 100.0, "lat": 30.0}]}, "points[3].t"),
        ({"points": [point(), point(lat=None)]}, "points[1].lat"),
        ({"points": [point(lon="100.0017")]}, "points[0].lon"),
        ({"points": [point(t="yesterday")]}, "points[0].t"),
        ({"points": [point(t="2026-11-24T10:00:00")]}, "points[0].t"),
        ({"points": [point(acc="8")]}, "points[0].acc"),
        ({"points": [point(lat=True)]}, "points[0].lat"),
        ({"points": [point(mock="yes")]}, "points[0].mock"),
        ({"points": [point(id="x" * 65)]}, "points[0].id"),
        ({"points": [point(), 5]}, "points[1]"),
    ],
)
def test_a_malformed_batch_is_400_naming_the_field_and_stores_nothing(
    client, people, now, raw, field
):
    body = raw if isinstance(raw, bytes) else json.dumps(raw).encode()

    response = upload(client, people.inspector_a, None, raw=body)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    if field == "detail":
        assert error["code"] == "parse_error"
    else:
        assert field in error["fields"], error
    assert TrackPoint.objects.count() == 0 and Shift.objects.count() == 0


def test_more_points_than_the_limit_is_400(client, people, now, settings):
    settings.GRIDCITY_PATROL_MAX_BATCH = 5
    body = as_body(walk(people.grid_a, now - timedelta(minutes=1), 6))

    response = upload(client, people.inspector_a, body)

    assert response.status_code == 400
    assert "points" in response.json()["error"]["fields"]
    assert TrackPoint.objects.count() == 0


def test_a_gzip_body_is_read(client, people, now):
    body = as_body(walk(people.grid_a, now - timedelta(minutes=5), 50))

    response = upload(client, people.inspector_a, body, compress=True)

    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 50


def test_a_gzip_bomb_is_refused_and_stores_nothing(client, people, now, settings):
    settings.GRIDCITY_PATROL_MAX_BODY_BYTES = 1_000_000
    body = json.dumps(as_body(walk(people.grid_a, now - timedelta(minutes=5), 5))).encode()
    bomb = body[:-2] + b" " * 5_000_000 + body[-2:]  # valid JSON, 5 MB of blanks inside
    client.force_login(people.inspector_a)

    response = client.post(
        "/api/v1/patrol/points/",
        gzip.compress(bomb),
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
    )

    assert len(gzip.compress(bomb)) < 20_000
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert TrackPoint.objects.count() == 0


def test_a_plain_body_over_the_limit_is_refused(client, people, now, settings):
    settings.GRIDCITY_PATROL_MAX_BODY_BYTES = 1000
    body = as_body(walk(people.grid_a, now - timedelta(minutes=5), 50))

    assert upload(client, people.inspector_a, body).status_code == 413


def test_a_broken_gzip_body_is_400_and_another_encoding_415(client, people, now):
    client.force_login(people.inspector_a)
    post = lambda data, encoding: client.post(  # noqa: E731
        "/api/v1/patrol/points/",
        data,
        content_type="application/json",
        HTTP_CONTENT_ENCODING=encoding,
    )

    assert post(b"not gzip at all", "gzip").status_code == 400
    assert post(gzip.compress(b'{"points": []}')[:-10], "gzip").status_code == 400
    assert post(b'{"points": []}', "br").status_code == 415


def test_a_handheld_uploads_with_its_token_and_its_device_is_on_the_shift(people, now):
    from rest_framework.test import APIClient

    issued = token_issue(user=people.inspector_a, device_id="pda-7")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issued.token}")

    response = api.post(
        "/api/v1/patrol/points/",
        as_body(walk(people.grid_a, now - timedelta(minutes=1), 3)),
        format="json",
    )

    assert response.status_code == 200
    assert Shift.objects.get().device == issued.device


def test_only_inspectors_upload(client, people, now):
    body = as_body(walk(people.grid_a, now - timedelta(minutes=1), 3))

    for user in (people.supervisor, people.admin, people.citizen):
        assert upload(client, user, body).status_code == 403
    assert TrackPoint.objects.count() == 0


# --- the live map ------------------------------------------------------------------------------


def test_the_newest_fix_goes_to_the_live_map_after_commit(
    people, now, monkeypatch, django_capture_on_commit_callbacks
):
    from patrol import live

    sent = []
    monkeypatch.setattr(live, "positions_publish", sent.append)
    fixes = walk(people.grid_a, now - timedelta(minutes=10), 10)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ingest(people.inspector_a, fixes[5:])
    assert sent == []
    for callback in callbacks:
        callback()
    with django_capture_on_commit_callbacks(execute=True):
        ingest(people.inspector_a, fixes[:5])  # older than what is stored: not news

    [[position]] = sent
    street_a = people.grid_a.community.street
    assert position == {
        "inspector_id": people.inspector_a.pk,
        "username": "inspector-a",
        "name": "inspector-a",
        "lon": fixes[-1].lon,
        "lat": fixes[-1].lat,
        "t": "2026-11-24T01:50:45Z",
        "speed": 0.4,
        "battery": 80.0,
        "accuracy": 8.0,
        "grid_ids": [people.grid_a.pk],
        "street_ids": [street_a.pk],
    }


def test_a_failing_live_map_does_not_fail_the_upload(
    client, people, now, monkeypatch, django_capture_on_commit_callbacks
):
    from patrol import live

    def down(latest):
        raise ConnectionError("channel layer down")

    monkeypatch.setattr(live, "positions_publish", down)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, people.inspector_a, as_body(walk(people.grid_a, now, 3)))

    assert response.status_code == 200 and TrackPoint.objects.count() == 3


# --- two uploads at once (PostgreSQL: SQLite has one writer anyway) -------------------------------


@pytest.mark.postgis
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_the_same_batch_uploaded_twice_at_once_is_stored_once(people, now):
    fixes = walk(people.grid_a, now - timedelta(minutes=30), 300)
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait(timeout=30)
            results.append(ingest(people.inspector_a, fixes))
        except BaseException as exc:
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(r.accepted for r in results) == [0, 300]
    assert sorted(r.duplicate for r in results) == [0, 300]
    assert Shift.objects.get().points_count == 300 == TrackPoint.objects.count()
