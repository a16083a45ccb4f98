"""The live positions websocket: who may watch which street, batching, snapshots, failures.

With REDIS_URL set these run on channels-redis and the Redis cache (a fresh key prefix per
test), otherwise on the in-memory layer and local-memory cache.
"""

import asyncio
import uuid
from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from accounts.auth import token_issue
from accounts.models import Role, User
from accounts.services import user_set_active
from gridcity.asgi import application
from patrol import live
from patrol.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from patrol.live import positions_latest, positions_publish, street_group
from tests.ws import ORIGIN, WebsocketCommunicator, run, session_headers

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/ws/patrol/"
INTERVAL_S = 0.4  # the batching window in these tests; publishes within one take milliseconds
T0 = timezone.now().replace(microsecond=0)


@pytest.fixture(autouse=True)
def _live_settings(settings):
    # A fresh layer per test (channels drops its backends when the setting changes): Redis
    # when REDIS_URL is set, under a prefix of its own, else in memory.
    if settings.REDIS_URL:
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": f"t{uuid.uuid4().hex[:8]}"},
            }
        }
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.GRIDCITY_PATROL_LIVE_INTERVAL_S = INTERVAL_S


def street_a(people):
    return people.grid_a.community.street


def street_b(people):
    return people.grid_b.community.street


def fix(inspector, street, *, seconds=0, lon=100.005, lat=30.005, grid=None) -> dict:
    """What ingestion hands to positions_publish for one inspector's newest fix."""
    return {
        "inspector_id": inspector.pk,
        "username": inspector.username,
        "name": inspector.get_full_name() or inspector.username,
        "lon": lon,
        "lat": lat,
        "t": (T0 + timedelta(seconds=seconds)).isoformat(),
        "speed": 1.2,
        "battery": 80.0,
        "accuracy": 5.0,
        "street_ids": [street.pk],
        "grid_ids": [grid.pk] if grid else [],
    }


publish = sync_to_async(positions_publish)


@database_sync_to_async
def publish_after_commit(latest):
    """As ingestion does: the fixes' transaction commits, then the positions go out."""
    with transaction.atomic():
        transaction.on_commit(lambda: positions_publish(latest))


async def connect(headers=None, subprotocols=None, path=URL):
    ws = WebsocketCommunicator(application, path, headers=headers, subprotocols=subprotocols)
    connected, _ = await ws.connect()
    assert connected
    return ws


async def subscribe(ws, *codes):
    await ws.send_json_to({"type": "subscribe", "streets": list(codes)})


async def closed_with(ws, code):
    assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": code}


# --- receiving ----------------------------------------------------------------------------


def test_a_street_supervisor_gets_their_streets_positions_batched_in_one_frame(people):
    a, b = street_a(people), street_b(people)
    headers = session_headers(people.supervisor)

    async def scenario():
        ws = await connect(headers)
        await subscribe(ws, a.code)
        snapshot = await ws.receive_json_from()
        assert snapshot == {"type": "snapshot", "streets": [a.code], "positions": []}
        # Within one window: inspector A twice, inspector B walking in street A, and someone
        # in street B.
        await publish_after_commit([fix(people.inspector_a, a, seconds=0, grid=people.grid_a)])
        await publish([fix(people.inspector_a, a, seconds=5, lon=100.006)])
        await publish([fix(people.inspector_b, a, seconds=3)])
        await publish([fix(people.admin, b, seconds=4)])
        frame = await ws.receive_json_from(timeout=2)
        assert frame["type"] == "positions"
        by_id = {p["inspector_id"]: p for p in frame["positions"]}
        assert sorted(by_id) == sorted([people.inspector_a.pk, people.inspector_b.pk])
        # Only the newest of inspector A's two fixes, with every field of the published shape.
        assert by_id[people.inspector_a.pk] == fix(people.inspector_a, a, seconds=5, lon=100.006)
        assert await ws.receive_nothing(timeout=INTERVAL_S * 2)
        # Street B alone: nothing at all.
        await publish([fix(people.inspector_b, b, seconds=10)])
        assert await ws.receive_nothing(timeout=INTERVAL_S * 2)
        await ws.disconnect()

    run(scenario)


def test_positions_published_in_two_windows_come_in_two_frames_a_window_apart(people):
    a = street_a(people)
    headers = session_headers(people.supervisor)

    async def scenario():
        loop = asyncio.get_running_loop()
        ws = await connect(headers)
        await subscribe(ws, a.code)
        await ws.receive_json_from()  # the snapshot
        await publish([fix(people.inspector_a, a, seconds=0)])
        first = await ws.receive_json_from(timeout=2)
        sent_at = loop.time()
        await publish([fix(people.inspector_a, a, seconds=5)])
        second = await ws.receive_json_from(timeout=2)
        assert loop.time() - sent_at >= INTERVAL_S * 0.9
        assert [p["t"] for p in first["positions"] + second["positions"]] == [
            fix(people.inspector_a, a, seconds=0)["t"],
            fix(people.inspector_a, a, seconds=5)["t"],
        ]
        await ws.disconnect()

    run(scenario)


def test_within_a_window_a_late_arriving_older_position_does_not_replace_a_newer_one(people):
    # Two streets' messages may hold one inspector on a street border, in any order.
    a = street_a(people)
    headers = session_headers(people.supervisor)
    newer, older = fix(people.inspector_a, a, seconds=5), fix(people.inspector_a, a, seconds=0)

    async def scenario():
        ws = await connect(headers)
        await subscribe(ws, a.code)
        await ws.receive_json_from()
        layer = get_channel_layer()
        for position in (newer, older):
            message = {"type": "patrol.positions", "street": a.pk, "positions": [position]}
            await layer.group_send(street_group(a.pk), message)
        assert (await ws.receive_json_from(timeout=2))["positions"] == [newer]
        await ws.disconnect()

    run(scenario)


def test_a_district_dispatcher_watches_every_street_with_all_on_the_url(people):
    codes = [street.code for street in people.grid_a.community.street.district.streets.all()]
    headers = session_headers(people.dispatcher)

    async def scenario():
        ws = await connect(headers, path=f"{URL}?all=1")
        snapshot = await ws.receive_json_from()
        assert snapshot["type"] == "snapshot"
        assert sorted(snapshot["streets"]) == sorted(codes)
        await publish([fix(people.inspector_b, street_b(people))])
        frame = await ws.receive_json_from(timeout=2)
        assert [p["inspector_id"] for p in frame["positions"]] == [people.inspector_b.pk]
        await ws.disconnect()

    run(scenario)


def test_all_on_the_url_gives_a_street_supervisor_their_street_only(people):
    headers = session_headers(people.supervisor)

    async def scenario():
        ws = await connect(headers, path=f"{URL}?all=1")
        snapshot = await ws.receive_json_from()
        assert snapshot["streets"] == [street_a(people).code]
        await ws.disconnect()

    run(scenario)


def test_a_handheld_token_of_a_supervisor_may_watch(people):
    token = token_issue(user=people.supervisor, device_id="pad-1").token
    a = street_a(people)

    async def scenario():
        ws = WebsocketCommunicator(application, URL, subprotocols=["token", token])
        assert await ws.connect() == (True, "token")
        await subscribe(ws, a.code)
        assert (await ws.receive_json_from())["streets"] == [a.code]
        await publish([fix(people.inspector_a, a)])
        frame = await ws.receive_json_from(timeout=2)
        assert frame["positions"][0]["inspector_id"] == people.inspector_a.pk
        await ws.disconnect()

    run(scenario)


# --- scope ---------------------------------------------------------------------------------


def test_subscribing_out_of_scope_is_refused_and_nothing_of_that_street_arrives(people):
    a, b = street_a(people), street_b(people)
    headers = session_headers(people.supervisor)

    async def scenario():
        ws = await connect(headers)
        await subscribe(ws, a.code, b.code, "999999999")
        assert await ws.receive_json_from() == {
            "type": "error",
            "code": "out_of_scope",
            "streets": [b.code, "999999999"],
        }
        assert (await ws.receive_json_from())["streets"] == [a.code]
        await publish([fix(people.inspector_b, b)])
        assert await ws.receive_nothing(timeout=INTERVAL_S * 2)
        # Only out of scope: an error and no snapshot.
        await subscribe(ws, b.code)
        assert (await ws.receive_json_from())["code"] == "out_of_scope"
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect()

    run(scenario)


def test_a_street_granted_by_hand_may_be_watched(people):
    b = street_b(people)
    assign_perm("gridcity.view_street", people.supervisor, b)
    headers = session_headers(people.supervisor)

    async def scenario():
        ws = await connect(headers)
        await subscribe(ws, b.code)
        assert (await ws.receive_json_from())["streets"] == [b.code]
        await publish([fix(people.inspector_b, b)])
        frame = await ws.receive_json_from(timeout=2)
        assert frame["positions"][0]["inspector_id"] == people.inspector_b.pk
        await ws.disconnect()

    run(scenario)


def test_after_unsubscribing_a_streets_positions_stop(people):
    a = street_a(people)
    headers = session_headers(people.supervisor)

    async def scenario():
        ws = await connect(headers)
        await subscribe(ws, a.code)
        await ws.receive_json_from()
        await publish([fix(people.inspector_a, a)])  # held in the window when it is left
        await ws.send_json_to({"type": "unsubscribe", "streets": [a.code]})
        assert await ws.receive_json_from() == {"type": "unsubscribed", "streets": [a.code]}
        await publish([fix(people.inspector_a, a, seconds=5)])
        assert await ws.receive_nothing(timeout=INTERVAL_S * 2)
        await ws.disconnect()

    run(scenario)


def test_nonsense_from_the_client_is_ignored_and_the_socket_stays_open(people):
    a = street_a(people)
    headers = session_headers(people.supervisor)

    async def scenario():
        ws = await connect(headers)
        # A frame that is not JSON is answered, and changes nothing.
        await ws.send_to(text_data="not json")
        assert (await ws.receive_json_from())["code"] == "invalid_json"
        for junk in (
            '["subscribe"]',
            '{"type": "subscribe", "streets": "999901001"}',
            '{"type": "subscribe", "streets": [1]}',
            '{"type": "subscribe", "streets": []}',
            '{"type": "watch", "streets": ["999901001"]}',
        ):
            await ws.send_to(text_data=junk)
        await ws.send_to(bytes_data=b"\x00")
        assert await ws.receive_nothing(timeout=0.2)
        await subscribe(ws, a.code)
        assert (await ws.receive_json_from())["type"] == "snapshot"
        await ws.disconnect()

    run(scenario)


# --- refusing ------------------------------------------------------------------------------


def test_anonymous_is_refused(people):
    async def scenario():
        ws = await connect([ORIGIN])
        await closed_with(ws, CLOSE_UNAUTHENTICATED)

    run(scenario)


@pytest.mark.parametrize("who", ["inspector_a", "staff", "citizen"])
def test_people_who_do_not_oversee_streets_are_refused_with_4403(people, who):
    headers = session_headers(getattr(people, who))

    async def scenario():
        ws = await connect(headers)
        await closed_with(ws, CLOSE_FORBIDDEN)

    run(scenario)


def test_an_inspectors_handheld_is_refused_with_4403(people):
    token = token_issue(user=people.inspector_a, device_id="pda-a").token

    async def scenario():
        ws = WebsocketCommunicator(application, URL, subprotocols=["token", token])
        assert await ws.connect() == (True, "token")
        await closed_with(ws, CLOSE_FORBIDDEN)

    run(scenario)


def test_a_session_socket_from_another_site_is_refused_by_the_origin_check(people):
    headers = session_headers(people.supervisor, origin=(b"origin", b"https://evil.example"))

    async def scenario():
        ws = WebsocketCommunicator(application, URL, headers=headers)
        connected, _ = await ws.connect()
        assert not connected

    run(scenario)


def test_disabling_a_supervisor_closes_their_patrol_socket(people):
    headers = session_headers(people.supervisor)

    @database_sync_to_async
    def disable():
        user_set_active(user=people.supervisor, active=False)

    async def scenario():
        ws = await connect(headers)
        await subscribe(ws, street_a(people).code)
        await ws.receive_json_from()
        await disable()
        await closed_with(ws, CLOSE_UNAUTHENTICATED)

    run(scenario)


@pytest.mark.parametrize(
    ("change", "code"),
    [({"is_active": False}, CLOSE_UNAUTHENTICATED), ({"role": Role.INSPECTOR}, CLOSE_FORBIDDEN)],
)
def test_each_subscribe_checks_the_person_afresh(people, change, code):
    # Written behind the signals' back, so nothing closes the socket but the re-check.
    headers = session_headers(people.supervisor)
    change_person = database_sync_to_async(
        lambda: User.objects.filter(pk=people.supervisor.pk).update(**change)
    )

    async def scenario():
        ws = await connect(headers)
        await change_person()
        await subscribe(ws, street_a(people).code)
        await closed_with(ws, code)

    run(scenario)


# --- snapshots -----------------------------------------------------------------------------


def test_subscribing_sends_a_snapshot_of_the_latest_positions_from_the_cache(people):
    a, b = street_a(people), street_b(people)
    positions_publish([fix(people.inspector_a, a, seconds=0)])
    positions_publish([fix(people.inspector_a, a, seconds=5), fix(people.inspector_b, b)])
    headers = session_headers(people.supervisor)

    async def scenario():
        ws = await connect(headers)
        await subscribe(ws, a.code)
        snapshot = await ws.receive_json_from()
        assert snapshot["type"] == "snapshot"
        assert snapshot["positions"] == [fix(people.inspector_a, a, seconds=5)]
        await ws.disconnect()

    run(scenario)


def test_an_inspector_who_walked_into_the_next_street_leaves_the_first_ones_snapshot(people):
    a, b = street_a(people), street_b(people)
    positions_publish([fix(people.inspector_a, a, seconds=0)])
    positions_publish([fix(people.inspector_a, b, seconds=5)])
    assert positions_latest([a.pk]) == []
    assert positions_latest([b.pk]) == [fix(people.inspector_a, b, seconds=5)]


def test_a_position_that_commits_late_does_not_replace_a_newer_one(people, monkeypatch):
    a = street_a(people)
    sends = []

    class Layer:
        async def group_send(self, group, message):
            sends.append(message)

    positions_publish([fix(people.inspector_a, a, seconds=10)])
    monkeypatch.setattr(live, "get_channel_layer", Layer)
    positions_publish([fix(people.inspector_a, a, seconds=5)])
    assert sends == []
    assert positions_latest([a.pk]) == [fix(people.inspector_a, a, seconds=10)]


def test_positions_older_than_the_ttl_leave_the_snapshot(people, settings):
    a = street_a(people)
    settings.GRIDCITY_PATROL_LIVE_TTL_S = 600
    positions_publish([fix(people.inspector_a, a)])
    with time_machine.travel(timezone.now() + timedelta(seconds=601)):
        assert positions_latest([a.pk]) == []
        positions_publish([fix(people.inspector_b, a, seconds=601)])
        assert positions_latest([a.pk]) == [fix(people.inspector_b, a, seconds=601)]


# --- publishing ----------------------------------------------------------------------------


def test_publish_sends_one_message_per_street_with_all_its_positions(people, monkeypatch):
    a, b = street_a(people), street_b(people)
    sends = []

    class Layer:
        async def group_send(self, group, message):
            sends.append((group, message))

    monkeypatch.setattr(live, "get_channel_layer", Layer)
    both = {**fix(people.admin, a), "street_ids": [a.pk, b.pk]}
    positions_publish(
        [
            fix(people.inspector_a, a),
            fix(people.dispatcher, a),
            fix(people.inspector_b, b),
            both,
            {"username": "no inspector id"},  # skipped, the rest still goes
        ]
    )
    assert sorted(group for group, _ in sends) == sorted([street_group(a.pk), street_group(b.pk)])
    message = dict(sends)
    assert message[street_group(a.pk)]["type"] == "patrol.positions"
    assert [p["inspector_id"] for p in message[street_group(a.pk)]["positions"]] == [
        people.inspector_a.pk,
        people.dispatcher.pk,
        people.admin.pk,
    ]
    assert [p["inspector_id"] for p in message[street_group(b.pk)]["positions"]] == [
        people.inspector_b.pk,
        people.admin.pk,
    ]


class BrokenLayer:
    async def group_send(self, group, message):
        raise ConnectionError("the channel layer is down")


def no_layer_configured():
    raise RuntimeError("CHANNEL_LAYERS is broken")


@pytest.mark.parametrize("layer", [BrokenLayer, no_layer_configured])
def test_publish_with_a_broken_channel_layer_logs_and_does_not_raise(
    people, monkeypatch, caplog, layer
):
    a = street_a(people)
    monkeypatch.setattr(live, "get_channel_layer", layer)
    positions_publish([fix(people.inspector_a, a)])
    assert "live positions" in caplog.text
    # The cache was still written: a map opened now shows the inspector.
    assert positions_latest([a.pk]) == [fix(people.inspector_a, a)]


def test_a_street_whose_send_fails_does_not_keep_the_others_from_theirs(people, monkeypatch):
    a, b = street_a(people), street_b(people)
    sent = []

    class HalfBrokenLayer:
        async def group_send(self, group, message):
            if group == street_group(a.pk):
                raise ConnectionError("this shard is down")
            sent.append(group)

    monkeypatch.setattr(live, "get_channel_layer", HalfBrokenLayer)
    positions_publish([{**fix(people.inspector_a, a), "street_ids": [a.pk, b.pk]}])
    assert sent == [street_group(b.pk)]


def test_with_the_cache_down_positions_still_go_out_and_the_socket_stays_up(
    people, monkeypatch, caplog
):
    class BrokenCache:
        def get_many(self, keys):
            raise ConnectionError("the cache is down")

        set_many = get_many

    monkeypatch.setattr(live, "cache", BrokenCache())
    a = street_a(people)
    headers = session_headers(people.supervisor)

    async def scenario():
        ws = await connect(headers)
        await subscribe(ws, a.code)
        assert await ws.receive_json_from() == {
            "type": "snapshot",
            "streets": [a.code],
            "positions": [],
        }
        await publish([fix(people.inspector_a, a)])
        frame = await ws.receive_json_from(timeout=2)
        assert frame["positions"] == [fix(people.inspector_a, a)]
        await ws.disconnect()

    run(scenario)
    assert "cache" in caplog.text
