"""The case API around the workflow: reporting idempotently, photos, lists, tasks, deadlines."""

import io
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from cases import services
from cases.models import Case, CasePhoto, CaseTransition, Notification
from tests.cases.conftest import act, centre, report_body, reported
from tests.cases.test_photos import encode, gps_exif, png_header_only, scene

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- reporting ---------------------------------------------------------------------------


def test_a_report_is_placed_in_its_grid_and_numbered_by_district_and_day(
    client, people, taxonomy, time_machine
):
    time_machine.move_to(datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI), tick=False)

    first = reported(client, people.inspector_a, people.grid_a, taxonomy.component)
    second = reported(client, people.inspector_a, people.grid_b, taxonomy.component)

    assert first["number"] == "999901-20261122-000001"
    assert second["number"] == "999901-20261122-000002"
    assert first["grid"] == people.grid_a.code and second["grid"] == people.grid_b.code
    assert first["street"] == people.grid_a.code[:9]


def test_the_same_client_uuid_and_body_again_returns_the_same_case(client, people, taxonomy):
    body = report_body(people.grid_a, taxonomy.component)
    client.force_login(people.inspector_a)

    first = client.post("/api/v1/cases/", body, content_type="application/json")
    again = client.post("/api/v1/cases/", body, content_type="application/json")

    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["number"] == first.json()["number"]
    assert Case.objects.count() == 1
    assert CaseTransition.objects.count() == 1


def test_the_same_client_uuid_with_another_body_is_409(client, people, taxonomy):
    body = report_body(people.grid_a, taxonomy.component)
    client.force_login(people.inspector_a)
    client.post("/api/v1/cases/", body, content_type="application/json")

    changed = client.post(
        "/api/v1/cases/", {**body, "description": "另一件事"}, content_type="application/json"
    )

    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "client_uuid_reused"
    assert Case.objects.count() == 1


def test_another_persons_client_uuid_reveals_nothing(client, people, taxonomy):
    body = report_body(people.grid_a, taxonomy.component)
    client.force_login(people.inspector_a)
    client.post("/api/v1/cases/", body, content_type="application/json")
    client.force_login(people.citizen)

    replayed = client.post("/api/v1/cases/", body, content_type="application/json")

    assert replayed.status_code == 409
    assert set(replayed.json()["error"]) == {"code", "message"}
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"item": "9999"}, "item"),
        ({"lon": 200}, "lon"),
        ({"client_uuid": "not-a-uuid"}, "client_uuid"),
        ({"crs": "epsg3857"}, "crs"),
        ({"lon": 50.0, "lat": 10.0}, "lon"),  # outside every grid
    ],
)
def test_bad_input_is_400_naming_the_field_and_writes_nothing(
    client, people, taxonomy, change, field
):
    client.force_login(people.inspector_a)

    response = client.post(
        "/api/v1/cases/",
        {**report_body(people.grid_a, taxonomy.component), **change},
        content_type="application/json",
    )

    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not Case.objects.exists()


def test_a_gcj02_point_is_converted_before_it_is_placed(client, people, taxonomy):
    from gridcity.coords import wgs84_to_gcj02

    lon, lat = centre(people.grid_a)
    glon, glat = wgs84_to_gcj02(lon, lat)

    case = reported(
        client,
        people.inspector_a,
        people.grid_a,
        taxonomy.component,
        lon=glon,
        lat=glat,
        crs="gcj02",
    )

    assert case["location"] == pytest.approx([lon, lat], abs=1e-5)


def test_the_source_comes_from_the_role(client, people, taxonomy):
    assert reported(client, people.citizen, people.grid_a, taxonomy.event)["source"] == "citizen"
    assert (
        reported(client, people.supervisor, people.grid_a, taxonomy.event)["source"] == "supervisor"
    )


def test_a_citizens_name_is_shown_to_the_command_centre_and_the_phone_to_the_hotline(
    client, people, taxonomy
):
    number = reported(
        client,
        people.dispatcher,
        people.grid_a,
        taxonomy.event,
        contact_name="李先生",
        contact_phone="13800138000",
    )["number"]

    client.force_login(people.dispatcher)
    assert client.get(f"/api/v1/cases/{number}/").json()["contact"] == {
        "name": "李先生",
        "phone": "",
    }
    client.force_login(people.admin)
    assert client.get(f"/api/v1/cases/{number}/").json()["contact"]["phone"] == "13800138000"
    client.force_login(people.supervisor)
    assert client.get(f"/api/v1/cases/{number}/").json()["contact"] is None


# --- deadlines on the working calendar ------------------------------------------------------


def test_a_case_dispatched_before_national_day_is_due_after_the_holiday(
    client, people, taxonomy, time_machine
):
    # Wednesday 30 September 2026, 16:00: the last working afternoon before 1–7 October.
    time_machine.move_to(datetime(2026, 9, 30, 15, 0, tzinfo=SHANGHAI), tick=False)
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    act(client, people.dispatcher, number, "file")
    time_machine.move_to(datetime(2026, 9, 30, 16, 0, tzinfo=SHANGHAI), tick=False)

    act(client, people.dispatcher, number, "dispatch")

    # 3 working days of 7.5 h: 2 h on 30 Sep, then 8 Oct (7.5), 9 Oct (7.5), 10 Oct (a make-up
    # working Saturday) until 5.5 h are left: 08:30–12:00 and 14:00–16:00.
    due = Case.objects.get(number=number).handle_due.astimezone(SHANGHAI)
    assert due == datetime(2026, 10, 10, 16, 0, tzinfo=SHANGHAI)


def test_an_emergency_is_due_round_the_clock(client, people, taxonomy, time_machine):
    time_machine.move_to(datetime(2026, 10, 1, 22, 0, tzinfo=SHANGHAI), tick=False)
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.emergency)["number"]
    act(client, people.dispatcher, number, "file")

    act(client, people.dispatcher, number, "dispatch")

    due = Case.objects.get(number=number).handle_due.astimezone(SHANGHAI)
    assert due == datetime(2026, 10, 2, 2, 0, tzinfo=SHANGHAI)


def test_calendar_overrides_move_deadlines(client, people, taxonomy, time_machine):
    from cases.calendar import calendar_holder
    from cases.models import CalendarDay

    # Tuesday 24 November 2026 made a day off (a typhoon): a 1-day limit from Monday 16:00
    # runs into Wednesday.
    CalendarDay.objects.create(date=datetime(2026, 11, 24).date(), working=False, note="台风")
    calendar_holder.reset()
    time_machine.move_to(datetime(2026, 11, 23, 16, 0, tzinfo=SHANGHAI), tick=False)

    due = services.deadline(datetime(2026, 11, 23, 16, 0, tzinfo=SHANGHAI), 1, "work_days")

    assert due.astimezone(SHANGHAI).date() == datetime(2026, 11, 25).date()


# --- overdue sweep ----------------------------------------------------------------------------


def test_the_sweep_marks_overdue_once_escalates_and_tells_the_supervisor(
    client, people, taxonomy, time_machine
):
    time_machine.move_to(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI), tick=False)
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.emergency)["number"]
    act(client, people.dispatcher, number, "file")
    act(client, people.dispatcher, number, "dispatch")
    time_machine.move_to(datetime(2026, 11, 23, 14, 0, tzinfo=SHANGHAI), tick=False)

    assert services.cases_mark_overdue() == 1
    assert services.cases_mark_overdue() == 0  # a duplicate run changes nothing

    case = Case.objects.get(number=number)
    assert case.overdue and case.escalated
    assert CaseTransition.objects.filter(case=case, action="overdue").count() == 1
    assert Notification.objects.filter(user=people.supervisor, kind="overdue").count() == 1
    assert not Notification.objects.filter(user=people.other_supervisor).exists()


def test_the_sweep_leaves_cases_within_their_time(client, people, taxonomy, time_machine):
    time_machine.move_to(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI), tick=False)
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    act(client, people.dispatcher, number, "file")
    act(client, people.dispatcher, number, "dispatch")

    assert services.cases_mark_overdue() == 0
    assert not Case.objects.get(number=number).overdue


def test_a_department_is_warned_once_before_the_deadline(client, people, taxonomy, time_machine):
    time_machine.move_to(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI), tick=False)
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.emergency)["number"]
    act(client, people.dispatcher, number, "file")
    act(client, people.dispatcher, number, "dispatch")  # due at 13:00
    time_machine.move_to(datetime(2026, 11, 23, 11, 30, tzinfo=SHANGHAI), tick=False)

    assert services.cases_warn_due_soon() == 1
    assert services.cases_warn_due_soon() == 0
    assert Notification.objects.filter(user=people.staff, kind="due_soon").count() == 1


def test_the_periodic_tasks_are_scheduled(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"cases.tasks.cases_mark_overdue_task", "cases.tasks.cases_warn_due_soon_task"} <= tasks


# --- photos ----------------------------------------------------------------------------------


def upload(client, user, number, data: bytes, *, name="photo.jpg", stage="report", **extra):
    client.force_login(user)
    return client.post(
        f"/api/v1/cases/{number}/photos/", {"file": _named(data, name), "stage": stage, **extra}
    )


def _named(data: bytes, name: str):
    f = io.BytesIO(data)
    f.name = name
    return f


def test_a_photo_with_gps_is_stored_without_any_metadata(
    client, people, taxonomy, settings, django_capture_on_commit_callbacks
):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    data = encode(scene(), "JPEG", exif=gps_exif())

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, people.inspector_a, number, data)

    assert response.status_code == 201, response.content
    photo = CasePhoto.objects.get()
    assert photo.taken_at is not None and photo.taken_point is not None
    assert photo.far_from_case is True  # the EXIF position is in Shenzhen, the case is not
    for field in (photo.original, photo.display, photo.thumbnail):
        stored = field.read()
        assert b"Exif" not in stored and b"GridCam" not in stored
        image = Image.open(io.BytesIO(stored))
        assert not image.getexif() and "exif" not in image.info
    body = response.json()
    assert body["display"] is None or "/photos/" in body["display"]


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (png_header_only(20000, 20000), "bomb.png"),
        (encode(scene(), "JPEG")[:3000], "cut.jpg"),
        (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "scan.jpg"),
    ],
    ids=["decompression-bomb", "truncated-jpeg", "pdf-named-jpg"],
)
def test_a_bad_photo_is_400_and_nothing_is_stored(client, people, taxonomy, settings, data, name):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]

    response = upload(client, people.inspector_a, number, data, name=name)

    assert response.status_code == 400, response.content
    assert "file" in response.json()["error"]["fields"]
    assert not CasePhoto.objects.exists()
    assert stored_files(settings) == []


def test_twelve_megabytes_of_photo_are_413_and_nothing_is_stored(
    client, people, taxonomy, settings
):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    data = b"\xff\xd8\xff\xe0" + b"\x00" * (12 * 1024 * 1024)

    response = upload(client, people.inspector_a, number, data, name="huge.jpg")

    assert response.status_code == 413, response.content
    assert response.json()["error"]["code"] == "too_large"
    assert not CasePhoto.objects.exists()
    assert stored_files(settings) == []


def test_a_photo_upload_is_idempotent_by_client_id(client, people, taxonomy):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    data, client_id = encode(scene(), "JPEG"), str(uuid.uuid4())

    first = upload(client, people.inspector_a, number, data, client_id=client_id)
    again = upload(client, people.inspector_a, number, data, client_id=client_id)

    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert CasePhoto.objects.count() == 1


def test_handle_photos_are_for_the_department_while_handling(client, people, taxonomy):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    data = encode(scene(), "JPEG")

    assert upload(client, people.inspector_a, number, data, stage="handle").status_code == 403
    act(client, people.dispatcher, number, "file")
    act(client, people.dispatcher, number, "dispatch")
    assert upload(client, people.staff, number, data, stage="handle").status_code == 409
    act(client, people.staff, number, "accept")
    assert upload(client, people.staff, number, data, stage="handle").status_code == 201


def test_display_copies_are_served_to_those_who_see_the_case_only(
    client, people, taxonomy, django_capture_on_commit_callbacks
):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, people.inspector_a, number, encode(scene(), "JPEG"))
    photo = CasePhoto.objects.get()
    url = f"/api/v1/cases/{number}/photos/{photo.pk}/display/"

    client.force_login(people.supervisor)
    seen = client.get(url)
    assert seen.status_code == 200 and seen["Content-Type"] == "image/jpeg"
    client.force_login(people.inspector_b)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 401
    assert client.get(f"/api/v1/cases/{number}/photos/{photo.pk}/original/").status_code == 404


# --- lists, tasks, duplicates, taxonomy, inbox ------------------------------------------------


def test_each_persona_lists_only_what_they_may_see(client, people, taxonomy):
    in_a = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    in_b = reported(client, people.inspector_b, people.grid_b, taxonomy.component)["number"]

    def listed(user):
        client.force_login(user)
        return {c["number"] for c in client.get("/api/v1/cases/").json()["results"]}

    assert listed(people.inspector_a) == {in_a}
    assert listed(people.inspector_b) == {in_b}
    assert listed(people.supervisor) == {in_a}
    assert listed(people.other_supervisor) == {in_b}
    assert listed(people.dispatcher) == {in_a, in_b}
    assert listed(people.citizen) == set()
    assert listed(people.staff) == set()


def test_the_case_list_costs_the_same_queries_for_2_or_12_cases(client, people, taxonomy, settings):
    # The code books' freshness check (one query per book each interval) is not what is
    # counted here: on a loaded machine reporting ten cases can outlast its 1 s interval.
    settings.GRIDCITY_CODEBOOK_CHECK_SECONDS = 3600

    def queries():
        client.force_login(people.dispatcher)
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/cases/")
        assert response.status_code == 200
        return len(captured), len(response.json()["results"])

    for _ in range(2):
        reported(client, people.inspector_a, people.grid_a, taxonomy.component)
    queries()  # a process's first list reads the code books (cases.codes) once
    few = queries()
    for _ in range(10):
        reported(client, people.inspector_a, people.grid_a, taxonomy.component)
    many = queries()

    assert (few[1], many[1]) == (2, 12)
    assert few[0] == many[0]


def test_the_list_filters(client, people, taxonomy, time_machine):
    time_machine.move_to(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI), tick=False)
    component = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    time_machine.move_to(datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI), tick=False)
    event = reported(client, people.citizen, people.grid_b, taxonomy.event)["number"]
    act(client, people.dispatcher, component, "file")

    def numbers(**query):
        client.force_login(people.dispatcher)
        response = client.get("/api/v1/cases/", query)
        assert response.status_code == 200, response.content
        return {c["number"] for c in response.json()["results"]}

    assert numbers(status="filed") == {component}
    assert numbers(item=taxonomy.event.code) == {event}
    assert numbers(grid=people.grid_b.code) == {event}
    assert numbers(street=people.grid_a.code[:9]) == {component}
    assert numbers(source="citizen") == {event}
    assert numbers(created_after="2026-11-23T09:30:00+08:00") == {event}
    assert numbers(updated_since="2026-11-23T09:59:00+08:00") == {component, event}
    lon, lat = centre(people.grid_a)
    assert numbers(bbox=f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}") == {component}
    client.force_login(people.dispatcher)
    assert client.get("/api/v1/cases/", {"bbox": "1,2"}).status_code == 400
    assert client.get("/api/v1/cases/", {"status": "nonsense"}).status_code == 400


def test_duplicates_nearby_are_offered(client, people, taxonomy):
    first = reported(client, people.inspector_a, people.grid_a, taxonomy.event)["number"]
    reported(client, people.inspector_a, people.grid_b, taxonomy.event)  # far away
    lon, lat = centre(people.grid_a)
    client.force_login(people.dispatcher)

    near = client.get(
        "/api/v1/cases/duplicates/", {"item": taxonomy.event.code, "lon": lon + 0.0002, "lat": lat}
    )

    assert near.status_code == 200
    assert [c["number"] for c in near.json()] == [first]
    other_item = client.get(
        "/api/v1/cases/duplicates/", {"item": taxonomy.component.code, "lon": lon, "lat": lat}
    )
    assert other_item.json() == []


def test_a_new_report_offers_the_open_cases_of_its_item_nearby(client, people, taxonomy):
    first = reported(client, people.inspector_a, people.grid_a, taxonomy.event)["number"]

    second = reported(client, people.inspector_a, people.grid_a, taxonomy.event)
    other_item = reported(client, people.inspector_a, people.grid_a, taxonomy.component)

    assert second["possible_duplicates"] == [first]
    assert second["possible_duplicates_hidden"] == 0
    assert other_item["possible_duplicates"] == []


def test_my_tasks_are_what_waits_for_my_hand(client, people, taxonomy):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]

    def tasks(user):
        client.force_login(user)
        return [c["number"] for c in client.get("/api/v1/me/tasks/").json()["results"]]

    assert tasks(people.dispatcher) == [number]
    assert tasks(people.staff) == []
    act(client, people.dispatcher, number, "file")
    act(client, people.dispatcher, number, "dispatch")
    assert tasks(people.staff) == [number]
    assert tasks(people.dispatcher) == []
    act(client, people.staff, number, "accept")
    act(client, people.staff, number, "handle", note="已处置")
    act(client, people.dispatcher, number, "request-verify")
    assert tasks(people.inspector_a) == [number]
    assert tasks(people.inspector_b) == []


def test_categories_carry_an_etag_for_offline_handhelds(client, people, taxonomy):
    first = client.get("/api/v1/categories/")

    assert first.status_code == 200
    codes = [item["code"] for c in first.json() for item in c["items"]]
    assert codes == ["0101", "1101", "1501"]
    again = client.get("/api/v1/categories/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    taxonomy.event.name = "暴露垃圾（新）"
    taxonomy.event.save()
    assert client.get("/api/v1/categories/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_the_inbox_lists_and_marks_read(client, people, taxonomy):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    act(client, people.dispatcher, number, "file")
    act(client, people.dispatcher, number, "dispatch")
    client.force_login(people.staff)

    inbox = client.get("/api/v1/me/notifications/", {"unread": 1}).json()["results"]
    assert [(n["kind"], n["case"]) for n in inbox] == [("dispatched", number)]
    assert client.post(f"/api/v1/me/notifications/{inbox[0]['id']}/read/").status_code == 200
    assert client.get("/api/v1/me/notifications/", {"unread": 1}).json()["results"] == []
    client.force_login(people.dispatcher)
    assert client.post(f"/api/v1/me/notifications/{inbox[0]['id']}/read/").status_code == 404


def test_a_street_lent_by_hand_shows_its_cases_and_lets_the_supervisor_act(
    client, people, taxonomy
):
    from guardian.shortcuts import assign_perm

    in_b = reported(client, people.inspector_b, people.grid_b, taxonomy.component)["number"]
    client.force_login(people.supervisor)
    assert client.get(f"/api/v1/cases/{in_b}/").status_code == 404

    assign_perm("gridcity.view_street", people.supervisor, people.grid_b.community.street)

    assert client.get(f"/api/v1/cases/{in_b}/").status_code == 200
    act(client, people.dispatcher, in_b, "file")
    act(client, people.dispatcher, in_b, "dispatch")
    assert act(client, people.supervisor, in_b, "escalate").status_code == 200


def test_a_grid_covered_by_a_neighbour_shows_its_cases_through_a_group(client, people, taxonomy):
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    in_b = reported(client, people.inspector_b, people.grid_b, taxonomy.component)["number"]
    cover = Group.objects.create(name="cover grid B")
    people.inspector_a.groups.add(cover)
    assign_perm("gridcity.view_workgrid", cover, people.grid_b)
    client.force_login(people.inspector_a)

    listed = {c["number"] for c in client.get("/api/v1/cases/").json()["results"]}

    assert in_b in listed


def test_the_hand_written_list_row_matches_the_declared_fields(client, people, taxonomy):
    from rest_framework import serializers

    from cases.api.serializers import CaseListSerializer
    from cases.selectors import cases_visible_to

    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    act(client, people.dispatcher, number, "file")
    act(client, people.dispatcher, number, "dispatch")
    case = cases_visible_to(people.dispatcher).get(number=number)

    fast = CaseListSerializer(case).data
    generic = serializers.ModelSerializer.to_representation(CaseListSerializer(), case)

    assert fast == generic
    assert list(fast) == CaseListSerializer.Meta.fields
