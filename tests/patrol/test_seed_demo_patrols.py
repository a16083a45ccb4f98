"""Demo patrols (``manage.py seed_demo_patrols``): shifts of rounds of each grid's checkpoints,
written in bulk with their reports, deterministic for a seed, resumable. On the small city's
grids A and B, each given three checkpoints."""

from datetime import date, datetime, timedelta
from io import StringIO

import numpy as np
import pytest
import shapely
from django.contrib.gis.geos import Point
from django.core.management import CommandError, call_command

from gridcity.geometry import LocalMetric, to_shapely
from gridcity.models import Checkpoint
from patrol import filters
from patrol.demo import PatrolMix, demo_beats, demo_patrols_seed
from patrol.filters import FilterParams, FixArrays, StoredFixes
from patrol.models import Shift, ShiftStatus, TrackPoint
from patrol.partitions import day_bounds
from patrol.selectors import shift_track, shifts_visible_to
from tests.factories import make_people
from tests.patrol.conftest import SHANGHAI

pytestmark = pytest.mark.django_db

EVENING = datetime(2026, 11, 24, 19, 0, tzinfo=SHANGHAI)
DAYS = [date(2026, 11, 23), date(2026, 11, 24)]
# Every inspector works every day, both shifts, and none has anomalies: counts are exact.
STEADY = PatrolMix(absent=(0.0, 0.0), half_day=0.0, anomalous=0.0)


@pytest.fixture
def evening(time_machine) -> datetime:
    time_machine.move_to(EVENING, tick=False)
    return EVENING


@pytest.fixture
def people(evening, small_city):
    people = make_people(small_city)
    # The factory's grids have one checkpoint, at the centre; rounds need a few.
    for grid in (people.grid_a, people.grid_b):
        centre = grid.geom.point_on_surface
        for n, (dx, dy, dwell) in enumerate([(-0.0011, -0.0009, 3), (0.0010, 0.0008, 8)], 2):
            Checkpoint.objects.create(
                code=f"{grid.code}{n:03d}",
                name=f"巡查点{n}",
                grid=grid,
                point=Point(centre.x + dx, centre.y + dy, srid=4326),
                min_dwell_minutes=dwell,
            )
    return people


@pytest.fixture
def beats(people):
    return demo_beats([people.grid_a, people.grid_b])


def seed(beats, *, days=2, mix=STEADY, seed=2026, interval_s=20.0, now=EVENING):
    return demo_patrols_seed(
        beats=beats, days=days, interval_s=interval_s, seed=seed, now=now, mix=mix
    )


def snapshot() -> list[tuple]:
    return list(
        TrackPoint.objects.order_by("inspector_id", "t").values_list(
            "inspector__username", "t", "point", "accuracy", "speed", "mock"
        )
    )


def test_each_inspector_day_gets_its_shifts_and_fixes(people, beats):
    counts = seed(beats)

    for inspector in (people.inspector_a, people.inspector_b):
        for day in DAYS:
            start, end = day_bounds(day)
            shifts = Shift.objects.filter(
                inspector=inspector, started_at__gte=start, started_at__lt=end
            )
            assert shifts.count() == 2  # morning and afternoon
            for shift in shifts:
                stored = TrackPoint.objects.filter(shift=shift)
                times = sorted(stored.values_list("t", flat=True))
                assert shift.status == ShiftStatus.CLOSED
                assert shift.points_count == len(times) > 400  # 3–4 h at 20 s
                assert (shift.first_point_at, shift.last_point_at) == (times[0], times[-1])
                assert shift.started_at <= shift.first_point_at
                assert shift.ended_at >= shift.last_point_at
                assert not stored.exclude(inspector=inspector).exists()
    assert counts["inspector-days"] == 4 and counts["shifts"] == 8
    assert counts["fixes"] == TrackPoint.objects.count()


def test_fixes_lie_inside_the_grid_or_just_over_its_edge(people, beats):
    seed(beats)

    for beat in beats:
        shape = to_shapely(
            people.grid_a.geom if beat.grid_id == people.grid_a.pk else people.grid_b.geom
        )
        metric = LocalMetric.around(shape)
        area = metric.to_metric(shape)
        for shift in Shift.objects.filter(inspector_id=beat.inspector_id):
            track = shift_track(shift)
            points = metric.to_metric(shapely.points(track.lon, track.lat))
            off = shapely.distance(area, points)
            assert np.mean(off == 0) > 0.85
            # Shops, lunch and excursions over the edge; nothing far away without anomalies.
            assert off.max() < 400


def test_every_seeded_shift_has_its_report(people, beats):
    seed(beats)

    shifts = list(Shift.objects.all())
    assert len(shifts) == 8
    for shift in shifts:
        report = shift.report
        assert report is not None and shift.report_points == shift.points_count
        assert report["points"] == shift.points_count
        assert report["distance_m"] > 1000
        assert report["checkpoints_required"] == 3
        assert report["visits"] and report["checkpoints_visited"] == 3
        fewest_visits = min(c["visits"] for c in report["checkpoints"])
        assert 1 <= report["laps"] <= fewest_visits
        assert 0.2 < report["coverage"] <= 1
        assert report["stops"]
        assert not any(report["anomaly_counts"].values())


def test_an_inspector_who_hurries_misses_checkpoints_one_who_does_not_meets_them(people, beats):
    never = PatrolMix(
        absent=(0, 0), half_day=0, anomalous=0, short_stay=(0, 0), short_now_and_then=0, skip=(0, 0)
    )
    seed(beats, mix=never)
    met = [c["met"] for s in Shift.objects.all() for c in s.report["checkpoints"]]
    assert len(met) == 24 and all(met)

    TrackPoint.objects.all().delete()
    Shift.objects.all().delete()
    seed(beats, mix=PatrolMix(absent=(0, 0), half_day=0, anomalous=0, short_stay=(0.6, 0.6)))
    met = [c["met"] for s in Shift.objects.all() for c in s.report["checkpoints"]]
    assert len(met) == 24 and 3 <= met.count(False) <= 21
    short = [v for s in Shift.objects.all() for v in s.report["visits"] if not v["met"]]
    assert short


def test_the_same_seed_gives_the_same_patrols_and_another_seed_others(beats):
    seed(beats)
    first = snapshot()

    TrackPoint.objects.all().delete()
    Shift.objects.all().delete()
    seed(beats)
    assert snapshot() == first

    TrackPoint.objects.all().delete()
    Shift.objects.all().delete()
    seed(beats, seed=7)
    assert snapshot() != first


def test_a_second_run_adds_nothing(beats):
    seed(beats)
    shifts, fixes = Shift.objects.count(), TrackPoint.objects.count()

    counts = seed(beats)

    assert counts["shifts"] == counts["fixes"] == 0
    assert counts["skipped"] == 4
    assert (Shift.objects.count(), TrackPoint.objects.count()) == (shifts, fixes)


def test_an_interrupted_run_is_continued_where_it_stopped(beats):
    seed(beats, days=1)  # yesterday was not seeded
    assert Shift.objects.count() == 4

    counts = seed(beats, days=2)

    assert counts["skipped"] == 2 and counts["shifts"] == 4
    assert Shift.objects.count() == 8


@pytest.mark.parametrize(
    ("weights", "shown"),
    [((1, 0, 0), {"jump"}), ((0, 1, 0), {"mock", "frozen"}), ((0, 0, 1), {"speed"})],
    ids=["jump", "mock-location", "ride"],
)
def test_anomalous_inspectors_show_anomalies_ingestion_would_have_stored(beats, weights, shown):
    mix = PatrolMix(absent=(0, 0), half_day=0, anomalous=1.0, anomaly=1.0, anomaly_kinds=weights)
    seed(beats, days=1, mix=mix, interval_s=10.0)

    params = FilterParams.from_settings()
    for shift in Shift.objects.all():
        assert {k for k, n in shift.report["anomaly_counts"].items() if n} == shown
        track = shift_track(shift)
        n = len(track)
        arrays = FixArrays(
            ms=track.ms,
            lon=track.lon,
            lat=track.lat,
            accuracy=track.accuracy,
            speed=track.speed,
            heading=track.heading,
            altitude=track.altitude,
            battery=track.battery,
            mock=track.mock,
            client_id=np.full(n, "", dtype=object),
            unreadable=np.zeros(n, dtype=bool),
        )
        assert (filters.fixes_screen(arrays, now=EVENING.timestamp(), params=params) == 0).all()
        verdicts = filters.fixes_against_track(arrays, stored=StoredFixes.empty(), params=params)
        assert (verdicts == filters.KEPT).all()


def test_today_is_seeded_up_to_the_present_only(beats, time_machine):
    afternoon = datetime(2026, 11, 24, 15, 0, tzinfo=SHANGHAI)
    time_machine.move_to(afternoon, tick=False)

    seed(beats, days=1, now=afternoon)

    assert Shift.objects.count() == 4
    assert Shift.objects.filter(started_at__date__gte=date(2026, 11, 24)).count() == 4
    assert TrackPoint.objects.latest("t").t <= afternoon - timedelta(minutes=1)
    assert not Shift.objects.filter(ended_at__gt=afternoon).exists()
    assert all(s.report is not None for s in Shift.objects.all())


def test_before_the_morning_shift_the_days_end_yesterday(beats, time_machine):
    early = datetime(2026, 11, 24, 7, 0, tzinfo=SHANGHAI)
    time_machine.move_to(early, tick=False)

    seed(beats, days=1, now=early)

    start, end = day_bounds(date(2026, 11, 23))
    assert Shift.objects.count() == 4
    assert Shift.objects.filter(started_at__gte=start, started_at__lt=end).count() == 4


def test_supervisors_see_the_seeded_shifts_and_their_grids_count(people, beats):
    seed(beats)

    first = Shift.objects.order_by("started_at").first()
    assignment = people.inspector_a.grid_assignments.get()
    assert assignment.valid_from <= first.started_at  # moved back to the first seeded day
    visible = shifts_visible_to(people.supervisor)
    assert set(visible.values_list("inspector_id", flat=True)) == {people.inspector_a.pk}
    assert visible.count() == 4


def test_the_command_seeds_the_grids_of_a_street_and_sums_up(people, small_city):
    out = StringIO()
    call_command(
        "seed_demo_patrols",
        "--district",
        small_city.district.code,
        "--street",
        small_city.streets[0].code,
        "--interval",
        "30",
        stdout=out,
        stderr=StringIO(),
    )

    assert set(Shift.objects.values_list("inspector_id", flat=True)) == {people.inspector_a.pk}
    assert all(s.report is not None for s in Shift.objects.all())
    text = out.getvalue()
    assert f"{TrackPoint.objects.count():,} fixes" in text and "fixes/s" in text


def test_the_command_limits_to_the_first_grids(people, small_city):
    call_command(
        "seed_demo_patrols",
        "--district",
        small_city.district.code,
        "--grids",
        "1",
        stdout=StringIO(),
        stderr=StringIO(),
    )

    assert set(Shift.objects.values_list("inspector_id", flat=True)) == {people.inspector_a.pk}


def test_if_empty_does_nothing_once_a_shift_exists(people, beats, small_city):
    seed([b for b in beats if b.inspector_id == people.inspector_a.pk], days=1)
    before = Shift.objects.count()

    out = StringIO()
    call_command(
        "seed_demo_patrols",
        "--district",
        small_city.district.code,
        "--street",
        small_city.streets[1].code,
        "--if-empty",
        stdout=out,
    )

    assert Shift.objects.count() == before
    assert not Shift.objects.filter(inspector=people.inspector_b).exists()
    assert "demo patrols not written" in out.getvalue()


def test_an_unknown_street_is_a_command_error(people, small_city):
    with pytest.raises(CommandError, match="no street 999901999"):
        call_command(
            "seed_demo_patrols", "--district", small_city.district.code, "--street", "999901999"
        )


def test_a_database_without_the_demo_city_is_a_command_error(people):
    with pytest.raises(CommandError, match="seed_demo_city"):
        call_command("seed_demo_patrols")
    assert not Shift.objects.exists()
