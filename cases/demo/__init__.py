"""The demo city's case history, written in bulk (``manage.py seed_demo_cases``).

Each case is lived in memory through the workflow's own transitions (``cases.transitions``:
the FSM of ``Case`` and the same field changes the services make), one timeline row per step
with the person who really does it, deadlines from the working calendar, and the marks the
overdue sweep would have made when a deadline passed. Nothing happens after the moment the
history is taken at (midnight starting ``end``), so old cases are mostly closed and the last
days' cases are spread over the open states.

Batches of cases and their timelines are then written at once: COPY on PostgreSQL (a year at
20,000 cases a day is millions of rows), ``bulk_create`` elsewhere. One day is one transaction
and its case number counter is written in it, so Ctrl-C leaves whole days only, a re-run skips
the days whose counter exists, and ``case_report`` continues each day's sequence afterwards.

``mix`` holds who reports what and how cases end, ``history`` the district and the making of a
day, ``life`` one case's story, ``rows`` the rows and their writing, ``seed`` the whole run.
"""

from cases.demo.history import DemoHistory
from cases.demo.mix import BATCH_SIZE, DEMO_DISTRICT, SWEEP_SECONDS, DemoCasesMissing
from cases.demo.rows import (
    CASE_FIELDS,
    STEP_FIELDS,
    Batch,
    case_ids_reserve,
    cases_write_bulk,
    cases_write_copy,
    cases_writer,
)
from cases.demo.seed import demo_cases_seed, history_as_of

__all__ = [
    "BATCH_SIZE",
    "CASE_FIELDS",
    "DEMO_DISTRICT",
    "STEP_FIELDS",
    "SWEEP_SECONDS",
    "Batch",
    "DemoCasesMissing",
    "DemoHistory",
    "case_ids_reserve",
    "cases_write_bulk",
    "cases_write_copy",
    "cases_writer",
    "demo_cases_seed",
    "history_as_of",
]
