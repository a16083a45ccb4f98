"""Attacks with request bodies and on stored photos: size, streaming, and photos by URL.

A 400 MB "photo" used to be read whole into memory before the photo code found it too large.
Each test here sends what an attacker would and checks the answer (413 in the API's error
shape), that the body was never read (a stream that fails the test when read), that nothing
was written, and that the server still serves. Under ASGI the check must come before Django's
handler, which reads the whole body before any middleware runs: those tests drive the ASGI
application with a ``receive`` that counts what it handed out.
"""

import asyncio
import importlib
import io
import json

import pytest
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import InMemoryUploadedFile, TemporaryUploadedFile
from django.test import RequestFactory
from django.urls import clear_url_caches

from cases.models import CasePhoto
from gridcity.middleware import BodyLimitMiddleware, body_limit
from tests.cases import conftest as case_fixtures
from tests.cases.conftest import act, reported
from tests.cases.test_photos import encode, gps_exif, scene

taxonomy = case_fixtures.taxonomy

MB = 2**20
PHOTO_BODY_LIMIT = 10 * MB + 64 * 1024  # GRIDCITY_PHOTO_MAX_BYTES and the multipart framing


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


class ReadForbidden(io.RawIOBase):
    """A request body that fails the test when anything reads a byte of it."""

    def readable(self) -> bool:
        return True

    def read(self, size=-1):
        raise AssertionError("the request body was read")

    readline = read
    readinto = read


class Endless(io.RawIOBase):
    """A body without end, as a chunked upload can be; counts what was read of it."""

    def __init__(self):
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = b"x" * len(buffer)
        self.taken += len(buffer)
        return len(buffer)


def post_unread(client, path: str, length: int, content_type: str):
    """POST whose Content-Length claims ``length`` bytes and whose body must never be read."""
    return client.request(
        REQUEST_METHOD="POST",
        PATH_INFO=path,
        CONTENT_TYPE=content_type,
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": ReadForbidden()},
    )


def upload(client, user, number, data: bytes, *, name="photo.jpg", stage="report"):
    client.force_login(user)
    f = io.BytesIO(data)
    f.name = name
    return client.post(f"/api/v1/cases/{number}/photos/", {"file": f, "stage": stage})


def still_serving(client) -> None:
    assert client.get("/api/v1/categories/").status_code == 200


# --- bodies refused by their length, unread ---------------------------------------------------


@pytest.mark.parametrize("who", ["inspector_a", "citizen"])
def test_a_400_mb_photo_is_refused_by_its_length_before_a_byte_is_read(
    client, people, taxonomy, settings, who
):
    reporter = getattr(people, who)
    number = reported(client, reporter, people.grid_a, taxonomy.event)["number"]
    client.force_login(reporter)

    response = post_unread(
        client,
        f"/api/v1/cases/{number}/photos/",
        400 * MB,
        "multipart/form-data; boundary=----gridcity",
    )

    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_large"
    assert str(PHOTO_BODY_LIMIT) in error["message"]
    assert not CasePhoto.objects.exists()
    assert stored_files(settings) == []
    still_serving(client)


@pytest.mark.parametrize(
    ("path", "content_type", "limit"),
    [
        ("/api/v1/cases/", "application/json", MB),
        ("/api/v1/auth/token/", "application/json", MB),
        ("/api/v1/patrol/points/", "application/json", 20 * MB),
        ("/api/v1/patrol/gpx/", "multipart/form-data; boundary=x", 10 * MB + 64 * 1024),
        ("/osmand/", "application/x-www-form-urlencoded", 20 * MB),
        ("/owntracks/", "application/json", 20 * MB),
    ],
)
def test_every_route_refuses_a_body_over_its_own_limit_unread_even_anonymous(
    client, db, path, content_type, limit
):
    assert body_limit(path) == limit

    over = post_unread(client, path, limit + 1, content_type)

    assert over.status_code == 413
    assert over.json()["error"]["code"] == "too_large"
    still_serving(client)


def test_a_body_sent_without_a_length_is_counted_while_it_is_read():
    # A chunked body has no Content-Length; Django's request.body would read all of it.
    endless = Endless()
    request = RequestFactory().post("/api/v1/cases/", data=b"", content_type="text/plain")
    request.META.pop("CONTENT_LENGTH", None)
    request._stream = endless

    def view(request):
        return request.body

    with pytest.raises(RequestDataTooBig):
        BodyLimitMiddleware(view)(request)

    assert endless.taken == MB + 1  # one byte past the limit, never the rest


def test_a_body_without_a_length_over_the_default_limit_is_refused(rf, settings):
    settings.GRIDCITY_MAX_BODY_BYTES = 1000
    stream = Endless()
    request = rf.post("/accounts/login/", data=b"", content_type="text/plain")
    request.META.pop("CONTENT_LENGTH", None)
    request._stream = stream

    with pytest.raises(RequestDataTooBig):
        BodyLimitMiddleware(lambda request: request.read())(request)

    assert stream.taken == 1001


# --- the photo code measures before it reads --------------------------------------------------


def test_a_photo_part_over_the_limit_is_measured_not_read(
    client, people, taxonomy, settings, monkeypatch
):
    settings.GRIDCITY_PHOTO_MAX_BYTES = 100_000  # the body limit follows: 100,000 + 64 KiB
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.event)["number"]

    def refuse(self, *args):
        raise AssertionError("the uploaded file was read")

    monkeypatch.setattr(InMemoryUploadedFile, "read", refuse)
    monkeypatch.setattr(TemporaryUploadedFile, "read", refuse)

    response = upload(client, people.inspector_a, number, b"\xff\xd8\xff\xe0" + b"\0" * 120_000)

    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_large" and "file" in error["fields"]
    assert not CasePhoto.objects.exists()
    assert stored_files(settings) == []


def test_a_photo_just_under_the_limit_goes_through(client, people, taxonomy, settings):
    settings.GRIDCITY_PHOTO_MAX_BYTES = 200_000
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.event)["number"]
    data = encode(scene((400, 300)), "JPEG")
    assert len(data) < 200_000

    assert upload(client, people.inspector_a, number, data).status_code == 201


def test_a_photo_file_larger_than_memory_holds_is_streamed_to_a_temporary_file(
    client, people, taxonomy, settings, monkeypatch
):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10_000
    seen = []
    from cases import photos

    real_read = photos.photo_read

    def spy(upload):
        seen.append(type(upload))
        return real_read(upload)

    monkeypatch.setattr(photos, "photo_read", spy)
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.event)["number"]

    response = upload(client, people.inspector_a, number, encode(scene(), "JPEG", quality=95))

    assert response.status_code == 201, response.content
    assert seen == [TemporaryUploadedFile]


# --- under ASGI: refused before Django's handler reads the body -------------------------------


def asgi_post(path: str, *, headers: list, chunks, limit_calls: int = 1000):
    """Drive the ASGI application with one POST; (status, body, chunks handed out)."""
    from gridcity.asgi import application

    handed = 0
    sent: list[dict] = []

    ended = False

    async def receive():
        nonlocal handed, ended
        if ended:  # the whole body was handed out: the client waits for the answer
            await asyncio.sleep(3600)
        if handed >= limit_calls:
            raise AssertionError("the body was read past its limit")
        chunk, more = chunks(handed)
        handed += 1
        ended = not more
        return {"type": "http.request", "body": chunk, "more_body": more}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(asyncio.wait_for(application(scope, receive, send), timeout=30))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body, handed


def test_under_asgi_a_400_mb_photo_is_refused_by_its_length_before_any_chunk_is_received(db):
    status, headers, body, handed = asgi_post(
        "/api/v1/cases/440306-20261203-000001/photos/",
        headers=[
            (b"content-type", b"multipart/form-data; boundary=x"),
            (b"content-length", str(400 * MB).encode()),
        ],
        chunks=lambda i: (b"x" * MB, True),
        limit_calls=0,
    )

    assert status == 413 and handed == 0
    assert headers[b"connection"] == b"close"
    assert json.loads(body)["error"]["code"] == "too_large"


def test_under_asgi_a_chunked_body_is_cut_off_once_it_passes_the_limit(db):
    # No Content-Length: 1 MiB chunks without end. The photo route takes 10 MiB + 64 KiB, so
    # the eleventh chunk passes the limit, and no chunk after it is asked for.
    status, _headers, body, handed = asgi_post(
        "/api/v1/cases/440306-20261203-000001/photos/",
        headers=[(b"content-type", b"multipart/form-data; boundary=x")],
        chunks=lambda i: (b"x" * MB, True),
        limit_calls=12,
    )

    assert status == 413
    assert handed == 11
    assert json.loads(body)["error"]["code"] == "too_large"


def test_under_asgi_a_body_within_its_limit_reaches_django(db):
    status, _headers, body, _handed = asgi_post(
        "/api/v1/auth/token/",
        headers=[(b"content-type", b"application/json"), (b"content-length", b"2")],
        chunks=lambda i: (b"{}", False),
    )

    assert status == 400  # Django read the body and found the fields missing
    assert "fields" in json.loads(body)["error"]


# --- photos by URL ----------------------------------------------------------------------------


@pytest.fixture
def stored_photo(client, people, taxonomy, django_capture_on_commit_callbacks):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.event)["number"]
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            client, people.inspector_a, number, encode(scene(), "JPEG", exif=gps_exif())
        )
    assert response.status_code == 201, response.content
    photo = CasePhoto.objects.get()
    assert photo.original and photo.display and photo.thumbnail
    return photo


@pytest.fixture
def debug_urls(settings):
    """The URLconf as `make run` (DEBUG=1) builds it."""
    import gridcity.urls

    settings.DEBUG = True
    importlib.reload(gridcity.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(gridcity.urls)
    clear_url_caches()


@pytest.mark.parametrize("kind", ["original", "display", "thumbnail"])
def test_no_stored_photo_is_served_by_its_media_url_even_in_debug(
    client, people, stored_photo, debug_urls, kind
):
    name = getattr(stored_photo, kind).name
    assert (stored_photo.original.storage.path(name)).endswith(name)

    for who in (None, people.inspector_a, people.admin):
        client.logout()
        if who is not None:
            client.force_login(who)
        assert client.get(f"/media/{name}").status_code == 404
        assert client.get(getattr(stored_photo, kind).url).status_code == 404


def test_the_original_has_no_endpoint_at_all(client, people, stored_photo):
    client.force_login(people.admin)
    base = f"/api/v1/cases/{stored_photo.case.number}/photos/{stored_photo.pk}"

    assert client.get(f"{base}/original/").status_code == 404
    assert client.get(f"{base}/display/").status_code == 200


@pytest.mark.parametrize("kind", ["display", "thumbnail"])
def test_a_served_photo_is_named_by_case_and_photo_not_by_its_stored_name(
    client, people, stored_photo, kind
):
    client.force_login(people.inspector_a)
    number = stored_photo.case.number

    response = client.get(f"/api/v1/cases/{number}/photos/{stored_photo.pk}/{kind}/")

    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition == f'inline; filename="{number}-{stored_photo.pk}.jpg"'
    assert stored_photo.sha256[:16] not in disposition


def test_a_photo_is_404_to_whoever_may_not_see_its_case(client, people, stored_photo):
    number = stored_photo.case.number
    for who in (people.inspector_b, people.other_supervisor):
        client.force_login(who)
        assert (
            client.get(f"/api/v1/cases/{number}/photos/{stored_photo.pk}/display/").status_code
            == 404
        )
    client.logout()
    assert (
        client.get(f"/api/v1/cases/{number}/photos/{stored_photo.pk}/display/").status_code == 401
    )


def test_a_citizen_may_upload_to_their_own_case_only(client, people, taxonomy):
    own = reported(client, people.citizen, people.grid_a, taxonomy.event)["number"]
    theirs = reported(client, people.inspector_a, people.grid_a, taxonomy.event)["number"]
    data = encode(scene((200, 150)), "JPEG")

    assert upload(client, people.citizen, own, data).status_code == 201
    assert upload(client, people.citizen, theirs, data).status_code == 404
    assert act(client, people.citizen, theirs, "file").status_code == 404
