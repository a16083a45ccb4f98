"""The desk's case search: by number, item, work grid and address, within the person's scope."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from cases.selectors import cases_search


def found(client, q: str, **params) -> dict[str, list[str]]:
    """The numbers found, by the kind of match (the page's sections)."""
    answer = client.get(reverse("desk-search"), {"q": q, **params})
    assert answer.status_code == 200, answer.content[:300]
    html = answer.content.decode()
    sections = re.split(r'<section class="desk-results" aria-labelledby="found-', html)[1:]
    return {
        part.split('"', 1)[0]: re.findall(r'<tr data-number="([^"]+)"', part) for part in sections
    }


@pytest.fixture
def two(report):
    """Two cases in grid A; the first on 宝安大道, the second on 新湖路."""
    first, second = report(), report()
    Case.objects.filter(pk=first.pk).update(address="宝安大道 88 号")
    Case.objects.filter(pk=second.pk).update(address="新湖路 12 号")
    return first, second


def test_a_whole_number_opens_its_case(client, people, two):
    first, _second = two
    client.force_login(people.dispatcher)
    answer = client.get(reverse("desk-search"), {"q": f"  {first.number} "})
    assert answer.status_code == 302
    assert answer["Location"] == reverse("desk-case", args=[first.number])
    assert found(client, first.number, partial="1") == {"number": [first.number]}


def test_a_number_prefix_lists_the_cases_it_begins(client, people, two):
    first, second = two
    client.force_login(people.dispatcher)
    day = first.number.rsplit("-", 1)[0]
    assert found(client, day)["number"] == [second.number, first.number]
    assert found(client, day + "-9") == {}


def test_an_item_is_found_by_code_or_by_name(client, people, two):
    first, second = two
    client.force_login(people.dispatcher)
    assert found(client, "0101")["item"] == [second.number, first.number]
    assert found(client, "上水井盖")["item"] == [second.number, first.number]
    assert found(client, "井盖")["item"] == [second.number, first.number]


def test_a_grid_is_found_by_code_or_by_name(client, people, two):
    first, second = two
    client.force_login(people.dispatcher)
    assert found(client, people.grid_a.code)["grid"] == [second.number, first.number]
    assert found(client, people.grid_a.name)["grid"] == [second.number, first.number]
    assert "grid" not in found(client, people.grid_b.name)


def test_address_text_finds_the_last_30_days_only_and_says_so(client, people, two):
    first, second = two
    client.force_login(people.dispatcher)
    assert found(client, "宝安大道") == {"address": [first.number]}
    assert found(client, "湖路") == {"address": [second.number]}
    Case.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert found(client, "宝安大道") == {}
    page = client.get(reverse("desk-search"), {"q": "湖路"}).content.decode()
    assert "last 30 days" in page


def test_search_stays_within_the_persons_scope(client, people, two):
    first, _second = two
    client.force_login(people.other_supervisor)
    assert found(client, "宝安大道") == {}
    assert found(client, "0101") == {}
    assert found(client, first.number) == {}  # not a redirect to a case they cannot open
    client.force_login(people.supervisor)
    assert found(client, "宝安大道") == {"address": [first.number]}
    client.force_login(people.staff)  # the department sees what was dispatched to it
    assert found(client, "宝安大道") == {}


def test_who_may_search(client, people):
    url = reverse("desk-search")
    assert client.get(url)["Location"].startswith("/accounts/login/")
    client.force_login(people.inspector_a)  # the phone page is theirs
    assert client.get(url, {"q": "x"}).status_code == 403
    client.force_login(people.citizen)
    assert client.get(url, {"q": "x"}).status_code == 403
    client.force_login(people.staff)
    assert client.get(url).status_code == 200


def test_a_too_long_query_is_a_400_naming_q(client, people):
    client.force_login(people.dispatcher)
    answer = client.get(reverse("desk-search"), {"q": "x" * 101})
    assert answer.status_code == 400
    assert list(answer.json()["error"]["fields"]) == ["q"]


def test_no_query_shows_how_to_search_and_nothing_found_says_so(client, people, two):
    client.force_login(people.dispatcher)
    assert "Search by case number" in client.get(reverse("desk-search")).content.decode()
    page = client.get(reverse("desk-search"), {"q": "没有这样的地方"}).content.decode()
    assert "No case found" in page


def test_the_search_box_is_in_every_desk_page(client, people):
    client.force_login(people.dispatcher)
    page = client.get(reverse("desk-queue", args=["dispatch", "to-file"])).content.decode()
    assert f'action="{reverse("desk-search")}"' in page
    assert 'id="desk-q"' in page and 'aria-keyshortcuts="/"' in page


def test_search_costs_the_same_queries_for_2_cases_and_for_20(people, report, settings, two):
    settings.GRIDCITY_CODEBOOK_CHECK_SECONDS = 3600

    def queries(q):
        cases_search(people.dispatcher, q)  # the code books are read once per process
        with CaptureQueriesContext(connection) as run:
            cases_search(people.dispatcher, q)
        return len(run.captured_queries)

    few = [queries(q) for q in ("0101", "宝安", people.grid_a.code)]
    for _ in range(18):
        report()
    Case.objects.update(address="宝安大道 88 号")
    assert [queries(q) for q in ("0101", "宝安", people.grid_a.code)] == few
