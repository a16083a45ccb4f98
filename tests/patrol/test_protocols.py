"""Reading OsmAnd (Traccar Client), OwnTracks and GPX into fixes; writing GPX and GeoJSON.

Pure functions: no database. Requests are the ones the apps send, taken from Traccar's own
decoder tests and clients and from the OwnTracks booklet.
"""

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path

import pytest
from django.http import QueryDict

from patrol import protocols
from patrol.fixes import FixFormatError
from patrol.protocols import GPX_MAX_DEPTH, geojson_track, gpx_read, gpx_write
from patrol.trackers.osmand import osmand_parse
from patrol.trackers.owntracks import owntracks_parse, owntracks_response

GPX_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gpx"
KNOT = 0.514444  # m/s


def query(url: str) -> QueryDict:
    """The parameters of a request URL as Django gives them to a view."""
    return QueryDict(url.partition("?")[2])


# -- OsmAnd / Traccar Client -------------------------------------------------------------------


def test_osmand_query_from_traccar_gives_the_device_and_one_fix_with_speed_in_m_per_s():
    # From Traccar's OsmAndProtocolDecoderTest.
    url = (
        "/?id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571"
        "&bearing=7.19889788244&speed=40&ignition=true&rpm=933&fuel=24"
    )

    identifier, fixes, _ = osmand_parse(query(url))

    assert identifier == "123456789012345"
    [fix] = fixes
    assert fix.t == 1504763810
    assert (fix.lat, fix.lon) == (40.7232948571, -74.0061408571)
    assert fix.speed == pytest.approx(40 * KNOT, rel=1e-6)
    assert fix.heading == pytest.approx(7.19889788244)


def test_osmand_query_with_every_parameter_traccar_client_for_android_sends():
    # In the order org.traccar.client.ProtocolFormatter appends them; it sends accuracy=0.0 for
    # GPS-provider fixes, which says nothing about the accuracy.
    url = (
        "/?id=861001000719969&timestamp=1718000000&lat=22.5431&lon=113.9236&speed=2.5"
        "&bearing=181.5&altitude=35.2&accuracy=0.0&batt=87.0&mock=true"
    )

    identifier, [fix], battery = osmand_parse(query(url))

    assert identifier == "861001000719969"
    assert fix.speed == pytest.approx(2.5 * KNOT, rel=1e-6)
    assert (fix.heading, fix.altitude, fix.battery, battery) == (181.5, 35.2, 87, 87)
    assert fix.accuracy is None
    assert fix.mock is True


@pytest.mark.parametrize(
    "timestamp",
    [
        "1442068686",  # epoch seconds
        "1442068686000",  # epoch milliseconds
        "2015-09-12T14:38:06Z",
        "2015-09-12T22:38:06%2B08:00",
        "2015-09-12+14%3A38%3A06",  # no zone: UTC
    ],
)
def test_osmand_timestamp_in_seconds_milliseconds_or_iso_gives_the_same_time(timestamp):
    _, [fix], _ = osmand_parse(
        query(f"/?id=902064&lat=42.06288&lon=-88.23412&timestamp={timestamp}")
    )

    assert fix.t == datetime(2015, 9, 12, 14, 38, 6, tzinfo=UTC).timestamp()


def test_osmand_form_body_is_read_when_the_query_is_empty():
    body = b"id=123456&timestamp=1377177267&lat=60.0&lon=30.0&speed=0.0&bearing=0.0&altitude=0"

    identifier, [fix], _ = osmand_parse(
        QueryDict(), body, content_type="application/x-www-form-urlencoded"
    )

    assert identifier == "123456"
    assert (fix.t, fix.lat, fix.lon, fix.speed, fix.altitude) == (1377177267, 60, 30, 0, 0)


def test_osmand_location_parameter_is_lat_then_lon_and_deviceid_names_the_device():
    identifier, [fix], _ = osmand_parse(
        query("/?deviceid=123456&timestamp=1377177267&location=60.0,30.0")
    )

    assert identifier == "123456"
    assert (fix.lat, fix.lon) == (60.0, 30.0)


def test_osmand_fix_the_device_marks_invalid_is_not_returned():
    identifier, fixes, _ = osmand_parse(
        query("/?id=123456&timestamp=1377177267&lat=60.0&lon=30.0&valid=false")
    )

    assert (identifier, fixes) == ("123456", [])


def test_osmand_json_body_of_traccar_client_9_has_speed_in_m_per_s_and_battery_as_a_fraction():
    # From Traccar's OsmAndProtocolDecoderTest.testDecodeJson.
    body = (
        b'{"location":{"event":"motionchange","is_moving":false,'
        b'"uuid":"0e9a2473-a9a7-4c00-997b-fb97d2154e75","timestamp":"2021-07-21T08:06:34.444Z",'
        b'"odometer":0,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,'
        b'"speed":18.67,"speed_accuracy":0.26,"heading":63,"heading_accuracy":0.28,'
        b'"altitude":35.7,"altitude_accuracy":3.8},"activity":{"type":"still","confidence":100},'
        b'"battery":{"is_charging":false,"level":0.79},"extras":{}},"device_id":"8737767034"}'
    )

    identifier, [fix], battery = osmand_parse(body=body, content_type="application/json")

    assert identifier == "8737767034"
    assert fix.t == datetime(2021, 7, 21, 8, 6, 34, 444000, tzinfo=UTC).timestamp()
    assert (fix.lat, fix.lon) == (-6.1148096, 106.6837015)
    assert fix.speed == 18.67
    assert (fix.heading, fix.accuracy, fix.altitude) == (63, 3.8, 35.7)
    assert fix.battery == battery == 79
    assert fix.client_id == "0e9a2473-a9a7-4c00-997b-fb97d2154e75"
    assert fix.mock is False


def test_osmand_json_minus_one_means_unknown_and_mock_is_kept():
    # The iOS simulator's location, from the same Traccar test.
    body = (
        b'{"location":{"extras":{},"mock":true,"coords":{"speed_accuracy":-1,"speed":-1,'
        b'"longitude":-122.406417,"ellipsoidal_altitude":0,"floor":null,"heading_accuracy":-1,'
        b'"latitude":37.785834000000001,"accuracy":5,"altitude_accuracy":-1,"altitude":0,'
        b'"heading":-1},"is_moving":false,"age":188,"odometer":0,'
        b'"uuid":"2FB04C65-99CF-42AB-8DD3-EBCB4B108BF8","event":"motionchange",'
        b'"battery":{"level":-1,"is_charging":false},'
        b'"activity":{"type":"unknown","confidence":100},'
        b'"timestamp":"2025-05-09T04:11:30.579Z"},"device_id":"658765"}'
    )

    identifier, [fix], _ = osmand_parse(body=body, content_type="application/json")

    assert identifier == "658765"
    assert (fix.speed, fix.heading, fix.battery) == (None, None, None)
    assert fix.mock is True


def test_osmand_json_batch_of_locations_gives_a_fix_each():
    location = {
        "timestamp": "2025-06-15T13:45:12.862Z",
        "coords": {"latitude": 22.5, "longitude": 113.9, "speed": 1.0, "heading": 0},
    }
    later = {**location, "timestamp": "2025-06-15T13:45:42.862Z"}
    body = json.dumps({"device_id": "48241179", "location": [location, later]}).encode()

    _, fixes, _ = osmand_parse(body=body, content_type="application/json")

    assert [f.t - fixes[0].t for f in fixes] == [0, 30]


def test_osmand_without_lat_is_refused_naming_lat():
    with pytest.raises(FixFormatError) as error:
        osmand_parse(query("/?id=123456&timestamp=1377177267&lon=30.0"))

    assert error.value.field == "lat"


def test_osmand_json_without_latitude_is_refused_naming_it():
    body = json.dumps(
        {
            "device_id": "1",
            "location": {"timestamp": "2025-06-15T13:45:12Z", "coords": {"longitude": 1}},
        }
    ).encode()

    with pytest.raises(FixFormatError) as error:
        osmand_parse(body=body, content_type="application/json")

    assert error.value.field == "location.coords.latitude"


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ("timestamp=1377177267&lat=60.0&lon=30.0", "id"),
        ("id=1&timestamp=1377177267&lat=sixty&lon=30.0", "lat"),
        ("id=1&timestamp=1377177267&lat=60.0&lon=30.0&speed=fast", "speed"),
        ("id=1&timestamp=1377177267&lat=95.0&lon=30.0", "lat"),
        ("id=1&timestamp=yesterday&lat=60.0&lon=30.0", "timestamp"),
        ("id=1&timestamp=1377177267&lat=60.0", "lon"),
        ("id=1&timestamp=1377177267&location=60.0", "location"),
        ("id=dev%00ice&timestamp=1377177267&lat=60.0&lon=30.0", "id"),
    ],
)
def test_osmand_unreadable_or_missing_parameter_is_refused_naming_it(parameters, field):
    with pytest.raises(FixFormatError) as error:
        osmand_parse(query(f"/?{parameters}"))

    assert error.value.field == field


def test_osmand_form_body_of_more_parameters_than_any_app_sends_is_refused():
    body = b"id=123456&timestamp=1377177267&lat=60.0&lon=30.0" + b"&a=1" * 1000

    with pytest.raises(FixFormatError) as error:
        osmand_parse(QueryDict(), body, "application/x-www-form-urlencoded")

    assert error.value.field == "body"


def test_osmand_json_that_is_not_json_is_refused():
    with pytest.raises(FixFormatError) as error:
        osmand_parse(body=b"{not json", content_type="application/json")

    assert error.value.field == "body"


# Every query of Traccar's own decoder test (traccar/traccar
# src/test/java/org/traccar/protocol/OsmAndProtocolDecoderTest.java, commit 9e5c458a): the
# server answers each with 200 but the one without an identifier.
TRACCAR_DECODER_QUERIES = [
    "/?id=123456&timestamp=1377177267&cell=257,02,16,2224&cell=257,02,16,2223,-90"
    "&wifi=00-14-22-01-23-45,-80&wifi=00-1C-B3-09-85-15,-70",
    "/?id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z&hdop=6.0"
    "&altitude=224.0&speed=0.0",
    "/?id=902064&lat=42.06288&lon=-88.23412&timestamp=1442068686579&hdop=6.0&altitude=224.0"
    "&speed=0.0",
    "/?lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7&speed=0.0"
    "&id=353861053849681",
    "/?id=123456&timestamp=1377177267&lat=60.0&lon=30.0&speed=0.0&bearing=0.0&altitude=0&hdop=0.0",
    "/?id=123456&timestamp=1377177267&lat=60.0&lon=30.0",
    "/?lat=60.0&lon=30.0&speed=0.0&heading=0.0&vacc=0&hacc=0&altitude=0&deviceid=123456",
    "/?id=861001000719969&lat=41.666667&lon=-0.883333&altitude=350.059479&speed=0.000000&batt=87",
    "/?id=123456&timestamp=1377177267&location=60.0,30.0",
    "/?id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571"
    "&bearing=7.19889788244&speed=40&ignition=true&rpm=933&fuel=24",
]
RECEIVED = 1795000000.0  # the server's clock when the request came in


@pytest.mark.parametrize("url", TRACCAR_DECODER_QUERIES)
def test_osmand_every_query_of_traccars_decoder_test_is_read(url):
    reading = osmand_parse(query(url), received=RECEIVED)

    assert reading.identifier in {
        "123456",
        "902064",
        "353861053849681",
        "861001000719969",
        "123456789012345",
    }
    assert len(reading.fixes) == (0 if "cell=" in url else 1)


def test_osmand_query_without_an_identifier_from_traccars_test_is_refused():
    with pytest.raises(FixFormatError) as error:
        osmand_parse(query("/?timestamp=1377177267&lat=60.0&lon=30.0"))

    assert error.value.field == "id"


def test_osmand_cell_and_wifi_data_without_coordinates_is_no_fix_and_no_error():
    reading = osmand_parse(query(TRACCAR_DECODER_QUERIES[0]), received=RECEIVED)

    assert reading == ("123456", [], None)


def test_osmand_stationary_heartbeat_of_traccar_client_gives_its_battery_and_no_fix():
    # The form Traccar Client's SDK posts on a heartbeat tick while it stands still: a Position
    # with only a time, filled in by its battery processor (traccar/traccar-client-sdk
    # core/src/commonMain/kotlin/org/traccar/client/HttpUploader.kt, TrackerEngine.kt and
    # androidMain/.../AndroidBatteryProcessor.kt, commit c74aba6b): id, timestamp in seconds,
    # batt as a whole percent, charge and the battery's health, voltage and temperature.
    body = (
        b"id=48241179&timestamp=1750000000&batt=85&charge=false&battery_health=good"
        b"&battery_voltage=4123&battery_temp=28.5"
    )

    reading = osmand_parse(
        QueryDict(), body, "application/x-www-form-urlencoded", received=RECEIVED
    )

    assert reading == ("48241179", [], 85)


def test_osmand_fix_without_timestamp_takes_the_time_it_was_received_and_says_so():
    # Traccar's own test requests without a timestamp: the server sets the time it received.
    for url in TRACCAR_DECODER_QUERIES[6:8]:
        _, [fix], _ = osmand_parse(query(url), received=RECEIVED)

        assert fix.t == RECEIVED
        assert fix.time_from_server is True

    _, [timed], _ = osmand_parse(query(TRACCAR_DECODER_QUERIES[5]), received=RECEIVED)
    assert (timed.t, timed.time_from_server) == (1377177267, False)


@pytest.mark.parametrize(
    ("batt", "stored"),
    [
        # Traccar Client for iOS sends UIDevice.batteryLevel * 100, a Float (0.57 → 56.999996…);
        # a JSON fraction times 100 reads 56.99999999999999.
        ("56.999996185302734", 57),
        ("56.99999999999999", 57),
        ("87.0", 87),
        ("12.5", 13),
        ("-1", None),  # iOS: unknown
        ("255", None),
    ],
)
def test_osmand_battery_is_a_whole_percent(batt, stored):
    reading = osmand_parse(query(f"/?id=123456&timestamp=1377177267&lat=60&lon=30&batt={batt}"))

    assert reading.battery == reading.fixes[0].battery == stored


def test_osmand_json_battery_fraction_is_a_whole_percent():
    body = json.dumps(
        {
            "device_id": "48241179",
            "location": {
                "timestamp": "2025-06-15T13:45:12.862Z",
                "coords": {"latitude": 22.5, "longitude": 113.9},
                "battery": {"level": 0.57, "is_charging": False},
            },
        }
    ).encode()

    _, [fix], battery = osmand_parse(body=body, content_type="application/json")

    assert fix.battery == battery == 57


def test_osmand_json_location_without_coords_is_a_heartbeat_with_its_battery():
    body = (
        b'{"location":{"timestamp":"2025-06-15T13:45:12.862Z","is_moving":false,'
        b'"event":"heartbeat","battery":{"level":0.42,"is_charging":true}},"device_id":"48241179"}'
    )

    assert osmand_parse(body=body, content_type="application/json") == ("48241179", [], 42)


def test_osmand_json_list_of_query_objects_of_the_traccar_client_sdk_is_read():
    # HttpUploader.kt with uploadJson (traccar/traccar-client-sdk, commit c74aba6b): a list of
    # objects with the query's names, speed in knots, timestamp in seconds.
    body = json.dumps(
        [
            {
                "id": "48241179",
                "lat": 22.5431,
                "lon": 113.9236,
                "timestamp": 1750000000,
                "accuracy": 4.0,
                "speed": 1.94,
                "bearing": 90.0,
                "batt": 80,
                "charge": False,
            },
            {"id": "48241179", "timestamp": 1750000300, "batt": 79, "charge": False},
        ]
    ).encode()

    identifier, [fix], battery = osmand_parse(body=body, content_type="application/json")

    assert identifier == "48241179"
    assert (fix.t, fix.lat, fix.lon, fix.heading) == (1750000000, 22.5431, 113.9236, 90.0)
    assert fix.speed == pytest.approx(1.94 * KNOT, rel=1e-6)
    assert battery == 79  # the heartbeat after the fix


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ("lat=NaN&lon=30.0", "lat"),
        ("lat=60.0&lon=-Infinity", "lon"),
        ("lat=60.0&lon=30.0&altitude=1e999", "altitude"),
        ("lat=60.0&lon=30.0&speed=inf", "speed"),
        ("lat=60.0&lon=30.0&bearing=nan", "bearing"),
        ("lat=60.0&lon=30.0&accuracy=1e400", "accuracy"),
        ("batt=NaN", "batt"),
        ("location=nan,30.0", "location"),
    ],
)
def test_osmand_number_that_is_not_finite_is_refused_naming_it(parameters, field):
    with pytest.raises(FixFormatError) as error:
        osmand_parse(query(f"/?id=123456&timestamp=1377177267&{parameters}"))

    assert error.value.field == field
    assert "finite" in error.value.message


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"device_id":"48241179","location":' * 20_000 + b"{}" + b"}" * 20_000,
        b'{"device_id":"48241179","location":{"timestamp":"2025-06-15T13:45:12Z",'
        b'"uuid":"\\ud800","coords":{"latitude":22.5,"longitude":113.9}}}',
        b'{"device_id":"48241179","location":{"timestamp":"2025-06-15T13:45:12Z",'
        b'"coords":{"latitude":22.5,"longitude":113.9,"altitude":1e400}}}',
        b'{"device_id":"48241179","location":{"timestamp":"2025-06-15T13:45:12Z",'
        b'"coords":{"latitude":NaN,"longitude":113.9}}}',
        b'{"device_id":"4824\\u00001179","location":{}}',
    ],
    ids=["nested-100000", "nested-objects", "lone-surrogate", "1e400", "NaN", "NUL"],
)
def test_osmand_json_that_no_database_can_store_is_refused_as_the_body(body):
    with pytest.raises(FixFormatError) as error:
        osmand_parse(body=body, content_type="application/json")

    assert error.value.field == "body"


# -- OwnTracks ---------------------------------------------------------------------------------

# The booklet's location example (tech/json), its placeholders filled in, as HTTP mode posts it.
BOOKLET_LOCATION = {
    "_type": "location",
    "acc": 75,
    "alt": 13,
    "batt": 64,
    "cog": 270,
    "lat": 22.543096,
    "lon": 113.923611,
    "t": "u",
    "tid": "YY",
    "tst": 1376715317,
    "vac": 10,
    "vel": 54,
    "topic": "owntracks/jane/phone",
}


def test_owntracks_location_from_the_booklet_gives_one_fix_with_speed_in_m_per_s():
    identifier, [fix], battery = owntracks_parse(json.dumps(BOOKLET_LOCATION).encode())

    assert identifier == "jane/phone"
    assert fix.t == 1376715317
    assert (fix.lat, fix.lon) == (22.543096, 113.923611)
    assert fix.speed == pytest.approx(15.0)  # 54 km/h
    assert (fix.heading, fix.altitude, fix.accuracy, fix.battery) == (270, 13, 75, 64)
    assert battery == 64


def test_owntracks_identifier_comes_from_the_headers_before_the_topic():
    identifier, _, _ = owntracks_parse(
        json.dumps(BOOKLET_LOCATION).encode(), user="inspector7", device="handheld"
    )

    assert identifier == "inspector7/handheld"


def test_owntracks_location_without_headers_or_topic_is_refused():
    message = {k: v for k, v in BOOKLET_LOCATION.items() if k != "topic"}

    with pytest.raises(FixFormatError) as error:
        owntracks_parse(json.dumps(message).encode())

    assert error.value.field == "topic"


def test_owntracks_messages_that_are_not_locations_give_no_fix_and_no_error():
    transition = {
        "_type": "transition",
        "wtst": 1425042603,
        "lat": 12.34,
        "lon": 44.5,
        "tst": 1427634603,
        "acc": 130,
        "tid": "JP",
        "event": "enter",
        "desc": "my Indian restaurant",
        "t": "b",
    }
    lwt = {"_type": "lwt", "tst": 1380738247}

    assert owntracks_parse(json.dumps(transition).encode()) == ("", [], None)
    identifier, fixes, _ = owntracks_parse(json.dumps([transition, BOOKLET_LOCATION, lwt]).encode())
    assert identifier == "jane/phone"
    assert [f.t for f in fixes] == [1376715317]


def test_owntracks_location_without_lat_in_a_list_is_refused_naming_it():
    broken = {k: v for k, v in BOOKLET_LOCATION.items() if k != "lat"}

    with pytest.raises(FixFormatError) as error:
        owntracks_parse(json.dumps([BOOKLET_LOCATION, broken]).encode())

    assert error.value.field == "[1].lat"


def test_owntracks_encrypted_payload_is_refused_rather_than_lost():
    with pytest.raises(FixFormatError) as error:
        owntracks_parse(b'{"_type":"encrypted","data":"c2VjcmV0"}', user="jane", device="phone")

    assert error.value.field == "_type"


@pytest.mark.parametrize("body", [b"", b"\n"])
def test_owntracks_zero_length_payload_is_ignored_not_refused(body):
    # Booklet tech/http: "the length of the payload may be zero if a friend is deleted from the
    # app … it is best to ignore zero-length payloads".
    assert owntracks_parse(body, user="jane", device="phone") == ("", [], None)


def test_owntracks_recorder_query_names_the_device_when_the_headers_do_not():
    # Booklet tech/http: the Recorder's URL form, /pub?u=user&d=device.
    message = {k: v for k, v in BOOKLET_LOCATION.items() if k != "topic"}
    body = json.dumps(message).encode()

    by_query = owntracks_parse(body, query=QueryDict("u=jane&d=phone"))
    by_headers = owntracks_parse(body, user="jjolie", device="myphone", query=QueryDict("u=x&d=y"))

    assert by_query.identifier == "jane/phone"
    assert by_headers.identifier == "jjolie/myphone"


def test_owntracks_location_of_the_android_apps_own_tests_is_read():
    # owntracks/android project/app/src/androidTest/java/org/owntracks/android/e2e/
    # ContactsAndMapTests.kt (commit 3a5efe5a): no topic, extra keys ("al", "bs", "conn",
    # "created_at", "vac") that carry no fix.
    body = (
        b'{"_type":"location","acc":20,"al":0,"batt":100,"bs":0,"conn":"w",'
        b'"created_at":1610748273,"lat":51.2,"lon":-4,"tid":"aa","tst":1610799026,"vac":40,'
        b'"vel":7}'
    )

    identifier, [fix], battery = owntracks_parse(body, query=QueryDict("u=jane&d=phone"))

    assert identifier == "jane/phone"
    assert (fix.t, fix.lat, fix.lon, fix.accuracy, battery) == (1610799026, 51.2, -4, 20, 100)
    assert fix.speed == pytest.approx(7 / 3.6)


def test_owntracks_battery_is_that_of_the_newest_location_as_a_whole_percent():
    older = {**BOOKLET_LOCATION, "tst": 1376715000, "batt": 70}
    newest = {**BOOKLET_LOCATION, "batt": 56.99999999999999}

    reading = owntracks_parse(json.dumps([newest, older]).encode())

    assert [f.battery for f in reading.fixes] == [57, 70]
    assert reading.battery == 57


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"_type":"location","lat":NaN,"lon":113.9,"tst":1376715317}', "body"),
        (b'{"_type":"location","lat":22.5,"lon":113.9,"tst":1376715317,"alt":1e400}', "body"),
        (b'{"_type":"location","lat":"NaN","lon":113.9,"tst":1376715317}', "lat"),
        (b'{"_type":"location","lat":22.5,"lon":113.9,"tst":"1e999"}', "tst"),
        (b'{"_type":"location","lat":22.5,"lon":113.9,"tst":1376715317,"vel":"inf"}', "vel"),
        (b'{"_type":"location","lat":22.5,"lon":113.9,"tst":1376715317,"tid":"\\ud800"}', "body"),
        (b"[" * 100_000 + b"]" * 100_000, "body"),
    ],
)
def test_owntracks_number_that_is_not_finite_or_json_no_database_stores_is_refused(body, field):
    with pytest.raises(FixFormatError) as error:
        owntracks_parse(body, user="jane", device="phone")

    assert error.value.field == field


def test_owntracks_answer_is_an_empty_json_array():
    assert json.dumps(owntracks_response()) == "[]"


# -- GPX ---------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _segments_by_etree(path: Path) -> list[list[ET.Element]]:
    """The file's track segments and their trkpt elements, read without gpxpy."""
    root = ET.parse(path).getroot()
    return [
        _children(segment, "trkpt")
        for track in _children(root, "trk")
        for segment in _children(track, "trkseg")
    ]


def _gpx_file(name: str) -> Path:
    path = GPX_DIR / name
    if not path.exists():
        pytest.skip(f"shared GPX test data not found at {GPX_DIR}")
    return path


@pytest.mark.parametrize("name", ["around-visnjan-with-car.gpx", "cerknicko-jezero.gpx"])
def test_real_gpx_track_gives_every_point_of_every_segment_in_time_order(name):
    path = _gpx_file(name)
    expected = [points for points in _segments_by_etree(path) if points]

    segments = gpx_read(path.read_bytes())

    assert [len(s) for s in segments] == [len(points) for points in expected]
    assert sum(len(s) for s in segments) == sum(len(p) for p in expected) > 100
    for fixes, points in zip(segments, expected, strict=True):
        assert all(a.t <= b.t for a, b in pairwise(fixes))
        first, [ele] = points[0], _children(points[0], "ele")
        assert (fixes[0].lat, fixes[0].lon) == (float(first.get("lat")), float(first.get("lon")))
        assert fixes[0].altitude == pytest.approx(float(ele.text))


def test_real_gpx_track_with_an_untimed_segment_is_refused_naming_its_first_untimed_point():
    # A Garmin "saved track": its second track kept positions and dropped times.
    path = _gpx_file("korita-zbevnica.gpx")
    root = ET.parse(path).getroot()
    untimed = next(
        f"trk[{i}].trkseg[{j}].trkpt[{k}].time"
        for i, track in enumerate(_children(root, "trk"))
        for j, segment in enumerate(_children(track, "trkseg"))
        for k, point in enumerate(_children(segment, "trkpt"))
        if not _children(point, "time")
    )

    with pytest.raises(FixFormatError) as error:
        gpx_read(path.open("rb"))

    assert error.value.field == untimed == "trk[1].trkseg[0].trkpt[0].time"


GPX_HEAD = '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'


def test_gpx_point_without_time_is_refused_naming_it():
    text = (
        GPX_HEAD + "<trk><trkseg>"
        '<trkpt lat="22.5" lon="113.9"><time>2024-05-01T00:00:00Z</time></trkpt>'
        '<trkpt lat="22.6" lon="113.9"><ele>3</ele></trkpt>'
        "</trkseg></trk></gpx>"
    )

    with pytest.raises(FixFormatError) as error:
        gpx_read(text)

    assert error.value.field == "trk[0].trkseg[0].trkpt[1].time"


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n garbage",
        b"<gpx><trk><trkseg><trkpt lat=",
        b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"/>',
    ],
)
def test_gpx_that_is_not_gpx_is_refused_as_a_file(data):
    with pytest.raises(FixFormatError) as error:
        gpx_read(data)

    assert error.value.field == "file"


def test_gpx_with_more_points_than_allowed_is_refused():
    point = '<trkpt lat="22.5" lon="113.9"><time>2024-05-01T00:00:0{}Z</time></trkpt>'
    text = GPX_HEAD + "<trk><trkseg>" + "".join(point.format(i) for i in range(3))
    text += "</trkseg></trk></gpx>"

    assert len(gpx_read(text, max_points=3)[0]) == 3
    with pytest.raises(FixFormatError) as error:
        gpx_read(text, max_points=2)
    assert error.value.field == "file"


def test_gpx_speed_and_course_are_read_from_gpx_1_0_and_garmin_extensions():
    gpx_10 = (
        '<gpx version="1.0" xmlns="http://www.topografix.com/GPX/1/0"><trk><trkseg>'
        '<trkpt lat="22.5" lon="113.9"><time>2024-05-01T00:00:00Z</time>'
        "<course>90.5</course><speed>1.25</speed></trkpt></trkseg></trk></gpx>"
    )
    garmin = (
        '<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2"><trk><trkseg>'
        '<trkpt lat="22.5" lon="113.9"><time>2024-05-01T00:00:00Z</time><extensions>'
        "<gpxtpx:TrackPointExtension><gpxtpx:speed>1.25</gpxtpx:speed>"
        "<gpxtpx:course>90.5</gpxtpx:course></gpxtpx:TrackPointExtension>"
        "</extensions></trkpt></trkseg></trk></gpx>"
    )

    for text in (gpx_10, garmin):
        [[fix]] = gpx_read(text)
        assert (fix.speed, fix.heading) == (1.25, 90.5)


DATA = Path(__file__).resolve().parent / "data"


def test_real_gpx_tracks_and_segments_after_the_first_start_with_a_break():
    # gpxpy's cerknicko-jezero.gpx: seven tracks, minutes apart.
    segments = gpx_read(_gpx_file("cerknicko-jezero.gpx").read_bytes())

    assert len(segments) == 7
    assert [s[0].segment_start for s in segments] == [False] + [True] * 6
    assert not any(fix.segment_start for s in segments for fix in s[1:])


def test_gpx_second_segment_of_one_track_starts_with_a_break_too():
    text = (
        GPX_HEAD + "<trk><trkseg>"
        '<trkpt lat="22.5" lon="113.9"><time>2024-05-01T00:00:00Z</time></trkpt>'
        '<trkpt lat="22.5" lon="113.9"><time>2024-05-01T00:00:05Z</time></trkpt>'
        "</trkseg><trkseg/><trkseg>"
        '<trkpt lat="22.6" lon="113.9"><time>2024-05-01T00:00:10Z</time></trkpt>'
        "</trkseg></trk></gpx>"
    )

    first, second = gpx_read(text)

    assert [f.segment_start for f in first + second] == [False, False, True]


@pytest.mark.parametrize("name", ["gpx1.0_with_all_fields.gpx", "gpx1.1_with_all_fields.gpx"])
def test_gpx_with_every_field_and_extension_the_standard_allows_is_read(name):
    [[fix]] = gpx_read((DATA / name).read_bytes())

    assert (fix.lat, fix.lon, fix.altitude) == (10.1, -20.2, 11.1)


def _track_with_speed(old: str, new: str) -> str:
    """gpxpy's track_with_speed.gpx with one value changed."""
    text = (DATA / "track_with_speed.gpx").read_text()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("<ele>58.166437</ele>", "<ele>inf</ele>", "trk[0].trkseg[0].trkpt[1].ele"),
        ("<ele>58.166437</ele>", "<ele>1e999</ele>", "trk[0].trkseg[0].trkpt[1].ele"),
        ("<ele>53.381747</ele>", "<ele>-inf</ele>", "trk[0].trkseg[0].trkpt[2].ele"),
        ("<ele>48.962041</ele>", "<ele>nan</ele>", "trk[0].trkseg[0].trkpt[0].ele"),
        ("<speed>2.2</speed>", "<speed>inf</speed>", "trk[0].trkseg[0].trkpt[1].speed"),
        (
            "<speed>3.2</speed>",
            "<speed>3.2</speed><course>NaN</course>",
            "trk[0].trkseg[0].trkpt[2].course",
        ),
        ('lat="52.330951"', 'lat="nan"', "trk[0].trkseg[0].trkpt[1].lat"),
        ('lon="5.541333"', 'lon="1e999"', "trk[0].trkseg[0].trkpt[2].lon"),
        ('lat="52.330848"', 'lat="91"', "trk[0].trkseg[0].trkpt[0].lat"),
    ],
)
def test_gpx_number_that_is_not_finite_or_out_of_range_is_refused_naming_the_point(old, new, field):
    with pytest.raises(FixFormatError) as error:
        gpx_read(_track_with_speed(old, new))

    assert error.value.field == field


def test_gpx_extension_speed_that_is_not_finite_is_refused_naming_the_point():
    text = (
        '<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2"><trk><trkseg>'
        '<trkpt lat="22.5" lon="113.9"><time>2024-05-01T00:00:00Z</time><extensions>'
        "<gpxtpx:TrackPointExtension><gpxtpx:speed>1e999</gpxtpx:speed>"
        "</gpxtpx:TrackPointExtension></extensions></trkpt></trkseg></trk></gpx>"
    )

    with pytest.raises(FixFormatError) as error:
        gpx_read(text)

    assert error.value.field == "trk[0].trkseg[0].trkpt[0].extensions.speed"


def _nested(levels: int) -> str:
    """A one-point GPX whose <extensions> holds ``levels`` nested elements: the document is
    ``levels`` + 5 deep (gpx, trk, trkseg, trkpt, extensions)."""
    return (
        GPX_HEAD + "<trk><trkseg>"
        '<trkpt lat="22.5" lon="113.9"><time>2024-05-01T00:00:00Z</time><extensions>'
        + "<x>" * levels
        + "</x>" * levels
        + "</extensions></trkpt></trkseg></trk></gpx>"
    )


def test_gpx_nested_deeper_than_the_limit_is_refused_as_a_file_before_gpxpy_reads_it():
    # 33 levels: harmless to gpxpy, so this runs in the test's own process; the 200,000 levels
    # that crash gpxpy are sent in tests/security/test_protocols.py, to a process of their own.
    assert len(gpx_read(_nested(GPX_MAX_DEPTH - 5))[0]) == 1

    with pytest.raises(FixFormatError) as error:
        gpx_read(_nested(GPX_MAX_DEPTH - 4))

    assert error.value.field == "file"
    assert f"deeper than {GPX_MAX_DEPTH} levels" in error.value.message


def test_gpx_with_more_elements_than_the_limit_is_refused_as_a_file(monkeypatch):
    text = _track_with_speed("<speed>1.2</speed>", "<speed>1.2</speed>")
    elements = text.count("<") - text.count("</") - text.count("<?")
    monkeypatch.setattr(protocols, "GPX_MAX_ELEMENTS", elements)
    assert len(gpx_read(text)[0]) == 3

    monkeypatch.setattr(protocols, "GPX_MAX_ELEMENTS", elements - 1)
    with pytest.raises(FixFormatError) as error:
        gpx_read(text)

    assert error.value.field == "file"
    assert "elements" in error.value.message


def test_gpx_declaring_entities_is_refused_as_a_file():
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        '<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>&lol2;</name>'
        "</trk></gpx>"
    )

    with pytest.raises(FixFormatError) as error:
        gpx_read(laughs)

    assert error.value.field == "file"
    assert "entity" in error.value.message


SHANGHAI = timezone(timedelta(hours=8))
STORED = [
    {
        "t": datetime(2024, 5, 1, 8, 0, 0, tzinfo=SHANGHAI) + timedelta(seconds=7 * i),
        "lon": 113.923611123 + 0.000012345 * i,
        "lat": 22.543096987 - 0.000009876 * i,
        "altitude": 12.5 + i if i % 2 else None,
        "speed": 1.234 * i if i else None,
    }
    for i in range(5)
]


def test_gpx_write_then_read_gives_back_coordinates_times_altitude_and_speed():
    text = gpx_write(STORED, name="巡查 2024-05-01")

    [fixes] = gpx_read(text)

    assert len(fixes) == len(STORED)
    for fix, row in zip(fixes, STORED, strict=True):
        assert fix.lon == pytest.approx(row["lon"], abs=1e-7)
        assert fix.lat == pytest.approx(row["lat"], abs=1e-7)
        assert abs(fix.t - row["t"].timestamp()) < 1
        assert fix.altitude == (None if row["altitude"] is None else pytest.approx(row["altitude"]))
        assert fix.speed == (None if row["speed"] is None else pytest.approx(row["speed"]))


def test_gpx_write_is_gpx_1_1_with_its_creator_name_and_utc_times():
    root = ET.fromstring(gpx_write(STORED, name="Shift 42"))

    assert root.tag == "{http://www.topografix.com/GPX/1/1}gpx"
    assert (root.get("version"), root.get("creator")) == ("1.1", "GridCity")
    [track] = _children(root, "trk")
    assert _children(track, "name")[0].text == "Shift 42"
    first = _children(_children(track, "trkseg")[0], "trkpt")[0]
    assert _children(first, "time")[0].text == "2024-05-01T00:00:00Z"


def test_real_gpx_track_survives_a_write_and_read():
    [original, *_] = gpx_read(_gpx_file("around-visnjan-with-car.gpx").read_bytes())
    rows = [
        {
            "t": datetime.fromtimestamp(f.t, UTC),
            "lon": f.lon,
            "lat": f.lat,
            "altitude": f.altitude,
            "speed": f.speed,
        }
        for f in original
    ]

    [again] = gpx_read(gpx_write(rows))

    assert [(f.t, f.lon, f.lat, f.altitude) for f in again] == [
        (f.t, f.lon, f.lat, f.altitude) for f in original
    ]


# -- GeoJSON -----------------------------------------------------------------------------------


def test_geojson_track_is_one_line_of_lon_lat_with_parallel_utc_times_and_the_properties():
    properties = {"shift": 42, "inspector": "张三"}

    collection = geojson_track(STORED, properties=properties)

    assert collection["type"] == "FeatureCollection"
    [line] = collection["features"]
    assert line["geometry"]["type"] == "LineString"
    assert line["geometry"]["coordinates"] == [[r["lon"], r["lat"]] for r in STORED]
    assert line["properties"]["shift"] == 42
    assert line["properties"]["times"][:2] == ["2024-05-01T00:00:00Z", "2024-05-01T00:00:07Z"]
    assert len(line["properties"]["times"]) == len(STORED)
    assert properties == {"shift": 42, "inspector": "张三"}  # the caller's dict is not changed
    json.dumps(collection)


def test_geojson_track_with_points_adds_a_point_feature_per_fix():
    collection = geojson_track(STORED, properties={}, with_points=True)

    line, *points = collection["features"]
    assert line["geometry"]["type"] == "LineString"
    assert [p["geometry"]["coordinates"] for p in points] == [[r["lon"], r["lat"]] for r in STORED]
    assert points[1]["properties"] == {
        "t": "2024-05-01T00:00:07Z",
        "altitude": 13.5,
        "speed": 1.234,
    }


def test_geojson_track_of_one_point_has_no_line_geometry():
    [line] = geojson_track(STORED[:1], properties={})["features"]

    assert line["geometry"] is None
    assert line["properties"]["times"] == ["2024-05-01T00:00:00Z"]
