"""The rows of the demo case history and how they are written: COPY on PostgreSQL, bulk_create
elsewhere, into ids reserved beforehand."""

import json
import struct
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.gis.geos import GEOSGeometry
from django.db import connection

from cases.models import Case, CaseTransition

# The columns written, in row order: every concrete field of the two models.
CASE_FIELDS = (
    "id",
    "number",
    "source",
    "item_id",
    "description",
    "point",
    "address",
    "grid_id",
    "community_id",
    "street_id",
    "district_id",
    "reporter_id",
    "contact_name",
    "contact_phone",
    "department_id",
    "assignee_id",
    "verifier_id",
    "status",
    "suspended_from",
    "resolution",
    "master_id",
    "filed_at",
    "dispatched_at",
    "handled_at",
    "closed_at",
    "suspended_at",
    "file_due",
    "dispatch_due",
    "handle_due",
    "verify_due",
    "warned_at",
    "confirmation",
    "confirm_requested_at",
    "overdue",
    "escalated",
    "rework_count",
    "closed_on_time",
    "rating",
    "request_type",
    "external_number",
    "reply_due",
    "repeat_count",
    "held",
    "public_hidden",
    "public_text",
    "moderated_at",
    "satisfaction",
    "callback_due",
    "callback_done_at",
    "client_uuid",
    "request_digest",
    "created_at",
    "updated_at",
)
STEP_FIELDS = (
    "case_id",
    "action",
    "from_state",
    "to_state",
    "actor_id",
    "at",
    "note",
    "location",
    "detail",
)


def fields_check() -> None:
    """A field added to Case or CaseTransition must be added here too, or the rows go wrong."""
    for model, names in ((Case, CASE_FIELDS), (CaseTransition, STEP_FIELDS)):
        have = {f.attname for f in model._meta.concrete_fields}
        written = set(names) | ({"id"} if model is CaseTransition else set())
        if have != written:
            raise RuntimeError(
                f"{model.__name__} fields and the columns cases.demo writes differ in "
                f"{sorted(have ^ written)}: update CASE_FIELDS or STEP_FIELDS and the rows"
            )


def ewkb(x: float, y: float) -> str:
    """A WGS-84 point as hex EWKB: what PostGIS reads in COPY and GEOS reads elsewhere."""
    return struct.pack("<BIIdd", 1, 0x20000001, 4326, x, y).hex()


@dataclass
class Batch:
    """Rows ready to write: cases in ``CASE_FIELDS`` order, steps in ``STEP_FIELDS`` order.
    Points are hex EWKB, details JSON text."""

    cases: list[tuple] = field(default_factory=list)
    steps: list[tuple] = field(default_factory=list)


def _columns(model, names) -> str:
    quote = connection.ops.quote_name
    return ", ".join(quote(model._meta.get_field(n).column) for n in names)


def cases_write_copy(batch: Batch) -> None:
    """PostgreSQL: the batch through COPY, an order of magnitude faster than INSERTs."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        with raw.copy(
            f"COPY {quote(Case._meta.db_table)} ({_columns(Case, CASE_FIELDS)}) FROM STDIN"
        ) as copy:
            for row in batch.cases:
                copy.write_row(row)
        with raw.copy(
            f"COPY {quote(CaseTransition._meta.db_table)} "
            f"({_columns(CaseTransition, STEP_FIELDS)}) FROM STDIN"
        ) as copy:
            for row in batch.steps:
                copy.write_row(row)


@contextmanager
def _clock_fields_as_given(model):
    """Let bulk_create store created_at/updated_at as given: auto_now(_add) would stamp every
    row with the time of writing. Only a single-threaded seeding command may do this."""
    changed = [
        (f, f.auto_now, f.auto_now_add)
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    for f, _now, _add in changed:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, now, add in changed:
            f.auto_now, f.auto_now_add = now, add


def cases_write_bulk(batch: Batch) -> None:
    """Anywhere: the batch through Django's bulk_create (SpatiaLite, or a test database)."""
    point = CASE_FIELDS.index("point")
    cases = []
    for row in batch.cases:
        values = dict(zip(CASE_FIELDS, row, strict=True))
        values["point"] = GEOSGeometry(row[point])
        cases.append(Case(**values))
    steps = []
    for row in batch.steps:
        values = dict(zip(STEP_FIELDS, row, strict=True))
        if values["location"]:
            values["location"] = GEOSGeometry(values["location"])
        values["detail"] = json.loads(values["detail"])
        steps.append(CaseTransition(**values))
    with _clock_fields_as_given(Case):
        Case.objects.bulk_create(cases, batch_size=1000)
    CaseTransition.objects.bulk_create(steps, batch_size=2000)


def cases_writer() -> Callable[[Batch], None]:
    return cases_write_copy if connection.vendor == "postgresql" else cases_write_bulk


def case_ids_reserve(n: int) -> list[int]:
    """``n`` case ids nobody else will get, so timelines and duplicates can point at cases
    before they are written. Called after the day's counter row is written, which on SQLite
    already holds the database's write lock."""
    table = Case._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, n],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
        top = cursor.fetchone()[0]
        if connection.vendor == "sqlite":
            # AUTOINCREMENT never reuses an id, even of a deleted row.
            cursor.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = %s", [table]
            )
            top = max(top, cursor.fetchone()[0])
    return list(range(top + 1, top + n + 1))
