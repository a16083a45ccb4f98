"""Daily partitions of the track points on PostgreSQL (no-ops elsewhere).

15–40 million fixes a day are kept for a retention period (personal data of employees): a
table partitioned by day lets retention drop a whole day at once instead of deleting rows, and
keeps each day's indexes small. A day is a local day (Asia/Shanghai), from midnight to midnight.

Partitions are made ahead by a periodic task and, for late uploads, by ingestion itself
(``track_partitions_ensure`` remembers what it made, so the usual call costs nothing).
"""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

TABLE = "patrol_trackpoint"
_NAME = re.compile(rf"^{TABLE}_p(\d{{8}})$")
_known: set[date] = set()


def _local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def partitioned() -> bool:
    return connection.vendor == "postgresql"


def partition_name(day: date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = _local_tz()
    return (
        datetime.combine(day, time.min, tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz),
    )


def track_partitions() -> list[date]:
    """The days that have a partition, oldest first."""
    if not partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    days = []
    for name in names:
        if m := _NAME.match(name):
            days.append(datetime.strptime(m.group(1), "%Y%m%d").date())
    return sorted(days)


def track_partitions_ensure(days) -> int:
    """Make the partitions of these local days that do not exist yet; returns how many."""
    if not partitioned():
        return 0
    wanted = sorted(set(days) - _known)
    if not wanted:
        return 0
    made = 0
    with connection.cursor() as cursor:
        for day in wanted:
            start, end = day_bounds(day)
            # IF NOT EXISTS: several processes may race to make the same day.
            cursor.execute(
                f'CREATE TABLE IF NOT EXISTS "{partition_name(day)}" PARTITION OF "{TABLE}" '
                "FOR VALUES FROM (%s) TO (%s)",
                [start, end],
            )
            made += 1
    _known.update(wanted)
    return made


def forget() -> None:
    """Forget which partitions were made (tests that recreate the table)."""
    _known.clear()
