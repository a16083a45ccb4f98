"""The lists a handheld polls cost the same number of queries for 2 rows as for 20."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import services
from cases.models import Notification
from tests.cases.conftest import centre

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _code_books_checked_once(settings):
    # The code books' freshness check (one query per book each interval) is not what is
    # counted here: on a loaded machine writing the rows can outlast its 1 s interval.
    settings.GRIDCITY_CODEBOOK_CHECK_SECONDS = 3600


def counted(client, user, url: str) -> tuple[int, int]:
    """The queries one GET of ``url`` by ``user`` costs, and the rows it listed."""
    client.force_login(user)
    client.get(url)  # a process's first list reads the code books (cases.codes) once
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured), len(response.json()["results"])


def reported_cases(people, taxonomy, n: int, *, grids=None) -> list:
    grids = grids or [people.grid_a, people.grid_b]
    cases = []
    for i in range(n):
        lon, lat = centre(grids[i % len(grids)])
        cases.append(
            services.case_report(
                by=people.inspector_a,
                item=taxonomy.component,
                lon=lon,
                lat=lat,
                description=f"井盖缺失 {i}",
            ).case
        )
    return cases


def dispatched_cases(people, taxonomy, n: int) -> list:
    dispatcher = people.dispatcher
    return [
        services.case_dispatch(case=services.case_file(case=case, by=dispatcher), by=dispatcher)
        for case in reported_cases(people, taxonomy, n)
    ]


TASKS = "/api/v1/me/tasks/?page_size=50"


def test_the_dispatchers_tasks_cost_the_same_queries_for_2_or_20_cases(client, people, taxonomy):
    reported_cases(people, taxonomy, 2)
    few = counted(client, people.dispatcher, TASKS)
    reported_cases(people, taxonomy, 18)
    many = counted(client, people.dispatcher, TASKS)

    assert (few[1], many[1]) == (2, 20)
    assert few[0] == many[0]


def test_the_department_staffs_tasks_cost_the_same_queries_for_2_or_20_cases(
    client, people, taxonomy
):
    dispatched_cases(people, taxonomy, 2)
    few = counted(client, people.staff, TASKS)
    dispatched_cases(people, taxonomy, 18)
    many = counted(client, people.staff, TASKS)

    assert (few[1], many[1]) == (2, 20)
    assert few[0] == many[0]


def notifications_for(user, cases, n: int) -> None:
    """``n`` unread notifications for ``user``, on ``cases`` in turn and some on no case."""
    Notification.objects.bulk_create(
        Notification(
            user=user,
            kind=Notification.Kind.DISPATCHED,
            case=cases[i % len(cases)] if i % 4 else None,
            message=f"新案件 {i}",
        )
        for i in range(n)
    )


@pytest.mark.parametrize("unread", [False, True], ids=["all", "unread"])
def test_the_notification_inbox_costs_the_same_queries_for_2_or_20_rows(
    client, people, taxonomy, unread
):
    cases = reported_cases(people, taxonomy, 5)
    url = "/api/v1/me/notifications/?page_size=50" + ("&unread=1" if unread else "")
    notifications_for(people.staff, cases, 2)
    few = counted(client, people.staff, url)
    notifications_for(people.staff, cases, 18)
    many = counted(client, people.staff, url)

    assert (few[1], many[1]) == (2, 20)
    assert few[0] == many[0]
