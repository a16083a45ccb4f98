"""No public page and no public API answer carries a phone, a contact's or a follower's name,
a staff member's name, a staff note or an original photo; a case that is not public (not
filed yet, held, of a private item, rejected) appears nowhere public."""

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.models import Case, CasePhoto
from tests.portal.publicside import (
    CONTACT_NAME,
    CONTACT_PHONE,
    FOLLOWER_EMAIL,
    FOLLOWER_NAME,
    FOLLOWER_PHONE,
    STAFF_NAMES,
    STAFF_NOTE,
    STAFF_USERNAMES,
    add_photo,
    follow,
    move,
    report,
)

pytestmark = pytest.mark.django_db

SECRETS = [
    CONTACT_NAME,
    CONTACT_PHONE,
    FOLLOWER_NAME,
    FOLLOWER_PHONE,
    FOLLOWER_EMAIL,
    STAFF_NOTE,
    *STAFF_NAMES.values(),
    *STAFF_USERNAMES.values(),
    "/original/",
]


def public_answers(client, number: str) -> dict[str, str]:
    """Every public page and public API answer that could show the case."""
    box = "99,29,101,31"  # the small city, near lon 100, lat 30
    urls = {
        "home": reverse("portal-home"),
        "case page": reverse("portal-case", args=[number]),
        "case api": reverse("public-case", args=[number]),
        "near api": f"{reverse('public-near')}?bbox={box}",
        "near api, all": reverse("public-near"),
    }
    answers = {}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code in (200, 404), (name, response.status_code)
        answers[name] = response.content.decode()
    return answers


def assert_no_secret(text: str, where: str, *, also=()) -> None:
    for secret in [*SECRETS, *also]:
        assert secret not in text, f"{secret!r} is on {where}"


def test_a_public_case_shows_no_person_contact_note_or_original(client, world):
    case, _reporter = report(world)
    other = follow(case)
    add_photo(case, world.people.dispatcher)
    case = move(case, world.people, until="close")
    services.case_comment(case=case, follower=other, text=f"我的电话 {FOLLOWER_PHONE}")
    originals = list(CasePhoto.objects.filter(case=case).values_list("original", flat=True))

    answers = public_answers(client, case.number)

    assert client.get(reverse("portal-case", args=[case.number])).status_code == 200
    for where, text in answers.items():
        assert_no_secret(text, where, also=originals)
    assert case.number in answers["case api"] and "display" in answers["case api"]
    assert case.number in answers["near api"] and case.number in answers["home"]


def test_a_private_link_shows_the_follower_nothing_of_the_others(client, world):
    case, reporter = report(world)
    other = follow(case)
    services.case_comment(case=case, follower=other, text=f"我的电话 {FOLLOWER_PHONE}")
    move(case, world.people, until="handle")

    for url in (
        reverse("portal-track", args=[reporter.token]),
        reverse("public-track", args=[reporter.token]),
    ):
        text = client.get(url).content.decode()
        # The reporter's own contact is not repeated to them either: a link may be forwarded.
        assert_no_secret(text, url)


def test_a_report_is_not_public_before_it_is_filed(client, world):
    case, reporter = report(world)

    assert client.get(reverse("portal-case", args=[case.number])).status_code == 404
    assert client.get(reverse("public-case", args=[case.number])).status_code == 404
    assert case.number not in "".join(public_answers(client, case.number).values())
    # … but its reporter follows it through their private link.
    mine = client.get(reverse("public-track", args=[reporter.token])).json()
    assert mine["case"]["number"] == case.number
    assert mine["case"]["public"] is False and mine["case"]["state"] == "reported"


def test_a_held_report_is_not_public_even_once_filed(client, world):
    case, _reporter = report(world, held=True)
    Case.objects.filter(pk=case.pk).update(status="filed", filed_at=timezone.now())

    assert client.get(reverse("public-case", args=[case.number])).status_code == 404
    assert case.number not in "".join(public_answers(client, case.number).values())


def test_a_private_items_case_is_never_public(client, world):
    from tests.factories import ItemFactory

    secret = ItemFactory(
        category=world.item.category,
        code="0199",
        name="治安隐患",
        private=True,
        department=world.people.department,
        ownership="owner",
    )
    case, reporter = report(world, item=secret)
    move(case, world.people, until="dispatch")

    assert client.get(reverse("portal-case", args=[case.number])).status_code == 404
    assert client.get(reverse("public-case", args=[case.number])).status_code == 404
    assert case.number not in "".join(public_answers(client, case.number).values())
    assert "治安隐患" not in client.get(reverse("portal-home")).content.decode()
    # Its reporter still follows it privately.
    assert client.get(reverse("portal-track", args=[reporter.token])).status_code == 200


def test_a_rejected_report_is_not_public(client, world):
    case, _reporter = report(world)
    case = services.case_file(case=case, by=world.people.dispatcher)
    services.case_reject(case=case, by=world.people.dispatcher, note="不属于管辖范围")

    assert client.get(reverse("public-case", args=[case.number])).status_code == 404


def test_moderation_hides_the_text_and_photos_and_says_so(client, world):
    case, _reporter = report(world)
    photo = add_photo(case, world.people.dispatcher)
    case = move(case, world.people, until="file")
    services.case_moderate(
        case=case,
        by=world.people.dispatcher,
        note="含个人信息",
        public_text="井盖松动",
        hide_photos=[photo.pk],
    )

    body = client.get(reverse("public-case", args=[case.number])).json()
    page = client.get(reverse("portal-case", args=[case.number])).content.decode()

    assert body["description"] == "井盖松动" and body["moderated"] is True
    assert body["photos"] == []
    assert "moderate" in [s["action"] for s in body["timeline"]]
    assert "含个人信息" not in page and "含个人信息" not in str(body)
    assert 'id="moderated-note"' in page
    hidden = reverse("portal-case-photo", args=[case.number, photo.pk, "display"])
    assert client.get(hidden).status_code == 404


def test_a_hidden_description_is_not_shown(client, world):
    case, _reporter = report(world)
    case = move(case, world.people, until="file")
    services.case_moderate(case=case, by=world.people.dispatcher, note="广告", hide_text=True)

    body = client.get(reverse("public-case", args=[case.number])).json()

    assert body["description"] == ""
    assert (
        "人行道井盖" not in client.get(reverse("portal-case", args=[case.number])).content.decode()
    )


def test_a_public_photo_is_the_display_copy_never_the_original(client, world):
    case, _reporter = report(world)
    photo = add_photo(case, world.people.dispatcher)
    move(case, world.people, until="file")

    body = client.get(reverse("public-case", args=[case.number])).json()
    served = client.get(body["photos"][0]["display"])

    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content) == photo.display.open("rb").read()
    assert "original" not in str(body)


def test_the_timeline_carries_states_not_people_or_notes(client, world):
    case, _reporter = report(world)
    move(case, world.people, until="close")

    timeline = client.get(reverse("public-case", args=[case.number])).json()["timeline"]

    assert [s["action"] for s in timeline] == [
        "report",
        "file",
        "dispatch",
        "accept",
        "handle",
        "close",
    ]
    assert all(
        set(s) == {"action", "words", "state", "state_label", "at", "text", "mine"}
        for s in timeline
    )
    assert all(s["text"] == "" for s in timeline)
