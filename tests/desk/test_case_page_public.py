"""The case page's public side: what staff read of the hotline's request, the followers, the
callback and moderation, and the forms of the hotline's steps (the API's steps by form)."""

import pytest
from django.urls import reverse

from accounts.models import Role
from cases import services
from cases.models import (
    Case,
    CasePhoto,
    CaseTransition,
    FollowerChannel,
    FollowerRole,
    RequestType,
    Resolution,
    Source,
    Status,
)
from tests.desk.test_case_page import act, offered, page_of
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotline(people):
    return make_user("hotline-desk", Role.HOTLINE)


@pytest.fixture
def citizen_case(people, item):
    def make(**extra):
        centre = people.grid_a.geom.point_on_surface
        return services.case_report(
            by=None, source=Source.CITIZEN, item=item, lon=centre.x, lat=centre.y, **extra
        ).case

    return make


def closed(people, case):
    for step, by, kw in [
        ("file", people.dispatcher, {}),
        ("dispatch", people.dispatcher, {}),
        ("accept", people.staff, {}),
        ("handle", people.staff, {"note": "修好"}),
        ("close", people.dispatcher, {}),
    ]:
        case = getattr(services, f"case_{step}")(case=case, by=by, **kw)
    return case


def test_the_hotline_answers_a_consultation_on_the_page(client, people, citizen_case, hotline):
    case = citizen_case(request_type=RequestType.CONSULTATION)
    page = page_of(client, hotline, case)
    assert page.status_code == 200
    assert "answer" in offered(page)
    assert "The answer given (required)" in page.content.decode()

    answer = act(client, case, "answer", note="可在街道办办理")

    assert answer.status_code == 303
    after = Case.objects.get(pk=case.pk)
    assert after.status == Status.CLOSED and after.resolution == Resolution.ANSWERED


def test_the_page_shows_the_public_side_and_contacts_only_to_those_who_may(
    client, people, citizen_case
):
    case = citizen_case(request_type=RequestType.COMPLAINT, description="原文 王某")
    services.case_follow(
        case=case, role=FollowerRole.REPORTER, via=FollowerChannel.PORTAL, phone="13812345678"
    )
    services.case_moderate(case=case, by=people.dispatcher, note="隐私", public_text="公开版本")

    html = page_of(client, people.dispatcher, case).content.decode()
    assert "Complaint" in html and "Reply due" in html
    assert 'class="followers-count">1<' in html
    assert "13812345678" not in html  # the phone is the hotline's, not the command centre's
    assert "13812345678" in page_of(client, people.admin, case).content.decode()
    assert "原文 王某" in html and "公开版本" in html
    assert 'class="flag moderated"' in html

    html = page_of(client, people.supervisor, case).content.decode()
    assert 'class="followers-count">1<' in html
    assert "13812345678" not in html


def test_the_callback_form_records_the_verdict(client, people, citizen_case, hotline):
    case = closed(people, citizen_case())
    page = page_of(client, hotline, case)
    assert {"reopen", "callback"} <= set(offered(page))
    assert "due by" in page.content.decode()

    answer = act(client, case, "callback", reached="true", satisfaction="fair", note="")

    assert answer.status_code == 303
    after = Case.objects.get(pk=case.pk)
    assert after.satisfaction == "fair" and after.callback_done_at is not None
    assert "callback" not in offered(page_of(client, hotline, case))


def test_an_unsatisfied_callback_without_a_reason_shows_the_error_beside_the_note(
    client, people, citizen_case, hotline
):
    case = closed(people, citizen_case())
    page_of(client, hotline, case)

    answer = act(client, case, "callback", reached="true", satisfaction="unsatisfied", note="")

    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'id="callback-note-error"' in html
    assert Case.objects.get(pk=case.pk).status == Status.CLOSED


def test_moderation_by_form_hides_the_text_and_a_photo(client, people, citizen_case):
    case = citizen_case()
    photo = CasePhoto.objects.create(
        case=case,
        stage="report",
        original="o/1.jpg",
        display="d/1.jpg",
        thumbnail="t/1.jpg",
        width=8,
        height=6,
        size=10,
        sha256="0" * 64,
    )
    page = page_of(client, people.dispatcher, case)
    html = page.content.decode()
    assert f'name="hide_photos" value="{photo.pk}"' in html

    answer = act(
        client,
        case,
        "moderate",
        note="不雅",
        hide_text="true",
        public_text="",
        hide_photos=[str(photo.pk)],
    )

    assert answer.status_code == 303
    after = Case.objects.get(pk=case.pk)
    assert after.public_hidden and after.public_text == ""
    assert CasePhoto.objects.get(pk=photo.pk).public_hidden
    row = CaseTransition.objects.get(case=case, action="moderate")
    assert row.detail == {"text_hidden": True, "photos_hidden": [photo.pk]}
    html = page_of(client, people.dispatcher, case).content.decode()
    assert "The description is hidden." in html
    assert f'name="show_photos" value="{photo.pk}"' in html


def test_a_held_report_is_flagged_released_by_form_and_then_filed(client, people, citizen_case):
    case = citizen_case(held=True)
    page = page_of(client, people.dispatcher, case)
    assert "file" not in offered(page) and "release" in offered(page)
    assert 'class="flag held"' in page.content.decode()

    assert act(client, case, "release", note="").status_code == 303
    page = page_of(client, people.dispatcher, case)
    assert "file" in offered(page) and "release" not in offered(page)


def test_the_held_queue_holds_held_reports_and_to_file_does_not(client, people, citizen_case):
    held = citizen_case(held=True)
    plain = citizen_case()
    client.force_login(people.dispatcher)

    def numbers(queue):
        html = client.get(reverse("desk-queue", args=["dispatch", queue])).content.decode()
        return [n for n in (held.number, plain.number) if f'data-number="{n}"' in html]

    assert numbers("held") == [held.number]
    assert numbers("to-file") == [plain.number]
    counts = client.get(reverse("desk-counts", args=["dispatch"])).json()
    assert counts["held"] == 1 and counts["to-file"] == 1
    services.case_release(case=held, by=people.dispatcher)
    assert numbers("held") == [] and set(numbers("to-file")) == {held.number, plain.number}


def test_the_staff_reopen_by_form(client, people, citizen_case):
    case = closed(people, citizen_case())
    page_of(client, people.dispatcher, case)
    refused = act(client, case, "reopen", note="")
    assert refused.status_code == 400
    assert act(client, case, "reopen", note="市民不满意").status_code == 303
    assert Case.objects.get(pk=case.pk).status == Status.DISPATCHED
