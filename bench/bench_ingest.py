"""GPS ingestion at the district's rate: the batch API against a raw COPY of the same rows.

The district sends 500–1,000 fixes a second, and bursts several times that when handhelds come
back online with their buffers. Measured here, on the demo city:

1. ``POST /api/v1/patrol/points/`` in process (the resolver's view function, a RequestFactory
   request with a knox token: token check, parsing, filters, shifts, the write, the live push
   after commit; no network, no middleware), GRIDCITY_BENCH_INGEST_BATCHES batches (default
   200) of 500 fixes from half as many inspectors (each uploads twice: one batch opens a shift,
   the next continues it), one after the other: a sustained rate, beside COPY of the same rows
   into the same table (the floor of any way in).
2. The write alone: ``patrol.services._points_insert`` (one INSERT … SELECT FROM unnest(…) …
   ON CONFLICT per batch) beside COPY into a temporary table + INSERT … SELECT … ON CONFLICT,
   the other way the ingestion could write. Whichever is faster is the one to keep.

Targets (PostGIS): ≥ 20,000 fixes/s through the API, and ≥ 20 % of COPY. On SpatiaLite the
baseline is a bare executemany INSERT, and the figures are for information: SQLite has one
writer, which is not the district's production database.

The fixes lie in the last half hour, at 2 s intervals, of inspectors without a shift in the
last two hours; everything written is deleted again, and the tables vacuumed as autovacuum
would between bursts.
"""

import json
import os
import struct
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.test import RequestFactory
from django.urls import resolve
from django.utils import timezone
from knox.models import get_token_model

from accounts.models import GridAssignment, Role, User
from bench.common import line
from patrol.filters import FixArrays
from patrol.fixes import Fix
from patrol.models import Shift, TrackPoint
from patrol.services import _points_insert

POSTGRES = connection.vendor == "postgresql"
BATCH = 500
BATCHES = int(os.environ.get("GRIDCITY_BENCH_INGEST_BATCHES", 200))
EVERY_S = 2.0
ROUNDS = 2
URL = "/api/v1/patrol/points/"
COLUMNS = (
    "shift_id, inspector_id, t, received_at, point, accuracy, speed, heading, altitude, "
    "battery, mock, client_id"
)


def _ewkb(x: float, y: float) -> str:
    """A WGS-84 point as hex EWKB, what COPY (and SpatiaLite's GeomFromEWKB) reads."""
    return struct.pack("<BIIdd", 1, 0x20000001, 4326, x, y).hex()


class Workload:
    """The inspectors, their fixes as the handheld would send them, and the same as rows."""

    def __init__(self, now):
        recent = Shift.objects.filter(status="open") | Shift.objects.filter(
            ended_at__gte=now - timedelta(hours=2)
        )
        busy = recent.values("inspector_id")
        n = max(1, BATCHES // 2)
        held = (
            GridAssignment.objects.filter(valid_to__isnull=True, kind="primary")
            .filter(inspector__role=Role.INSPECTOR, inspector__is_active=True)
            .exclude(inspector_id__in=busy)
            .select_related("grid", "inspector")
            .order_by("grid__code")[:n]
        )
        self.inspectors: list[User] = []
        self.fixes: list[list[Fix]] = []  # batch → fixes, in upload order
        self.owner: list[int] = []  # batch → index of its inspector
        span = 2 * BATCH * EVERY_S
        # Whole seconds: fixes are stored to the millisecond, and the clean-up must catch all.
        self.start = (now - timedelta(seconds=span + 60)).replace(microsecond=0)
        self.end = now
        for k, assignment in enumerate(held):
            self.inspectors.append(assignment.inspector)
            centre = assignment.grid.geom.point_on_surface
            for b in range(2):
                first = self.start.timestamp() + b * BATCH * EVERY_S
                self.fixes.append(
                    [
                        Fix(
                            t=first + i * EVERY_S,
                            lon=centre.x + 1e-5 * abs((b * BATCH + i) % 300 - 150),
                            lat=centre.y,
                            accuracy=6.0,
                            speed=1.2,
                            heading=90.0,
                            battery=75.0,
                            client_id=f"{b * BATCH + i}",
                        )
                        for i in range(BATCH)
                    ]
                )
                self.owner.append(k)
            if len(self.fixes) >= BATCHES:
                break
        # Upload order: every inspector's first batch, then every second one.
        order = sorted(range(len(self.fixes)), key=lambda i: (i % 2, i))
        self.fixes = [self.fixes[i] for i in order]
        self.owner = [self.owner[i] for i in order]
        self.bodies = [
            json.dumps(
                {
                    "points": [
                        {
                            "id": f.client_id,
                            "t": round(f.t * 1000),
                            "lon": f.lon,
                            "lat": f.lat,
                            "acc": f.accuracy,
                            "speed": f.speed,
                            "heading": f.heading,
                            "batt": f.battery,
                        }
                        for f in batch
                    ]
                }
            ).encode()
            for batch in self.fixes
        ]

    @property
    def total(self) -> int:
        return sum(len(b) for b in self.fixes)

    def ids(self) -> list[int]:
        return [u.pk for u in self.inspectors]

    def occupied(self) -> bool:
        return TrackPoint.objects.filter(
            inspector_id__in=self.ids(), t__gte=self.start, t__lte=self.end
        ).exists()

    def clean(self) -> None:
        """Delete what a measurement wrote (only these inspectors, only this window)."""
        ids = self.ids()
        with transaction.atomic():
            TrackPoint.objects.filter(
                inspector_id__in=ids, t__gte=self.start, t__lte=self.end
            ).delete()
            Shift.objects.filter(inspector_id__in=ids, started_at__gte=self.start).delete()
        _settle()

    def shifts_for_rows(self) -> dict[int, int]:
        """One closed shift per inspector for the raw writes (made outside the timing)."""
        made = Shift.objects.bulk_create(
            [
                Shift(
                    inspector=u,
                    started_at=self.start,
                    ended_at=self.end,
                    status="closed",
                    end_reason="idle",
                    opened_auto=True,
                )
                for u in self.inspectors
            ]
        )
        return {s.inspector_id: s.pk for s in made}


def _settle() -> None:
    if POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE patrol_trackpoint")
            cursor.execute("VACUUM ANALYZE patrol_shift")


# --- the ways in -------------------------------------------------------------------------------


def through_api(work: Workload, tokens: list[str]) -> float:
    view = resolve(URL).func
    factory = RequestFactory()
    started = time.perf_counter()
    for body, owner in zip(work.bodies, work.owner, strict=True):
        request = factory.post(
            URL, body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {tokens[owner]}"
        )
        response = view(request)
        response.render()
        assert response.status_code == 200, response.content[:300]
        assert response.data["accepted"] == BATCH, response.data
    return time.perf_counter() - started


def _rows(work: Workload, shifts: dict[int, int], received_at) -> list[list[tuple]]:
    out = []
    for batch, owner in zip(work.fixes, work.owner, strict=True):
        inspector = work.inspectors[owner].pk
        rows = []
        for f in batch:
            at = datetime.fromtimestamp(f.t, tz=UTC)
            point = _ewkb(f.lon, f.lat)
            rows.append(
                (
                    shifts[inspector],
                    inspector,
                    at,
                    received_at,
                    point,
                    f.accuracy,
                    f.speed,
                    f.heading,
                    None,
                    round(f.battery),  # a whole percent, as the column holds it
                    False,
                    f.client_id,
                )
            )
        out.append(rows)
    return out


def raw_copy(batches: list[list[tuple]]) -> float:
    """The floor: the same rows, already made, through COPY (PostgreSQL) or a bare executemany
    INSERT (SpatiaLite), one transaction a batch like the API."""
    started = time.perf_counter()
    for rows in batches:
        with transaction.atomic(), connection.cursor() as cursor:
            if POSTGRES:
                with cursor.cursor.copy(f"COPY patrol_trackpoint ({COLUMNS}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(
                    f"INSERT INTO patrol_trackpoint ({COLUMNS}) VALUES "
                    "(%s, %s, %s, %s, GeomFromEWKB(%s), %s, %s, %s, %s, %s, %s, %s)",
                    [_sqlite_row(r) for r in rows],
                )
    return time.perf_counter() - started


def _sqlite_row(row: tuple) -> tuple:
    values = list(row)
    values[2] = connection.ops.adapt_datetimefield_value(values[2])
    values[3] = connection.ops.adapt_datetimefield_value(values[3])
    return tuple(values)


# The same columns as _points_insert writes, the two flags of each fix included.
_COPY_INSERT = f"""
WITH stored AS (
    INSERT INTO patrol_trackpoint ({COLUMNS}, segment_start, time_from_server)
    SELECT shift_id, inspector_id, to_timestamp(ms::float8 / 1000), received_at,
           ST_SetSRID(ST_MakePoint(lon, lat), 4326), NULLIF(accuracy, 'NaN'),
           NULLIF(speed, 'NaN'), NULLIF(heading, 'NaN'), NULLIF(altitude, 'NaN'),
           NULLIF(battery, 'NaN')::int2, mock, client_id, segment_start, time_from_server
    FROM patrol_incoming
    ON CONFLICT (inspector_id, t) DO NOTHING
    RETURNING shift_id
)
SELECT shift_id, count(*) FROM stored GROUP BY shift_id
"""


def write_unnest(arrays, received_at) -> float:
    started = time.perf_counter()
    for inspector_id, shift_ids, fixes in arrays:
        with transaction.atomic():
            _points_insert(
                inspector_id=inspector_id,
                shift_ids=shift_ids,
                fixes=fixes,
                received_at=received_at,
            )
    return time.perf_counter() - started


def write_copy_then_insert(arrays, received_at) -> float:
    """The alternative to ``_points_insert``: COPY the batch into a temporary table, then
    INSERT … SELECT … ON CONFLICT from it (three statements a batch)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS patrol_incoming (shift_id int8, inspector_id int8, "
            "ms int8, received_at timestamptz, lon float8, lat float8, accuracy float8, "
            "speed float8, heading float8, altitude float8, battery float8, mock bool, "
            "client_id text, segment_start bool, time_from_server bool) ON COMMIT DELETE ROWS"
        )
    started = time.perf_counter()
    for inspector_id, shift_ids, fixes in arrays:
        with transaction.atomic(), connection.cursor() as cursor:
            columns = [
                shift_ids.tolist(),
                [inspector_id] * len(shift_ids),
                fixes.ms.tolist(),
                [received_at] * len(shift_ids),
                fixes.lon.tolist(),
                fixes.lat.tolist(),
                *(
                    getattr(fixes, name).tolist()
                    for name in ("accuracy", "speed", "heading", "altitude", "battery")
                ),
                fixes.mock.tolist(),
                fixes.client_id.tolist(),
                [False] * len(shift_ids),
                [False] * len(shift_ids),
            ]
            with cursor.cursor.copy("COPY patrol_incoming FROM STDIN") as copy:
                for row in zip(*columns, strict=True):
                    copy.write_row(row)
            cursor.execute(_COPY_INSERT)
            cursor.fetchall()
    return time.perf_counter() - started


# --- the run -------------------------------------------------------------------------------------


def run():
    now = timezone.now()
    work = Workload(now)
    if not work.inspectors:
        yield "ingest: no inspectors in the database (seed_demo_city first)"
        return
    if work.occupied():
        yield "ingest: the chosen inspectors already have fixes in the last hour; try later"
        return
    backend = "PostGIS" if POSTGRES else "SpatiaLite"
    print(
        f"ingest bench on {backend}: {len(work.fixes)} batches of {BATCH} fixes from "
        f"{len(work.inspectors)} inspectors, {ROUNDS} rounds",
        file=sys.stderr,
    )
    Token = get_token_model()
    made = [Token.objects.create(user=u, expiry=None) for u in work.inspectors]
    tokens = [token for _instance, token in made]
    try:
        api_s, copy_s = [], []
        unnest_s, copy_insert_s = [], []
        for _round in range(ROUNDS):
            api_s.append(through_api(work, tokens))
            work.clean()
            shifts = work.shifts_for_rows()
            received = timezone.now()
            copy_s.append(raw_copy(_rows(work, shifts, received)))
            work.clean()
            if POSTGRES:
                shifts = work.shifts_for_rows()
                arrays = [
                    (
                        work.inspectors[owner].pk,
                        np.full(len(batch), shifts[work.inspectors[owner].pk], np.int64),
                        FixArrays.of(batch),
                    )
                    for batch, owner in zip(work.fixes, work.owner, strict=True)
                ]
                unnest_s.append(write_unnest(arrays, received))
                work.clean()
                shifts = work.shifts_for_rows()
                arrays = [(i, np.full(len(s), shifts[i], np.int64), f) for i, s, f in arrays]
                copy_insert_s.append(write_copy_then_insert(arrays, received))
                work.clean()
    finally:
        Token.objects.filter(pk__in=[instance.pk for instance, _token in made]).delete()
        work.clean()

    n = work.total
    api_rate, copy_rate = n / min(api_s), n / min(copy_s)
    ratio = api_rate / copy_rate
    floor = "COPY" if POSTGRES else "executemany INSERT"
    verdict = ""
    if POSTGRES:
        ok = api_rate >= 20_000 and ratio >= 0.2
        verdict = "OK" if ok else "BELOW TARGET (≥ 20,000 fixes/s and ≥ 0.20 × COPY)"
    yield line(
        f"POST {URL} ({len(work.fixes)} × {BATCH} fixes, {len(work.inspectors)} inspectors)",
        f"{api_rate:,.0f} fixes/s ({min(api_s) / len(work.fixes) * 1e3:.1f} ms a batch)",
        f"{floor} of the same rows {copy_rate:,.0f} rows/s",
        ratio,
        verdict,
    )
    if POSTGRES:
        unnest_rate, other_rate = n / min(unnest_s), n / min(copy_insert_s)
        yield line(
            "_points_insert: INSERT … SELECT FROM unnest(…) ON CONFLICT, one statement a batch",
            f"{unnest_rate:,.0f} rows/s",
            f"COPY to a temporary table + INSERT … SELECT … ON CONFLICT {other_rate:,.0f} rows/s",
            unnest_rate / other_rate,
            "unnest kept" if unnest_rate >= other_rate else "COPY + INSERT is faster: switch",
        )
