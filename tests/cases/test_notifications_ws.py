"""The notifications websocket: who may connect, what they receive, marking read."""

from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from accounts.auth import device_revoke, token_issue
from accounts.services import user_set_active
from cases.consumers import CLOSE_UNAUTHENTICATED, NotificationConsumer
from cases.models import Notification
from cases.notify import notify, user_group
from cases.services import case_dispatch, case_file, case_report
from gridcity.asgi import application
from tests.cases.conftest import centre
from tests.ws import ORIGIN, WebsocketCommunicator, run, session_headers

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/ws/notifications/"


@pytest.fixture(autouse=True)
def _in_memory_layer(settings):
    # A fresh in-memory layer per test (channels drops its backends when the setting changes),
    # whatever REDIS_URL says.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def filed_case(people, taxonomy):
    lon, lat = centre(people.grid_a)
    case = case_report(by=people.inspector_a, item=taxonomy.component, lon=lon, lat=lat).case
    return case_file(case=case, by=people.dispatcher)


@database_sync_to_async
def dispatch(case, by):
    with transaction.atomic():  # the push is sent when this commits
        return case_dispatch(case=case, by=by)


async def next_notification(ws) -> dict:
    """The next inbox push, past the live case events a department's browser also gets
    (tests/cases/test_case_live.py)."""
    while (message := await ws.receive_json_from(timeout=2))["type"] == "case":
        pass
    return message


def refused(communicator) -> None:
    """Assert the consumer let the socket in only to close it with 4401."""
    async_to_sync(_assert_refused)(communicator)


async def _assert_refused(communicator):
    connected, _ = await communicator.connect()
    assert connected  # accepted only to say why: the close code reaches the client
    assert await communicator.receive_output() == {
        "type": "websocket.close",
        "code": CLOSE_UNAUTHENTICATED,
    }
    await communicator.wait()


# --- receiving ----------------------------------------------------------------------------


def test_session_user_receives_the_push_when_a_case_is_dispatched_to_their_department(
    people, filed_case
):
    headers = session_headers(people.staff)

    async def scenario():
        ws = WebsocketCommunicator(application, URL, headers=headers)
        connected, subprotocol = await ws.connect()
        assert connected
        assert subprotocol is None
        await dispatch(filed_case, people.dispatcher)
        message = await next_notification(ws)
        assert message["type"] == "notification"
        assert message["notification"]["kind"] == Notification.Kind.DISPATCHED
        assert message["notification"]["case"] == filed_case.number
        assert message["notification"]["read_at"] is None
        await ws.disconnect()

    run(scenario)
    row = Notification.objects.get(user=people.staff)
    assert row.case_id == filed_case.pk


def test_nothing_is_pushed_when_the_transaction_rolls_back(people, filed_case):
    headers = session_headers(people.staff)

    @database_sync_to_async
    def dispatch_then_fail():
        with pytest.raises(RuntimeError), transaction.atomic():
            case_dispatch(case=filed_case, by=people.dispatcher)
            raise RuntimeError("the caller's transaction fails after the service")

    async def scenario():
        ws = WebsocketCommunicator(application, URL, headers=headers)
        assert (await ws.connect())[0]
        await dispatch_then_fail()
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect()

    run(scenario)
    assert not Notification.objects.exists()


def test_handheld_with_a_token_in_the_subprotocol_header_receives_the_push(people, filed_case):
    token = token_issue(user=people.staff, device_id="pda-7").token

    async def scenario():
        # A native client sends no Origin; the token is enough.
        ws = WebsocketCommunicator(application, URL, subprotocols=["token", token])
        connected, subprotocol = await ws.connect()
        assert connected
        assert subprotocol == "token"  # the server chooses "token", never echoes the secret
        await dispatch(filed_case, people.dispatcher)
        message = await ws.receive_json_from(timeout=2)
        assert message["notification"]["case"] == filed_case.number
        await ws.disconnect()

    run(scenario)


def test_handheld_with_a_token_in_the_query_string_receives_the_push(people, filed_case):
    token = token_issue(user=people.staff, device_id="pda-7").token

    async def scenario():
        ws = WebsocketCommunicator(application, f"{URL}?token={token}")
        connected, subprotocol = await ws.connect()
        assert connected
        assert subprotocol is None
        await dispatch(filed_case, people.dispatcher)
        message = await ws.receive_json_from(timeout=2)
        assert message["notification"]["case"] == filed_case.number
        await ws.disconnect()

    run(scenario)


def test_a_user_never_receives_another_users_notifications(people, filed_case):
    staff_headers = session_headers(people.staff)
    other_token = token_issue(user=people.inspector_a, device_id="pda-a").token

    @database_sync_to_async
    def notify_inspector():
        with transaction.atomic():
            notify([people.inspector_a.pk], kind=Notification.Kind.VERIFY, message="verify it")

    async def scenario():
        staff = WebsocketCommunicator(application, URL, headers=staff_headers)
        other = WebsocketCommunicator(application, URL, subprotocols=["token", other_token])
        assert (await staff.connect())[0]
        assert (await other.connect())[0]
        await dispatch(filed_case, people.dispatcher)  # to the department's staff only
        assert (await next_notification(staff))["notification"]["kind"] == "dispatched"
        assert await other.receive_nothing(timeout=0.2)
        await notify_inspector()
        assert (await other.receive_json_from(timeout=2))["notification"]["kind"] == "verify"
        assert await staff.receive_nothing(timeout=0.2)
        await staff.disconnect()
        await other.disconnect()

    run(scenario)


def test_the_socket_leaves_the_group_on_disconnect(people):
    headers = session_headers(people.staff)

    async def scenario():
        layer = get_channel_layer()
        ws = WebsocketCommunicator(application, URL, headers=headers)
        assert (await ws.connect())[0]
        assert len(layer.groups.get(user_group(people.staff.pk), {})) == 1
        await ws.disconnect()
        assert not layer.groups.get(user_group(people.staff.pk))

    run(scenario)


# --- refusing ------------------------------------------------------------------------------


def test_anonymous_is_refused(people):
    refused(WebsocketCommunicator(application, URL, headers=[ORIGIN]))


def test_an_unknown_token_is_refused(people):
    fake = "0" * 64
    refused(WebsocketCommunicator(application, URL, subprotocols=["token", fake]))
    refused(WebsocketCommunicator(application, f"{URL}?token=not-hex"))


def test_a_revoked_token_is_refused(people):
    issued = token_issue(user=people.staff, device_id="pda-7")
    device_revoke(device=issued.device, by=people.staff, reason="lost")
    ws = WebsocketCommunicator(application, URL, subprotocols=["token", issued.token])
    refused(ws)


def test_an_expired_token_is_refused(people):
    issued = token_issue(user=people.staff, device_id="pda-7")
    later = timezone.now() + django_settings.REST_KNOX["TOKEN_TTL"] + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        ws = WebsocketCommunicator(application, URL, subprotocols=["token", issued.token])
        refused(ws)


def test_a_disabled_user_is_refused_by_session_and_by_token(people):
    headers = session_headers(people.staff)
    token = token_issue(user=people.staff, device_id="pda-7").token
    people.staff.is_active = False
    people.staff.save()
    refused(WebsocketCommunicator(application, URL, headers=headers))
    ws = WebsocketCommunicator(application, URL, subprotocols=["token", token])
    refused(ws)


def test_the_consumer_itself_refuses_an_inactive_user(people):
    # Below the middleware: whatever authentication stack lets an inactive user through.
    people.staff.is_active = False
    ws = WebsocketCommunicator(NotificationConsumer.as_asgi(), URL)
    ws.scope["user"] = people.staff
    refused(ws)


def test_a_bad_token_does_not_fall_back_to_the_session(people):
    headers = session_headers(people.staff)
    ws = WebsocketCommunicator(application, URL, headers=headers, subprotocols=["token", "0" * 64])
    refused(ws)


def test_a_session_socket_from_another_site_is_refused_by_the_origin_check(people):
    headers = session_headers(people.staff, origin=(b"origin", b"https://evil.example"))

    async def scenario():
        ws = WebsocketCommunicator(application, URL, headers=headers)
        connected, _ = await ws.connect()
        assert not connected

    run(scenario)


# --- marking read ---------------------------------------------------------------------------


def test_read_marks_the_users_own_notification_and_ignores_anyone_elses(people):
    mine = Notification.objects.create(user=people.staff, kind="dispatched", message="mine")
    theirs = Notification.objects.create(user=people.dispatcher, kind="dispatched", message="no")
    headers = session_headers(people.staff)

    async def scenario():
        ws = WebsocketCommunicator(application, URL, headers=headers)
        assert (await ws.connect())[0]
        await ws.send_json_to({"action": "read", "id": theirs.pk})
        assert await ws.receive_nothing(timeout=0.2)
        await ws.send_json_to({"action": "read", "id": mine.pk})
        answer = await ws.receive_json_from(timeout=2)
        assert answer["type"] == "read"
        assert answer["id"] == mine.pk
        # Again: idempotent, the first read time is kept.
        await ws.send_json_to({"action": "read", "id": mine.pk})
        assert (await ws.receive_json_from(timeout=2))["read_at"] == answer["read_at"]
        # A frame that is not JSON is answered; other nonsense is ignored; the socket stays open.
        await ws.send_to(text_data="not json")
        assert (await ws.receive_json_from())["code"] == "invalid_json"
        for junk in ('["read"]', '{"action": "read", "id": "1"}'):
            await ws.send_to(text_data=junk)
        await ws.send_json_to({"action": "read", "id": 2**70})
        await ws.send_to(bytes_data=b"\x00")
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect()

    run(scenario)
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None
    assert theirs.read_at is None


# --- an open socket closes when its token or person stops being good ---------------------


def test_revoking_the_device_closes_its_open_socket(people):
    from accounts.models import Device

    issued = token_issue(user=people.staff, device_id="pda-9")

    @database_sync_to_async
    def revoke():
        with transaction.atomic():
            device_revoke(
                device=Device.objects.get(pk=issued.device.pk), by=people.admin, reason="lost"
            )

    async def scenario():
        ws = WebsocketCommunicator(application, URL, subprotocols=["token", issued.token])
        assert (await ws.connect())[0]
        await revoke()
        assert await ws.receive_output(timeout=2) == {
            "type": "websocket.close",
            "code": CLOSE_UNAUTHENTICATED,
        }

    run(scenario)


def test_disabling_a_person_closes_their_browser_socket_too(people):
    headers = session_headers(people.staff)

    @database_sync_to_async
    def disable():
        user_set_active(user=people.staff, active=False)

    async def scenario():
        ws = WebsocketCommunicator(application, URL, headers=headers)
        assert (await ws.connect())[0]
        await disable()
        assert await ws.receive_output(timeout=2) == {
            "type": "websocket.close",
            "code": CLOSE_UNAUTHENTICATED,
        }

    run(scenario)
