"""The report page without scripts: the form offers the categories citizens may pick in their
words; a post is refused beside its field, shows the similar problems nearby once, then
reports and lands on the private link; "this is mine too" follows instead."""

import pytest
from django.utils import translation

from cases import services
from cases.models import Case, CaseFollower, CasePhoto, FollowerRole
from tests.portal.reporting import body, photo, spot, stored_files

pytestmark = pytest.mark.django_db

PAGE = "/portal/report/"


def filed(people, item, east_m: float = 0.0) -> Case:
    lon, lat = spot(people.grid_a, east_m)
    case = services.case_report(
        by=people.inspector_a, item=item, lon=lon, lat=lat, description="井盖缺失"
    ).case
    return services.case_file(case=case, by=people.dispatcher)


def test_the_form_offers_the_citizens_categories_in_their_words(client, people, items):
    response = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    page = response.content.decode()
    assert "井盖坏了" in page and "暴露垃圾" in page
    assert "内部设施" not in page  # not offered to citizens
    assert 'name="client_uuid"' in page and 'id="report-map"' in page
    assert 'content="width=device-width' in page


def test_the_form_speaks_english_too(client, people, items):
    with translation.override("en"):
        response = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en")

    assert "Broken manhole cover" in response.content.decode()


def test_an_anonymous_report_from_the_form_lands_on_the_private_link(
    client, people, items, settings
):
    data = body(people.grid_a, items.manhole, phone="13800138000")

    response = client.post(PAGE, {**data, "photos": [photo()]})

    assert response.status_code == 303, response.content[:500]
    case = Case.objects.get()
    reporter = CaseFollower.objects.get(case=case, role=FollowerRole.REPORTER)
    assert response["Location"] == f"/portal/t/{reporter.token}/"
    assert CasePhoto.objects.filter(case=case).count() == 1
    track = client.get(response["Location"])
    assert case.number in track.content.decode()


def test_a_refused_form_is_shown_again_with_the_field_named_and_nothing_stored(
    client, people, items, settings
):
    data = body(people.grid_a, items.manhole, description="", phone="12")

    response = client.post(PAGE, {**data, "photos": [photo()]})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="report-description" maxlength="2000" rows="4" aria-invalid="true"' in page
    assert 'id="report-phone-error"' in page and "新安路 8 号门前" in page  # what was typed stays
    assert not Case.objects.exists() and stored_files(settings) == []


def test_similar_problems_are_shown_once_before_the_report_is_stored(client, people, items):
    near = filed(people, items.manhole, east_m=15)
    data = body(people.grid_a, items.manhole)

    first = client.post(PAGE, data)

    assert first.status_code == 200
    assert near.number in first.content.decode()
    assert 'name="similar_seen" id="report-similar-seen" value="1"' in first.content.decode()
    assert Case.objects.count() == 1  # nothing new yet
    second = client.post(PAGE, {**data, "similar_seen": "1"})
    assert second.status_code == 303
    assert Case.objects.count() == 2


def test_the_similar_fragment_offers_this_is_mine_too(client, people, items):
    near = filed(people, items.manhole, east_m=15)
    lon, lat = spot(people.grid_a)

    fragment = client.get("/portal/report/similar/", {"item": "0101", "lon": lon, "lat": lat})
    empty = client.get("/portal/report/similar/", {"item": "0101"})

    assert fragment.status_code == 200
    assert f'formaction="/portal/cases/{near.number}/follow/"' in fragment.content.decode()
    assert empty.status_code == 200 and "p-similar" not in empty.content.decode()


def test_this_is_mine_too_from_the_page_follows_and_lands_on_the_private_link(
    client, people, items
):
    case = filed(people, items.manhole)

    shown = client.get(f"/portal/cases/{case.number}/follow/")
    response = client.post(f"/portal/cases/{case.number}/follow/", {"phone": "13900139000"})

    assert shown.status_code == 200 and case.number in shown.content.decode()
    assert response.status_code == 303
    follower = CaseFollower.objects.get(case=case)
    assert follower.role == FollowerRole.FOLLOWER and follower.phone == "13900139000"
    assert response["Location"] == f"/portal/t/{follower.token}/"
    assert Case.objects.count() == 1


def test_a_private_items_case_has_no_follow_page(client, people, items):
    secret = filed(people, items.security)

    assert client.get(f"/portal/cases/{secret.number}/follow/").status_code == 404
    assert client.post(f"/portal/cases/{secret.number}/follow/").status_code == 404


def test_the_item_search_fragment_matches_the_citizens_words(client, people, items):
    found = client.get("/portal/report/items/", {"q": "井盖"}, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert 'data-code="0101"' in found.content.decode()
    assert 'data-code="1101"' not in found.content.decode()


def test_a_private_link_that_does_not_exist_is_404(client, db):
    assert client.get("/portal/t/not-a-token/").status_code == 404


def test_the_form_asks_for_the_captcha_when_it_is_due_and_stores_nothing_without_it(
    client, people, items, settings
):
    settings.GRIDCITY_CAPTCHA_AFTER = 1
    assert client.post(PAGE, body(people.grid_a, items.manhole)).status_code == 303

    shown = client.get(PAGE)
    refused = client.post(PAGE, body(people.grid_a, items.rubbish))

    assert 'id="report-captcha-image" src="/captcha/image/' in shown.content.decode()
    assert refused.status_code == 400
    page = refused.content.decode()
    assert 'id="report-captcha-answer"' in page and 'aria-invalid="true"' in page
    assert Case.objects.count() == 1
