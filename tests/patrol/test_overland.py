"""Overland (iOS) at ``/overland/``, from the app's side. The payloads follow the app's own
documentation, README.md of github:aaronpk/Overland-iOS ("## API": the POST body, the
properties, "### Response"), and the Feature it builds in GPSLogger/GLManager.m
(``currentDictionaryFromLocation``, ``addMetadataToUpdate``, and the ``action`` Features of its
log lines and visits). The access token the app sends is the registered identifier."""

import copy
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from patrol.fixes import FixFormatError
from patrol.models import Tracker, TrackPoint
from patrol.trackers.overland import overland_parse
from tests.factories import make_people
from tests.patrol.conftest import grid_centre

pytestmark = pytest.mark.django_db

TOKEN = "ovl-9Jx4Qe7TzR2mWb8K"

# README.md, "## API": the request body as the README shows it, verbatim but for "current" and
# "trip", which it elides as "{ ... }".
README_BODY = {
    "locations": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-122.030581, 37.331800]},
            "properties": {
                "timestamp": "2015-10-01T08:00:00-0700",
                "altitude": 0,
                "speed": 4,
                "horizontal_accuracy": 30,
                "vertical_accuracy": -1,
                "motion": ["driving", "stationary"],
                "pauses": False,
                "activity": "other_navigation",
                "desired_accuracy": 100,
                "deferred": 1000,
                "significant_change": "disabled",
                "locations_in_payload": 1,
                "battery_state": "charging",
                "battery_level": 0.80,
                "device_id": "",
                "wifi": "",
            },
        }
    ]
}


@pytest.fixture
def people(now, small_city):
    return make_people(small_city)


@pytest.fixture
def overland(people):
    return Tracker.objects.create(
        kind=Tracker.Kind.OVERLAND, identifier=TOKEN, inspector=people.inspector_a
    )


def batch(people, now, n: int = 2) -> dict:
    """The README's body, moved into grid A and to the last minutes: ``n`` locations a minute
    apart, as the app sends a batch."""
    lon, lat = grid_centre(people.grid_a)
    body = copy.deepcopy(README_BODY)
    template = body["locations"][0]
    body["locations"] = []
    for i in range(n):
        feature = copy.deepcopy(template)
        t = now - timedelta(minutes=n - i)
        feature["geometry"]["coordinates"] = [lon + i * 1e-4, lat]
        feature["properties"]["timestamp"] = t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        feature["properties"]["course"] = 90
        body["locations"].append(feature)
    return body


def post(client, body, *, token: str | None = TOKEN, query: bool = False):
    raw = body if isinstance(body, bytes) else json.dumps(body)
    if query:
        return client.post(f"/overland/?access_token={token}", raw, content_type="application/json")
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post("/overland/", raw, content_type="application/json", headers=headers)


def test_the_readme_body_is_read_as_the_app_means_it():
    reading = overland_parse(json.dumps(README_BODY).encode(), token=f" {TOKEN} ")

    assert reading.identifier == TOKEN
    (fix,) = reading.fixes
    assert (fix.lon, fix.lat) == (-122.030581, 37.3318)
    assert fix.t == datetime(2015, 10, 1, 15, 0, tzinfo=UTC).timestamp()
    assert (fix.speed, fix.accuracy, fix.altitude, fix.heading) == (4, 30, 0, None)
    assert fix.battery == reading.battery == 80


@pytest.mark.parametrize("query", [False, True], ids=["bearer", "access_token"])
def test_a_batch_is_stored_and_answered_ok(client, people, now, overland, query):
    response = post(client, batch(people, now), query=query)

    assert response.status_code == 200, response.content
    assert response.json() == {"result": "ok"}  # the app deletes the batch on exactly this
    points = list(TrackPoint.objects.order_by("t"))
    assert [p.t for p in points] == [now - timedelta(minutes=2), now - timedelta(minutes=1)]
    point = points[0]
    assert point.inspector == people.inspector_a
    assert (point.speed, point.heading, point.accuracy, point.altitude) == (4, 90, 30, 0)
    assert point.battery == pytest.approx(80)
    overland.refresh_from_db()
    assert overland.last_contact_at == now
    assert overland.last_battery == 80


def test_unknown_values_of_minus_one_are_stored_as_unknown(client, people, now, overland):
    body = batch(people, now, n=1)
    body["locations"][0]["properties"].update(
        speed=-1, course=-1, horizontal_accuracy=-1, battery_level=-1
    )

    assert post(client, body).json() == {"result": "ok"}
    point = TrackPoint.objects.get()
    assert (point.speed, point.heading, point.accuracy, point.battery) == (None,) * 4


def test_log_lines_and_visits_are_no_fix(client, people, now, overland):
    # GLManager.m: a log line is a Feature with an "action" and maybe no geometry; a visit
    # carries "action": "visit".
    body = batch(people, now, n=1)
    log_line = {"type": "Feature", "properties": {"timestamp": "2026-01-01T00:00:00Z"}}
    log_line["properties"]["action"] = "tracking_started"
    visit = copy.deepcopy(body["locations"][0])
    visit["properties"] = {"timestamp": "2026-01-01T00:00:00Z", "action": "visit"}
    body["locations"] += [log_line, visit]

    assert post(client, body).json() == {"result": "ok"}
    assert TrackPoint.objects.count() == 1


def test_the_same_batch_sent_again_is_stored_once(client, people, now, overland):
    body = batch(people, now)

    assert post(client, body).json() == {"result": "ok"}
    # A lost answer: the app keeps the batch and sends it again; it must get "ok" to drop it.
    assert post(client, body).json() == {"result": "ok"}
    assert TrackPoint.objects.count() == 2


@pytest.mark.parametrize("token", ["ovl-not-registered-0000", "", None])
def test_an_unknown_or_missing_token_is_refused(client, people, now, overland, caplog, token):
    with caplog.at_level(logging.WARNING, logger="patrol.api.protocols"):
        response = post(client, batch(people, now), token=token)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "unknown_device"
    assert not TrackPoint.objects.exists()
    assert "ovl-not-registered" not in caplog.text  # only the token's first characters


def test_a_revoked_token_or_another_protocols_registration_is_refused(client, people, now):
    Tracker.objects.create(kind=Tracker.Kind.OSMAND, identifier=TOKEN, inspector=people.inspector_a)
    Tracker.objects.create(
        kind=Tracker.Kind.OVERLAND,
        identifier=TOKEN + "-old",
        inspector=people.inspector_a,
        revoked_at=now,
    )

    assert post(client, batch(people, now)).status_code == 403
    assert post(client, batch(people, now), token=TOKEN + "-old").status_code == 403
    assert not TrackPoint.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda f: f.update(geometry={"type": "Point"}), "coordinates"),
        (lambda f: f["properties"].pop("timestamp"), "locations[0].properties.timestamp"),
        (lambda f: f["properties"].update(timestamp="yesterday"), "timestamp"),
        (lambda f: f["properties"].update(battery_level=80), "battery_level"),
        (lambda f: f["properties"].update(speed="fast"), "locations[0].properties.speed"),
        (lambda f: f["geometry"].update(coordinates=[200, 30]), "coordinates[0]"),
    ],
)
def test_a_broken_location_is_a_400_naming_the_field(client, people, now, overland, change, field):
    body = batch(people, now, n=1)
    change(body["locations"][0])

    response = post(client, body)

    assert response.status_code == 400
    (name,) = response.json()["error"]["fields"]
    assert field in name
    assert not TrackPoint.objects.exists()
    overland.refresh_from_db()
    assert overland.last_contact_at is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "body"),
        (b"[]", "body"),
        (b'{"current": {}}', "locations"),
        (b'{"locations": {}}', "locations"),
        (b'{"locations": [1]}', "locations[0]"),
    ],
)
def test_a_broken_body_is_a_400_naming_the_field(client, overland, raw, field):
    response = post(client, raw)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_refused(client, people, now, overland, number):
    body = batch(people, now, n=1)
    body["locations"][0]["properties"]["speed"] = 1234.5
    raw = json.dumps(body).replace("1234.5", number).encode()

    response = post(client, raw)

    assert response.status_code == 400
    assert "body" in response.json()["error"]["fields"]
    assert not TrackPoint.objects.exists()


def test_more_locations_than_a_batch_may_hold_are_refused(client, people, now, overland, settings):
    settings.GRIDCITY_PATROL_MAX_BATCH = 3

    response = post(client, batch(people, now, n=4))

    assert response.status_code == 400
    assert "locations" in response.json()["error"]["fields"]


def test_get_is_not_what_the_app_sends(client, overland):
    response = client.get("/overland/", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_a_short_token_is_not_registered(people):
    tracker = Tracker(kind=Tracker.Kind.OVERLAND, identifier="abc", inspector=people.inspector_a)

    with pytest.raises(ValidationError):
        tracker.full_clean()


def test_a_kind_no_protocol_registers_is_not_valid(people):
    tracker = Tracker(kind="gpslogger", identifier=TOKEN, inspector=people.inspector_a)

    with pytest.raises(ValidationError) as refused:
        tracker.full_clean()
    assert "kind" in refused.value.message_dict


def test_parse_refuses_what_is_not_a_feature():
    with pytest.raises(FixFormatError) as refused:
        overland_parse(b'{"locations": [{"type": "Feature"}]}', token=TOKEN)
    assert refused.value.field == "locations[0].properties"
