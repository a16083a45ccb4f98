"""The workbench queues: who lands where, what each queue holds, its counts and its table."""

import re

import pytest
from django.urls import reverse

from accounts import policy
from cases.actions import actions_for
from cases.models import Case
from cases.selectors import queue_counts


@pytest.mark.parametrize(
    ("persona", "lands_on"),
    [
        ("dispatcher", "/desk/dispatch/"),
        ("staff", "/desk/department/"),
        ("supervisor", "/desk/supervise/"),
        ("inspector_a", "/m/"),
        ("admin", "/desk/dispatch/"),
        ("citizen", "/"),
    ],
)
def test_each_person_lands_on_their_workbench(client, people, persona, lands_on):
    client.force_login(getattr(people, persona))
    assert client.get("/desk/")["Location"] == lands_on


def test_a_report_waits_in_the_dispatchers_queue_to_file_until_filed(client, people, report):
    case = report()
    client.force_login(people.dispatcher)
    page = client.get(reverse("desk-queue", args=["dispatch", "to-file"]))
    assert page.status_code == 200
    assert case.number in page.content.decode()
    assert queue_counts(people.dispatcher, ["to-file", "to-dispatch"]) == {
        "to-file": 1,
        "to-dispatch": 0,
    }
    report_filed = report(steps=["file"])
    counts = queue_counts(people.dispatcher, ["to-file", "to-dispatch"])
    assert counts == {"to-file": 1, "to-dispatch": 1}
    assert (
        report_filed.number
        not in client.get(reverse("desk-queue", args=["dispatch", "to-file"])).content.decode()
    )


def test_the_department_sees_only_its_own_dispatched_cases_to_accept(client, people, report):
    case = report(steps=["file", "dispatch"])
    client.force_login(people.staff)
    page = client.get(reverse("desk-queue", args=["department", "to-accept"]))
    assert case.number in page.content.decode()
    assert queue_counts(people.inspector_b, ["to-accept"]) == {"to-accept": 0}


def test_a_dispatcher_may_not_open_the_department_workbench(client, people):
    client.force_login(people.dispatcher)
    assert client.get(reverse("desk-queue", args=["department", "to-accept"])).status_code == 403
    client.logout()
    answer = client.get(reverse("desk-queue", args=["dispatch", "to-file"]))
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")


def test_a_bad_sort_or_filter_is_a_400_naming_the_parameter(client, people):
    client.force_login(people.dispatcher)
    answer = client.get(reverse("desk-queue", args=["dispatch", "to-file"]), {"sort": "x"})
    assert answer.status_code == 400
    assert "sort" in answer.json()["error"]["fields"]


def test_actions_offered_are_exactly_what_the_person_may_do_in_this_state(people, report):
    case = report()  # an inspector's: no on-site confirmation (核实) is asked of it
    assert [a.name for a in actions_for(people.dispatcher, case)] == [
        "file",
        "reject",
        "cancel",
        "escalate",
        "merge",
        "moderate",
    ]
    assert [a.name for a in actions_for(people.staff, case)] == []
    assert [a.name for a in actions_for(people.inspector_a, case)] == ["cancel"]
    dispatched = report(steps=["file", "dispatch"])
    assert [a.name for a in actions_for(people.staff, dispatched)] == [
        "accept",
        "return",
        "extend",
        "suspend-request",
    ]
    assert "escalate" in [a.name for a in actions_for(people.supervisor, dispatched)]
    assert actions_for(people.other_supervisor, dispatched) == []
    assert policy.may_use_workbench(people.admin, "department")


# --- what each queue holds --------------------------------------------------------------------


def numbers_on(client, workbench: str, queue: str, **params) -> list[str]:
    """The case numbers a queue's table shows, in order."""
    answer = client.get(reverse("desk-queue", args=[workbench, queue]), params)
    assert answer.status_code == 200, answer.content[:300]
    return re.findall(r'<tr data-number="([^"]+)"', answer.content.decode())


def failed_verification(people, report):
    """Handled, sent to verify, failed on site: back with the department for rework."""
    from cases import services

    case = report(steps=["file", "dispatch", "accept", "handle", "request_verify"])
    return services.case_verify(case=case, by=people.inspector_a, passed=False, note="没修好")


def overdue(case):
    Case.objects.filter(pk=case.pk).update(overdue=True)
    return case


def held(case):
    Case.objects.filter(pk=case.pk).update(held=True)
    return case


def test_each_dispatcher_queue_holds_exactly_its_cases(client, people, report):
    cases = {
        "to-file": report(),
        "held": held(report()),  # 待审核: held reports are in no other queue until released
        "to-dispatch": report(steps=["file"]),
        "returned": report(steps=["file", "dispatch", "return"]),
        "to-approve": report(steps=["file", "dispatch", "extend"]),
        "to-verify": report(steps=["file", "dispatch", "accept", "handle"]),
        "verifying": report(steps=["file", "dispatch", "accept", "handle", "request_verify"]),
        "overdue": overdue(report(steps=["file", "dispatch", "accept"])),
        "escalated": report(steps=["file", "dispatch", "escalate"]),
    }
    client.force_login(people.dispatcher)
    for queue, case in cases.items():
        assert numbers_on(client, "dispatch", queue) == [case.number], queue
    counts = client.get(reverse("desk-counts", args=["dispatch"])).json()
    assert counts == dict.fromkeys(cases, 1)


def test_each_department_queue_holds_exactly_its_cases(client, people, report):
    from datetime import timedelta

    from django.utils import timezone

    to_accept = report(steps=["file", "dispatch"])
    handling = report(steps=["file", "dispatch", "accept"])
    rework = failed_verification(people, report)
    requested = report(steps=["file", "dispatch", "accept", "extend"])
    late = report(steps=["file", "dispatch", "accept"])
    Case.objects.filter(pk=late.pk).update(handle_due=timezone.now() - timedelta(minutes=1))
    later = timezone.now() + timedelta(days=20)
    Case.objects.exclude(pk=late.pk).update(handle_due=later)
    client.force_login(people.staff)
    expected = {
        "to-accept": {to_accept.number},
        "handling": {handling.number, requested.number, late.number},
        "rework": {rework.number},
        "due-soon": {late.number},
        "due-today": {late.number},
        "requested": {requested.number},
    }
    for queue, numbers in expected.items():
        assert set(numbers_on(client, "department", queue)) == numbers, queue


def test_the_supervisor_sees_their_street_and_another_streets_supervisor_sees_none(
    client, people, report
):
    cases = {
        "overdue": overdue(report(steps=["file", "dispatch"])),
        "escalated": report(steps=["file", "dispatch", "escalate"]),
        "street-verifying": report(
            steps=["file", "dispatch", "accept", "handle", "request_verify"]
        ),
        "to-approve": report(steps=["file", "dispatch", "extend"]),
    }
    client.force_login(people.supervisor)
    for queue, case in cases.items():
        assert numbers_on(client, "supervise", queue) == [case.number], queue
    client.force_login(people.other_supervisor)
    for queue in cases:
        assert numbers_on(client, "supervise", queue) == [], queue
    assert set(client.get(reverse("desk-counts", args=["supervise"])).json().values()) == {0}


# --- sort, filters, paging -------------------------------------------------------------------


@pytest.fixture
def three(people, report):
    """Three cases to file: reported 5, 3 and 1 hours ago, due to be filed in the reverse
    order (the newest first)."""
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    made = []
    for hours in (5, 3, 1):
        case = report(description=f"{hours} 小时前")
        Case.objects.filter(pk=case.pk).update(
            created_at=now - timedelta(hours=hours), file_due=now + timedelta(hours=hours)
        )
        made.append(case.number)
    return made


def test_the_table_sorts_by_age_and_by_deadline(client, people, three):
    oldest, middle, newest = three
    client.force_login(people.dispatcher)
    assert numbers_on(client, "dispatch", "to-file") == [oldest, middle, newest]
    assert numbers_on(client, "dispatch", "to-file", sort="newest") == [newest, middle, oldest]
    assert numbers_on(client, "dispatch", "to-file", sort="due") == [newest, middle, oldest]
    assert numbers_on(client, "dispatch", "to-file", sort="-due") == [oldest, middle, newest]


def test_a_column_header_sorts_by_it_and_a_second_click_reverses(client, people, three):
    client.force_login(people.dispatcher)
    url = reverse("desk-queue", args=["dispatch", "to-file"])
    page = client.get(url, {"source": "inspector"}).content.decode()
    # Worked from the longest wait: the Waiting column is sorted, the deadline offers itself.
    assert re.search(
        r'aria-sort="descending"><a class="sort" data-sort="age" href="[^"]*sort=newest', page
    )
    assert re.search(r'aria-sort="none"><a class="sort" data-sort="due" href="[^"]*sort=due"', page)
    assert "source=inspector&amp;sort=newest" in page  # the filters stay
    page = client.get(url, {"sort": "due"}).content.decode()
    assert re.search(
        r'aria-sort="ascending"><a class="sort" data-sort="due" href="[^"]*sort=-due"', page
    )


def test_filters_narrow_the_table(client, people, item, report, three):
    from datetime import timedelta

    from django.utils import timezone

    from cases import services
    from tests.factories import ItemFactory

    oldest, middle, newest = three
    sewer = ItemFactory(category=item.category, code="0102", name="污水井盖")
    centre = people.grid_a.geom.point_on_surface
    other = services.case_report(
        by=people.inspector_a, item=sewer, lon=centre.x, lat=centre.y, description="污水"
    ).case
    client.force_login(people.dispatcher)
    everything = {oldest, middle, newest, other.number}

    def shown(**params):
        return set(numbers_on(client, "dispatch", "to-file", **params))

    assert shown(item="0101") == {oldest, middle, newest}
    assert shown(item="污水井盖") == {other.number}
    assert shown(item="井盖") == everything  # part of a name: every item holding it
    street_a, street_b = (people.grid_a.community.street, people.grid_b.community.street)
    assert shown(street=street_a.code) == everything
    assert shown(street=street_b.code) == set()
    assert shown(grid=people.grid_a.code) == everything
    assert shown(grid=people.grid_b.name) == set()
    assert shown(source="inspector") == everything
    assert shown(source="citizen") == set()
    assert shown(age=2) == {oldest, middle}
    assert shown(age=4) == {oldest}
    due = timezone.localtime(timezone.now() + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")
    assert shown(due_before=due) == {middle, newest}


def test_the_street_filter_offers_only_the_streets_in_the_persons_scope(client, people):
    street_a, street_b = (people.grid_a.community.street, people.grid_b.community.street)
    client.force_login(people.supervisor)
    page = client.get(reverse("desk-queue", args=["supervise", "overdue"])).content.decode()
    assert f'<option value="{street_a.code}"' in page
    assert f'<option value="{street_b.code}"' not in page
    client.force_login(people.dispatcher)
    page = client.get(reverse("desk-queue", args=["dispatch", "overdue"])).content.decode()
    assert f'<option value="{street_b.code}"' in page


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"item": "9999"}, "item"),
        ({"grid": "没有这个网格"}, "grid"),
        ({"street": "000"}, "street"),
        ({"source": "pigeon"}, "source"),
        ({"age": "-1"}, "age"),
        ({"age": "lots"}, "age"),
        ({"due_before": "tomorrow"}, "due_before"),
        ({"cursor": "garbage"}, "cursor"),
        ({"page_size": "0"}, "page_size"),
        ({"sort": "x"}, "sort"),
    ],
)
def test_a_bad_parameter_is_a_400_json_naming_it(client, people, params, field):
    client.force_login(people.dispatcher)
    answer = client.get(reverse("desk-queue", args=["dispatch", "to-file"]), params)
    assert answer.status_code == 400
    assert list(answer.json()["error"]["fields"]) == [field]
    partial = client.get(
        reverse("desk-queue", args=["dispatch", "to-file"]), {**params, "partial": "1"}
    )
    assert partial.status_code == 400 and field in partial.json()["error"]["fields"]


def pager_link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
    return found and found.group(1).replace("&amp;", "&")


@pytest.mark.parametrize("partial", [False, True])
def test_the_cursor_pages_forward_and_back_in_full_and_partial_mode(client, people, three, partial):
    oldest, middle, newest = three
    client.force_login(people.dispatcher)
    extra = {"partial": "1"} if partial else {}
    url = reverse("desk-queue", args=["dispatch", "to-file"])
    first = client.get(url, {"page_size": 2, "source": "inspector", **extra}).content.decode()
    assert re.findall(r'<tr data-number="([^"]+)"', first) == [oldest, middle]
    assert pager_link(first, "prev") is None
    following = pager_link(first, "next")
    # The link is the page's own address: relative, the filters kept, never the partial.
    assert following.startswith(url + "?") and "partial" not in following
    assert "source=inspector" in following
    tail = "&partial=1" if partial else ""
    second = client.get(following + tail).content.decode()
    assert re.findall(r'<tr data-number="([^"]+)"', second) == [newest]
    assert pager_link(second, "next") is None
    back = client.get(pager_link(second, "prev") + tail).content.decode()
    assert re.findall(r'<tr data-number="([^"]+)"', back) == [oldest, middle]


def test_the_cursor_pages_by_deadline_too(client, people, three):
    oldest, middle, newest = three
    client.force_login(people.dispatcher)
    url = reverse("desk-queue", args=["dispatch", "to-file"])
    first = client.get(url, {"page_size": 2, "sort": "due"}).content.decode()
    assert re.findall(r'<tr data-number="([^"]+)"', first) == [newest, middle]
    second = client.get(pager_link(first, "next")).content.decode()
    assert re.findall(r'<tr data-number="([^"]+)"', second) == [oldest]


def test_a_partial_answer_is_the_table_alone(client, people, three):
    client.force_login(people.dispatcher)
    answer = client.get(reverse("desk-queue", args=["dispatch", "to-file"]), {"partial": "1"})
    html = answer.content.decode()
    assert html.lstrip().startswith("<table") and "desk-nav" not in html and "<html" not in html


def test_a_case_link_says_which_list_it_came_from(client, people, three):
    client.force_login(people.dispatcher)
    page = client.get(
        reverse("desk-queue", args=["dispatch", "to-file"]),
        {"item": "0101", "sort": "due", "cursor": "", "page_size": "2"},
    ).content.decode()
    number = three[2]
    assert (
        f'href="/desk/cases/{number}/?from=dispatch:to-file&amp;item=0101&amp;sort=due'
        '&amp;page_size=2"' in page
    )


# --- a fixed number of queries ---------------------------------------------------------------


def queries_of(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # the code books are read once per process
    with CaptureQueriesContext(connection) as run:
        assert client.get(url).status_code == 200
    return len(run.captured_queries)


def test_the_queue_page_and_its_counts_cost_the_same_queries_for_3_cases_and_for_30(
    client, people, report, settings
):
    settings.GRIDCITY_CODEBOOK_CHECK_SECONDS = 3600  # no fingerprint check in between
    client.force_login(people.dispatcher)
    urls = [
        reverse("desk-queue", args=["dispatch", "to-file"]),
        reverse("desk-queue", args=["dispatch", "to-approve"]) + "?partial=1",
        reverse("desk-counts", args=["dispatch"]),
    ]
    for _ in range(3):
        report(steps=["file", "dispatch", "extend"])
        report()
    few = [queries_of(client, url) for url in urls]
    for _ in range(27):
        report(steps=["file", "dispatch", "extend"])
        report()
    assert [queries_of(client, url) for url in urls] == few
