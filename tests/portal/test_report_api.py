"""The portal's report API: a citizen reports with photos, anonymously or signed in, once per
client_uuid; refused input writes nothing; the open public problems nearby are offered and
followed instead; the abuse guards run around the report and a refused report stores nothing."""

import pytest

from cases import services
from cases.models import Case, CaseFollower, CasePhoto, CaseTransition, FollowerRole, Source
from gridcity.errors import DomainError
from portal import submit
from tests.portal.reporting import body, photo, spot, stored_files

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/public/reports/"


def send(client, data: dict, **photos_given):
    return client.post(REPORTS, {**data, **photos_given})  # multipart


def filed(people, item, *, east_m: float = 0.0, description: str = "井盖缺失") -> Case:
    """A problem reported by inspector A and filed by the command centre: public now."""
    lon, lat = spot(people.grid_a, east_m)
    case = services.case_report(
        by=people.inspector_a, item=item, lon=lon, lat=lat, description=description
    ).case
    return services.case_file(case=case, by=people.dispatcher)


# --- reporting ---------------------------------------------------------------------------------


def test_an_anonymous_citizen_reports_with_a_photo_and_gets_a_private_link(
    client, people, items, settings
):
    response = send(
        client,
        body(people.grid_a, items.manhole, name="王先生", phone="+86 138-0013-8000"),
        photos=[photo("a.jpg"), photo("b.jpg")],
    )

    assert response.status_code == 201, response.content
    answer = response.json()
    case = Case.objects.get(number=answer["number"])
    assert (case.source, case.reporter, case.held) == (Source.CITIZEN, None, False)
    assert case.request_type == "complaint" and case.reply_due is not None
    assert case.contact_phone == "+86 138-0013-8000"
    reporter = CaseFollower.objects.get(case=case)
    assert (reporter.role, reporter.via, reporter.user) == (FollowerRole.REPORTER, "portal", None)
    assert reporter.phone == "13800138000" and reporter.name == "王先生"
    assert answer["token"] == reporter.token and len(reporter.token) >= 40
    assert answer["track_url"] == f"/portal/t/{reporter.token}/"
    assert [p.uploaded_by for p in CasePhoto.objects.filter(case=case, stage="report")] == [
        None,
        None,
    ]
    assert "phone" not in answer and "name" not in answer
    page = client.get(answer["track_url"])
    assert page.status_code == 200 and case.number in page.content.decode()


def test_a_signed_in_citizen_reports_as_themselves(client, people, items):
    client.force_login(people.citizen)

    response = client.post(
        REPORTS, body(people.grid_a, items.rubbish), content_type="application/json"
    )

    assert response.status_code == 201, response.content
    case = Case.objects.get(number=response.json()["number"])
    assert (case.source, case.reporter) == (Source.CITIZEN, people.citizen)
    assert CaseFollower.objects.get(case=case).user == people.citizen


def test_department_staff_report_through_the_command_centre_not_the_portal(client, people, items):
    client.force_login(people.staff)

    response = send(client, body(people.grid_a, items.rubbish))

    assert response.status_code == 403
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "status"),
    [
        ({"item": "9999"}, "item", 400),
        ({"item": "0199"}, "item", 400),  # not offered to citizens
        ({"description": ""}, "description", 400),
        ({"lon": "50.0", "lat": "10.0"}, "lon", 400),  # outside every grid
        ({"lon": "1e400"}, "lon", 400),
        ({"phone": "12"}, "phone", 400),
        ({"email": "not an address"}, "email", 400),
        ({"client_uuid": "not-a-uuid"}, "client_uuid", 400),
        ({"request_type": "praise"}, "request_type", 400),
    ],
)
def test_refused_input_is_4xx_naming_the_field_and_writes_nothing(
    client, people, items, settings, change, field, status
):
    response = send(client, {**body(people.grid_a, items.manhole), **change}, photos=[photo()])

    assert response.status_code == status, response.content
    assert field in response.json()["error"]["fields"]
    assert not Case.objects.exists()
    assert not CaseFollower.objects.exists() and not CasePhoto.objects.exists()
    assert stored_files(settings) == []


def test_a_bad_photo_among_good_ones_refuses_the_whole_report(client, people, items, settings):
    pdf = photo("scan.jpg")
    pdf.seek(0)
    pdf.truncate()
    pdf.write(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    pdf.seek(0)

    response = send(client, body(people.grid_a, items.manhole), photos=[photo(), pdf])

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert "photos" in error["fields"] and error["index"] == 1
    assert not Case.objects.exists() and stored_files(settings) == []


def test_six_photos_are_one_too_many(client, people, items, settings):
    response = send(
        client, body(people.grid_a, items.manhole), photos=[photo(f"{i}.jpg") for i in range(6)]
    )

    assert response.status_code == 400
    assert "photos" in response.json()["error"]["fields"]
    assert not Case.objects.exists() and stored_files(settings) == []


def test_the_same_client_uuid_again_is_one_case_with_its_link(client, people, items):
    data = body(people.grid_a, items.manhole, phone="13800138000")

    first = send(client, data, photos=[photo()])
    again = send(client, data, photos=[photo()])

    assert (first.status_code, again.status_code) == (201, 200), again.content
    assert again.json() == first.json()
    assert Case.objects.count() == 1 and CasePhoto.objects.count() == 1
    assert CaseFollower.objects.count() == 1


def test_the_same_client_uuid_with_another_body_is_409(client, people, items):
    data = body(people.grid_a, items.manhole)
    assert send(client, data).status_code == 201

    response = send(client, {**data, "description": "另一件事"})

    assert response.status_code == 409
    assert Case.objects.count() == 1


# --- the categories in plain words -------------------------------------------------------------


def test_items_are_searched_by_their_citizen_facing_names_in_chinese_and_english(
    client, people, items
):
    def codes(q, language="zh-hans"):
        answer = client.get("/api/v1/public/items/", {"q": q}, HTTP_ACCEPT_LANGUAGE=language)
        assert answer.status_code == 200
        return [(row["code"], row["name"]) for row in answer.json()]

    assert codes("井盖") == [("0101", "井盖坏了")]
    assert codes("manhole", "en") == [("0101", "Broken manhole cover")]
    assert codes("垃圾") == [("1101", "暴露垃圾")]
    assert codes("内部") == []  # not offered to citizens
    assert {code for code, _name in codes("")} == {"0101", "1101", "1199"}


# --- similar problems nearby: "this is mine too" -----------------------------------------------


def similar(client, people, item, east_m: float = 0.0) -> list[str]:
    lon, lat = spot(people.grid_a, east_m)
    answer = client.get("/api/v1/public/similar/", {"item": item.code, "lon": lon, "lat": lat})
    assert answer.status_code == 200, answer.content
    return [row["number"] for row in answer.json()]


def test_open_public_problems_of_the_item_within_50_m_are_offered(client, people, items):
    near = filed(people, items.manhole, east_m=20)
    filed(people, items.manhole, east_m=120)  # too far
    filed(people, items.rubbish)  # another item
    lon, lat = spot(people.grid_a)
    services.case_report(by=people.inspector_a, item=items.manhole, lon=lon, lat=lat)  # not filed

    assert similar(client, people, items.manhole) == [near.number]
    row = client.get("/api/v1/public/similar/", {"item": "0101", "lon": lon, "lat": lat}).json()[0]
    assert set(row) == {
        "number",
        "item",
        "status",
        "status_display",
        "address",
        "description",
        "moderated",
        "reported_at",
        "distance_m",
    }
    assert 15 < row["distance_m"] < 25


def test_a_private_items_case_is_never_offered_nor_followed(client, people, items):
    secret = filed(people, items.security)

    assert similar(client, people, items.security) == []
    response = client.post(f"/api/v1/public/cases/{secret.number}/follow/", {})
    assert response.status_code == 404
    assert not CaseFollower.objects.exists()


def test_this_is_mine_too_follows_the_case_instead_of_filing_another(client, people, items):
    case = filed(people, items.manhole, east_m=10)

    response = client.post(f"/api/v1/public/cases/{case.number}/follow/", {"phone": "13900139000"})
    again = client.post(f"/api/v1/public/cases/{case.number}/follow/", {"phone": "139 0013 9000"})

    assert (response.status_code, again.status_code) == (201, 200), response.content
    follower = CaseFollower.objects.get(case=case)
    assert (follower.role, follower.via, follower.phone) == ("follower", "portal", "13900139000")
    assert response.json()["track_url"] == f"/portal/t/{follower.token}/"
    assert again.json()["token"] == follower.token
    assert Case.objects.count() == 1
    assert CaseTransition.objects.filter(case=case, action="follow").count() == 1


def test_a_rejected_case_is_not_public_and_not_followed(client, people, items):
    case = filed(people, items.manhole)
    case = services.case_reject(case=case, by=people.dispatcher, note="重复")

    response = client.post(f"/api/v1/public/cases/{case.number}/follow/", {})

    assert response.status_code == 404  # rejected cases are not public
    assert not CaseFollower.objects.exists()


# --- abuse guards --------------------------------------------------------------------------------


class Refused(DomainError):
    status = 429
    code = "rate_limited"


@pytest.fixture
def guards(monkeypatch):
    """The abuse guards, recorded; ``refuse`` makes report_guard say no."""
    calls = {"guard": [], "accepted": [], "refuse": False}

    def guard(request, *, phone="", anonymous, captcha_key="", captcha_answer=""):
        calls["guard"].append((phone, anonymous))
        if calls["refuse"]:
            raise Refused("too many")

    def accepted(request, *, phone=""):
        calls["accepted"].append(phone)

    monkeypatch.setattr(submit.abuse, "report_guard", guard)
    monkeypatch.setattr(submit.abuse, "report_accepted", accepted)
    return calls


def test_a_report_is_guarded_before_it_is_stored_and_counted_after(client, people, items, guards):
    data = body(people.grid_a, items.manhole, phone="13800138000")

    assert send(client, data).status_code == 201
    assert send(client, data).status_code == 200  # a retry: neither guarded nor counted again

    assert guards["guard"] == [("13800138000", True)]
    assert guards["accepted"] == ["13800138000"]


def test_a_refused_report_stores_nothing_and_counts_nothing(
    client, people, items, guards, settings
):
    guards["refuse"] = True

    response = send(client, body(people.grid_a, items.manhole), photos=[photo()])

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert not Case.objects.exists() and not CaseFollower.objects.exists()
    assert stored_files(settings) == [] and guards["accepted"] == []


def test_a_follow_is_guarded_too(client, people, items, guards):
    case = filed(people, items.manhole)
    guards["refuse"] = True

    response = client.post(f"/api/v1/public/cases/{case.number}/follow/", {})

    assert response.status_code == 429
    assert not CaseFollower.objects.exists()


def test_text_with_spam_markers_is_held_for_moderation(client, people, items, monkeypatch):
    seen = []

    def markers(text):
        seen.append(text)
        return ["link"] if "http" in text else []

    monkeypatch.setattr(submit.abuse, "spam_markers", markers)

    held = send(
        client, body(people.grid_a, items.manhole, description="加微信 http://spam.example")
    )
    plain = send(client, body(people.grid_a, items.manhole, description="井盖缺失"))

    assert held.json()["held"] is True and plain.json()["held"] is False
    assert Case.objects.get(number=held.json()["number"]).held is True
    assert similar(client, people, items.manhole) == []  # held and unfiled: not public
    assert any("spam.example" in text for text in seen)


def test_the_client_uuid_of_someone_elses_report_reveals_nothing(client, people, items):
    data = body(people.grid_a, items.manhole)
    client.force_login(people.citizen)
    assert send(client, data).status_code == 201
    client.logout()

    response = send(client, {**data, "client_uuid": data["client_uuid"]})

    assert response.status_code == 409
    assert "token" not in response.json()
    assert Case.objects.count() == 1


def test_the_report_endpoints_are_in_the_openapi_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    report = paths["/api/v1/public/reports/"]["post"]
    assert {"201", "400", "409", "413", "429"} <= report["responses"].keys()
    assert "multipart/form-data" in report["requestBody"]["content"]
    assert "get" in paths["/api/v1/public/items/"]
    assert "get" in paths["/api/v1/public/similar/"]
    assert {"201", "404", "409"} <= paths["/api/v1/public/cases/{number}/follow/"]["post"][
        "responses"
    ].keys()


# --- the real guards -----------------------------------------------------------------------------


def test_after_a_few_reports_an_anonymous_one_needs_the_captcha_and_then_goes_through(
    client, people, items, settings
):
    from captcha.models import CaptchaStore

    settings.GRIDCITY_CAPTCHA_AFTER = 1
    assert send(client, body(people.grid_a, items.manhole)).status_code == 201
    data = body(people.grid_a, items.rubbish)

    asked = send(client, data, photos=[photo()])

    assert asked.status_code == 400, asked.content
    error = asked.json()["error"]
    assert error["code"] == "captcha_required" and "captcha" in error["fields"]
    assert Case.objects.count() == 1 and CasePhoto.objects.count() == 0
    key = error["captcha"]["key"]
    answer = CaptchaStore.objects.get(hashkey=key).response
    passed = send(client, {**data, "captcha_key": key, "captcha_answer": answer}, photos=[photo()])
    assert passed.status_code == 201, passed.content
    assert Case.objects.count() == 2


def test_past_the_hourly_allowance_a_report_is_429_and_stores_nothing(
    client, people, items, settings
):
    settings.GRIDCITY_REPORTS_PER_ADDRESS_HOUR = 1
    client.force_login(people.citizen)  # signed in: no captcha, the limit still applies
    assert send(client, body(people.grid_a, items.manhole)).status_code == 201

    response = send(client, body(people.grid_a, items.rubbish), photos=[photo()])

    assert response.status_code == 429
    assert "Retry-After" in response
    assert Case.objects.count() == 1 and CasePhoto.objects.count() == 0


def test_the_lists_cost_the_same_queries_for_few_or_many_rows(client, people, items):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import ItemFactory

    lon, lat = spot(people.grid_a)

    def queries(url, params) -> int:
        with CaptureQueriesContext(connection) as seen:
            assert client.get(url, params).status_code == 200
        return len(seen)

    filed(people, items.manhole, east_m=5)
    queries("/api/v1/public/similar/", {"item": "0101", "lon": lon, "lat": lat})  # warm caches
    few = (
        queries("/api/v1/public/items/", {"q": ""}),
        queries("/api/v1/public/similar/", {"item": "0101", "lon": lon, "lat": lat}),
    )
    for n in range(10):
        ItemFactory(category=items.manhole.category, code=f"01{n + 10}", name=f"井盖 {n}")
    for n in range(4):
        filed(people, items.manhole, east_m=6 + n)
    many = (
        queries("/api/v1/public/items/", {"q": ""}),
        queries("/api/v1/public/similar/", {"item": "0101", "lon": lon, "lat": lat}),
    )

    assert many == few
    assert (
        len(client.get("/api/v1/public/similar/", {"item": "0101", "lon": lon, "lat": lat}).json())
        == 5
    )
