"""People acting on one case at the same moment: exactly one of them gets through, the others
get 409 with the state the winner left, and nobody gets a 500.

On PostgreSQL, real threads, each with its own database connection, released together by a
barrier, call the API as handhelds would, and the row locks decide (``select_for_update``
waits for the first writer, then reads the row it committed). SpatiaLite has no row locks: it
serialises every writer on the whole file, and a writer that cannot get the file in time is an
error ("database is locked"). That is tried against a real server process on a SpatiaLite file,
the embedded default ``make run`` serves, with twenty requests at once.
"""

import threading
import time
import uuid

import pytest
from django.db import OperationalError, connection, connections
from rest_framework.test import APIClient

from cases import services
from cases.models import Case, CaseTransition, Notification
from tests import liveserver
from tests.cases.conftest import centre, report_body

POSTGIS_THREADS = [
    pytest.mark.postgis,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL + PostGIS: SpatiaLite has no row locks",
    ),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roomy_db_pool"),
]


def postgis_threads(test):
    """The marks of a test that races threads on the suite's own PostgreSQL database."""
    for mark in reversed(POSTGIS_THREADS):
        test = mark(test)
    return test


def all_at_once(calls):
    """Run each ``call`` in its own thread and connection, released together; their results
    (or the exception each raised) in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            prepare, act = call
            ready = prepare()  # log in etc. before the start, so only the act races
            barrier.wait(timeout=30)
            results[i] = act(ready)
        except BaseException as exc:  # reported by the test, not lost in the thread
            barrier.abort()
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def posting(user, url, body):
    """A (prepare, act) pair for ``all_at_once``: a logged-in client that POSTs ``body``."""

    def prepare():
        client = APIClient()
        client.force_login(user)
        return client

    def act(client):
        response = client.post(url, body, format="json")
        return response.status_code, response.json()

    return prepare, act


def filed_case(people, taxonomy) -> Case:
    lon, lat = centre(people.grid_a)
    case = services.case_report(
        by=people.inspector_a, item=taxonomy.component, lon=lon, lat=lat, description="井盖缺失"
    ).case
    return services.case_file(case=case, by=people.dispatcher)


@postgis_threads
def test_twenty_simultaneous_dispatches_let_exactly_one_through(people, taxonomy):
    case = filed_case(people, taxonomy)
    url = f"/api/v1/cases/{case.number}/dispatch/"

    results = all_at_once([posting(people.dispatcher, url, {}) for _ in range(20)])

    codes = sorted(code for code, _ in results)
    assert codes == [200] + [409] * 19, codes
    for code, body in results:
        if code == 409:
            # The losers waited for the winner's lock and saw the state it left.
            assert body["error"]["code"] == "invalid_state"
            assert body["error"]["status"] == "dispatched"
        else:
            assert body["status"] == "dispatched"
    case = Case.objects.get(pk=case.pk)
    assert case.status == "dispatched"
    assert CaseTransition.objects.filter(case=case, action="dispatch").count() == 1
    # The side effect ran once too: one "new dispatch" for the department's staff.
    assert Notification.objects.filter(case=case, user=people.staff, kind="dispatched").count() == 1


@postgis_threads
def test_two_simultaneous_uploads_of_one_report_make_one_case(people, taxonomy):
    body = report_body(people.grid_a, taxonomy.component, client_uuid=str(uuid.uuid4()))

    results = all_at_once([posting(people.inspector_a, "/api/v1/cases/", body) for _ in range(2)])

    assert sorted(code for code, _ in results) == [200, 201], results
    (_, first), (_, second) = results
    assert first["number"] == second["number"]
    case = Case.objects.get(client_uuid=body["client_uuid"])
    assert Case.objects.count() == 1
    assert CaseTransition.objects.filter(case=case).count() == 1  # one "report" row
    # The loser's case number was given back with its transaction: the next report is -000002.
    lon, lat = centre(people.grid_b)
    nxt = services.case_report(by=people.inspector_b, item=taxonomy.event, lon=lon, lat=lat).case
    assert nxt.number.rsplit("-", 1)[1] == "000002"


def verifying_case(people, taxonomy) -> Case:
    case = filed_case(people, taxonomy)
    case = services.case_dispatch(case=case, by=people.dispatcher)
    case = services.case_accept(case=case, by=people.staff)
    case = services.case_handle(case=case, by=people.staff, note="已补齐井盖")
    return services.case_request_verify(case=case, by=people.dispatcher)


@postgis_threads
def test_a_pass_and_a_fail_at_once_verify_the_case_once(people, taxonomy):
    # Ten cases, each verified passed by its inspector and failed by the supervisor at the
    # same moment: one race of two is over too fast to show a missing lock every time.
    cases = [verifying_case(people, taxonomy) for _ in range(10)]
    calls = []
    for case in cases:
        url = f"/api/v1/cases/{case.number}/verify/"
        calls.append(posting(people.inspector_a, url, {"passed": True, "note": "现场核查通过"}))
        calls.append(posting(people.supervisor, url, {"passed": False, "note": "井盖仍松动"}))

    results = all_at_once(calls)

    for i, case in enumerate(cases):
        (passed_code, passed_body), (failed_code, failed_body) = results[2 * i : 2 * i + 2]
        assert sorted([passed_code, failed_code]) == [200, 409], (passed_code, failed_code)
        case = Case.objects.get(pk=case.pk)
        passed_won = passed_code == 200
        assert case.status == ("closed" if passed_won else "dispatched")
        assert case.rework_count == (0 if passed_won else 1)
        loser = failed_body if passed_won else passed_body
        assert loser["error"]["code"] == "invalid_state"
        assert loser["error"]["status"] == case.status
        assert CaseTransition.objects.filter(case=case, action="verify").count() == 1


# --- The embedded default: SpatiaLite in a file, a real server --------------------------------


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory):
    return liveserver.template(tmp_path_factory.getbasetemp())


@pytest.fixture
def spatialite_server(seeded_template, tmp_path):
    var, seeded = liveserver.var_copy(seeded_template, tmp_path / "var")
    with liveserver.Server(var, log=tmp_path / "server.log") as server:
        yield server, seeded


def all_requests_at_once(server, calls):
    """Send each (method, path, body, headers) from its own thread, all released together."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        method, path, body, headers = call
        try:
            barrier.wait(timeout=30)
            results[i] = liveserver.request(server, method, path, body=body, headers=headers)
        except BaseException as exc:
            barrier.abort()
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


# The server has its own SpatiaLite database whatever the suite runs on: once is enough.
spatialite_suite_only = pytest.mark.skipif(
    connection.vendor == "postgresql", reason="runs in the SpatiaLite suite"
)


@spatialite_suite_only
def test_on_spatialite_twenty_simultaneous_dispatches_are_one_200_and_nineteen_409(
    spatialite_server,
):
    server, seeded = spatialite_server
    number = seeded["filed_cases"][0]
    dispatcher = {"Authorization": f"Token {seeded['tokens']['dispatcher']}"}
    url = f"/api/v1/cases/{number}/dispatch/"

    results = all_requests_at_once(server, [("POST", url, {}, dispatcher)] * 20)

    codes = sorted(code for code, _ in results)
    assert codes == [200] + [409] * 19, [(c, str(b)[:200]) for c, b in results if c >= 500]
    for code, body in results:
        if code == 409:
            assert body["error"]["code"] == "invalid_state"
            assert body["error"]["status"] == "dispatched"
    status, case = liveserver.request(server, "GET", f"/api/v1/cases/{number}/", headers=dispatcher)
    assert status == 200 and case["status"] == "dispatched"
    assert [t["action"] for t in case["timeline"]].count("dispatch") == 1
    assert server.alive()


@spatialite_suite_only
def test_on_spatialite_twenty_dispatches_of_twenty_cases_at_once_all_go_through(
    spatialite_server,
):
    server, seeded = spatialite_server
    dispatcher = {"Authorization": f"Token {seeded['tokens']['dispatcher']}"}
    numbers = seeded["filed_cases"][1:21]

    results = all_requests_at_once(
        server, [("POST", f"/api/v1/cases/{n}/dispatch/", {}, dispatcher) for n in numbers]
    )

    assert [code for code, _ in results] == [200] * 20, [(c, str(b)[:200]) for c, b in results]
    assert {body["status"] for _, body in results} == {"dispatched"}


@pytest.mark.django_db(transaction=True)  # as a request runs: not inside a test's transaction
def test_a_transition_that_finds_the_database_locked_throughout_is_409_busy_with_the_state(
    people, taxonomy, monkeypatch, settings
):
    case = filed_case(people, taxonomy)
    calls = []

    def locked(**kwargs):
        calls.append(kwargs)
        raise OperationalError("database is locked")

    monkeypatch.setattr(services, "case_dispatch", locked)
    client = APIClient()
    client.force_login(people.dispatcher)

    response = client.post(f"/api/v1/cases/{case.number}/dispatch/", {}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "busy"
    assert response.json()["error"]["status"] == "filed"
    assert len(calls) == settings.GRIDCITY_DB_LOCKED_ATTEMPTS  # the whole call, run again
    assert Case.objects.get(pk=case.pk).status == "filed"
    assert not CaseTransition.objects.filter(case=case, action="dispatch").exists()


@spatialite_suite_only
def test_on_spatialite_forty_track_uploads_at_once_are_all_stored(spatialite_server):
    # Track points contend for the same file as the cases: two inspectors' handhelds each
    # flushing twenty queued batches at once after a dead zone.
    server, seeded = spatialite_server
    now_ms = int(time.time() * 1000)
    calls = []
    for k in range(40):
        who = "inspector_a" if k % 2 == 0 else "inspector_b"
        points = [
            {"id": f"{k}-{i}", "t": now_ms - (40 - k) * 60_000 + i * 1000}
            | {"lon": 100.005 + i * 1e-5, "lat": 30.005, "acc": 5}
            for i in range(50)
        ]
        token = {"Authorization": f"Token {seeded['tokens'][who]}"}
        calls.append(("POST", "/api/v1/patrol/points/", {"points": points}, token))

    results = all_requests_at_once(server, calls)

    assert [code for code, _ in results] == [200] * 40, [(c, str(b)[:200]) for c, b in results]
    assert sum(body["accepted"] for _, body in results) == 40 * 50
