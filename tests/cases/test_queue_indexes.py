"""The partial indexes of the workbenches' overdue and escalated queues (docs/cases.md,
"Indexes") stay usable: PostgreSQL uses a partial index only when the query's own condition
implies the index's, so the queues must ask for exactly the states the indexes hold."""

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
