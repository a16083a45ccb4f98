"""The private link: the reporter rates a closed case once, reopens it after 不满意 within the
window, any follower comments and stops the updates; refused input writes nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.models import Case, CaseTransition, Notification
from tests.portal.publicside import follow, move, report

pytestmark = pytest.mark.django_db


def post(client, name: str, token: str, **body):
    return client.post(reverse(name, args=[token]), body, content_type="application/json")


def steps(case) -> list[str]:
    return list(CaseTransition.objects.filter(case=case).values_list("action", flat=True))


def test_the_reporter_rates_a_closed_case_once(client, world):
    case, reporter = report(world)
    move(case, world.people, until="close")

    first = post(client, "public-track-rate", reporter.token, satisfaction="fair")
    again = post(client, "public-track-rate", reporter.token, satisfaction="satisfied")

    assert first.status_code == 200, first.content
    assert first.json()["case"]["satisfaction"] == "fair"
    assert first.json()["options"]["rate"] is False
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"
    case = Case.objects.get(pk=case.pk)
    assert case.satisfaction == "fair" and case.callback_done_at is not None
    assert steps(case).count("rate") == 1


def test_an_open_case_cannot_be_rated(client, world):
    case, reporter = report(world)
    move(case, world.people, until="handle")

    answer = post(client, "public-track-rate", reporter.token, satisfaction="satisfied")

    assert answer.status_code == 409
    assert Case.objects.get(pk=case.pk).satisfaction == ""


def test_only_the_reporter_rates_and_reopens(client, world):
    case, _reporter = report(world)
    other = follow(case)
    move(case, world.people, until="close")

    rated = post(client, "public-track-rate", other.token, satisfaction="unsatisfied")
    reopened = post(client, "public-track-reopen", other.token, reason="还是坏的")

    assert rated.status_code == 403 and reopened.status_code == 403
    case = Case.objects.get(pk=case.pk)
    assert case.status == "closed" and case.satisfaction == ""


def test_a_bad_rating_is_a_400_naming_the_field_and_writes_nothing(client, world):
    case, reporter = report(world)
    move(case, world.people, until="close")
    before = steps(case)

    answer = post(client, "public-track-rate", reporter.token, satisfaction="great")

    assert answer.status_code == 400
    assert "satisfaction" in answer.json()["error"]["fields"]
    assert steps(case) == before


def test_reopen_comes_after_an_unsatisfied_rating(client, world):
    case, reporter = report(world)
    move(case, world.people, until="close")

    early = post(client, "public-track-reopen", reporter.token, reason="没有修好")
    assert early.status_code == 409 and early.json()["error"]["code"] == "rate_first"

    post(client, "public-track-rate", reporter.token, satisfaction="unsatisfied")
    tracked = client.get(reverse("public-track", args=[reporter.token])).json()
    assert tracked["options"]["reopen"] is True

    answer = post(client, "public-track-reopen", reporter.token, reason="没有修好")

    assert answer.status_code == 200, answer.content
    case = Case.objects.get(pk=case.pk)
    assert case.status == "dispatched" and case.rework_count == 1
    mine = [s for s in answer.json()["case"]["timeline"] if s["action"] == "reopen"]
    assert mine[0]["text"] == "没有修好" and mine[0]["mine"] is True
    # The public page says it was reopened, not why.
    public = client.get(reverse("public-case", args=[case.number])).json()
    assert "reopen" in [s["action"] for s in public["timeline"]]
    assert "没有修好" not in str(public)


def test_reopen_needs_a_reason(client, world):
    case, reporter = report(world)
    move(case, world.people, until="close")
    post(client, "public-track-rate", reporter.token, satisfaction="unsatisfied")

    answer = post(client, "public-track-reopen", reporter.token, reason="")

    assert answer.status_code == 400 and "reason" in answer.json()["error"]["fields"]
    assert Case.objects.get(pk=case.pk).status == "closed"


def test_reopen_is_refused_after_the_window(client, world, settings):
    settings.GRIDCITY_REOPEN_DAYS = 7
    case, reporter = report(world)
    move(case, world.people, until="close")
    post(client, "public-track-rate", reporter.token, satisfaction="unsatisfied")

    with time_machine.travel(timezone.now() + timedelta(days=8)):
        offered = client.get(reverse("public-track", args=[reporter.token])).json()
        answer = post(client, "public-track-reopen", reporter.token, reason="还是坏的")

    assert offered["options"]["reopen"] is False
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "reopen_too_late"
    assert Case.objects.get(pk=case.pk).status == "closed"


def test_a_comment_reaches_the_staff_timeline_not_the_public_page(client, world):
    case, reporter = report(world)
    other = follow(case)
    move(case, world.people, until="file")

    answer = post(client, "public-track-comment", other.token, text="晚上路灯也不亮")

    assert answer.status_code == 201, answer.content
    row = CaseTransition.objects.get(case=case, action="comment")
    assert row.note == "晚上路灯也不亮" and row.detail["follower"] == other.pk
    assert [s["text"] for s in answer.json()["case"]["timeline"] if s["mine"]] == ["晚上路灯也不亮"]
    reporter_view = client.get(reverse("public-track", args=[reporter.token])).content.decode()
    public = client.get(reverse("public-case", args=[case.number])).content.decode()
    assert "晚上路灯也不亮" not in reporter_view and "晚上路灯也不亮" not in public


def test_an_empty_comment_is_a_400_naming_text(client, world):
    case, reporter = report(world)

    answer = post(client, "public-track-comment", reporter.token, text="   ")

    assert answer.status_code == 400 and "text" in answer.json()["error"]["fields"]
    assert "comment" not in steps(case)


def test_comments_are_capped_a_day(client, world):
    case, reporter = report(world)
    for n in range(services.COMMENTS_PER_FOLLOWER_DAY):
        services.case_comment(case=case, follower=reporter, text=f"补充 {n}")

    answer = post(client, "public-track-comment", reporter.token, text="再补充")

    assert answer.status_code == 429 and answer.json()["error"]["code"] == "rate_limited"


def test_a_follower_who_stops_the_updates_is_told_nothing_more(client, world):
    case, reporter = report(world)
    other = follow(case)

    answer = post(client, "public-track-updates", other.token, notify=False)
    move(case, world.people, until="dispatch")

    assert answer.status_code == 200 and answer.json()["options"]["notify"] is False
    assert Notification.objects.filter(follower=other).count() == 0
    assert Notification.objects.filter(follower=reporter, kind="update").count() == 2


def test_an_unknown_token_is_a_404(client, world):
    assert client.get(reverse("public-track", args=["x" * 43])).status_code == 404
    assert client.get(reverse("portal-track", args=["x" * 43])).status_code == 404
    assert post(client, "public-track-comment", "x" * 43, text="hi").status_code == 404


# --- the page's forms ------------------------------------------------------------------------


def test_the_page_offers_rate_then_reopen_and_takes_them(client, world):
    case, reporter = report(world)
    move(case, world.people, until="close")
    page = reverse("portal-track", args=[reporter.token])

    before = client.get(page)
    assert 'id="rate-form"' in before.content.decode()
    assert 'id="reopen-form"' not in before.content.decode()
    assert before["Referrer-Policy"] == "same-origin"
    rated = client.post(
        reverse("portal-rate", args=[reporter.token]), {"satisfaction": "unsatisfied"}
    )
    assert rated.status_code == 302 and rated["Location"] == page
    after = client.get(page).content.decode()
    assert 'id="rate-form"' not in after and 'id="reopen-form"' in after

    client.post(reverse("portal-reopen", args=[reporter.token]), {"reason": "井盖还是松的"})

    case = Case.objects.get(pk=case.pk)
    assert case.status == "dispatched" and case.satisfaction == "unsatisfied"


def test_a_refused_form_says_why_on_the_page(client, world):
    case, reporter = report(world)

    answer = client.post(
        reverse("portal-rate", args=[reporter.token]), {"satisfaction": "satisfied"}, follow=True
    )

    assert answer.status_code == 200
    assert 'class="error"' in answer.content.decode()
    assert Case.objects.get(pk=case.pk).satisfaction == ""


def test_the_page_comment_and_updates_forms(client, world):
    _case, reporter = report(world)

    client.post(reverse("portal-comment", args=[reporter.token]), {"text": "在公交站旁边"})
    client.post(reverse("portal-updates", args=[reporter.token]), {"notify": "0"})

    page = client.get(reverse("portal-track", args=[reporter.token])).content.decode()
    assert "在公交站旁边" in page
    reporter.refresh_from_db()
    assert reporter.notify is False


def test_an_answer_given_at_once_reaches_the_reporter_not_the_public(client, world):
    case, reporter = report(world, request_type="consultation")
    services.case_answer(case=case, by=world.people.dispatcher, note="井盖归自来水公司管理")

    mine = client.get(reverse("public-track", args=[reporter.token])).json()

    answer = [s for s in mine["case"]["timeline"] if s["action"] == "answer"]
    assert answer[0]["text"] == "井盖归自来水公司管理"
    assert mine["case"]["state"] == "closed" and mine["options"]["rate"] is True
    assert client.get(reverse("public-case", args=[case.number])).status_code == 404
