"""The positioning apps' ways in, attacked: what must not crash, stall or store anything.

The GPX that once crashed the server (a segfault inside gpxpy, no exception to catch) is sent
to processes of their own, a real server and the import command, never to the test's own
process: if the bound were gone, only they would die, and the test would say so.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests import liveserver

ROOT = Path(__file__).resolve().parents[2]
NESTED = 200_000  # the file: 1.4 MB, 200,000 elements nested in one <extensions>


def deep_gpx(levels: int = NESTED) -> bytes:
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1">'
        '<trk><trkseg><trkpt lat="30.001" lon="100.001"><time>2026-11-24T01:50:00Z</time>'
        "<extensions>"
    )
    tail = "</extensions></trkpt></trkseg></trk></gpx>"
    return (head + "<a>" * levels + "</a>" * levels + tail).encode()


def multipart(name: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = "gridcity-test-boundary-7f3a"
    body = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: application/gpx+xml\r\n\r\n"
    ).encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_the_nested_gpx_that_crashed_gpxpy_is_refused_by_the_reader_in_a_process_of_its_own():
    assert len(deep_gpx()) > 1_400_000
    script = textwrap.dedent(
        """
        from patrol.fixes import FixFormatError
        from patrol.protocols import gpx_read
        from tests.security.test_protocols import deep_gpx
        try:
            gpx_read(deep_gpx())
        except FixFormatError as error:
            print(error.field, "|", error.message)
        """
    )

    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, f"the reader died: {done.returncode} {done.stderr[-2000:]}"
    assert done.stdout.strip() == "file | elements nested deeper than 32 levels"


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory):
    return liveserver.template(tmp_path_factory.getbasetemp())


def test_the_nested_gpx_upload_is_a_400_and_the_real_server_goes_on_serving(
    seeded_template, tmp_path
):
    var, seeded = liveserver.var_copy(seeded_template, tmp_path / "var")
    inspector = {"Authorization": f"Token {seeded['tokens']['inspector_a']}"}
    body, content_type = multipart("file", "walk.gpx", deep_gpx())

    with liveserver.Server(var, log=tmp_path / "server.log") as server:
        status, answer = liveserver.request(
            server,
            "POST",
            "/api/v1/patrol/gpx/",
            body=body,
            headers={**inspector, "Content-Type": content_type},
        )

        assert status == 400, answer
        assert list(answer["error"]["fields"]) == ["file"]
        assert "nested deeper than 32 levels" in answer["error"]["message"]
        assert server.alive()
        assert server.healthz() == 200
        status, shifts = liveserver.request(
            server, "GET", "/api/v1/patrol/shifts/", headers=inspector
        )
        assert status == 200
        assert shifts["results"] == []  # nothing was stored


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/osmand/", b"[" * 100_000 + b"]" * 100_000),
        ("/owntracks/", b"[" * 100_000 + b"]" * 100_000),
        ("/osmand/", b'{"device_id":"48241179","location":{"uuid":"\\ud800"}}'),
        ("/owntracks/", b'{"_type":"location","lat":1e400,"lon":0,"tst":1795000000}'),
    ],
    ids=["osmand-nested", "owntracks-nested", "osmand-surrogate", "owntracks-1e400"],
)
def test_the_apps_endpoints_answer_json_that_cannot_be_stored_with_a_400_on_the_real_server(
    seeded_template, tmp_path, path, body
):
    var, _ = liveserver.var_copy(seeded_template, tmp_path / "var")

    with liveserver.Server(var, log=tmp_path / "server.log") as server:
        status, answer = liveserver.request(
            server,
            "POST",
            path,
            body=body,
            headers={"Content-Type": "application/json", "X-Limit-U": "a", "X-Limit-D": "b"},
        )

        assert status == 400, answer
        assert list(answer["error"]["fields"]) == ["body"]
        assert server.alive() and server.healthz() == 200


def test_import_gpx_refuses_the_nested_file_with_a_clear_error_and_stores_nothing(
    seeded_template, tmp_path
):
    var, seeded = liveserver.var_copy(seeded_template, tmp_path / "var")
    path = tmp_path / "deep.gpx"
    path.write_bytes(deep_gpx())
    env = liveserver.embedded_env(var)
    manage = [sys.executable, "manage.py"]

    done = subprocess.run(
        [*manage, "import_gpx", str(path), "--inspector", seeded["usernames"]["inspector_a"]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 1, f"{done.returncode} {done.stderr[-2000:]}"
    assert "deep.gpx: not imported: file: elements nested deeper than 32 levels" in done.stderr
    count = subprocess.run(
        [
            *manage,
            "shell",
            "-c",
            "from patrol.models import TrackPoint; print(TrackPoint.objects.count())",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert count.stdout.split()[-1] == "0"  # after the shell's own notice
