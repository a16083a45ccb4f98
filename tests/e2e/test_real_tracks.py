"""Real recorded tracks, moved into a demo grid with their shape and timing intact, sent as
handhelds send them (Traccar Client's OsmAnd requests, one fix each; the batch API, 500 at a
time), then shift end → report: the report's distance agrees with the track's own.

The tracks are the gpxpy project's test files in the shared data (walks and a drive in
Slovenia and Croatia). Each is translated in a local metric frame — to metres around its own
centre, then back to degrees around the centre of inspector A's grid in the small test city
(lon 100, lat 30) — so every distance between its fixes is kept (transverse Mercator, scale
error under 1e-6 at these sizes); its times are shifted by a constant so that it ends three
minutes ago. The expected distance is an independent haversine sum over the same moved fixes.
"""

import math
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import gpxpy
import numpy as np
import pytest
import shapely
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.auth import token_issue
from gridcity.geometry import WGS84_GEOD, LocalMetric
from patrol import partitions
from patrol.fixes import Fix, FixFormatError
from patrol.models import Shift, ShiftStatus, Tracker
from patrol.protocols import gpx_read
from patrol.services import shift_end, shift_report_compute
from patrol.trackers.osmand import KNOT
from tests.factories import make_people

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gpx"
TRACKS = sorted(DATA.glob("*.gpx")) if DATA.is_dir() else []
FILES = [pytest.param(path, id=path.stem) for path in TRACKS] or [
    pytest.param(None, marks=pytest.mark.skip(reason=f"no GPX files in {DATA} (shared data)"))
]
NOW = datetime(2026, 11, 24, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
R = 6_371_008.8  # mean Earth radius (IUGG), metres
OSMAND_ID = "real-tracks-7f3c9a1e"

# Fixes the filters reject, by file. cerknicko-jezero: after 44 s without a fix, the receiver's
# first fix (15:40:00 UTC, 2010-08-05) lies about 200 m short of where the track goes on; the
# next two (15:40:02, 15:40:04), judged against it as Traccar judges, imply 331 and 172 km/h
# and are rejected (``speed``, over 120 km/h); the one after implies 115 km/h and is kept. The
# other files have no fix faster than 94 km/h (the drive around Višnjan).
EXPECTED_REJECTED = {"around-visnjan-with-car": 0, "cerknicko-jezero": 2, "korita-zbevnica": 0}


@pytest.fixture(autouse=True)
def _partitions_forgotten():
    """Each test's transaction is rolled back with the daily partitions it made (PostgreSQL):
    the cache of made partitions must not outlive them."""
    partitions.forget()
    yield
    partitions.forget()


@pytest.fixture
def people(time_machine, small_city):
    time_machine.move_to(NOW, tick=False)
    return make_people(small_city)


def timed_fixes(path: Path) -> list[Fix]:
    """The file's timed track points in time order, read by ``gpx_read``.

    korita-zbevnica.gpx holds a track of 358 points without any time (a Garmin saved track),
    which ``gpx_read`` refuses whole, as it should: those segments are dropped here with
    gpxpy first, and the timed ones read as the import would.
    """
    gpx = gpxpy.parse(path.read_text(encoding="utf-8"))
    untimed = 0
    for track in gpx.tracks:
        timed = [all(p.time is not None for p in s.points) for s in track.segments]
        untimed += sum(len(s.points) for s, ok in zip(track.segments, timed, strict=True) if not ok)
        track.segments = [s for s, ok in zip(track.segments, timed, strict=True) if ok]
    if untimed:
        with pytest.raises(FixFormatError, match=r"\.time"):
            gpx_read(path.read_bytes())
    fixes = sorted((f for segment in gpx_read(gpx.to_xml()) for f in segment), key=lambda f: f.t)
    assert len({f.t for f in fixes}) == len(fixes), "two fixes at one time"
    return fixes


def moved(fixes: list[Fix], to: tuple[float, float], *, ends_at: datetime) -> list[Fix]:
    """The track translated (in metres) to ``to`` and shifted in time to end at ``ends_at``."""
    lonlat = np.array([(f.lon, f.lat) for f in fixes])
    source = LocalMetric.around(shapely.multipoints(lonlat))
    target = LocalMetric(*to)
    xy = shapely.get_coordinates(source.to_metric(shapely.points(lonlat)))
    there = shapely.get_coordinates(target.to_lonlat(shapely.points(xy)))
    dt = ends_at.timestamp() - fixes[-1].t
    return [
        replace(f, t=f.t + dt, lon=float(lon), lat=float(lat))
        for f, (lon, lat) in zip(fixes, there, strict=True)
    ]


def haversine(a: Fix, b: Fix) -> float:
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi, dlam = phi2 - phi1, math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * R * math.asin(math.sqrt(h))


def bearing(a: Fix, b: Fix) -> float:
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dlam = math.radians(b.lon - a.lon)
    y = math.sin(dlam) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlam)
    return math.degrees(math.atan2(y, x)) % 360


def with_motion(fixes: list[Fix]) -> list[Fix]:
    """Speed and bearing as a handheld reports them; the GPX files record neither, so they are
    those of the step from the previous fix (0 for the first)."""
    out = [replace(fixes[0], speed=0.0, heading=0.0)]
    for a, b in pairwise(fixes):
        out.append(replace(b, speed=haversine(a, b) / (b.t - a.t), heading=bearing(a, b)))
    return out


def expected_kept(fixes: list[Fix]) -> list[bool]:
    """Independently of patrol.filters: a fix faster than the speed limit from the last fix
    kept is a jump and is dropped (the only filter these fixes can meet)."""
    limit = settings.GRIDCITY_PATROL_MAX_SPEED_KMH / 3.6
    kept, last = [True], fixes[0]
    for f in fixes[1:]:
        ok = haversine(last, f) / (f.t - last.t) <= limit
        kept.append(ok)
        last = f if ok else last
    return kept


def shifts_of(fixes: list[Fix]) -> list[list[Fix]]:
    """The accepted fixes split where a gap exceeds the idle time: one shift each."""
    idle = settings.GRIDCITY_PATROL_IDLE_MINUTES * 60
    parts = [[fixes[0]]]
    for a, b in pairwise(fixes):
        if b.t - a.t > idle:
            parts.append([])
        parts[-1].append(b)
    return parts


def geodesic_m(fixes: list[Fix]) -> float:
    lon, lat = np.array([f.lon for f in fixes]), np.array([f.lat for f in fixes])
    return float(np.sum(WGS84_GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])[2]))


def the_track(path: Path, people) -> list[Fix]:
    centre = people.grid_a.geom.point_on_surface
    ends_at = NOW - timedelta(minutes=3)  # well inside the filters' 7 days
    original = timed_fixes(path)
    fixes = with_motion(moved(original, (centre.x, centre.y), ends_at=ends_at))
    # The shape is kept: the same length on the ellipsoid, the same time between fixes.
    assert geodesic_m(fixes) == pytest.approx(geodesic_m(original), rel=1e-5)
    assert np.diff([f.t for f in fixes]) == pytest.approx(np.diff([f.t for f in original]))
    return fixes


def check_reports(people, fixes: list[Fix], accepted: list[bool], name: str) -> None:
    assert accepted == expected_kept(fixes)
    assert accepted.count(False) == EXPECTED_REJECTED[name]
    stored = [f for f, ok in zip(fixes, accepted, strict=True) if ok]
    parts = shifts_of(stored)

    shifts = list(Shift.objects.filter(inspector=people.inspector_a).order_by("started_at"))
    assert len(shifts) == len(parts)
    assert [s.points_count for s in shifts] == [len(p) for p in parts]
    assert [s.status for s in shifts] == [ShiftStatus.CLOSED] * len(shifts)

    total_report = total_haversine = 0.0
    for shift, part in zip(shifts, parts, strict=True):
        report = shift_report_compute(shift=shift).report
        expected = sum(haversine(a, b) for a, b in pairwise(part))
        assert report["points"] == len(part)
        assert report["distance_m"] == pytest.approx(expected, rel=0.01), shift.pk
        total_report += report["distance_m"]
        total_haversine += expected
    print(  # shown with -s: the figures of the acceptance test
        f"{name}: {len(fixes)} fixes, {len(stored)} stored in {len(shifts)} shifts; report "
        f"{total_report:.1f} m, haversine {total_haversine:.1f} m, "
        f"{(total_report / total_haversine - 1) * 100:+.3f} %"
    )
    assert total_report == pytest.approx(total_haversine, rel=0.01)


def end_open_shift(people) -> None:
    open_shift = Shift.objects.get(inspector=people.inspector_a, status=ShiftStatus.OPEN)
    shift_end(shift=open_shift, by=people.inspector_a)


@pytest.mark.parametrize("path", FILES)
def test_a_real_track_sent_by_traccar_client_reports_its_own_distance(client, people, path):
    Tracker.objects.create(
        kind=Tracker.Kind.OSMAND, identifier=OSMAND_ID, inspector=people.inspector_a
    )
    fixes = the_track(path, people)

    accepted = []
    for f in fixes:
        params = {
            "id": OSMAND_ID,
            "timestamp": str(round(f.t)),  # Traccar Client: epoch seconds
            "lat": f"{f.lat:.7f}",
            "lon": f"{f.lon:.7f}",
            "speed": f"{f.speed / KNOT:.2f}",  # knots
            "bearing": f"{f.heading:.1f}",
            # GPX records no accuracy: Traccar Client on Android sends 0.0 for such a fix.
            "accuracy": "0.0",
        }
        if f.altitude is not None:
            params["altitude"] = f"{f.altitude:.1f}"
        response = client.get("/osmand/", params)
        assert response.status_code == 200, response.content
        counts = response.json()
        assert counts["duplicate"] == 0
        assert counts["accepted"] + sum(counts["rejected"].values()) == 1
        assert set(counts["rejected"]) <= {"speed"}
        accepted.append(counts["accepted"] == 1)

    # The moved fixes as sent: 7 decimals of a degree, about a centimetre.
    sent = [replace(f, lon=round(f.lon, 7), lat=round(f.lat, 7)) for f in fixes]
    end_open_shift(people)
    check_reports(people, sent, accepted, path.stem)


@pytest.mark.parametrize("path", FILES)
def test_a_real_track_sent_through_the_batch_api_reports_its_own_distance(client, people, path):
    token = token_issue(user=people.inspector_a, device_id="real-tracks-handheld").token
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    fixes = the_track(path, people)

    accepted = []
    for at in range(0, len(fixes), 500):
        batch = fixes[at : at + 500]
        body = {
            "points": [
                {
                    "id": f"real-{at + i}",
                    "t": round(f.t * 1000),
                    "lon": f.lon,
                    "lat": f.lat,
                    "alt": f.altitude,
                    "speed": f.speed,
                    "heading": f.heading,
                }
                for i, f in enumerate(batch)
            ]
        }
        response = client.post(
            "/api/v1/patrol/points/", body, content_type="application/json", **auth
        )
        assert response.status_code == 200, response.content
        answer = response.json()
        assert answer["duplicate"] == 0 and set(answer["rejected"]) <= {"speed"}
        rejected = {p["index"] for p in answer["rejected_points"]}
        accepted += [i not in rejected for i in range(len(batch))]

    open_shift = Shift.objects.get(inspector=people.inspector_a, status=ShiftStatus.OPEN)
    response = client.post(f"/api/v1/patrol/shifts/{open_shift.pk}/end/", {}, **auth)
    assert response.status_code == 200, response.content
    check_reports(people, fixes, accepted, path.stem)


# --- Several tracks in one file, and a shift the inspector started ------------------------------

# gpxpy's test files with several timed tracks (github.com/tkrajina/gpxpy, test_files/, also in
# the shared data): cerknicko-jezero.gpx, one walk recorded as 7 tracks from 0.5 to 15 minutes
# apart; korita-zbevnica.gpx, 2 timed tracks 5 minutes apart, the second with a 34-minute gap
# in it (and a track without times, dropped). Joined by straight lines the first measured
# 13,676 m against gpxpy's 4,580 m.
MULTI_TRACK = [
    pytest.param(path, id=path.stem)
    for path in TRACKS
    if path.stem in ("cerknicko-jezero", "korita-zbevnica")
] or [pytest.param(None, marks=pytest.mark.skip(reason=f"no multi-track GPX files in {DATA}"))]


def moved_file(path: Path, people) -> gpxpy.gpx.GPX:
    """The file's timed tracks and segments, each point moved as ``moved`` moves a track into
    grid A (shape, timing and the file's tracks and segments kept)."""
    gpx = gpxpy.parse(path.read_text(encoding="utf-8"))
    for track in gpx.tracks:
        track.segments = [
            s for s in track.segments if s.points and all(p.time is not None for p in s.points)
        ]
    gpx.tracks = [track for track in gpx.tracks if track.segments]
    points = [p for track in gpx.tracks for s in track.segments for p in s.points]
    assert [p.time for p in points] == sorted(p.time for p in points)
    centre = people.grid_a.geom.point_on_surface
    there = moved(
        [Fix(t=p.time.timestamp(), lon=p.longitude, lat=p.latitude) for p in points],
        (centre.x, centre.y),
        ends_at=NOW - timedelta(minutes=3),
    )
    for p, f in zip(points, there, strict=True):
        p.longitude, p.latitude = round(f.lon, 7), round(f.lat, 7)
        p.time = datetime.fromtimestamp(f.t, tz=ZoneInfo("UTC"))
    return gpx


def post_gpx(client, people, gpx: gpxpy.gpx.GPX) -> dict:
    client.force_login(people.inspector_a)
    upload = SimpleUploadedFile("walk.gpx", gpx.to_xml().encode(), "application/gpx+xml")
    response = client.post("/api/v1/patrol/gpx/", {"file": upload})
    assert response.status_code == 200, response.content
    return response.json()


def without(gpx: gpxpy.gpx.GPX, rejected: set[int]) -> gpxpy.gpx.GPX:
    """The file without the points the filters refused (indices in file order)."""
    k = 0
    for track in gpx.tracks:
        for segment in track.segments:
            kept = []
            for p in segment.points:
                if k not in rejected:
                    kept.append(p)
                k += 1
            segment.points = kept
    return gpx


def report_of(shift: Shift) -> dict:
    return shift_report_compute(shift=shift).report


@pytest.mark.parametrize("path", MULTI_TRACK)
def test_a_gpx_file_of_several_tracks_measures_what_gpxpy_measures(client, people, path):
    gpx = moved_file(path, people)
    segments = sum(len(track.segments) for track in gpx.tracks)

    answer = post_gpx(client, people, gpx)

    rejected = {p["index"] for p in answer["rejected_points"]}
    assert len(rejected) == EXPECTED_REJECTED[path.stem]
    stored = without(gpx, rejected)
    expected = stored.length_2d()  # gpxpy's own: never across a track or segment boundary
    shifts = list(Shift.objects.filter(inspector=people.inspector_a).order_by("started_at"))
    for shift in shifts:
        if shift.status == ShiftStatus.OPEN:
            shift_end(shift=shift, by=people.inspector_a)
    reports = [report_of(shift) for shift in shifts]
    distance = sum(r["distance_m"] for r in reports)
    print(
        f"{path.stem}: {segments} segments, {len(shifts)} shifts; report {distance:.1f} m, "
        f"gpxpy {expected:.1f} m"
    )
    assert distance == pytest.approx(expected, rel=0.005)
    # Every boundary of the file is a break, except where a shift begins anyway.
    firsts = [s.points[0].time for track in stored.tracks for s in track.segments if s.points]
    inside = set(firsts[1:]) - {shift.first_point_at for shift in shifts}
    breaks = sum(o["cause"] == "break" for r in reports for o in r["offline"])
    assert breaks == len(inside) >= 1
    assert sum(r["anomaly_counts"]["jump"] for r in reports) == 0


@pytest.mark.skipif(
    not (DATA / "korita-zbevnica.gpx").is_file(), reason=f"no korita-zbevnica.gpx in {DATA}"
)
def test_a_walk_with_a_34_minute_gap_is_one_shift_when_the_inspector_started_it(client, people):
    gpx = moved_file(DATA / "korita-zbevnica.gpx", people)
    first = gpx.tracks[0].segments[0].points[0].time
    client.force_login(people.inspector_a)
    started = client.post(
        "/api/v1/patrol/shifts/",
        {"client_uuid": "6f1c3d2e-34aa-4b8e-9d7f-5c0e2a1b3c4d", "started_at": first.isoformat()},
        content_type="application/json",
    )
    assert started.status_code == 201, started.content

    answer = post_gpx(client, people, gpx)

    assert answer["shifts"] == [started.json()["id"]] and answer["rejected"] == {}
    shift = Shift.objects.get()
    assert shift.status == ShiftStatus.OPEN and shift.points_count == answer["points"]
    shift_end(shift=shift, by=people.inspector_a)
    report = report_of(shift)
    offline = [(o["cause"], o["seconds"]) for o in report["offline"]]
    assert ("gap", 2041.0) in offline  # the 34 minutes: offline, not the end of the shift
    assert ("break", 288.0) in offline  # between the file's two timed tracks
    assert report["distance_m"] == pytest.approx(gpx.length_2d(), rel=0.005)
    assert report["online_s"] + report["offline_s"] == report["ended"] - report["started"]


@pytest.mark.skipif(
    not (DATA / "korita-zbevnica.gpx").is_file(), reason=f"no korita-zbevnica.gpx in {DATA}"
)
def test_the_same_walk_without_a_started_shift_is_cut_at_the_gap(client, people):
    answer = post_gpx(client, people, moved_file(DATA / "korita-zbevnica.gpx", people))

    assert len(answer["shifts"]) == 2
    first, second = Shift.objects.order_by("started_at")
    assert (first.opened_auto, first.end_reason) == (True, "idle")
    assert (second.last_point_at - first.last_point_at).total_seconds() > 2041
