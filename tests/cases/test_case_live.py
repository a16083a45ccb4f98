"""Live case events on the notifications socket: who watches which case's changes."""

import logging
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from accounts.auth import token_issue
from cases import notify
from cases.models import Case
from cases.selectors import streets_watched_by
from cases.services import case_dispatch, case_file, case_report, cases_mark_overdue
from gridcity.asgi import application
from tests.cases.conftest import centre
from tests.ws import WebsocketCommunicator, run, session_headers

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/ws/notifications/"


@pytest.fixture(autouse=True)
def _in_memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def report_in(people, taxonomy, grid):
    """Report a case in ``grid`` as its inspector, committed (the event goes on commit)."""
    lon, lat = centre(grid)
    by = people.inspector_a if grid == people.grid_a else people.inspector_b

    @database_sync_to_async
    def report():
        with transaction.atomic():
            return case_report(by=by, item=taxonomy.component, lon=lon, lat=lat).case

    return report


async def open_socket(user):
    ws = WebsocketCommunicator(application, URL, headers=await session_of(user))
    assert (await ws.connect())[0]
    return ws


@database_sync_to_async
def session_of(user):
    return session_headers(user)


async def next_case(ws) -> dict:
    """The next case event on ``ws``, skipping inbox notifications."""
    while True:
        message = await ws.receive_json_from(timeout=2)
        if message["type"] == "case":
            return message["case"]


# --- who receives --------------------------------------------------------------------------


def test_the_dispatcher_sees_a_case_reported_in_the_district_as_it_is_reported(people, taxonomy):
    report = report_in(people, taxonomy, people.grid_a)

    async def scenario():
        ws = await open_socket(people.dispatcher)
        case = await report()
        message = await ws.receive_json_from(timeout=2)
        assert message == {
            "type": "case",
            "case": {
                "number": case.number,
                "status": "reported",
                "action": "report",
                "street": people.grid_a.community.street.code,
                "grid": people.grid_a.code,
                "department": None,
                "overdue": False,
                "escalated": False,
                "at": message["case"]["at"],
            },
        }
        assert await ws.receive_nothing(timeout=0.2)  # once, though in street and district
        await ws.disconnect()

    run(scenario)


def test_an_administrators_event_carries_the_timeline_rows_time(people, taxonomy):
    report = report_in(people, taxonomy, people.grid_a)
    seen = []

    async def scenario():
        ws = await open_socket(people.admin)
        await report()
        seen.append(await next_case(ws))
        await ws.disconnect()

    run(scenario)
    assert seen[0]["at"] == Case.objects.get().timeline.get().at.isoformat()


def test_a_supervisor_sees_their_street_and_not_the_other(people, taxonomy):
    in_a = report_in(people, taxonomy, people.grid_a)
    in_b = report_in(people, taxonomy, people.grid_b)

    async def scenario():
        street_a = await open_socket(people.supervisor)
        street_b = await open_socket(people.other_supervisor)
        case_a = await in_a()
        assert (await next_case(street_a))["number"] == case_a.number
        assert await street_b.receive_nothing(timeout=0.3)
        case_b = await in_b()
        assert (await next_case(street_b))["number"] == case_b.number
        assert await street_a.receive_nothing(timeout=0.3)
        await street_a.disconnect()
        await street_b.disconnect()

    run(scenario)


@pytest.mark.parametrize("persona", ["inspector_a", "citizen"])
def test_inspectors_and_citizens_get_no_case_events(people, taxonomy, persona):
    report = report_in(people, taxonomy, people.grid_a)

    async def scenario():
        ws = await open_socket(getattr(people, persona))
        watcher = await open_socket(people.dispatcher)
        await report()
        await next_case(watcher)  # the event was sent
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()
        await watcher.disconnect()

    run(scenario)


def test_department_staff_see_the_cases_of_their_department_only(people, taxonomy):
    lon, lat = centre(people.grid_a)
    case = case_report(by=people.inspector_a, item=taxonomy.component, lon=lon, lat=lat).case
    case = case_file(case=case, by=people.dispatcher)
    other = case_report(by=people.inspector_a, item=taxonomy.component, lon=lon, lat=lat).case

    @database_sync_to_async
    def dispatch_then_file_the_other():
        with transaction.atomic():
            case_dispatch(case=case, by=people.dispatcher)
        with transaction.atomic():
            case_file(case=other, by=people.dispatcher)

    async def scenario():
        ws = await open_socket(people.staff)
        await dispatch_then_file_the_other()
        seen = await next_case(ws)
        assert seen["number"] == case.number
        assert seen["action"] == "dispatch"
        assert seen["status"] == "dispatched"
        assert seen["department"] == people.department.code
        # The notification of the dispatch, and nothing about the other (no department yet).
        assert (await ws.receive_json_from(timeout=2))["type"] == "notification"
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()

    run(scenario)


def test_a_handhelds_token_socket_gets_no_case_events(people, taxonomy):
    token = token_issue(user=people.dispatcher, device_id="pda-1").token
    report = report_in(people, taxonomy, people.grid_a)

    async def scenario():
        ws = WebsocketCommunicator(application, URL, subprotocols=["token", token])
        assert (await ws.connect())[0]
        await report()
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()

    run(scenario)


def test_nothing_goes_out_when_the_transaction_rolls_back(people, taxonomy):
    lon, lat = centre(people.grid_a)

    @database_sync_to_async
    def report_then_fail():
        with pytest.raises(RuntimeError), transaction.atomic():
            case_report(by=people.inspector_a, item=taxonomy.component, lon=lon, lat=lat)
            raise RuntimeError("the caller fails after the service")

    async def scenario():
        ws = await open_socket(people.dispatcher)
        await report_then_fail()
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()

    run(scenario)


def test_a_channel_layer_that_is_down_does_not_fail_the_step(people, taxonomy, monkeypatch, caplog):
    def down():
        raise ConnectionError("redis is down")

    monkeypatch.setattr(notify, "get_channel_layer", down)
    lon, lat = centre(people.grid_a)
    with caplog.at_level(logging.WARNING, logger="gridcity.notify"):
        case = case_report(by=people.inspector_a, item=taxonomy.component, lon=lon, lat=lat).case
    assert Case.objects.filter(pk=case.pk).exists()
    assert "live case events not sent" in caplog.text


# --- the sweep -----------------------------------------------------------------------------


def test_the_overdue_sweep_sends_its_events_together_and_capped(people, taxonomy, monkeypatch):
    lon, lat = centre(people.grid_a)
    for _ in range(4):
        case_report(by=people.inspector_a, item=taxonomy.component, lon=lon, lat=lat)
    monkeypatch.setattr(notify, "SWEEP_EVENTS_CAP", 3)
    sent: list[list] = []
    real_send = notify.case_events_send
    monkeypatch.setattr(notify, "case_events_send", lambda events: sent.append(list(events)))

    assert cases_mark_overdue(now=timezone.now() + timedelta(days=30)) == 4
    assert [len(batch) for batch in sent] == [3]  # one batch, the last three
    assert {e.action for e in sent[0]} == {"overdue"}
    assert all(e.overdue for e in sent[0])
    monkeypatch.setattr(notify, "case_events_send", real_send)


def test_the_sweeps_batch_reaches_the_sockets(people, taxonomy):
    lon, lat = centre(people.grid_a)
    for _ in range(2):
        case_report(by=people.inspector_a, item=taxonomy.component, lon=lon, lat=lat)

    @database_sync_to_async
    def sweep():
        return cases_mark_overdue(now=timezone.now() + timedelta(days=30))

    async def scenario():
        ws = await open_socket(people.supervisor)
        assert await sweep() == 2
        seen = [await next_case(ws), await next_case(ws)]
        assert {s["action"] for s in seen} == {"overdue"}
        await ws.disconnect()

    run(scenario)


# --- which groups a person watches ----------------------------------------------------------


def test_who_watches_what(people):
    street_a = people.grid_a.community.street
    assert streets_watched_by(people.admin).everything
    assert streets_watched_by(people.supervisor).streets == (street_a.pk,)
    assert street_a.pk in streets_watched_by(people.dispatcher).streets
    assert streets_watched_by(people.staff).department == people.department.pk
    assert streets_watched_by(people.staff).streets == ()
    for persona in ("inspector_a", "citizen"):
        assert notify.watch_groups(streets_watched_by(getattr(people, persona))) == []


def test_a_grid_lent_to_a_supervisor_is_watched_once(people):
    assign_perm("gridcity.view_workgrid", people.supervisor, people.grid_b)
    assign_perm("gridcity.view_workgrid", people.supervisor, people.grid_a)  # in their street
    watched = streets_watched_by(people.supervisor)
    assert watched.grids == (people.grid_b.pk,)
    assert notify.watch_groups(watched) == [
        notify.street_group(people.grid_a.community.street_id),
        notify.grid_group(people.grid_b.pk),
    ]
