"""The hotline's and the moderators' steps through the API: /api/v1/cases/<n>/<step>/ for 直接办结
(answer), 不满意重办 (reopen), 回访 (callback), moderation and the release of a held report, and
the public side in a case's detail."""

import pytest

from accounts.models import Role
from cases import services
from cases.actions import actions_for
from cases.models import (
    Case,
    CaseFollower,
    FollowerChannel,
    FollowerRole,
    RequestType,
    Source,
    Status,
)
from tests.cases.conftest import act, centre
from tests.cases.test_public_services import closed, photo_of
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotline(people):
    return make_user("hotline-api", Role.HOTLINE)


def citizen_case(people, item, **extra) -> Case:
    lon, lat = centre(people.grid_a)
    return services.case_report(
        by=None, source=Source.CITIZEN, item=item, lon=lon, lat=lat, **extra
    ).case


def offered(user, case) -> list[str]:
    return [a.name for a in actions_for(user, Case.objects.get(pk=case.pk))]


def test_the_hotline_answers_a_consultation_through_the_api(client, people, taxonomy, hotline):
    case = citizen_case(people, taxonomy.component, request_type=RequestType.CONSULTATION)
    assert "answer" in offered(hotline, case)

    answer = act(client, hotline, case.number, "answer", note="周一至周五可办理")

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "closed" and body["resolution"] == "answered"
    assert body["request_type"] == "consultation"
    assert body["timeline"][-1]["note"] == "周一至周五可办理"


def test_answer_is_not_offered_for_a_complaint_and_refused_if_asked(
    client, people, taxonomy, hotline
):
    case = citizen_case(people, taxonomy.component, request_type=RequestType.COMPLAINT)
    assert "answer" not in offered(hotline, case)

    answer = act(client, hotline, case.number, "answer", note="答复")

    assert answer.status_code == 400
    assert "request_type" in answer.json()["error"]["fields"]


def test_an_answer_without_words_is_a_400_naming_the_note(client, people, taxonomy, hotline):
    case = citizen_case(people, taxonomy.component, request_type=RequestType.PRAISE)
    answer = act(client, hotline, case.number, "answer", note="")
    assert answer.status_code == 400
    assert "note" in answer.json()["error"]["fields"]


def test_the_hotline_reopens_a_closed_case_for_the_citizen(client, people, taxonomy, hotline):
    case = closed(people, citizen_case(people, taxonomy.component))
    assert {"reopen", "callback"} <= set(offered(hotline, case))

    answer = act(client, hotline, case.number, "reopen", note="市民来电：井盖仍松动")

    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "dispatched" and answer.json()["rework_count"] == 1
    # Reopened: the step is no longer offered; a second reopen is a 409 naming the state.
    assert "reopen" not in offered(hotline, case)
    again = act(client, hotline, case.number, "reopen", note="再来")
    assert again.status_code == 409


def test_a_reopen_without_a_reason_is_a_400(client, people, taxonomy, hotline):
    case = closed(people, citizen_case(people, taxonomy.component))
    answer = act(client, hotline, case.number, "reopen", note=" ")
    assert answer.status_code == 400
    assert Case.objects.get(pk=case.pk).status == Status.CLOSED


def test_a_callback_records_the_verdict(client, people, taxonomy, hotline):
    case = closed(people, citizen_case(people, taxonomy.component))

    answer = act(client, hotline, case.number, "callback", reached=True, satisfaction="satisfied")

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["satisfaction"] == "satisfied" and body["callback_done_at"]
    assert "callback" not in offered(hotline, case)  # done: no longer offered


def test_a_callback_not_reached_stays_offered(client, people, taxonomy, hotline):
    case = closed(people, citizen_case(people, taxonomy.component))
    answer = act(client, hotline, case.number, "callback", reached=False, note="无人接听")
    assert answer.status_code == 200
    assert answer.json()["callback_done_at"] is None
    assert "callback" in offered(hotline, case)


def test_a_reached_callback_says_how_satisfied(client, people, taxonomy, hotline):
    case = closed(people, citizen_case(people, taxonomy.component))
    answer = act(client, hotline, case.number, "callback", reached=True)
    assert answer.status_code == 400
    assert "satisfaction" in answer.json()["error"]["fields"]


def test_an_unsatisfied_callback_needs_the_reason_and_reopens(client, people, taxonomy, hotline):
    case = closed(people, citizen_case(people, taxonomy.component))
    refused = act(
        client, hotline, case.number, "callback", reached=True, satisfaction="unsatisfied"
    )
    assert refused.status_code == 400
    assert "note" in refused.json()["error"]["fields"]

    answer = act(
        client,
        hotline,
        case.number,
        "callback",
        reached=True,
        satisfaction="unsatisfied",
        note="处理不彻底",
    )
    assert answer.status_code == 200
    assert answer.json()["status"] == "dispatched"
    assert [row["action"] for row in answer.json()["timeline"][-2:]] == ["callback", "reopen"]


def test_the_dispatcher_may_not_call_back(client, people, taxonomy):
    case = closed(people, citizen_case(people, taxonomy.component))
    assert "callback" not in offered(people.dispatcher, case)
    answer = act(
        client, people.dispatcher, case.number, "callback", reached=True, satisfaction="fair"
    )
    assert answer.status_code == 403


def test_moderation_through_the_api(client, people, taxonomy, hotline):
    case = citizen_case(people, taxonomy.component, description="联系人 13812345678")
    photo = photo_of(case)

    answer = act(
        client,
        hotline,
        case.number,
        "moderate",
        note="去掉电话号码",
        public_text="有人反映井盖问题",
        hide_photos=[photo.pk],
    )

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["public_text"] == "有人反映井盖问题" and body["moderated_at"]
    assert body["description"] == "联系人 13812345678"  # staff keep the original
    assert [p["public_hidden"] for p in body["photos"]] == [True]


def test_moderation_needs_a_reason_and_something_to_change(client, people, taxonomy, hotline):
    case = citizen_case(people, taxonomy.component)
    no_reason = act(client, hotline, case.number, "moderate", hide_text=True)
    assert no_reason.status_code == 400 and "note" in no_reason.json()["error"]["fields"]
    nothing = act(client, hotline, case.number, "moderate", note="x")
    assert nothing.status_code == 400
    both = act(client, hotline, case.number, "moderate", note="x", hide_photos=[1], show_photos=[1])
    assert both.status_code == 400 and "show_photos" in both.json()["error"]["fields"]


def test_a_held_report_is_released_then_filed(client, people, taxonomy, hotline):
    case = citizen_case(people, taxonomy.component, held=True)
    assert "file" not in offered(people.dispatcher, case)
    assert "release" in offered(people.dispatcher, case)
    assert "release" in offered(hotline, case)

    refused = act(client, people.dispatcher, case.number, "file")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "held"

    answer = act(client, hotline, case.number, "release", note="人工审核通过")
    assert answer.status_code == 200 and answer.json()["held"] is False
    assert "file" in offered(people.dispatcher, case)
    assert "release" not in offered(people.dispatcher, case)
    assert act(client, people.dispatcher, case.number, "release").status_code == 409


def test_the_detail_shows_followers_names_to_the_command_centre_and_phones_to_the_hotline(
    client, people, taxonomy
):
    case = citizen_case(people, taxonomy.component, request_type=RequestType.COMPLAINT)
    services.case_follow(
        case=case, role=FollowerRole.REPORTER, via=FollowerChannel.PORTAL, phone="13812345678"
    )
    services.case_follow(
        case=case, role=FollowerRole.FOLLOWER, via=FollowerChannel.PORTAL, email="a@example.com"
    )
    assert CaseFollower.objects.filter(case=case).count() == 2

    client.force_login(people.dispatcher)
    body = client.get(f"/api/v1/cases/{case.number}/")
    seen = body.json()
    assert seen["followers_count"] == 2
    assert {(f["role"], f["phone"], f["email"]) for f in seen["followers"]} == {
        ("reporter", "", ""),
        ("follower", "", ""),
    }
    assert b"13812345678" not in body.content and b"a@example.com" not in body.content
    assert seen["reply_due"] and seen["request_type"] == "complaint"

    client.force_login(people.admin)  # as the hotline: it calls them back
    seen = client.get(f"/api/v1/cases/{case.number}/").json()
    assert {f["phone"] for f in seen["followers"]} == {"13812345678", ""}

    client.force_login(people.supervisor)
    body = client.get(f"/api/v1/cases/{case.number}/")
    assert body.json()["followers_count"] == 2 and body.json()["followers"] is None
    assert b"13812345678" not in body.content
