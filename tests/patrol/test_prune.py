"""Retention of the tracks (``manage.py prune_tracks``): fixes of days older than the retention
go, with the shifts that ended before then; later ones stay. On SpatiaLite rows are deleted in
chunks, on PostgreSQL whole daily partitions are dropped: the same outcome either way."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from patrol.models import Shift, TrackPoint
from patrol.services import track_points_ingest, tracks_prune
from tests.factories import make_people
from tests.patrol.conftest import walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(now, small_city):
    return make_people(small_city)


@pytest.fixture
def history(people, now, time_machine):
    """Shifts of 200 days ago, of 179 days ago, and of today (ten fixes each)."""
    shifts = {}
    for days in (200, 179, 0):
        at = now - timedelta(days=days)
        time_machine.move_to(at, tick=False)
        result = track_points_ingest(
            inspector=people.inspector_a, fixes=walk(people.grid_a, at, 10)
        )
        shifts[days] = Shift.objects.get(pk=result.shifts[0])
    time_machine.move_to(now, tick=False)
    return shifts


def test_prune_deletes_fixes_and_shifts_older_than_the_retention(history, capsys):
    call_command("prune_tracks")

    assert set(Shift.objects.values_list("pk", flat=True)) == {history[179].pk, history[0].pk}
    assert TrackPoint.objects.count() == 20
    assert not TrackPoint.objects.filter(shift=history[200].pk).exists()
    assert "1 shifts" in capsys.readouterr().out


def test_a_dry_run_says_what_would_go_and_deletes_nothing(history, capsys):
    call_command("prune_tracks", "--dry-run", "--older-than", "100")

    out = capsys.readouterr().out
    assert "would" in out and "2 shifts" in out
    assert TrackPoint.objects.count() == 30 and Shift.objects.count() == 3


def test_a_shorter_retention_prunes_more(history):
    result = tracks_prune(older_than_days=100, chunk=3)

    assert result.shifts == 2
    assert set(Shift.objects.values_list("pk", flat=True)) == {history[0].pk}
    assert TrackPoint.objects.count() == 10


def test_pruning_again_finds_nothing_more(history):
    tracks_prune()

    again = tracks_prune()

    assert (again.partitions, again.points, again.shifts) == ([], 0, 0)
    assert TrackPoint.objects.count() == 20


def test_a_retention_under_a_day_is_refused():
    with pytest.raises(CommandError):
        call_command("prune_tracks", "--older-than", "0")


def test_the_daily_task_keeps_the_retention_without_anyone_running_the_command(history):
    from patrol.tasks import tracks_prune_task

    done = tracks_prune_task()

    assert done["shifts"] == 1
    assert set(Shift.objects.values_list("pk", flat=True)) == {history[179].pk, history[0].pk}
    assert tracks_prune_task()["shifts"] == 0  # a second run finds nothing more
