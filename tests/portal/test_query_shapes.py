"""The shapes of the public side's and the hotline's heavier queries, as the 1 M-case
benchmark left them (docs/benchmarks.md, "portal"): each held here because PostgreSQL planned
the other shape badly at scale, where a small test database cannot show the time."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal import selectors
from tests.portal.test_near import BOX, filed_cases

pytestmark = pytest.mark.django_db


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is small enough
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(str(row) for row in cursor.fetchall())


def test_the_operators_day_reads_their_steps_of_the_day_on_the_actor_and_time_index(operator):
    """With the actor's index alone it read every step the operator ever took (120,000 for
    the hotline's operator at 1 M cases: 0.65 s)."""
    with CaptureQueriesContext(connection) as queries:
        selectors.operator_day(operator)
    steps = next(q["sql"] for q in queries if 'FROM "cases_casetransition"' in q["sql"])

    assert "cases_step_actor_at" in _plan(steps)  # the captured SQL has its values inlined


def test_near_me_reads_the_cases_in_view_without_joining_their_items(client, world):
    """Joined on the item (for its names and its ``private`` flag), near me was planned item
    by item over the item index of every case: 0.1–0.25 s for a 500 m box at 1 M cases,
    3 ms without the join. The names come as subqueries of the rows shown."""
    filed_cases(world, 2)
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(reverse("public-near"), {"bbox": BOX})

    assert answer.status_code == 200
    assert len(answer.json()["features"]) == 2
    assert answer.json()["features"][0]["properties"]["item"] == "井盖松动或缺失"
    [near] = queries
    assert 'JOIN "cases_item"' not in near["sql"]
