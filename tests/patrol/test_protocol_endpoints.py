"""The positioning apps' endpoints: OsmAnd as Traccar Client sends it (``/osmand/``) and
OwnTracks in HTTP mode (``/owntracks/``). The registered device identifier is the credential:
unknown or revoked is a 403 and stores nothing; a session or a CSRF token plays no part."""

import json
import logging
from datetime import UTC, timedelta
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from patrol.models import Tracker, TrackPoint
from patrol.services import tracker_revoke
from patrol.trackers.osmand import KNOT
from tests.factories import make_people
from tests.patrol.conftest import grid_centre

pytestmark = pytest.mark.django_db

OSMAND_ID = "t7Qk2mZp9xLc"
OWNTRACKS_ID = "zhangsan/Pixel-8-4f9c1e"


@pytest.fixture
def people(now, small_city):
    return make_people(small_city)


@pytest.fixture
def osmand(people):
    return Tracker.objects.create(
        kind=Tracker.Kind.OSMAND, identifier=OSMAND_ID, inspector=people.inspector_a
    )


@pytest.fixture
def owntracks(people):
    return Tracker.objects.create(
        kind=Tracker.Kind.OWNTRACKS, identifier=OWNTRACKS_ID, inspector=people.inspector_a
    )


def traccar_params(people, now, **changes) -> dict:
    """One fix as Traccar Client 8 sends it: epoch seconds, speed in knots."""
    lon, lat = grid_centre(people.grid_a)
    params = {
        "id": OSMAND_ID,
        "timestamp": str(int((now - timedelta(minutes=1)).timestamp())),
        "lat": f"{lat:.7f}",
        "lon": f"{lon:.7f}",
        "speed": "2.0",
        "bearing": "90.0",
        "altitude": "12.0",
        "accuracy": "6.0",
        "batt": "77.0",
    }
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


def traccar_json(people, now) -> dict:
    """The same fix as Traccar Client 9 sends it (transistorsoft background geolocation)."""
    lon, lat = grid_centre(people.grid_a)
    return {
        "device_id": OSMAND_ID,
        "location": {
            "timestamp": (now - timedelta(minutes=1)).astimezone(UTC).isoformat(),
            "uuid": "3a0d5c8e-1f2b-4c6d-9e7f-8a9b0c1d2e3f",
            "coords": {
                "latitude": lat,
                "longitude": lon,
                "accuracy": 6.0,
                "speed": 2.0 * KNOT,
                "heading": 90.0,
                "altitude": 12.0,
            },
            "battery": {"level": 0.77, "is_charging": False},
        },
    }


def send(client, how: str, people, now, **changes):
    if how == "query":
        return client.get("/osmand/", traccar_params(people, now, **changes))
    if how == "form":
        return client.post(
            "/osmand/",
            urlencode(traccar_params(people, now, **changes)),
            content_type="application/x-www-form-urlencoded",
        )
    return client.post(
        "/osmand/", json.dumps(traccar_json(people, now)), content_type="application/json"
    )


# --- OsmAnd / Traccar Client ----------------------------------------------------------------


@pytest.mark.parametrize("how", ["query", "form", "json"])
def test_a_registered_trackers_fix_is_stored_for_its_inspector(client, people, now, osmand, how):
    response = send(client, how, people, now)

    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 1, "duplicate": 0, "rejected": {}}
    point = TrackPoint.objects.get()
    assert point.inspector == people.inspector_a
    assert point.t == (now - timedelta(minutes=1)).replace(microsecond=0)
    assert (round(point.point.x, 6), round(point.point.y, 6)) == tuple(
        round(v, 6) for v in grid_centre(people.grid_a)
    )
    # Knots on the wire (query and form), m/s in the JSON: m/s stored either way.
    assert point.speed == pytest.approx(2.0 * KNOT)
    assert (point.heading, point.altitude, point.accuracy) == (90.0, 12.0, 6.0)
    assert point.battery == pytest.approx(77.0)
    assert point.shift.inspector == people.inspector_a


def test_the_url_without_its_trailing_slash_takes_the_post_too(client, people, now, osmand):
    response = client.post(
        "/osmand",
        urlencode(traccar_params(people, now)),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert TrackPoint.objects.count() == 1


def test_the_same_request_replayed_is_stored_once(client, people, now, osmand):
    first = send(client, "query", people, now)
    again = send(client, "query", people, now)

    assert first.json()["accepted"] == 1
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicate": 1, "rejected": {}}
    assert TrackPoint.objects.count() == 1


def test_an_unknown_identifier_is_refused_and_nothing_stored(client, people, now, osmand, caplog):
    with caplog.at_level(logging.WARNING, logger="patrol.api.protocols"):
        response = send(client, "query", people, now, id="not-registered-device")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "unknown_device"
    assert not TrackPoint.objects.exists()
    assert "not registered or is revoked" in caplog.text
    assert "not-registered-device" not in caplog.text  # only its first characters


def test_a_revoked_identifier_is_refused_and_nothing_stored(client, people, now, osmand):
    tracker_revoke(tracker=osmand)

    for how in ("query", "form", "json"):
        response = send(client, how, people, now)
        assert response.status_code == 403, how
    assert not TrackPoint.objects.exists()


def test_an_owntracks_registration_is_no_credential_for_osmand(client, people, now):
    Tracker.objects.create(
        kind=Tracker.Kind.OWNTRACKS, identifier=OSMAND_ID, inspector=people.inspector_a
    )

    assert send(client, "query", people, now).status_code == 403
    assert not TrackPoint.objects.exists()


def test_a_signed_in_session_is_no_credential(client, people, now):
    client.force_login(people.inspector_a)

    response = send(client, "query", people, now)

    assert response.status_code == 403
    assert not TrackPoint.objects.exists()


def test_a_form_post_needs_no_csrf_token(people, now, osmand):
    browserish = Client(enforce_csrf_checks=True)
    browserish.force_login(people.inspector_b)  # a cookie, which counts for nothing here

    response = browserish.post("/osmand/", traccar_params(people, now))  # multipart, as curl -F

    assert response.status_code == 200
    assert TrackPoint.objects.get().inspector == people.inspector_a


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lat": None}, "lat"),
        ({"lon": "east"}, "lon"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"lat": "NaN"}, "lat"),
        ({"altitude": "1e999"}, "altitude"),
        ({"speed": "Infinity"}, "speed"),
        ({"batt": "nan"}, "batt"),
    ],
)
def test_a_request_that_cannot_be_read_is_a_400_naming_the_parameter(
    client, people, now, osmand, change, field
):
    response = send(client, "query", people, now, **change)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert error["message"].startswith(f"{field}: ")
    assert not TrackPoint.objects.exists()


def test_a_control_character_in_the_identifier_is_a_400_naming_it(client, people, now, osmand):
    body = urlencode(traccar_params(people, now, id=f"{OSMAND_ID}\x00"))

    response = client.post("/osmand/", body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["id"]
    assert not TrackPoint.objects.exists()


def test_a_fix_the_filters_reject_is_still_a_200_saying_why(client, people, now, osmand):
    response = send(client, "query", people, now, accuracy="500")

    # Anything but a 200 and Traccar Client would send this fix again for ever.
    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicate": 0, "rejected": {"accuracy": 1}}
    assert not TrackPoint.objects.exists()


def test_a_fix_the_device_marks_invalid_is_answered_and_not_stored(client, people, now, osmand):
    response = send(client, "query", people, now, valid="false")

    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicate": 0, "rejected": {}}
    assert not TrackPoint.objects.exists()


def test_a_fix_records_the_trackers_last_contact_and_battery(client, people, now, osmand):
    response = send(client, "form", people, now)

    assert response.status_code == 200
    osmand.refresh_from_db()
    assert (osmand.last_contact_at, osmand.last_battery) == (now, 77)


def test_a_battery_level_with_a_float_tail_is_stored_as_whole_percent(client, people, now, osmand):
    # Traccar Client for iOS sends UIDevice.batteryLevel * 100 (a Float): 0.57 → 56.999996…
    response = send(client, "query", people, now, batt="56.99999999999999")

    assert response.json()["accepted"] == 1
    assert TrackPoint.objects.get().battery == 57
    osmand.refresh_from_db()
    assert osmand.last_battery == 57


def heartbeat(now, **changes) -> str:
    """Traccar Client's stationary heartbeat, as its SDK posts it: a position with only a
    time, filled in by the battery processor (traccar/traccar-client-sdk HttpUploader.kt,
    TrackerEngine.kt, AndroidBatteryProcessor.kt, commit c74aba6b)."""
    params = {
        "id": OSMAND_ID,
        "timestamp": str(int(now.timestamp())),
        "batt": "64",
        "charge": "false",
        "battery_health": "good",
        "battery_voltage": "3987",
        "battery_temp": "27.5",
        **changes,
    }
    return urlencode(params)


def test_a_stationary_heartbeat_is_a_200_storing_no_fix_but_the_contact_and_battery(
    client, people, now, osmand
):
    response = client.post(
        "/osmand/", heartbeat(now), content_type="application/x-www-form-urlencoded"
    )

    # The app retries its oldest unanswered request for ever: anything but a 2xx would hold
    # every later fix of the phone behind this heartbeat.
    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicate": 0, "rejected": {}}
    assert not TrackPoint.objects.exists()
    osmand.refresh_from_db()
    assert (osmand.last_contact_at, osmand.last_battery) == (now, 64)


def test_cell_and_wifi_data_without_coordinates_is_a_200_storing_no_fix(
    client, people, now, osmand
):
    # From Traccar's OsmAndProtocolDecoderTest (commit 9e5c458a), with our device's id.
    response = client.get(
        f"/osmand/?id={OSMAND_ID}&timestamp=1377177267&cell=257,02,16,2224"
        "&cell=257,02,16,2223,-90&wifi=00-14-22-01-23-45,-80&wifi=00-1C-B3-09-85-15,-70"
    )

    assert response.status_code == 200
    assert not TrackPoint.objects.exists()
    osmand.refresh_from_db()
    assert (osmand.last_contact_at, osmand.last_battery) == (now, None)


def test_the_tracker_list_in_the_admin_shows_last_contact_and_battery(client, people, now, osmand):
    client.post("/osmand/", heartbeat(now), content_type="application/x-www-form-urlencoded")
    people.admin.is_superuser = True
    people.admin.save()
    client.force_login(people.admin)

    page = client.get("/admin/patrol/tracker/")

    assert page.status_code == 200
    row = page.context["cl"].result_list.get()
    assert (row.identifier, row.last_contact_at, row.last_battery) == (OSMAND_ID, now, 64)
    assert "column-last_contact_at" in page.text and "column-last_battery" in page.text


def test_a_heartbeat_of_an_unknown_device_is_refused_and_records_nothing(client, people, now):
    response = client.post(
        "/osmand/", heartbeat(now), content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 403
    assert not Tracker.objects.exclude(last_contact_at=None).exists()


def test_a_heartbeat_with_a_number_that_is_not_finite_is_a_400_naming_it(
    client, people, now, osmand
):
    response = client.post(
        "/osmand/", heartbeat(now, batt="inf"), content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["batt"]
    osmand.refresh_from_db()
    assert osmand.last_contact_at is None


def test_contact_is_written_once_a_minute_or_when_the_battery_changes(
    client, people, now, osmand, time_machine, django_assert_num_queries
):
    form = "application/x-www-form-urlencoded"
    client.post("/osmand/", heartbeat(now), content_type=form)
    time_machine.shift(30)

    with django_assert_num_queries(1):  # the tracker's lookup only
        client.post("/osmand/", heartbeat(now), content_type=form)
    client.post("/osmand/", heartbeat(now, batt="63"), content_type=form)
    osmand.refresh_from_db()
    assert (osmand.last_contact_at, osmand.last_battery) == (now + timedelta(seconds=30), 63)

    time_machine.shift(60)
    client.post("/osmand/", heartbeat(now, batt="63"), content_type=form)
    osmand.refresh_from_db()
    assert osmand.last_contact_at == now + timedelta(seconds=90)


def test_a_fix_without_timestamp_is_stored_at_the_time_it_was_received_marked_so(
    client, people, now, osmand
):
    response = send(client, "query", people, now, timestamp=None)

    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    point = TrackPoint.objects.get()
    assert point.t == now
    assert point.time_from_server is True


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"device_id":"' + OSMAND_ID.encode() + b'","location":{"timestamp":'
        b'"2026-11-24T01:59:00Z","uuid":"\\ud800","coords":{"latitude":30.1,"longitude":100.1}}}',
        b'{"device_id":"' + OSMAND_ID.encode() + b'","location":{"timestamp":'
        b'"2026-11-24T01:59:00Z","coords":{"latitude":30.1,"longitude":100.1,"altitude":1e400}}}',
    ],
    ids=["nested-100000", "lone-surrogate-uuid", "1e400"],
)
def test_json_no_database_could_store_is_a_400_naming_the_body(client, osmand, body):
    response = client.post("/osmand/", body, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["body"]
    assert not TrackPoint.objects.exists()


def test_other_methods_are_405_in_the_error_shape(client, osmand):
    response = client.put("/osmand/", "")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, POST"


# --- OwnTracks --------------------------------------------------------------------------------


def owntracks_location(people, now, **extra) -> dict:
    lon, lat = grid_centre(people.grid_a)
    return {
        "_type": "location",
        "tst": int((now - timedelta(minutes=2)).timestamp()),
        "lat": lat,
        "lon": lon,
        "acc": 9,
        "vel": 5,
        "cog": 180,
        "alt": 20,
        "batt": 64,
        "tid": "zs",
        **extra,
    }


def post_owntracks(client, body, *, headers: bool = True):
    extra = {}
    if headers:
        user, device = OWNTRACKS_ID.split("/")
        extra = {"HTTP_X_LIMIT_U": user, "HTTP_X_LIMIT_D": device}
    return client.post("/owntracks/", json.dumps(body), content_type="application/json", **extra)


def test_an_owntracks_location_is_stored_for_the_registered_device(client, people, now, owntracks):
    response = post_owntracks(client, owntracks_location(people, now))

    assert response.status_code == 200
    assert response.json() == []
    point = TrackPoint.objects.get()
    assert point.inspector == people.inspector_a
    assert point.t == (now - timedelta(minutes=2)).replace(microsecond=0)
    assert point.speed == pytest.approx(5 / 3.6)  # vel is km/h
    assert (point.accuracy, point.heading, point.altitude, point.battery) == (9, 180, 20, 64)


def test_the_owntracks_device_may_be_named_by_the_topic(client, people, now, owntracks):
    body = owntracks_location(people, now, topic=f"owntracks/{OWNTRACKS_ID}")

    response = post_owntracks(client, body, headers=False)

    assert response.status_code == 200
    assert TrackPoint.objects.get().inspector == people.inspector_a


def test_a_message_that_is_not_a_location_is_answered_empty_and_stores_nothing(
    client, people, now, owntracks
):
    for body in (
        {"_type": "transition", "event": "enter", "tst": 1795000000, "wtst": 1795000000},
        {"_type": "lwt", "tst": 1795000000},
    ):
        for headers in (True, False):
            response = post_owntracks(client, body, headers=headers)
            assert response.status_code == 200
            assert response.json() == []
    assert not TrackPoint.objects.exists()


def test_an_unknown_owntracks_device_is_refused_and_nothing_stored(client, people, now):
    response = post_owntracks(client, owntracks_location(people, now))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "unknown_device"
    assert not TrackPoint.objects.exists()


def test_a_revoked_owntracks_device_is_refused(client, people, now, owntracks):
    tracker_revoke(tracker=owntracks)

    assert post_owntracks(client, owntracks_location(people, now)).status_code == 403
    assert not TrackPoint.objects.exists()


def test_owntracks_basic_credentials_are_not_what_admits_a_device(client, people, now):
    # The app may send HTTP Basic credentials; the registered user/device is what counts.
    response = client.post(
        "/owntracks/",
        json.dumps(owntracks_location(people, now)),
        content_type="application/json",
        HTTP_X_LIMIT_U="inspector-a",
        HTTP_X_LIMIT_D="phone",
        HTTP_AUTHORIZATION="Basic aW5zcGVjdG9yLWE6Y29ycmVjdCBob3JzZSBiYXR0ZXJ5IHN0YXBsZSA3",
    )

    assert response.status_code == 403
    assert not TrackPoint.objects.exists()


def test_an_owntracks_body_that_is_not_json_is_a_400(client, owntracks):
    response = client.post(
        "/owntracks/", "lat=1", content_type="application/json", HTTP_X_LIMIT_U="zhangsan"
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["body"]


@pytest.mark.parametrize("headers", [True, False])
def test_a_zero_length_owntracks_post_is_answered_with_an_empty_list(client, owntracks, headers):
    # Booklet tech/http: the apps POST a zero-length payload when a friend is deleted; "it is
    # best to ignore zero-length payloads".
    extra = {"HTTP_X_LIMIT_U": "zhangsan", "HTTP_X_LIMIT_D": "Pixel-8-4f9c1e"} if headers else {}

    response = client.post("/owntracks/", b"", content_type="application/json", **extra)

    assert response.status_code == 200
    assert response.json() == []
    assert not TrackPoint.objects.exists()


def test_the_recorders_query_names_the_owntracks_device_without_headers(
    client, people, now, owntracks
):
    # Booklet tech/http: "Parameters for username and devicename can also be included in the
    # URL (?u=user&d=device)".
    user, device = OWNTRACKS_ID.split("/")

    response = client.post(
        f"/owntracks/?u={user}&d={device}",
        json.dumps(owntracks_location(people, now)),
        content_type="application/json",
    )

    assert response.status_code == 200
    assert TrackPoint.objects.get().inspector == people.inspector_a


def test_an_unregistered_device_in_the_query_is_refused(client, people, now, owntracks):
    response = client.post(
        "/owntracks/?u=zhangsan&d=other-phone",
        json.dumps(owntracks_location(people, now)),
        content_type="application/json",
    )

    assert response.status_code == 403
    assert not TrackPoint.objects.exists()


def test_an_owntracks_location_records_the_devices_contact_and_battery(
    client, people, now, owntracks
):
    post_owntracks(client, owntracks_location(people, now, batt=56.99999999999999))

    owntracks.refresh_from_db()
    assert (owntracks.last_contact_at, owntracks.last_battery) == (now, 57)
    assert TrackPoint.objects.get().battery == 57


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "body"),
        (b'{"_type":"location","lat":30.1,"lon":100.1,"tst":1795000000,"alt":-1e400}', "body"),
        (b'{"_type":"location","lat":30.1,"lon":100.1,"tst":1795000000,"tid":"\\ud800"}', "body"),
        (b'{"_type":"location","lat":"NaN","lon":100.1,"tst":1795000000}', "lat"),
    ],
)
def test_an_owntracks_body_no_database_could_store_is_a_400_naming_it(
    client, owntracks, body, field
):
    user, device = OWNTRACKS_ID.split("/")
    response = client.post(
        "/owntracks/",
        body,
        content_type="application/json",
        HTTP_X_LIMIT_U=user,
        HTTP_X_LIMIT_D=device,
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert not TrackPoint.objects.exists()


def test_owntracks_takes_posts_only(client, owntracks):
    assert client.get("/owntracks/").status_code == 405


# --- registration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "identifier",
    [
        "123456",  # the older Traccar Client apps' default: 6 random digits
        "48241179",  # traccar/traccar-client lib/preferences.dart: nextInt(90000000) + 10000000
        "868123456789012",  # a tracker's IMEI
    ],
)
def test_an_app_default_identifier_is_refused_at_registration(people, identifier):
    tracker = Tracker(kind=Tracker.Kind.OSMAND, identifier=identifier, inspector=people.inspector_a)

    with pytest.raises(ValidationError) as refused:
        tracker.full_clean()

    assert "identifier" in refused.value.message_dict


def test_a_long_random_identifier_is_accepted_at_registration(people):
    Tracker(
        kind=Tracker.Kind.OSMAND, identifier="q8Zr2VbW5nTk0sXy", inspector=people.inspector_a
    ).full_clean()


def test_an_owntracks_identifier_is_user_slash_device(people):
    tracker = Tracker(
        kind=Tracker.Kind.OWNTRACKS, identifier="Pixel-8-4f9c1e", inspector=people.inspector_a
    )

    with pytest.raises(ValidationError) as refused:
        tracker.full_clean()

    assert "user/device" in str(refused.value.message_dict["identifier"])
    Tracker(
        kind=Tracker.Kind.OWNTRACKS, identifier=OWNTRACKS_ID, inspector=people.inspector_a
    ).full_clean()


@pytest.mark.parametrize("url", ["/osmand/", "/owntracks/"])
def test_a_body_beyond_the_limit_is_a_413_and_stores_nothing(
    client, people, now, osmand, owntracks, settings, url
):
    body = json.dumps(traccar_json(people, now) if url == "/osmand/" else [])
    settings.GRIDCITY_PATROL_MAX_BODY_BYTES = len(body) - 1

    response = client.post(url, body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not TrackPoint.objects.exists()
