"""Daily partitions of the track points on PostgreSQL: fixes land in their local day's
partition, partitions are made ahead and on demand (idempotently), and retention drops them."""

from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from patrol import partitions
from patrol.models import Shift, TrackPoint
from patrol.services import track_points_ingest
from patrol.tasks import track_partitions_ahead_task
from tests.factories import make_people
from tests.patrol.conftest import SHANGHAI, walk

pytestmark = [
    pytest.mark.postgis,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL: SpatiaLite has no partitions"
    ),
    pytest.mark.django_db,
]


@pytest.fixture
def people(now, small_city):
    return make_people(small_city)


def rows_by_partition() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text, count(*) FROM patrol_trackpoint GROUP BY 1"
        )
        return dict(cursor.fetchall())


def test_fixes_of_two_local_days_land_in_two_partitions(people, now, time_machine):
    time_machine.move_to(datetime(2026, 11, 24, 0, 10, tzinfo=SHANGHAI), tick=False)
    # 23:55 to 00:05 local: UTC midnight is eight hours away, the local one in the middle.
    fixes = walk(people.grid_a, datetime(2026, 11, 23, 23, 55, tzinfo=SHANGHAI), 120)

    result = track_points_ingest(inspector=people.inspector_a, fixes=fixes)

    assert result.accepted == 120
    assert rows_by_partition() == {
        "patrol_trackpoint_p20261123": 60,
        "patrol_trackpoint_p20261124": 60,
    }
    assert {date(2026, 11, 23), date(2026, 11, 24)} <= set(partitions.track_partitions())


def test_making_partitions_is_idempotent(db):
    day = date(2026, 3, 1)

    assert partitions.track_partitions_ensure([day]) == 1
    assert partitions.track_partitions_ensure([day]) == 0  # remembered
    partitions.forget()
    assert partitions.track_partitions_ensure([day, day]) == 1  # CREATE … IF NOT EXISTS
    assert partitions.track_partitions().count(day) == 1


def test_partitions_are_made_for_today_and_two_days_ahead(now):
    track_partitions_ahead_task()

    days = set(partitions.track_partitions())
    assert {date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)} <= days


def test_retention_drops_whole_days_older_than_it(people, now, time_machine, capsys):
    old_day = now - timedelta(days=200)
    time_machine.move_to(old_day, tick=False)
    track_points_ingest(inspector=people.inspector_a, fixes=walk(people.grid_a, old_day, 10))
    time_machine.move_to(now, tick=False)
    track_points_ingest(inspector=people.inspector_a, fixes=walk(people.grid_a, now, 10))
    old_partition = partitions.partition_name(old_day.date())

    call_command("prune_tracks", "--dry-run")
    assert old_partition in capsys.readouterr().out
    assert TrackPoint.objects.count() == 20

    call_command("prune_tracks")

    out = capsys.readouterr().out
    assert f"dropping {old_partition}" in out
    assert old_day.date() not in partitions.track_partitions()
    assert now.date() in partitions.track_partitions()
    assert TrackPoint.objects.count() == 10 and Shift.objects.count() == 1
