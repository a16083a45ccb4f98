"""The hotline console's pages: the operator lands on it, takes, merges and answers calls."""

import pytest
from django.urls import reverse

from cases.models import Case, Status

pytestmark = pytest.mark.django_db


def call_form(people, item, **extra):
    centre = people.grid_a.geom.point_on_surface
    return {
        "phone": "13800138000",
        "name": "王先生",
        "request_type": "complaint",
        "item": item.code,
        "address": "某路 1 号",
        "lon": f"{centre.x:.6f}",
        "lat": f"{centre.y:.6f}",
        "description": "井盖松动",
        **extra,
    }


def test_the_hotline_operator_lands_on_the_console_after_logging_in(client, operator):
    client.force_login(operator)

    landing = client.get(reverse("desk"))

    assert landing.status_code == 302
    assert landing.url == reverse("hotline-console")
    page = client.get(landing.url)
    assert page.status_code == 200
    assert 'aria-current="page"' in page.content.decode()


@pytest.mark.parametrize(
    "name", ["hotline-console", "hotline-callbacks", "hotline-day", "hotline-panel"]
)
def test_the_hotline_pages_open_for_the_operator_only(client, operator, people, name):
    url = reverse(name) + ("?part=callers" if name == "hotline-panel" else "")
    client.force_login(operator)
    assert client.get(url).status_code == 200
    client.force_login(people.dispatcher)
    assert client.get(url).status_code == 403


def test_the_console_takes_a_call_and_says_when_it_must_be_answered(client, operator, people, item):
    client.force_login(operator)

    answer = client.post(reverse("hotline-console"), call_form(people, item), follow=True)

    case = Case.objects.get()
    text = answer.content.decode()
    assert case.number in text
    assert case.followers.get().phone == "13800138000"
    assert "答复时限" in text or "Reply due" in text


def test_a_call_without_a_place_is_shown_again_with_the_error(client, operator, people, item):
    client.force_login(operator)

    answer = client.post(reverse("hotline-console"), call_form(people, item, lon="", lat=""))

    assert answer.status_code == 400
    assert 'aria-invalid="true"' in answer.content.decode()
    assert not Case.objects.exists()


def test_the_panels_show_the_callers_tickets_and_open_cases_nearby_to_merge(
    client, operator, people, item, call
):
    case = call(phone="13800138000").case
    client.force_login(operator)
    centre = people.grid_a.geom.point_on_surface

    callers = client.get(reverse("hotline-panel"), {"part": "callers", "phone": "13800138000"})
    nearby = client.get(
        reverse("hotline-panel"),
        {"part": "nearby", "item": item.code, "lon": centre.x, "lat": centre.y},
    )

    assert case.number in callers.content.decode()
    assert reverse("hotline-merge", args=[case.number]) in nearby.content.decode()


def test_merging_from_the_console_adds_the_caller_to_the_open_case(
    client, operator, people, item, call
):
    case = call(phone="13800000001").case
    client.force_login(operator)

    client.post(
        reverse("hotline-merge", args=[case.number]),
        call_form(people, item, phone="13800000002"),
    )

    assert Case.objects.count() == 1
    assert Case.objects.get().repeat_count == 1


def test_answering_from_the_knowledge_base_closes_the_consultation(client, operator, people, item):
    from portal.models import KnowledgeEntry

    entry = KnowledgeEntry.objects.create(question="井盖归谁管", answer="水务部门。")
    client.force_login(operator)

    found = client.get(reverse("hotline-panel"), {"part": "knowledge", "q": "井盖"})
    client.post(
        reverse("hotline-answer"),
        {**call_form(people, item, request_type="consultation"), "entry": entry.pk},
    )

    assert f'value="{entry.pk}"' in found.content.decode()
    case = Case.objects.get()
    assert case.status == Status.CLOSED and case.resolution == "answered"


def test_an_unknown_panel_is_a_400(client, operator):
    client.force_login(operator)

    assert client.get(reverse("hotline-panel"), {"part": "x"}).status_code == 400


def test_the_day_page_shows_the_figures(client, operator, call):
    call()
    client.force_login(operator)

    page = client.get(reverse("hotline-day"))

    assert page.context["figures"].new == 1


def test_looking_up_without_the_script_fills_the_panels_and_takes_nothing(
    client, operator, people, item, call
):
    case = call(phone="13800138000").case
    client.force_login(operator)

    page = client.post(
        reverse("hotline-console"), {**call_form(people, item), "refresh": "1", "q": ""}
    )

    assert page.status_code == 200
    assert Case.objects.count() == 1
    assert reverse("hotline-merge", args=[case.number]) in page.content.decode()
    assert 'value="13800138000"' in page.content.decode()


def test_the_operator_opens_the_case_page_of_a_ticket(client, operator, call):
    case = call().case
    client.force_login(operator)

    page = client.get(reverse("desk-case", args=[case.number]))

    assert page.status_code == 200
    assert case.number in page.content.decode()
