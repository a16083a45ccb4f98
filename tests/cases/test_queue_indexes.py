"""The partial indexes of the workbenches' overdue and escalated queues and of the desk map
(docs/cases.md, "Indexes") stay usable: PostgreSQL uses a partial index only when the query's
own condition implies the index's, so the queues and the map must ask for exactly the states
the indexes hold."""

import pytest

from cases import selectors
from cases.models import Case


def _condition(name: str) -> dict:
    index = next(i for i in Case._meta.indexes if i.name == name)
    return dict(index.condition.children)


@pytest.mark.parametrize(
    ("index", "flag"), [("cases_open_overdue", "overdue"), ("cases_open_escalated", "escalated")]
)
def test_the_queue_index_holds_the_running_cases_its_queue_lists(index, flag):
    condition = _condition(index)
    assert condition[flag] is True
    assert sorted(condition["status__in"]) == sorted(selectors.RUNNING)
    queue = selectors.QUEUES[flag].rule(None, None)
    assert dict(queue.children) == {flag: True, "status__in": selectors.RUNNING}


def test_the_open_cases_position_index_holds_every_open_state():
    """cases_open_point (a migration of its own, PostgreSQL only) must hold the states the
    desk map asks for (``status__in=OPEN_STATES``), or PostgreSQL cannot use it."""
    from importlib import import_module

    from cases.models import OPEN_STATES

    migration = import_module("cases.migrations.0010_open_case_point_index")
    assert sorted(migration.OPEN) == sorted(OPEN_STATES)


@pytest.mark.postgis
@pytest.mark.django_db
def test_the_map_reads_the_open_cases_of_a_view_on_their_own_index(people):
    from django.contrib.gis.geos import Polygon
    from django.db import connection

    from cases.models import OPEN_STATES

    if connection.vendor != "postgresql":
        pytest.skip("a partial GiST index: PostgreSQL only")
    box = Polygon.from_bbox((113.8, 22.6, 113.9, 22.7))
    box.srid = 4326
    cases = selectors.cases_in_box(
        selectors.cases_visible_to(people.supervisor).filter(status__in=OPEN_STATES), box
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is small enough to scan
        sql, params = cases.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "cases_open_point" in plan
