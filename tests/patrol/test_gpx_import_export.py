"""GPX in (``manage.py import_gpx`` and ``POST /api/v1/patrol/gpx/``) and a shift's track out
(``track.gpx``, ``track.geojson``): counts, idempotent re-imports, whole chunks after an
interruption, errors that say where, who may, and exports that read back to the same points."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridcity import coords
from patrol import services
from patrol.models import Shift, TrackPoint
from patrol.protocols import gpx_read
from patrol.selectors import shift_track
from patrol.services import shift_end, track_points_ingest
from tests.factories import make_people
from tests.patrol.conftest import walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(now, small_city):
    return make_people(small_city)


def gpx_text(segments: list[list[tuple]], *, version: str = "1.1") -> str:
    """A GPX document written by hand: segments of (epoch seconds or None, lon, lat)."""
    ns = f"http://www.topografix.com/GPX/{version.replace('.', '/')}"
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="{version}" xmlns="{ns}">']
    parts.append("<trk><name>patrol</name>")
    for segment in segments:
        parts.append("<trkseg>")
        for t, lon, lat in segment:
            when = (
                ""
                if t is None
                else f"<time>{datetime.fromtimestamp(t, UTC):%Y-%m-%dT%H:%M:%SZ}</time>"
            )
            parts.append(f'<trkpt lat="{lat:.8f}" lon="{lon:.8f}"><ele>5.0</ele>{when}</trkpt>')
        parts.append("</trkseg>")
    parts.append("</trk></gpx>")
    return "\n".join(parts)


def rows(fixes) -> list[tuple]:
    return [(f.t, f.lon, f.lat) for f in fixes]


@pytest.fixture
def track(people, now) -> list:
    """A 10-minute walk in grid A ending a minute ago, every 5 s (whole seconds: GPX's)."""
    return walk(people.grid_a, now - timedelta(minutes=11), 120)


@pytest.fixture
def gpx_file(tmp_path, track):
    path = tmp_path / "walk.gpx"
    path.write_text(gpx_text([rows(track[:60]), rows(track[60:])]))
    return path


def run(*args) -> str:
    out = StringIO()
    call_command("import_gpx", *map(str, args), stdout=out)
    return out.getvalue()


# --- the command ----------------------------------------------------------------------------


def test_import_stores_the_files_fixes_for_the_inspector_and_prints_the_counts(
    people, gpx_file, track
):
    out = run(gpx_file, "--inspector", "inspector-a")

    assert "walk.gpx: 2 segments, 120 track points" in out
    assert "accepted 120, duplicate 0, rejected 0 of 120" in out
    shift = Shift.objects.get()
    assert f"shifts: {shift.pk}" in out
    assert shift.inspector == people.inspector_a and shift.points_count == 120
    stored = TrackPoint.objects.order_by("t")
    assert [p.t.timestamp() for p in stored] == [f.t for f in track]
    assert stored[0].point.x == pytest.approx(track[0].lon, abs=1e-8)


def test_reimporting_the_same_file_stores_nothing_twice(people, gpx_file):
    run(gpx_file, "--inspector", "inspector-a")

    out = run(gpx_file, "--inspector", "inspector-a")

    assert "accepted 0, duplicate 120, rejected 0" in out
    assert TrackPoint.objects.count() == 120
    assert Shift.objects.get().points_count == 120


def test_the_rejected_fixes_are_counted_by_reason(people, now, tmp_path, track):
    old = [(track[0].t - 8 * 86400, track[0].lon, track[0].lat)]  # beyond the 7 days
    jump = (track[30].t + 1, track[30].lon + 0.05, track[30].lat)  # 5 km in a second
    path = tmp_path / "mixed.gpx"
    path.write_text(gpx_text([old, [*rows(track[:31]), jump, *rows(track[31:])]]))

    out = run(path, "--inspector", "inspector-a")

    assert "accepted 120, duplicate 0, rejected 2 (speed 1, too_old 1) of 122" in out
    assert "GRIDCITY_PATROL_MAX_AGE_DAYS (7)" in out
    assert TrackPoint.objects.count() == 120


def test_a_gcj02_file_is_stored_in_wgs84(people, gpx_file, track):
    run(gpx_file, "--inspector", "inspector-a", "--crs", "gcj02")

    lon, lat = coords.convert(track[0].lon, track[0].lat, "gcj02", "wgs84")
    first = TrackPoint.objects.order_by("t").first()
    assert (first.point.x, first.point.y) == pytest.approx((float(lon), float(lat)), abs=1e-8)
    assert abs(first.point.x - track[0].lon) > 1e-4  # it did move: hundreds of metres


def test_a_large_file_goes_in_chunks_of_at_most_1000_with_progress(people, now, tmp_path, capsys):
    fixes = walk(people.grid_a, now - timedelta(hours=4), 2500, step_deg=0.000005)
    path = tmp_path / "long.gpx"
    path.write_text(gpx_text([rows(fixes)]))
    calls = []
    real = services.track_points_ingest

    def counting(**kwargs):
        calls.append(len(kwargs["fixes"]))
        return real(**kwargs)

    with mock.patch.object(services, "track_points_ingest", counting):
        out = run(path, "--inspector", "inspector-a")

    assert calls == [1000, 1000, 500]
    assert "accepted 2,500" in out
    progress = capsys.readouterr().err
    assert "importing" in progress and "2500/2500" in progress  # tqdm: counts, rate, time left


def test_an_interrupted_import_leaves_whole_chunks_and_a_rerun_completes_it(people, now, tmp_path):
    fixes = walk(people.grid_a, now - timedelta(hours=4), 2500, step_deg=0.000005)
    path = tmp_path / "long.gpx"
    path.write_text(gpx_text([rows(fixes)]))
    real = services.track_points_ingest
    calls = []

    def interrupted(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(**kwargs)

    with (
        mock.patch.object(services, "track_points_ingest", interrupted),
        pytest.raises(KeyboardInterrupt),
    ):
        run(path, "--inspector", "inspector-a")
    assert TrackPoint.objects.count() == 1000  # the first chunk, whole

    out = run(path, "--inspector", "inspector-a")

    assert "accepted 1,500, duplicate 1,000, rejected 0" in out
    assert TrackPoint.objects.count() == 2500


def test_a_dry_run_counts_but_stores_nothing(people, gpx_file):
    out = run(gpx_file, "--inspector", "inspector-a", "--dry-run")

    assert "would accept 120, duplicate 0, rejected 0" in out
    assert "dry run: nothing stored" in out
    assert not TrackPoint.objects.exists() and not Shift.objects.exists()
    # And the real import after it still works (no partition thought made that is not).
    assert "accepted 120" in run(gpx_file, "--inspector", "inspector-a")


def test_a_missing_file_is_a_clear_error(people, tmp_path):
    with pytest.raises(CommandError, match=r"No such file: .*absent\.gpx"):
        run(tmp_path / "absent.gpx", "--inspector", "inspector-a")


def test_an_unknown_inspector_is_a_clear_error(people, gpx_file):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run(gpx_file, "--inspector", "nobody")


def test_only_an_inspectors_track_can_be_imported(people, gpx_file):
    with pytest.raises(CommandError, match="'supervisor' is not an active grid inspector"):
        run(gpx_file, "--inspector", "supervisor")
    assert not TrackPoint.objects.exists()


def test_a_malformed_file_is_refused_naming_where_and_stores_nothing(people, tmp_path, track):
    path = tmp_path / "untimed.gpx"
    path.write_text(gpx_text([rows(track[:5]), [(None, track[5].lon, track[5].lat)]]))

    with pytest.raises(CommandError, match=r"untimed\.gpx: .*trk\[0\]\.trkseg\[1\]\.trkpt\[0\]"):
        run(path, "--inspector", "inspector-a")
    assert not TrackPoint.objects.exists()

    path.write_text("<gpx><trk><trkseg><trkpt lat='1'")
    with pytest.raises(CommandError, match="not imported: file: "):
        run(path, "--inspector", "inspector-a")


def nested(text: str, levels: int) -> str:
    """The GPX with ``levels`` elements nested in its first point's <extensions>."""
    deep = "<extensions>" + "<x>" * levels + "</x>" * levels + "</extensions>"
    return text.replace("<ele>5.0</ele>", "<ele>5.0</ele>" + deep, 1)


def point_changed(text: str, n: int, ele: str) -> str:
    """The GPX with the ``n``-th point's (from 0) ``<ele>5.0</ele>`` replaced by ``ele``."""
    parts, ele_5 = text.split("<ele>5.0</ele>"), "<ele>5.0</ele>"
    return ele_5.join(parts[: n + 1]) + ele + ele_5.join(parts[n + 1 :])


def test_a_file_nested_deeper_than_the_limit_is_a_clear_error_and_stores_nothing(
    people, tmp_path, track
):
    # 40 levels, harmless to gpxpy itself; 200,000 levels (which crash it) are sent to a
    # process of their own in tests/security/test_protocols.py.
    path = tmp_path / "deep.gpx"
    path.write_text(nested(gpx_text([rows(track)]), 40))

    with pytest.raises(CommandError, match=r"deep\.gpx: not imported: file: .*deeper than 32"):
        run(path, "--inspector", "inspector-a")
    assert not TrackPoint.objects.exists()


def test_a_file_with_an_infinite_elevation_is_refused_naming_the_point(people, tmp_path, track):
    path = tmp_path / "inf.gpx"
    text = gpx_text([rows(track[:3]), rows(track[3:6])])
    path.write_text(point_changed(text, 4, "<ele>1e999</ele>"))  # trkseg[1]'s second

    named = r"trk\[0\]\.trkseg\[1\]\.trkpt\[1\]\.ele: A finite number"
    with pytest.raises(CommandError, match=named):
        run(path, "--inspector", "inspector-a")
    assert not TrackPoint.objects.exists()


def test_each_segment_after_the_first_is_stored_starting_with_a_break(people, gpx_file, track):
    run(gpx_file, "--inspector", "inspector-a")

    starts = TrackPoint.objects.filter(segment_start=True).values_list("t", flat=True)
    assert [t.timestamp() for t in starts] == [track[60].t]


# --- the upload API ---------------------------------------------------------------------------


def upload_gpx(client, user, text: str, **data):
    if user is not None:
        client.force_login(user)
    file = SimpleUploadedFile("walk.gpx", text.encode(), content_type="application/gpx+xml")
    return client.post("/api/v1/patrol/gpx/", {"file": file, **data})


def test_an_inspector_uploads_their_gpx_and_gets_the_counts(client, people, track):
    response = upload_gpx(client, people.inspector_a, gpx_text([rows(track)]))

    assert response.status_code == 200, response.content
    body = response.json()
    shift = Shift.objects.get()
    assert body == {
        "accepted": 120,
        "duplicate": 0,
        "rejected": {},
        "rejected_points": [],
        "shifts": [shift.pk],
        "points": 120,
    }
    assert shift.inspector == people.inspector_a
    assert TrackPoint.objects.filter(inspector=people.inspector_a).count() == 120


def test_an_uploaded_gpx_sent_again_stores_nothing_twice(client, people, track):
    upload_gpx(client, people.inspector_b, gpx_text([rows(track)]))

    again = upload_gpx(client, people.inspector_b, gpx_text([rows(track)]))

    assert (again.json()["accepted"], again.json()["duplicate"]) == (0, 120)
    assert TrackPoint.objects.filter(inspector=people.inspector_b).count() == 120


def test_rejected_points_of_an_upload_are_indexed_in_file_order(client, people, track):
    jump = (track[10].t + 1, track[10].lon + 0.05, track[10].lat)
    text = gpx_text([rows(track[:6]), [*rows(track[6:11]), jump, *rows(track[11:])]])

    body = upload_gpx(client, people.inspector_a, text, crs="wgs84").json()

    assert body["rejected"] == {"speed": 1}
    assert body["rejected_points"] == [{"index": 11, "reason": "speed"}]


def test_a_malformed_upload_is_a_400_naming_the_point_and_stores_nothing(client, people, track):
    text = gpx_text([[*rows(track[:3]), (None, track[3].lon, track[3].lat)]])

    response = upload_gpx(client, people.inspector_a, text)

    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["trk[0].trkseg[0].trkpt[3].time"]
    assert error["message"].startswith("trk[0].trkseg[0].trkpt[3].time: ")
    assert not TrackPoint.objects.exists()


def test_an_upload_without_a_file_or_with_an_unknown_crs_is_a_400(client, people, track):
    client.force_login(people.inspector_a)
    assert list(client.post("/api/v1/patrol/gpx/", {}).json()["error"]["fields"]) == ["file"]

    response = upload_gpx(client, people.inspector_a, gpx_text([rows(track)]), crs="utm")

    assert list(response.json()["error"]["fields"]) == ["crs"]
    assert not TrackPoint.objects.exists()


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("<ele>inf</ele>", "trk[0].trkseg[0].trkpt[2].ele"),
        ("<ele>1e999</ele>", "trk[0].trkseg[0].trkpt[2].ele"),
        ("<ele>nan</ele>", "trk[0].trkseg[0].trkpt[2].ele"),
        (
            "<ele>5.0</ele><extensions><gpxtpx:TrackPointExtension><gpxtpx:speed>-inf"
            "</gpxtpx:speed></gpxtpx:TrackPointExtension></extensions>",
            "trk[0].trkseg[0].trkpt[2].extensions.speed",
        ),
    ],
)
def test_an_upload_with_a_number_that_is_not_finite_is_a_400_naming_the_point(
    client, people, track, value, field
):
    text = gpx_text([rows(track[:5])]).replace(
        "xmlns=", 'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2" xmlns=', 1
    )
    text = point_changed(text, 2, value)

    response = upload_gpx(client, people.inspector_a, text)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert not TrackPoint.objects.exists()


def test_an_upload_nested_deeper_than_the_limit_is_a_400_naming_the_file(client, people, track):
    response = upload_gpx(client, people.inspector_a, nested(gpx_text([rows(track)]), 40))

    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["file"]
    assert "nested deeper than 32 levels" in error["message"]
    assert not TrackPoint.objects.exists()


@pytest.mark.parametrize("persona", ["supervisor", "dispatcher", "admin", "citizen"])
def test_only_inspectors_upload_a_gpx(client, people, track, persona):
    response = upload_gpx(client, getattr(people, persona), gpx_text([rows(track)]))

    assert response.status_code == 403
    assert not TrackPoint.objects.exists()


def test_an_anonymous_gpx_upload_is_a_401(client, people, track):
    assert upload_gpx(client, None, gpx_text([rows(track)])).status_code == 401


def test_a_gpx_larger_than_the_limit_is_a_413(client, people, track, settings):
    text = gpx_text([rows(track)])
    settings.GRIDCITY_PATROL_MAX_GPX_BYTES = len(text.encode()) - 1

    response = upload_gpx(client, people.inspector_a, text)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not TrackPoint.objects.exists()


def test_a_body_far_beyond_the_limit_is_refused_before_it_is_read(client, people, settings):
    settings.GRIDCITY_PATROL_MAX_GPX_BYTES = 1000
    client.force_login(people.inspector_a)

    with mock.patch("patrol.api.tracks.gpx_read") as read:
        response = client.post(
            "/api/v1/patrol/gpx/",
            {"file": SimpleUploadedFile("big.gpx", b"<gpx>" + b" " * 200_000)},
        )

    assert response.status_code == 413
    read.assert_not_called()


# --- exports ----------------------------------------------------------------------------------


@pytest.fixture
def shift(people, now):
    """An ended shift of inspector A: 120 fixes with altitude and speed."""
    fixes = walk(people.grid_a, now - timedelta(minutes=11), 120, altitude=7.5)
    result = track_points_ingest(inspector=people.inspector_a, fixes=fixes)
    ended = shift_end(shift=Shift.objects.get(pk=result.shifts[0]), by=people.inspector_a)
    ended.fixes = fixes
    return ended


def test_a_shift_exported_as_gpx_reads_back_to_the_same_points(client, people, shift):
    client.force_login(people.inspector_a)

    response = client.get(f"/api/v1/patrol/shifts/{shift.pk}/track.gpx")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/gpx+xml"
    assert response["Content-Disposition"] == (
        f'attachment; filename="shift-{shift.pk}-inspector-a-2026-11-24.gpx"'
    )
    (segment,) = gpx_read(response.content)
    assert [round(f.t * 1000) for f in segment] == [round(f.t * 1000) for f in shift.fixes]
    assert [c for f in segment for c in (f.lon, f.lat)] == pytest.approx(
        [c for f in shift.fixes for c in (f.lon, f.lat)], abs=1e-9
    )
    assert {f.altitude for f in segment} == {7.5}
    assert [f.speed for f in segment] == pytest.approx([0.4] * 120, abs=1e-3)


def test_a_gpx_file_of_two_segments_exports_as_two_segments(client, people, gpx_file, track):
    """Import, store and export keep the file's break: a reader of the export joins nothing."""
    client.force_login(people.inspector_a)
    with open(gpx_file, "rb") as upload:
        assert client.post("/api/v1/patrol/gpx/", {"file": upload}).status_code in (200, 201)
    shift = Shift.objects.get()

    response = client.get(f"/api/v1/patrol/shifts/{shift.pk}/track.gpx")

    first, second = gpx_read(response.content)
    assert [len(first), len(second)] == [60, 60]
    assert second[0].t == pytest.approx(track[60].t)


def test_a_shift_exported_as_geojson_is_a_linestring_of_its_coordinates(client, people, shift):
    client.force_login(people.supervisor)  # the street's supervisor sees it too

    response = client.get(f"/api/v1/patrol/shifts/{shift.pk}/track.geojson")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    line = response.json()["features"][0]
    assert line["geometry"]["type"] == "LineString"
    stored = shift_track(shift)
    assert line["geometry"]["coordinates"] == [
        [lon, lat] for lon, lat in zip(stored.lon.tolist(), stored.lat.tolist(), strict=True)
    ]
    assert line["geometry"]["coordinates"][0] == pytest.approx(
        [shift.fixes[0].lon, shift.fixes[0].lat], abs=1e-9
    )
    assert line["properties"]["shift"] == shift.pk
    assert line["properties"]["points"] == 120
    assert line["properties"]["times"][0] == (
        datetime.fromtimestamp(shift.fixes[0].t, UTC).isoformat().replace("+00:00", "Z")
    )


@pytest.mark.parametrize("persona", ["inspector_b", "other_supervisor", "dispatcher", "staff"])
@pytest.mark.parametrize("kind", ["gpx", "geojson"])
def test_a_shift_one_may_not_see_is_a_404_in_either_format(client, people, shift, persona, kind):
    client.force_login(getattr(people, persona))

    response = client.get(f"/api/v1/patrol/shifts/{shift.pk}/track.{kind}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_error_is_json_even_to_a_client_that_asked_for_gpx(client, people, shift):
    client.force_login(people.inspector_b)

    response = client.get(
        f"/api/v1/patrol/shifts/{shift.pk}/track.gpx", HTTP_ACCEPT="application/gpx+xml"
    )

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_a_12_hour_shift_exports_in_a_few_queries_without_a_model_instance_per_fix(
    client, people, now
):
    start = now - timedelta(hours=12)
    fixes = walk(people.grid_a, start, 8640, step_deg=0.000002)
    for at in range(0, len(fixes), 1000):
        track_points_ingest(inspector=people.inspector_a, fixes=fixes[at : at + 1000])
    shift = Shift.objects.get()
    assert shift.points_count == 8640
    client.force_login(people.inspector_a)
    client.get("/api/v1/patrol/shifts/")  # the session and user are loaded once beforehand

    for kind in ("gpx", "geojson"):
        with (
            mock.patch.object(TrackPoint, "from_db", side_effect=AssertionError("an instance")),
            CaptureQueriesContext(connection) as queries,
        ):
            response = client.get(f"/api/v1/patrol/shifts/{shift.pk}/track.{kind}")
        assert response.status_code == 200
        assert len(queries) <= 4, [q["sql"][:80] for q in queries]
    document = json.loads(response.content)
    assert len(document["features"][0]["geometry"]["coordinates"]) == 8640
