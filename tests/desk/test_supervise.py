"""The supervisor's workbench (督察): the street's day, its overdue and escalated cases, what
its inspectors are to verify, and their patrol today."""

import re
import uuid
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from cases import services
from cases.models import Case, Status

PAGE = "/desk/supervise/"
TODAY = "2026-11-24"
MORNING = "2026-11-24 09:00 +08:00"


def figures(page) -> dict[str, int]:
    """The day's figures as the page shows them: {name: number}."""
    html = page.content.decode()
    found = re.findall(r'data-figure="(\w+)"><span class="n">(\d+)</span>', html)
    return {name: int(n) for name, n in found}


def figure_link(page, name: str) -> str:
    html = page.content.decode()
    return unescape(re.search(rf'<a href="([^"]*)" data-figure="{name}"', html).group(1))


def table(client, **params):
    """The inspectors' table of the street, as the page's script loads it after the page."""
    answer = client.get(PAGE, {"partial": "1", **params})
    assert answer.status_code == 200
    return answer


def inspector_row(page, inspector) -> str:
    html = page.content.decode()
    match = re.search(rf'<tr data-inspector="{inspector.pk}".*?</tr>', html, re.S)
    assert match, f"no row for {inspector}"
    return match.group(0)


def list_numbers(page, key: str) -> list[str]:
    html = page.content.decode()
    block = re.search(rf'<ol class="sv-cases" data-list="{key}">(.*?)</ol>', html, re.S).group(1)
    return re.findall(r'<li data-number="([^"]+)"', block)


def mark(case, **flags) -> Case:
    """Set what the overdue sweep would have set (it marks and escalates at once)."""
    Case.objects.filter(pk=case.pk).update(**flags)
    return Case.objects.get(pk=case.pk)


def start_shift(inspector):
    from patrol.services import shift_start

    return shift_start(inspector=inspector, client_uuid=uuid.uuid4())


# --- who may open it --------------------------------------------------------------------------


def test_the_supervisors_workbench_opens_on_their_street(client, people):
    client.force_login(people.supervisor)
    page = client.get(reverse("desk-workbench", args=["supervise"]), follow=True)
    assert page.status_code == 200
    assert page.request["PATH_INFO"] == reverse("desk-supervise") == PAGE
    street_a = people.grid_a.community.street
    assert street_a.name in page.content.decode()


@pytest.mark.parametrize("persona", ["dispatcher", "staff", "inspector_a", "citizen"])
def test_other_roles_may_not_open_the_supervisors_workbench(client, people, persona):
    client.force_login(getattr(people, persona))
    assert client.get(PAGE).status_code == 403


def test_anonymous_is_sent_to_log_in(client):
    answer = client.get(PAGE)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")


def test_a_street_outside_the_supervisors_charge_is_refused(client, people):
    client.force_login(people.supervisor)
    street_b = people.grid_b.community.street
    answer = client.get(PAGE, {"street": street_b.code})
    assert answer.status_code == 400
    assert "street" in answer.json()["error"]["fields"]


# --- the day at a glance ------------------------------------------------------------------------


@pytest.fixture
def on_the_24th(request, time_machine):
    """The personas and the report fixture as of the evening before 2026-11-24 (Shanghai), so
    their grids are held from then on; move the clock on with ``time_machine``."""
    time_machine.move_to("2026-11-23 20:00 +08:00", tick=False)
    return request.getfixturevalue("people"), request.getfixturevalue("report")


def test_the_days_figures_count_what_happened_today_in_shanghai(client, on_the_24th, time_machine):
    people, report = on_the_24th
    time_machine.move_to("2026-11-23 23:30 +08:00", tick=False)
    yesterday = report("昨天报的")
    handled_yesterday = report(steps=["file", "dispatch", "accept", "handle"])
    # 23:00 UTC on the 23rd: already the 24th in Shanghai.
    time_machine.move_to("2026-11-24 07:00 +08:00", tick=False)
    report("一早报的")
    time_machine.move_to(MORNING, tick=False)
    report(steps=["file", "dispatch", "accept", "handle", "close"])  # new and closed today
    services.case_close(case=handled_yesterday, by=people.dispatcher)  # closed, not new
    mark(report(steps=["file", "dispatch"]), overdue=True)
    mark(report(steps=["file", "dispatch"]), overdue=True, escalated=True)
    mark(yesterday, escalated=True)

    client.force_login(people.supervisor)
    page = client.get(PAGE)

    assert figures(page) == {
        "new": 4,
        "closed": 2,
        "overdue": 2,
        "escalated": 2,
        "on_patrol": 0,
        "no_shift": 1,
    }
    assert page.context["today"].isoformat() == TODAY


def test_the_side_navigation_counts_the_whole_scope_and_the_figures_the_street(
    client, people, report, item
):
    """Both come from one count per queue by street: a case the supervisor reported in
    another street is in their queue, not in their street's figure."""
    mark(report(steps=["file", "dispatch"]), overdue=True, escalated=True)
    centre = people.grid_b.geom.point_on_surface
    elsewhere = services.case_report(
        by=people.inspector_b, item=item, lon=centre.x, lat=centre.y, description="B 街道"
    ).case
    Case.objects.filter(pk=elsewhere.pk).update(
        reporter=people.supervisor, status=Status.DISPATCHED, overdue=True
    )
    client.force_login(people.supervisor)
    page = client.get(PAGE)
    nav = {q["key"]: q["count"] for q in page.context["nav"]}
    assert (nav["overdue"], nav["escalated"]) == (2, 1)
    assert (figures(page)["overdue"], figures(page)["escalated"]) == (1, 1)


def test_each_figure_leads_to_its_queue_or_list(client, people):
    client.force_login(people.supervisor)
    page = client.get(PAGE)
    street = people.grid_a.community.street.code
    assert figure_link(page, "overdue") == f"/desk/supervise/q/overdue/?street={street}"
    assert figure_link(page, "escalated") == f"/desk/supervise/q/escalated/?street={street}"
    assert figure_link(page, "new") == f"/desk/supervise/day/new/?street={street}"
    assert figure_link(page, "on_patrol").startswith("/patrol/audit/?street=")
    assert figure_link(page, "no_shift") == "#inspectors"


def test_the_list_behind_new_today_holds_todays_reports_of_the_street(
    client, on_the_24th, time_machine
):
    people, report = on_the_24th
    older = report("昨晚报的")
    time_machine.move_to(MORNING, tick=False)
    today = report("今早报的")
    client.force_login(people.supervisor)
    page = client.get(reverse("desk-supervise-day", args=["new"]))
    assert page.status_code == 200
    assert today.number in page.content.decode()
    assert older.number not in page.content.decode()
    assert client.get(reverse("desk-supervise-day", args=["other"])).status_code == 404


def test_another_streets_supervisor_sees_only_their_own_street(client, people, report, item):
    in_a = mark(report(steps=["file", "dispatch"]), overdue=True)
    centre = people.grid_b.geom.point_on_surface
    in_b = services.case_report(
        by=people.inspector_b, item=item, lon=centre.x, lat=centre.y, description="B 街道"
    ).case
    in_b = mark(in_b, overdue=True)
    start_shift(people.inspector_a)

    client.force_login(people.other_supervisor)
    page = client.get(PAGE)
    html = page.content.decode()

    assert people.grid_b.community.street.name in html
    assert list_numbers(page, "overdue") == [in_b.number]
    assert in_a.number not in html
    rows = table(client).content.decode()
    assert f'data-inspector="{people.inspector_a.pk}"' not in rows
    assert f'data-inspector="{people.inspector_b.pk}"' in rows
    assert figures(page)["on_patrol"] == 0
    assert figures(page)["new"] == 1


def test_an_administrator_picks_the_street(client, people, report):
    in_a = mark(report(steps=["file", "dispatch"]), overdue=True)
    client.force_login(people.admin)
    street_b = people.grid_b.community.street
    page = client.get(PAGE, {"street": street_b.code})
    assert page.status_code == 200
    assert page.context["street"] == street_b
    assert in_a.number not in page.content.decode()
    street_a = people.grid_a.community.street
    assert list_numbers(client.get(PAGE, {"street": street_a.code}), "overdue") == [in_a.number]


def test_a_district_supervisor_picks_among_the_districts_streets(client, people, small_city):
    from accounts.models import Role
    from tests.factories import make_user

    chief = make_user("district-supervisor", Role.SUPERVISOR, district=small_city.district)
    client.force_login(chief)
    page = client.get(PAGE)
    assert [s.code for s in page.context["streets"]] == [s.code for s in small_city.streets]
    assert page.context["street"] == small_city.streets[0]
    street_b = people.grid_b.community.street
    picked = client.get(PAGE, {"street": street_b.code})
    assert picked.context["street"] == street_b
    rows = table(client, street=street_b.code).content.decode()
    assert f'data-inspector="{people.inspector_b.pk}"' in rows


# --- the cases ----------------------------------------------------------------------------------


def test_overdue_and_escalated_cases_are_listed_oldest_first(client, people, report, time_machine):
    time_machine.move_to("2026-11-24 09:00 +08:00", tick=True)
    first = mark(report(steps=["file", "dispatch"]), overdue=True)
    time_machine.shift(60)
    second = mark(report(steps=["file", "dispatch"]), overdue=True, escalated=True)
    time_machine.shift(60)
    third = mark(report(steps=["file", "dispatch"]), overdue=True)
    report(steps=["file", "dispatch"])  # on time: in neither list

    client.force_login(people.supervisor)
    page = client.get(PAGE)

    assert list_numbers(page, "overdue") == [first.number, second.number, third.number]
    assert list_numbers(page, "escalated") == [second.number]


def test_the_escalate_form_is_offered_only_where_escalating_is(client, people, report):
    from cases.actions import actions_for

    overdue = mark(report(steps=["file", "dispatch"]), overdue=True)
    escalated = mark(report(steps=["file", "dispatch"]), overdue=True, escalated=True)
    assert "escalate" in [a.name for a in actions_for(people.supervisor, overdue)]
    assert "escalate" not in [a.name for a in actions_for(people.supervisor, escalated)]

    client.force_login(people.supervisor)
    html = client.get(PAGE).content.decode()
    forms = re.findall(r'<form class="sv-escalate".*?</form>', html, re.S)
    try:
        reverse("desk-case-action", args=[overdue.number, "escalate"])
    except NoReverseMatch:
        assert forms == []  # nowhere to post it yet
        return
    assert len(forms) == 1
    assert reverse("desk-case-action", args=[overdue.number, "escalate"]) in forms[0]


@pytest.mark.urls("tests.desk.supervise_urls")
def test_the_escalate_form_posts_a_note_and_comes_back_here(client, people, report):
    overdue = mark(report(steps=["file", "dispatch"]), overdue=True)
    client.force_login(people.supervisor)
    page = client.get(PAGE)
    html = page.content.decode()
    form = re.search(r'<form class="sv-escalate".*?</form>', html, re.S).group(0)
    action = reverse("desk-case-action", args=[overdue.number, "escalate"])

    assert f'method="post" action="{action}"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert f'<input type="hidden" name="return_to" value="{PAGE}">' in form
    note_id = f"sv-escalate-{overdue.number}"
    assert f'<label for="{note_id}">' in form
    assert re.search(rf'<input id="{note_id}" name="note"', form)
    assert '<button type="submit"' in form


def test_escalating_from_the_page_marks_the_case_and_comes_back(client, people, report):
    try:
        reverse("desk-case-action", args=["X", "escalate"])
    except NoReverseMatch:
        pytest.skip("the case page's action URL (desk-case-action) is not there yet")
    overdue = mark(report(steps=["file", "dispatch"]), overdue=True)
    client.force_login(people.supervisor)
    answer = client.post(
        reverse("desk-case-action", args=[overdue.number, "escalate"]),
        {"note": "今天下班前处理", "return_to": PAGE},
    )
    assert answer.status_code == 303 and answer["Location"] == PAGE
    overdue = type(overdue).objects.get(pk=overdue.pk)
    assert overdue.escalated
    assert overdue.timeline.filter(action="escalate", note="今天下班前处理").exists()


def test_cases_waiting_for_my_inspectors_show_the_verifier_and_deadline_overdue_first(
    client, people, report
):
    steps = ["file", "dispatch", "accept", "handle", "request_verify"]
    on_time = report(steps=steps)
    late = mark(report(steps=steps), overdue=True)
    assert on_time.status == Status.VERIFYING and on_time.verifier_id == people.inspector_a.pk

    client.force_login(people.supervisor)
    page = client.get(PAGE)

    assert list_numbers(page, "verifying") == [late.number, on_time.number]
    html = page.content.decode()
    item = re.search(rf'<li data-number="{on_time.number}".*?</li>', html, re.S).group(0)
    name = people.inspector_a.get_full_name() or people.inspector_a.username
    assert f"<strong data-verifier>{name}</strong>" in item
    assert f'datetime="{on_time.verify_due.isoformat()}"' in item


# --- the inspectors -----------------------------------------------------------------------------


def test_an_inspector_of_the_street_on_patrol_shows_as_on_patrol(client, people):
    start_shift(people.inspector_a)
    client.force_login(people.supervisor)
    page = client.get(PAGE)
    assert "data-on-patrol" in inspector_row(table(client), people.inspector_a)
    assert figures(page)["on_patrol"] == 1
    assert figures(page)["no_shift"] == 0


def test_an_inspector_without_a_shift_today_is_counted_and_marked(client, people):
    client.force_login(people.supervisor)
    page = client.get(PAGE)
    row = inspector_row(table(client), people.inspector_a)
    assert "no-shift" in row and "data-on-patrol" not in row
    assert figures(page)["no_shift"] == 1


def test_the_stored_report_figures_of_today_are_shown(client, people):
    from django.utils import timezone

    from patrol.models import Shift, ShiftStatus

    shift = start_shift(people.inspector_a)
    report = {
        "distance_m": 2345.0,
        "online_s": 5400.0,
        "moving_s": 3600.0,
        "stopped_s": 1800.0,
        "laps": 2,
        "checkpoints": [],
        "coverage": 0.5,
        "outside_s": 0.0,
        "anomaly_counts": {},
    }
    Shift.objects.filter(pk=shift.pk).update(
        status=ShiftStatus.CLOSED, ended_at=timezone.now(), report=report, report_at=timezone.now()
    )
    client.force_login(people.supervisor)
    row = inspector_row(table(client), people.inspector_a)
    assert "2.3 km" in row
    assert '<td data-label="Laps">2</td>' in row
    assert "90 min" in row
    assert "data-on-patrol" not in row


def test_the_audit_link_carries_the_street_the_inspector_and_the_day(
    client, on_the_24th, time_machine
):
    people, _report = on_the_24th
    time_machine.move_to(MORNING, tick=False)
    client.force_login(people.supervisor)
    row = inspector_row(table(client), people.inspector_a)
    link = unescape(re.search(r'<a href="([^"]+)" data-audit', row).group(1))
    street = people.grid_a.community.street.code
    assert link == (
        f"{reverse('patrol-audit')}?street={street}&date={TODAY}&inspector={people.inspector_a.pk}"
    )
    client.force_login(people.supervisor)
    assert client.get(link).status_code == 200


# --- a fixed number of queries ------------------------------------------------------------------


def _street_busy(people, report, grids, *, cases: int, inspectors: int) -> None:
    """``cases`` overdue cases in street A (every other one escalated, one verifying) and
    ``inspectors`` more inspectors holding its grids, every other one on patrol."""
    from accounts.models import Role
    from accounts.services import grid_assign
    from tests.factories import make_user

    for n in range(cases):
        case = report(steps=["file", "dispatch"])
        mark(case, overdue=True, escalated=bool(n % 2))
    mark(report(steps=["file", "dispatch", "accept", "handle", "request_verify"]), overdue=True)
    for n in range(inspectors):
        inspector = make_user(f"inspector-a{len(grids)}-{n}-{cases}", Role.INSPECTOR)
        grid_assign(grid=grids.pop(), inspector=inspector)
        if n % 2 == 0:
            start_shift(inspector)


def _queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PAGE, params).status_code == 200
    return len(queries)


def test_the_page_costs_the_same_queries_for_3_or_20_cases_and_1_or_5_inspectors(
    client, people, report, small_city, settings
):
    settings.GRIDCITY_CODEBOOK_CHECK_SECONDS = 3600  # the code books stay read
    street = people.grid_a.community.street.code
    grids = [g for g in small_city.grids[1:10] if g.code.startswith(street)]
    client.force_login(people.supervisor)
    _street_busy(people, report, grids, cases=3, inspectors=0)
    client.get(PAGE)  # the code books and the content types read once
    client.get(PAGE, {"partial": "1"})
    few = _queries(client)
    few_rows = _queries(client, partial="1")

    _street_busy(people, report, grids, cases=17, inspectors=4)
    page = client.get(PAGE)
    assert len(list_numbers(page, "overdue")) == 10
    assert page.context["inspector_total"] == 5
    assert figures(page)["on_patrol"] == 2
    assert len(table(client).context["inspectors"]) == 5
    assert _queries(client) == few
    assert _queries(client, partial="1") == few_rows


# --- the inspectors' table: its own request, a page at a time -----------------------------------


def _more_inspectors(grids, n: int, *, patrolling: int = 0) -> list:
    """``n`` more inspectors, each holding one of ``grids``; the first ``patrolling`` of them
    on patrol."""
    from accounts.models import Role, User
    from accounts.services import grid_assign
    from tests.factories import make_user

    made = []
    for i in range(n):
        inspector = make_user(f"extra-inspector-{i}", Role.INSPECTOR)
        User.objects.filter(pk=inspector.pk).update(first_name=f"巡{i}")
        grid_assign(grid=grids[i], inspector=inspector)
        if i < patrolling:
            start_shift(inspector)
        made.append(inspector)
    return made


def _street_grids(people, small_city) -> list:
    street = people.grid_a.community.street.code
    return [g for g in small_city.grids[1:] if g.code.startswith(street)]


def test_the_page_comes_without_the_table_which_its_script_loads(client, people):
    client.force_login(people.supervisor)
    page = client.get(PAGE)
    html = page.content.decode()
    assert "data-inspector=" not in html
    assert "desk/supervise.js" in html
    src = unescape(re.search(r'<div id="sv-inspectors" data-src="([^"]+)"', html).group(1))
    assert "partial=1" in src
    assert f'data-inspector="{people.inspector_a.pk}"' in client.get(src).content.decode()
    # Without script: the page with its table, by the link the page holds.
    with_table = client.get(PAGE, {"page": "1"}).content.decode()
    assert f'data-inspector="{people.inspector_a.pk}"' in with_table


def test_the_table_shows_a_page_of_inspectors_those_needing_attention_first(
    client, people, small_city, monkeypatch
):
    from desk.web import supervise

    monkeypatch.setattr(supervise, "INSPECTORS_PER_PAGE", 2)
    extra = _more_inspectors(_street_grids(people, small_city), 3, patrolling=3)
    client.force_login(people.supervisor)
    first = table(client)
    # Inspector A has no shift today: first, before the three on patrol.
    assert first.context["inspectors"][0]["inspector"]["id"] == people.inspector_a.pk
    assert first.context["inspector_page"].paginator.count == 4
    html = first.content.decode()
    assert "1–2 of 4" in html
    assert 'rel="next"' in html and 'rel="prev"' not in html
    second = table(client, page="2")
    shown = {r["inspector"]["id"] for r in second.context["inspectors"]}
    assert len(shown) == 2 and shown <= {i.pk for i in extra}
    assert 'rel="prev"' in second.content.decode()
    # The figures count every inspector of the street, whatever page is shown.
    page = client.get(PAGE)
    assert figures(page)["on_patrol"] == 3
    assert figures(page)["no_shift"] == 1
    assert page.context["inspector_total"] == 4


def test_anomalies_and_shortfalls_come_before_the_rest_and_are_marked(client, people, small_city):
    from django.utils import timezone

    from patrol.models import Shift, ShiftStatus

    calm, odd = _more_inspectors(_street_grids(people, small_city), 2, patrolling=0)
    report = {"distance_m": 100.0, "online_s": 60.0, "laps": 0, "checkpoints": []}
    for inspector, anomalies in ((calm, {}), (odd, {"jump": 2})):
        shift = start_shift(inspector)
        Shift.objects.filter(pk=shift.pk).update(
            status=ShiftStatus.CLOSED,
            ended_at=timezone.now(),
            report={**report, "anomaly_counts": anomalies},
            report_at=timezone.now(),
        )
    start_shift(people.inspector_a)  # on patrol: last
    client.force_login(people.supervisor)
    answer = table(client)
    order = [r["inspector"]["id"] for r in answer.context["inspectors"]]
    assert order == [odd.pk, calm.pk, people.inspector_a.pk]
    assert 'data-anomalies="2"' in inspector_row(answer, odd)
    assert "data-short" in inspector_row(answer, calm)  # an hour's walk short of the day's
    assert "data-short" not in inspector_row(answer, people.inspector_a)


def test_the_table_finds_an_inspector_by_name_login_or_grid(client, people, small_city):
    extra = _more_inspectors(_street_grids(people, small_city), 2)
    client.force_login(people.supervisor)

    def found(text):
        return [r["inspector"]["id"] for r in table(client, find=text).context["inspectors"]]

    assert found("巡1") == [extra[1].pk]
    assert found(people.inspector_a.username.upper()) == [people.inspector_a.pk]
    assert found(people.grid_a.code) == [people.inspector_a.pk]
    assert found("nobody-by-that-name") == []
    assert "nobody-by-that-name" in table(client, find="nobody-by-that-name").content.decode()
