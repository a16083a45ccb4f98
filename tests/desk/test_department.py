"""The department's warning list (今日到期) and why a case came back (返工)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from cases import services
from cases.models import Case
from cases.selectors import rework_reasons
from tests.factories import DepartmentFactory, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Wednesday at work (working hours 08:30–12:00, 14:00–18:00).
NOW = dt.datetime(2026, 3, 4, 10, 0, tzinfo=SHANGHAI)
TODAY = reverse("desk-department-today")


@pytest.fixture
def at_work(time_machine):
    time_machine.move_to(NOW, tick=False)


def due_at(case, hour: int, minute: int = 0, *, day: int = 4) -> Case:
    due = dt.datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)
    Case.objects.filter(pk=case.pk).update(handle_due=due)
    return case


def dispatched(report, hour, minute=0, *, day=4, accepted=False):
    steps = ["file", "dispatch", "accept"] if accepted else ["file", "dispatch"]
    return due_at(report(steps=steps), hour, minute, day=day)


def sent_back(report, people, note: str = "井盖仍松动"):
    case = report(steps=["file", "dispatch", "accept", "handle", "request_verify"])
    return services.case_verify(case=case, by=people.inspector_a, passed=False, note=note)


def groups(page) -> dict[str, list[str]]:
    """Group key → the case numbers listed in it, in order."""
    html = page.content.decode()
    found = {}
    for key in ("overdue", "soon", "later"):
        start = html.index(f'id="today-{key}"')
        end = html.find("<section", start)
        part = html[start : end if end > 0 else len(html)]
        found[key] = [chunk.split('"', 1)[0] for chunk in part.split('data-number="')[1:]]
    return found


def test_the_list_holds_todays_cases_grouped_by_urgency(client, people, report, at_work):
    late = dispatched(report, 9)  # an hour ago
    soon = dispatched(report, 11, 30, accepted=True)  # in 90 minutes
    afternoon = dispatched(report, 17)
    tomorrow = dispatched(report, 10, day=5)
    handled = due_at(report(steps=["file", "dispatch", "accept", "handle"]), 9)
    client.force_login(people.staff)

    page = client.get(TODAY)

    assert page.status_code == 200
    assert groups(page) == {
        "overdue": [late.number],
        "soon": [soon.number],
        "later": [afternoon.number],
    }
    html = page.content.decode()
    assert tomorrow.number not in html and handled.number not in html


def test_time_left_is_counted_on_the_working_calendar(client, people, report, at_work):
    dispatched(report, 9)  # overdue by one working hour
    dispatched(report, 11, 30)  # 1 h 30 min away
    dispatched(report, 15)  # 10:00–12:00 and 14:00–15:00: three working hours, not five
    client.force_login(people.staff)

    html = client.get(TODAY).content.decode()

    assert "1 h 00 min overdue" in html
    assert "1 h 30 min" in html
    assert "3 h 00 min" in html and "5 h 00 min" not in html


def test_another_department_sees_none_of_them(client, people, report, at_work):
    case = dispatched(report, 9)
    other = make_user(
        "staff-huanbao", Role.STAFF, department=DepartmentFactory(code="huanbao", name="环保")
    )
    client.force_login(other)

    page = client.get(TODAY)

    assert page.status_code == 200
    assert case.number not in page.content.decode()
    assert groups(page) == {"overdue": [], "soon": [], "later": []}


@pytest.mark.parametrize(("persona", "status"), [("dispatcher", 403), ("inspector_a", 403)])
def test_only_the_department_workbench_opens_it(client, people, persona, status):
    client.force_login(getattr(people, persona))
    assert client.get(TODAY).status_code == status
    client.logout()
    assert client.get(TODAY).status_code == 302


def test_a_case_sent_back_says_why_who_and_when(client, people, report, at_work):
    case = due_at(sent_back(report, people, note="井盖仍松动，需重新固定"), 16)
    client.force_login(people.staff)

    html = client.get(TODAY).content.decode()

    assert case.number in html
    assert "井盖仍松动，需重新固定" in html
    assert people.inspector_a.username in html or people.inspector_a.get_full_name() in html
    assert 'class="rework-reason"' in html


def test_the_rework_reason_is_the_latest_failed_verification(people, report, at_work):
    case = sent_back(report, people, note="第一次：未修复")
    case = services.case_accept(case=case, by=people.staff)
    case = services.case_handle(case=case, by=people.staff, note="已重新修复")
    case = services.case_request_verify(case=case, by=people.dispatcher)
    case = services.case_verify(
        case=case, by=people.inspector_a, passed=False, note="第二次：仍松动"
    )
    never = report(steps=["file", "dispatch"])

    with CaptureQueriesContext(connection) as queries:
        reasons = rework_reasons([case, never])

    assert len(queries.captured_queries) == 1
    assert set(reasons) == {case.pk}
    assert reasons[case.pk].note == "第二次：仍松动"
    assert reasons[case.pk].actor == people.inspector_a


def test_the_list_costs_the_same_queries_for_3_or_20_cases(
    client, people, report, at_work, settings
):
    # The code books and the calendar are read once; their freshness checks, timed on the
    # process's clock, are left out of the count.
    settings.GRIDCITY_CODEBOOK_CHECK_SECONDS = settings.GRIDCITY_CALENDAR_CHECK_SECONDS = 3600

    def cost() -> int:
        client.force_login(people.staff)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(TODAY).status_code == 200
        return len(queries.captured_queries)

    for hour in (9, 11, 16):
        dispatched(report, hour)
    due_at(sent_back(report, people), 15)
    cost()  # the process's code books and content types read once
    few = cost()
    for i in range(17):
        dispatched(report, 9 + i % 8, accepted=bool(i % 2))
    due_at(sent_back(report, people, note="又一次返工"), 11)

    assert cost() == few
