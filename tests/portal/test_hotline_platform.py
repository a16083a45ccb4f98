"""Tickets of the city's 12345 platform: idempotent by their number, answered back."""

import json

import pytest
from django.urls import reverse

from cases.models import Case, CaseFollower, Notification, Source

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform():
    """The platform's account and its token."""
    from portal.services import platform_token_issue

    user, token = platform_token_issue(username="platform-12345", name="12345 市级平台")
    return user, token


@pytest.fixture
def ticket(people, item):
    centre = people.grid_a.geom.point_on_surface
    return {
        "ticket_number": "SZ12345-20261203-0042",
        "request_type": "complaint",
        "item": item.code,
        "description": "小区门口井盖松动，有安全隐患",
        "address": "宝安区某路 1 号",
        "lon": centre.x,
        "lat": centre.y,
        "caller_phone": "13800138000",
        "caller_name": "张先生",
    }


def post(client, body, token):
    return client.post(
        reverse("hotline-tickets"),
        json.dumps(body),
        content_type="application/json",
        headers={"authorization": f"Token {token}"} if token else {},
    )


def test_a_platform_ticket_becomes_a_hotline_case_followed_through_the_platform(
    client, platform, ticket
):
    answer = post(client, ticket, platform[1])

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["ticket_number"] == ticket["ticket_number"]
    case = Case.objects.get(number=body["case"])
    assert case.source == Source.HOTLINE and case.external_number == ticket["ticket_number"]
    assert case.reply_due is not None
    follower = CaseFollower.objects.get(case=case)
    assert (follower.role, follower.via, follower.phone) == ("reporter", "platform", "13800138000")


def test_the_same_ticket_again_answers_the_first_case(client, platform, ticket):
    first = post(client, ticket, platform[1])
    again = post(client, ticket, platform[1])

    assert again.status_code == 200
    assert again.json()["case"] == first.json()["case"]
    assert Case.objects.count() == 1
    assert CaseFollower.objects.count() == 1


def test_the_same_ticket_number_with_another_body_is_a_conflict(client, platform, ticket):
    post(client, ticket, platform[1])

    other = post(client, {**ticket, "description": "另一件事"}, platform[1])

    assert other.status_code == 409
    assert other.json()["error"]["code"]
    assert Case.objects.count() == 1


@pytest.mark.parametrize("token", ["", "not-a-token"])
def test_a_ticket_without_a_good_token_is_refused_and_stores_nothing(client, ticket, token):
    answer = post(client, ticket, token)

    assert answer.status_code == 401
    assert not Case.objects.exists()


def test_a_session_counts_for_nothing_on_the_platform_api(client, people, ticket):
    client.force_login(people.admin)

    assert post(client, ticket, "").status_code == 401


def test_a_token_of_someone_not_of_the_hotline_is_forbidden(client, people, ticket):
    from accounts.auth import token_issue

    token = token_issue(user=people.inspector_a, device_id="pda-1").token

    assert post(client, ticket, token).status_code == 403
    assert not Case.objects.exists()


def test_a_ticket_placed_by_its_grid_code(client, platform, ticket, people):
    body = {**ticket, "grid": people.grid_b.code}
    del body["lon"], body["lat"]

    answer = post(client, body, platform[1])

    assert answer.status_code == 201
    assert Case.objects.get().grid_id == people.grid_b.pk


def test_the_answer_goes_back_to_the_platform_signed(
    client, platform, ticket, people, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from cases import services
    from portal import platform as platform_module

    settings.GRIDCITY_NOTIFY_BACKEND = "portal.platform.platform_backend"
    settings.GRIDCITY_PLATFORM_ANSWER_URL = "https://12345.example/answers"
    settings.GRIDCITY_PLATFORM_SECRET = "s3cret"
    sent = []

    class Answer:
        status = 200

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def urlopen(request, timeout):
        sent.append(request)
        return Answer()

    monkeypatch.setattr(platform_module.urllib.request, "urlopen", urlopen)
    case = Case.objects.get(number=post(client, ticket, platform[1]).json()["case"])
    with django_capture_on_commit_callbacks(execute=True):
        for step in ("file", "dispatch", "accept", "handle", "close"):
            by = people.staff if step in ("accept", "handle") else people.dispatcher
            kwargs = {"note": "已更换井盖"} if step in ("handle", "close") else {}
            case = getattr(services, f"case_{step}")(case=case, by=by, **kwargs)
    from cases.notify import outbox_drain

    outbox_drain()

    assert Notification.objects.filter(follower__via="platform").count() == len(sent) > 0
    last = json.loads(sent[-1].data)
    assert last["ticket_number"] == ticket["ticket_number"]
    assert last["status"] == "closed"
    assert last["case"] == case.number
    assert last["answer"] == "已更换井盖"
    signature = sent[-1].headers["X-gridcity-signature"]
    assert signature == platform_module.signature(sent[-1].data, "s3cret")
