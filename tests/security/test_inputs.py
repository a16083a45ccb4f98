"""Attacks on the API's inputs: coordinates, JSON, query parameters, websocket frames.

Each test sends what an attacker (or a broken client) would, then checks the answer (a 400
naming the field or the problem), that nothing was written, and that the server still serves.
The request that used to abort the whole process inside GEOS is sent from a child process, so
that a regression kills the child, not the test run.
"""

import base64
import json
import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from django.db import connection

from cases.models import Case
from patrol.models import Shift, TrackPoint
from tests.cases import conftest as case_fixtures
from tests.cases.conftest import report_body
from tests.patrol import conftest as patrol_fixtures
from tests.patrol.conftest import as_body, upload, walk

# The case and patrol tests' fixtures, for attacks on both apps.
taxonomy = case_fixtures.taxonomy
now = patrol_fixtures.now
_partitions_forgotten = patrol_fixtures._partitions_forgotten

ROOT = Path(__file__).resolve().parents[2]

# 100,000 levels: deep enough for RecursionError in json, small enough to send (200 kB).
DEEP = "[" * 100_000 + "]" * 100_000


def error_of(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["error"]


def assert_names(response, field: str) -> None:
    assert response.status_code == 400, response.content[:300]
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["fields"], error


def post_json(client, url: str, text: str, **extra):
    return client.post(url, text.encode("utf-8", "surrogatepass"), "application/json", **extra)


# --- 1. coordinates: the process survives a huge bbox ------------------------------------

_CHILD = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from django.test.utils import setup_test_environment
    setup_test_environment()
    from django.contrib.auth import get_user_model
    from django.test import Client
    admin = get_user_model().objects.filter(username="inputs-admin").first()
    if admin is None:
        admin = get_user_model().objects.create_superuser("inputs-admin", password="x")
    client = Client()
    client.force_login(admin)
    for url in sys.argv[1:]:
        # DEBUG=0 redirects plain HTTP; messages are asserted in English.
        response = client.get(url, secure=True, headers={"accept-language": "en"})
        print(json.dumps([url, response.status_code, response.content.decode()[:300]]))
        sys.stdout.flush()
    """
)

CRASHERS = [
    # The issue's requests: each aborted the web process in GEOS's WKT writer (SIGABRT).
    "/api/v1/grids/?bbox=-1e200,-1e200,1e200,1e200",
    "/api/v1/cases/?bbox=1e308,1e308,1e308,1e308",
    "/api/v1/checkpoints/?bbox=-1e300,-1e300,1e300,1e300",
    "/api/v1/streets/?bbox=-1.7976931348623157e308,0,1.7976931348623157e308,1",
]


@pytest.fixture
def child_database(tmp_path) -> dict:
    """Environment for a child process with a database of its own tables: the test database
    on PostgreSQL, a freshly migrated SpatiaLite file otherwise."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "gridcity.settings"}
    env.update(SECRET_KEY="inputs-test", GRIDCITY_VAR_DIR=str(tmp_path), DEBUG="0")
    env["ALLOWED_HOSTS"] = "testserver"
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        env["DATABASE_URL"] = (
            f"postgis://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
        )
    else:
        env["DATABASE_URL"] = f"spatialite:///{tmp_path / 'child.sqlite3'}"
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"],
            env=env,
            check=True,
            timeout=300,
        )
    return env


@pytest.mark.django_db(transaction=True)
def test_a_huge_bbox_is_a_400_and_the_process_keeps_serving(child_database):
    urls = [*CRASHERS, "/api/v1/grids/", "/api/v1/cases/"]
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *urls],
        env=child_database,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # A negative return code is the signal that killed it: -6 (SIGABRT) is GEOS aborting.
    assert done.returncode == 0, done.stderr[-2000:]
    answers = {
        url: (status, body) for url, status, body in map(json.loads, done.stdout.split("\n")[:-1])
    }
    assert list(answers) == urls
    for url in CRASHERS:
        status, body = answers[url]
        assert status == 400, (url, body)
        assert json.loads(body)["error"]["fields"] == {
            "bbox": ["A number from -180 to 180 is required."]
        }
    # Served after them, by the same process.
    assert answers["/api/v1/grids/"][0] == 200
    assert answers["/api/v1/cases/"][0] == 200


# --- 1. coordinates: bbox ----------------------------------------------------------------

BAD_BBOXES = {
    "nan,nan,nan,nan": "A finite number is required.",
    "inf,0,inf,1": "A finite number is required.",
    "-Infinity,0,1,1": "A finite number is required.",
    "100,30,200,31": "A number from -180 to 180 is required.",
    "100,-91,101,30": "A number from -90 to 90 is required.",
    "101,30,100,31": "The minimum must not be greater than the maximum.",
    "100,31,101,30": "The minimum must not be greater than the maximum.",
    "100,20,106,21": "The box may span at most 5 degrees each way.",
    "1,2,3": "Give min_lon,min_lat,max_lon,max_lat.",
    "1,2,3,4,5": "Give min_lon,min_lat,max_lon,max_lat.",
    "a,b,c,d": "A number is required.",
    "1" * 300: "Give min_lon,min_lat,max_lon,max_lat.",
}


@pytest.mark.parametrize("bbox", list(BAD_BBOXES))
@pytest.mark.parametrize("url", ["/api/v1/grids/", "/api/v1/checkpoints/", "/api/v1/cases/"])
def test_a_bbox_that_is_not_four_degrees_in_range_is_a_400_naming_bbox(client, people, url, bbox):
    client.force_login(people.admin)
    response = client.get(url, {"bbox": bbox})
    assert_names(response, "bbox")
    assert error_of(response)["fields"]["bbox"] == [BAD_BBOXES[bbox]]
    assert client.get(url).status_code == 200


def test_the_bbox_span_is_a_setting(client, small_city, settings):
    settings.GRIDCITY_API_MAX_BBOX_DEGREES = 10
    assert client.get("/api/v1/grids/", {"bbox": "95,25,105,35"}).status_code == 200
    settings.GRIDCITY_API_MAX_BBOX_DEGREES = 0.01
    assert_names(client.get("/api/v1/grids/", {"bbox": "100,30,100.04,30.04"}), "bbox")


def test_a_bbox_of_one_point_is_answered(client, small_city):
    response = client.get("/api/v1/grids/", {"bbox": "100.005,30.005,100.005,30.005"})
    assert response.status_code == 200
    assert len(response.json()["features"]) == 1


# --- 1. coordinates: lon and lat ----------------------------------------------------------

BAD_LONS = ["nan", "inf", "-inf", "1e400", "1e200", "181", "-180.5", "", "east", "0x10"]


@pytest.mark.parametrize("lon", BAD_LONS)
def test_locate_refuses_a_longitude_that_is_no_place(client, small_city, lon):
    response = client.get("/api/v1/locate/", {"lon": lon, "lat": "30.01"})
    assert_names(response, "lon")
    assert client.get("/api/v1/locate/", {"lon": "100.01", "lat": "30.01"}).status_code == 200


@pytest.mark.parametrize("lat", ["nan", "1e400", "90.0001", "-1e308"])
def test_duplicates_refuse_a_latitude_that_is_no_place(client, people, taxonomy, lat):
    client.force_login(people.inspector_a)
    query = {"item": taxonomy.component.code, "lon": "100.01", "lat": lat}
    assert_names(client.get("/api/v1/cases/duplicates/", query), "lat")
    assert client.get("/api/v1/cases/duplicates/", {**query, "lat": "30.01"}).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("lon", "NaN"), ("lon", "Infinity"), ("lon", 180.5), ("lat", -90.5), ("lat", "1e999")],
)
def test_a_case_reported_at_no_place_is_refused_and_not_written(
    client, people, taxonomy, field, value
):
    client.force_login(people.inspector_a)
    body = report_body(people.grid_a, taxonomy.component, **{field: value})
    response = client.post("/api/v1/cases/", body, content_type="application/json")
    assert_names(response, field)
    assert Case.objects.count() == 0
    good = report_body(people.grid_a, taxonomy.component)
    assert client.post("/api/v1/cases/", good, content_type="application/json").status_code == 201


def test_a_case_action_at_no_place_is_refused(client, people, taxonomy):
    client.force_login(people.inspector_a)
    body = report_body(people.grid_a, taxonomy.component)
    number = client.post("/api/v1/cases/", body, content_type="application/json").json()["number"]
    client.force_login(people.dispatcher)
    response = client.post(
        f"/api/v1/cases/{number}/file/", {"lon": "nan", "lat": 30.0}, "application/json"
    )
    assert_names(response, "lon")
    assert Case.objects.get(number=number).status == "reported"


# --- 1 and 5. the points batch: every number finite ---------------------------------------


def _point(**fields) -> str:
    """One fix of an upload, its numbers written into the JSON text as they are given."""
    base = {"id": '"p1"', "t": "1763949600000", "lon": "100.01", "lat": "30.01"}
    parts = [f'"{key}": {value}' for key, value in {**base, **fields}.items()]
    return '{"points": [{' + ", ".join(parts) + "}]}"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        # The issue's upload: infinity stored made the shift's track a 500 for everyone.
        ({"heading": "1e400", "alt": "-1e400"}, "the number 1e400 is too large"),
        ({"speed": "NaN"}, "NaN is not a number JSON allows"),
        ({"acc": "Infinity"}, "Infinity is not a number JSON allows"),
        ({"lon": "-Infinity"}, "-Infinity is not a number JSON allows"),
        ({"lat": "1" + "0" * 5000}, "Exceeds the limit (4300 digits)"),
    ],
)
def test_a_points_upload_with_a_number_json_does_not_allow_is_refused(
    client, people, now, fields, problem
):
    response = upload(client, people.inspector_a, None, raw=_point(**fields).encode())
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "parse_error"
    assert problem in error["message"]
    assert TrackPoint.objects.count() == 0
    assert Shift.objects.count() == 0


@pytest.mark.parametrize("field", ["t", "lon", "lat", "acc", "speed", "heading", "alt", "batt"])
def test_a_points_upload_with_a_number_beyond_any_float_names_the_field(client, people, now, field):
    # Valid JSON, but 10^400 is no float: once read as infinity it was stored.
    response = upload(
        client, people.inspector_a, None, raw=_point(**{field: "1" + "0" * 400}).encode()
    )
    assert_names(response, f"points[0].{field}")
    assert error_of(response)["fields"][f"points[0].{field}"] == ["A finite number is required."]
    assert TrackPoint.objects.count() == 0
    fine = upload(client, people.inspector_a, as_body(walk(people.grid_a, now, 3)))
    assert fine.status_code == 200
    assert fine.json()["accepted"] == 3


def test_a_fix_out_of_range_is_rejected_alone_and_its_batch_is_kept(client, people, now):
    """A finite latitude of 95 is a bad fix, not a bad request: a handheld whose buffer holds
    one would otherwise retry the whole batch for ever. It is counted as ``invalid``."""
    fixes = walk(people.grid_a, now, 3)
    body = as_body(fixes)
    body["points"][1]["lat"] = 95.0
    body["points"][2]["lon"] = 1e200
    response = upload(client, people.inspector_a, body)
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert response.json()["rejected"] == {"invalid": 2}
    assert TrackPoint.objects.count() == 1
    track = client.get(f"/api/v1/patrol/shifts/{response.json()['shifts'][0]}/points/?points=1")
    assert track.status_code == 200


def test_a_track_holding_infinity_from_before_is_still_served(client, people, now):
    """Rows stored before uploads were checked may hold ±Infinity: the track is served with
    those values as null rather than being a 500 for everyone."""
    from dataclasses import replace

    from patrol.services import track_points_ingest

    fixes = walk(people.grid_a, now, 2)
    fixes[1] = replace(fixes[1], heading=float("inf"), altitude=float("-inf"))
    shift_id = track_points_ingest(inspector=people.inspector_a, fixes=fixes).shifts[0]
    client.force_login(people.inspector_a)
    response = client.get(f"/api/v1/patrol/shifts/{shift_id}/points/?points=1")
    assert response.status_code == 200
    last = response.json()["features"][-1]["properties"]
    assert (last["heading"], last["altitude"]) == (None, None)
    gpx = client.get(f"/api/v1/patrol/shifts/{shift_id}/track.gpx")
    assert gpx.status_code == 200
    assert b"inf</" not in gpx.content  # no <ele>-inf</ele>
    assert client.get(f"/api/v1/patrol/shifts/{shift_id}/track.geojson").status_code == 200


# --- 2. JSON: depth, surrogates, NUL, size ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("[" * 64 + "]" * 64, False),  # the limit itself
        ("[" * 65 + "]" * 65, True),
        ('{"a": ' * 65 + "1" + "}" * 65, True),
        ('"\\\\u0000 is six characters"', False),  # an escaped backslash, then text
        ('"\\\\ud800"', False),
        ('{"\\ud800": 1}', True),  # keys too
        ('{"k\\u0000": 1}', True),
        ('["\ud800"]', True),  # a lone surrogate as a character, not an escape
        ("1e308", False),
        ("-1e309", True),
        ('"\ufeff"', False),
        (b"\xef\xbb\xbf{}", False),  # a UTF-8 BOM
        (b'"\xff"', True),  # not UTF-8
    ],
)
def test_jsonsafe_draws_its_lines_exactly(text, refused):
    from gridcity import jsonsafe

    if refused:
        with pytest.raises(jsonsafe.JSONRejected):
            jsonsafe.loads(text)
    else:
        jsonsafe.loads(text)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/auth/token/",
        "/api/v1/cases/",
        "/api/v1/patrol/points/",
        "/api/v1/patrol/shifts/",
    ],
)
def test_json_nested_100000_deep_is_a_400_on_every_json_endpoint(client, people, taxonomy, url):
    if url != "/api/v1/auth/token/":  # the token endpoint is for anyone
        client.force_login(people.inspector_a)
    response = post_json(client, url, DEEP)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "parse_error"
    assert "nested deeper than 64 levels" in error["message"]
    assert Case.objects.count() == Shift.objects.count() == TrackPoint.objects.count() == 0
    assert client.get("/api/v1/locate/", {"lon": "100.01", "lat": "30.01"}).status_code == 200


def _json_operations(fill) -> list[tuple[str, str]]:
    """(method, path) of every operation of the OpenAPI schema that takes a JSON body, each
    path parameter given by ``fill(path, name)``."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                filled = re.sub(r"\{(\w+)\}", lambda m, p=path: fill(p, m[1]), path)
                found.append((method, filled))
    return found


def test_every_json_operation_refuses_deep_json(client, people, taxonomy, now):
    """Every operation of the schema that reads JSON, on objects that exist, by a person who
    may act on them (an inspector for their own shift and case, else an administrator)."""
    from cases.services import case_file, case_follow, case_report
    from patrol.services import shift_start
    from portal.services import platform_token_issue

    lon, lat = people.grid_a.geom.point_on_surface.coords
    case = case_report(by=people.inspector_a, item=taxonomy.component, lon=lon, lat=lat).case
    case = case_file(case=case, by=people.admin)  # filed: public, so a citizen may follow it
    token = case_follow(case=case, role="reporter", via="portal").follower.token
    _platform, platform_token = platform_token_issue(username="platform-12345")
    shift = shift_start(inspector=people.inspector_a, client_uuid=uuid.uuid4())
    notification = people.admin.notifications.create(kind="dispatched", message="x")

    def fill(path: str, name: str) -> str:
        if name == "number":
            return case.number
        if name == "token":
            return token
        return str(notification.pk if "/notifications/" in path else shift.pk)

    operations = _json_operations(fill)
    assert len(operations) > 20  # the schema was read
    cases_before, shifts_before = Case.objects.count(), Shift.objects.count()
    not_refused = []
    for method, path in operations:
        answers = []
        for user in (people.inspector_a, people.admin):
            client.force_login(user)
            # The city's 12345 platform sends tickets with its own token, never a session.
            platform = (
                {"HTTP_AUTHORIZATION": f"Token {platform_token}"} if "/hotline/" in path else {}
            )
            response = getattr(client, method)(
                path, DEEP, content_type="application/json", **platform
            )
            assert response.status_code < 500, (method, path, user)
            answers.append(response.status_code == 400 and error_of(response)["code"])
        if "parse_error" not in answers:
            not_refused.append((method, path, answers))
    assert not_refused == [], not_refused
    assert (Case.objects.count(), Shift.objects.count()) == (cases_before, shifts_before)


def test_an_anonymous_deep_token_request_does_not_log_anyone_in(client, people):
    response = post_json(client, "/api/v1/auth/token/", '{"username": ' + DEEP + "}")
    assert response.status_code == 400
    good = {"username": people.inspector_a.username, "password": "wrong"}
    assert client.post("/api/v1/auth/token/", good, "application/json").status_code in (400, 401)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('"\\ud800"', "lone surrogate"),
        ('"\\udfff tail"', "lone surrogate"),
        ('"a\\u0000b"', "NUL character"),
    ],
)
def test_a_string_no_database_can_store_is_refused_in_a_case(
    client, people, taxonomy, text, problem
):
    client.force_login(people.inspector_a)
    body = report_body(people.grid_a, taxonomy.component)
    raw = json.dumps(body).replace('"description": "', '"description": ' + text + ', "_": "')
    response = post_json(client, "/api/v1/cases/", raw)
    assert response.status_code == 400
    assert problem in error_of(response)["message"]
    assert Case.objects.count() == 0


@pytest.mark.parametrize("text", ['"\\ud800"', '"\\u0000"'])
def test_a_point_id_no_database_can_store_is_refused(client, people, now, text):
    response = upload(client, people.inspector_a, None, raw=_point(id=text).encode())
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"
    assert TrackPoint.objects.count() == 0


def test_a_surrogate_pair_is_text_and_is_kept(client, people, taxonomy):
    client.force_login(people.inspector_a)
    body = report_body(people.grid_a, taxonomy.component, description="井盖 \U0001f573")
    raw = json.dumps(body)  # ensure_ascii: the emoji as the pair \ud83d\udd73
    assert "\\ud83d" in raw
    response = post_json(client, "/api/v1/cases/", raw)
    assert response.status_code == 201
    assert Case.objects.get().description == "井盖 \U0001f573"


def test_a_json_body_beyond_djangos_memory_limit_is_a_413(client, people, taxonomy, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client.force_login(people.inspector_a)
    body = report_body(people.grid_a, taxonomy.component, address="x" * 20_000)
    response = client.post("/api/v1/cases/", body, content_type="application/json")
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    assert Case.objects.count() == 0


def test_a_nul_in_a_form_field_is_a_400_naming_it(client, people):
    response = client.post("/api/v1/auth/token/", {"username": "inspector-a\x00", "password": "x"})
    assert_names(response, "username")


# --- 3. query parameters ------------------------------------------------------------------


def _cursor(**tokens) -> str:
    text = "&".join(f"{key}={value}" for key, value in tokens.items())
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/patrol/shifts/", {"inspector": "1e20"}, "inspector"),
        ("/api/v1/patrol/shifts/", {"inspector": "99999999999999999999"}, "inspector"),
        ("/api/v1/patrol/shifts/", {"inspector": "-1"}, "inspector"),
        ("/api/v1/patrol/shifts/", {"updated_since": "yesterday"}, "updated_since"),
        ("/api/v1/patrol/shifts/", {"date": "99999-01-01"}, "date"),
        ("/api/v1/patrol/shifts/", {"page_size": "0"}, "page_size"),
        ("/api/v1/patrol/shifts/", {"cursor": "garbage"}, "cursor"),
        # A made-up cursor whose position is not a time: Django's ValidationError in the query.
        ("/api/v1/patrol/shifts/", {"cursor": _cursor(p="garbage")}, "cursor"),
        ("/api/v1/cases/", {"cursor": _cursor(p="2026-13-45")}, "cursor"),
        ("/api/v1/cases/", {"page_size": "1e20"}, "page_size"),
        ("/api/v1/cases/", {"page_size": "-5"}, "page_size"),
        ("/api/v1/cases/", {"created_after": "99999-01-01"}, "created_after"),
        ("/api/v1/me/tasks/", {"cursor": _cursor(o="1" * 5000)}, "cursor"),
        ("/api/v1/me/notifications/", {"page_size": "many"}, "page_size"),
        ("/api/v1/grids/", {"page_size": "1.5"}, "page_size"),
        ("/api/v1/grids/", {"cursor": _cursor(p="x" * 300)}, "cursor"),
        ("/api/v1/grids/", {"simplify": "nan"}, "simplify"),
        ("/api/v1/grids/", {"updated_since": "9999-99-99"}, "updated_since"),
        # Valid dates whose conversion to UTC, or to the next day, overflows Python's datetime.
        ("/api/v1/grids/", {"updated_since": "0001-01-01T00:00:00+14:00"}, "updated_since"),
        ("/api/v1/cases/", {"created_before": "9999-12-31T23:59:59-12:00"}, "created_before"),
        ("/api/v1/patrol/shifts/", {"date": "9999-12-31"}, "date"),
        ("/api/v1/patrol/shifts/", {"date": "0001-01-01"}, "date"),
        ("/api/v1/patrol/inspectors/", {"date": "9999-12-31"}, "date"),
        ("/api/v1/cases/", {"cursor": _cursor(p="0001-01-01 00:00:00+14:00")}, "cursor"),
    ],
)
def test_a_query_parameter_out_of_range_is_a_400_naming_it(client, people, url, params, field):
    client.force_login(people.supervisor)
    assert_names(client.get(url, params), field)
    assert client.get(url).status_code == 200


def test_a_shift_started_in_year_one_is_refused_and_not_written(client, people, now):
    client.force_login(people.inspector_a)
    body = {
        "client_uuid": "0b5f0a52-8d3e-4c47-9a59-3f6f2b1c0001",
        "started_at": "0001-01-01T00:00:00+14:00",
    }
    assert_names(client.post("/api/v1/patrol/shifts/", body, "application/json"), "started_at")
    assert Shift.objects.count() == 0


def test_a_page_size_above_the_maximum_is_the_maximum(client, small_city):
    response = client.get("/api/v1/grids/", {"page_size": "9" * 50})
    assert response.status_code == 200
    assert len(response.json()["features"]) == len(small_city.grids)


def test_a_cursor_the_server_wrote_still_pages(client, people, small_city):
    client.force_login(people.supervisor)
    first = client.get("/api/v1/grids/", {"page_size": 100}).json()
    second = client.get(first["next"])
    assert second.status_code == 200
    assert len(first["features"]) + len(second.json()["features"]) == len(small_city.grids)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/cases/?item=0101%00", "item"),
        ("/api/v1/cases/duplicates/?item=0101%00&lon=100.01&lat=30.01", "item"),
        ("/api/v1/patrol/shifts/?street=%00", "street"),
        ("/api/v1/grids/?cursor=%00", "cursor"),
        ("/api/v1/cases/%00/", "path"),
        ("/api/v1/cases/2026%00/photos/", "path"),
    ],
)
def test_a_nul_in_the_url_is_a_400_naming_it(client, people, taxonomy, path, field):
    """A NUL reaching PostgreSQL is an error of the driver (a 500): it is refused first."""
    client.force_login(people.supervisor)
    response = client.get(path)
    assert_names(response, field)
    assert client.get("/api/v1/cases/").status_code == 200


@pytest.mark.parametrize("path", ["/osmand/?id=abcdefgh%00&lat=1&lon=1", "/owntracks/?u=a%00&d=b"])
def test_a_nul_in_a_positioning_app_url_is_a_400_in_the_error_shape(client, path):
    """The apps' endpoints answer programs: the refusal is JSON naming the parameter."""
    response = client.post(path, b"", content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert list(response.json()["error"]["fields"]) == [path.split("?")[1].split("=")[0]]


def test_a_nul_in_a_page_url_is_a_plain_400(client):
    response = client.get("/accounts/login/?next=%00")
    assert response.status_code == 400
    assert client.get("/accounts/login/").status_code == 200


# --- 2. websockets --------------------------------------------------------------------------


@pytest.fixture
def in_memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


FRAMES = [
    DEEP,
    '{"action": "read", "id": "\\ud800"}',
    '{"type": "subscribe", "streets": ["999901001\\u0000"]}',
    '{"action": "read", "id": NaN}',
    "not json",
]


@pytest.mark.django_db(transaction=True)
def test_a_bad_frame_on_the_notifications_socket_is_answered_and_the_socket_serves_on(
    people, in_memory_layer
):
    from cases.models import Notification
    from gridcity.asgi import application
    from tests.ws import WebsocketCommunicator, run, session_headers

    mine = Notification.objects.create(user=people.staff, kind="dispatched", message="mine")
    headers = session_headers(people.staff)

    async def scenario():
        ws = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        assert (await ws.connect())[0]
        for frame in FRAMES:
            await ws.send_to(text_data=frame)
            answer = await ws.receive_json_from(timeout=2)
            assert answer["type"] == "error"
            assert answer["code"] == "invalid_json"
        await ws.send_json_to({"action": "read", "id": mine.pk})
        assert (await ws.receive_json_from(timeout=2))["type"] == "read"
        await ws.disconnect()

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_bad_frame_on_the_live_socket_is_answered_and_the_socket_serves_on(
    people, in_memory_layer
):
    from gridcity.asgi import application
    from tests.ws import WebsocketCommunicator, run, session_headers

    street = people.grid_a.community.street
    headers = session_headers(people.supervisor)

    async def scenario():
        ws = WebsocketCommunicator(application, "/ws/patrol/", headers=headers)
        assert (await ws.connect())[0]
        for frame in FRAMES:
            await ws.send_to(text_data=frame)
            answer = await ws.receive_json_from(timeout=2)
            assert (answer["type"], answer["code"]) == ("error", "invalid_json")
        await ws.send_json_to({"type": "subscribe", "streets": [street.code]})
        assert (await ws.receive_json_from(timeout=2))["type"] == "snapshot"
        await ws.disconnect()

    run(scenario)
