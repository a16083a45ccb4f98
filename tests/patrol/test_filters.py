"""The filters of incoming fixes: a corpus of bad fixes, each rejected for its one reason, among
good fixes that are all kept."""

import math
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from patrol import filters
from patrol.filters import FilterParams, FixArrays, StoredFixes
from patrol.fixes import Fix
from patrol.models import TrackPoint
from patrol.services import track_points_ingest
from tests.patrol.conftest import walk

PARAMS = FilterParams()  # the defaults: 300 s ahead, 7 days back, 100 m, 120 km/h
NOW = 1_795_000_000.0


def good(n=10, *, start=NOW - 600, lon=113.85, lat=22.65) -> list[Fix]:
    """A walk east at 1.5 km/h, one fix every 5 s."""
    return [
        Fix(t=start + 5 * i, lon=lon + 2e-5 * i, lat=lat, accuracy=8.0, client_id=f"g{i}")
        for i in range(n)
    ]


def verdicts(fixes, stored=None, now=NOW, params=PARAMS) -> list[str]:
    arrays = FixArrays.of(fixes)
    out = filters.fixes_screen(arrays, now=now, params=params)
    passed = np.flatnonzero(out == filters.KEPT)
    out[passed] = filters.fixes_against_track(
        arrays.take(passed), stored=stored or StoredFixes.empty(), params=params
    )
    names = {filters.KEPT: "kept", filters.DUPLICATE: "duplicate", **filters.REASON_OF}
    return [names[int(v)] for v in out]


BAD = {
    "invalid": [
        Fix(t=NOW - 100, lon=113.85, lat=91.0),
        Fix(t=NOW - 100, lon=-180.5, lat=22.65),
        Fix(t=NOW - 100, lon=math.nan, lat=22.65),
        Fix(t=NOW - 100, lon=113.85, lat=math.inf),
        Fix(t=math.nan, lon=113.85, lat=22.65),
        Fix(t="2026-11-24T10:00:00+08:00", lon=113.85, lat=22.65),
        Fix(t=NOW - 100, lon="113.85", lat=22.65),
        Fix(t=NOW - 100, lon=113.85, lat=22.65, accuracy=-1.0),
        Fix(t=NOW - 100, lon=113.85, lat=22.65, speed=-0.5),
        Fix(t=NOW - 100, lon=113.85, lat=22.65, speed=math.inf),
    ],
    "zero": [Fix(t=NOW - 100, lon=0.0, lat=0.0)],
    "future": [Fix(t=NOW + 301, lon=113.85, lat=22.65)],
    "too_old": [Fix(t=NOW - 7 * 86400 - 1, lon=113.85, lat=22.65)],
    "accuracy": [Fix(t=NOW - 100, lon=113.85, lat=22.65, accuracy=150.0)],
}


@pytest.mark.parametrize(
    ("reason", "index"), [(reason, i) for reason, bad in BAD.items() for i in range(len(bad))]
)
def test_each_bad_fix_is_rejected_for_its_reason_and_the_good_ones_kept(reason, index):
    fixes = [*good(), BAD[reason][index]]

    assert verdicts(fixes) == ["kept"] * 10 + [reason]


def test_a_fix_wrong_in_several_ways_gets_the_first_reason_only():
    zero_in_the_future = Fix(t=NOW + 3600, lon=0.0, lat=0.0, accuracy=500.0)
    out_of_range_and_inaccurate = Fix(t=NOW - 100, lon=113.85, lat=95.0, accuracy=500.0)
    old_and_inaccurate = Fix(t=NOW - 30 * 86400, lon=113.85, lat=22.65, accuracy=500.0)

    assert verdicts([zero_in_the_future, out_of_range_and_inaccurate, old_and_inaccurate]) == [
        "zero",
        "invalid",
        "too_old",
    ]


def test_the_limits_are_edges_that_still_pass():
    edges = [
        Fix(t=NOW + 300, lon=113.85, lat=22.65, accuracy=100.0),
        Fix(t=NOW - 7 * 86400 + 1, lon=113.86, lat=22.65),
        Fix(t=NOW - 50, lon=180.0, lat=-90.0),
    ]

    assert [verdicts([fix]) for fix in edges] == [["kept"]] * 3


def test_the_max_age_is_never_beyond_the_retention(settings):
    settings.GRIDCITY_PATROL_MAX_AGE_DAYS = 30
    settings.GRIDCITY_PATROL_RETENTION_DAYS = 3
    params = FilterParams.from_settings()
    fixes = [Fix(t=NOW - 4 * 86400, lon=113.85, lat=22.65)]

    assert verdicts(fixes, params=params) == ["too_old"]


def test_the_limits_come_from_settings(settings):
    settings.GRIDCITY_PATROL_MAX_ACCURACY_M = 20
    settings.GRIDCITY_PATROL_FUTURE_SECONDS = 10
    settings.GRIDCITY_PATROL_MAX_SPEED_KMH = 5
    params = FilterParams.from_settings()
    fixes = [
        Fix(t=NOW - 100, lon=113.85, lat=22.65, accuracy=50.0),
        Fix(t=NOW + 60, lon=113.85, lat=22.65),
        Fix(t=NOW - 50, lon=113.85, lat=22.65),
        Fix(t=NOW - 45, lon=113.8502, lat=22.65),  # 20 m in 5 s: 14 km/h
    ]

    assert verdicts(fixes, params=params) == ["accuracy", "future", "kept", "speed"]


def test_the_same_fix_twice_in_a_batch_is_a_duplicate_not_a_rejection():
    fixes = good()
    assert verdicts([*fixes, fixes[3]]) == ["kept"] * 10 + ["duplicate"]


def test_another_fix_at_the_same_time_is_rejected_whichever_comes_first():
    fixes = good()
    moved = replace(fixes[3], lon=fixes[3].lon + 1e-4)
    renamed = replace(fixes[5], client_id="other")

    assert verdicts([moved, *fixes, renamed]) == ["kept"] + ["kept"] * 3 + ["duplicate_time"] + [
        "kept"
    ] * 6 + ["duplicate_time"]


def test_fixes_equal_to_stored_ones_are_duplicates_and_different_ones_rejected():
    fixes = good()
    stored = StoredFixes.of_rows(
        [(round(f.t * 1000), f.client_id, f.lon, f.lat) for f in fixes[:4]]
    )
    changed = replace(fixes[2], lon=fixes[2].lon + 1e-3)

    assert verdicts([*fixes[:2], changed, *fixes[3:]], stored) == (
        ["duplicate", "duplicate", "duplicate_time", "duplicate"] + ["kept"] * 6
    )


def test_times_are_equal_to_the_millisecond():
    first = Fix(t=NOW - 100.0001, lon=113.85, lat=22.65)
    again = Fix(t=NOW - 100.0004, lon=113.85, lat=22.65)  # the same millisecond, rounded

    assert verdicts([first, again]) == ["kept", "duplicate"]


def test_a_jump_is_rejected_and_the_walk_goes_on_from_the_last_kept_fix():
    walk_ = good(10)
    jump = Fix(t=walk_[4].t + 2, lon=114.0, lat=22.65, client_id="jump")  # 15 km in 2 s

    assert verdicts([*walk_[:5], jump, *walk_[5:]]) == ["kept"] * 5 + ["speed"] + ["kept"] * 5


def test_a_jump_from_the_last_stored_fix_is_rejected():
    last = good(1, start=NOW - 60)[0]
    stored = StoredFixes.of_rows([(round(last.t * 1000), last.client_id, last.lon, last.lat)])
    away = Fix(t=last.t + 5, lon=last.lon + 0.01, lat=last.lat)  # 1 km in 5 s
    near = Fix(t=last.t + 10, lon=last.lon + 1e-5, lat=last.lat)

    assert verdicts([away, near], stored) == ["speed", "kept"]


def test_a_fast_but_possible_journey_is_kept():
    # 100 km/h on an expressway between two grids: 139 m in 5 s.
    fixes = [
        Fix(t=NOW - 100, lon=113.85, lat=22.65),
        Fix(t=NOW - 95, lon=113.85 + 139 / 102_800, lat=22.65),
    ]

    assert verdicts(fixes) == ["kept", "kept"]


def test_the_filters_run_without_a_python_loop_over_a_clean_batch(monkeypatch):
    calls = []
    real = filters.haversine_m
    monkeypatch.setattr(filters, "haversine_m", lambda *a: calls.append(1) or real(*a))

    assert verdicts(good(1000, start=NOW - 6000)) == ["kept"] * 1000
    assert len(calls) == 1  # one vectorised call for the whole batch


@pytest.mark.django_db
def test_through_ingestion_the_corpus_stores_exactly_the_good_fixes(people, now):
    walked = walk(people.grid_a, now - timedelta(minutes=20), 12)
    t = (now - timedelta(minutes=10)).timestamp()
    lon, lat = walked[0].lon, walked[0].lat
    bad = [
        Fix(t=t, lon=lon, lat=95.0),
        Fix(t=t + 1, lon=0.0, lat=0.0),
        Fix(t=now.timestamp() + 3600, lon=lon, lat=lat),
        Fix(t=t - 30 * 86400, lon=lon, lat=lat),
        Fix(t=t + 2, lon=lon, lat=lat, accuracy=500.0),
        replace(walked[5], client_id="another"),
        Fix(t=walked[-1].t + 5, lon=lon + 0.5, lat=lat),
    ]

    result = track_points_ingest(inspector=people.inspector_a, fixes=[*walked, *bad])

    assert result.accepted == 12 and result.duplicate == 0
    assert result.rejected == {
        "invalid": 1,
        "zero": 1,
        "future": 1,
        "too_old": 1,
        "accuracy": 1,
        "duplicate_time": 1,
        "speed": 1,
    }
    assert [i for i, _reason in result.rejected_points] == list(range(12, 19))
    stored = set(TrackPoint.objects.values_list("client_id", flat=True))
    assert stored == {f.client_id for f in walked}
