"""The case page: what it shows to whom, and its forms, which take the API's steps."""

import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from cases import services
from cases.models import Case, CasePhoto, CaseTransition, Resolution, Status
from tests.factories import make_user


def page_of(client, user, case, query: str = ""):
    client.force_login(user)
    return client.get(reverse("desk-case", args=[case.number]) + query)


def offered(page) -> list[str]:
    """The actions the page offers, in its order."""
    return re.findall(
        r'<details class="case-action[^"]*" id="action-[^"]+" data-action="([^"]+)"',
        page.content.decode(),
    )


def act(client, case, action: str, query: str = "", **data):
    url = reverse("desk-case-action", args=[case.number, action]) + query
    return client.post(url, data)


def steps(case) -> list[str]:
    return list(
        CaseTransition.objects.filter(case=case)
        .order_by("at", "id")
        .values_list("action", flat=True)
    )


# --- what each person is offered --------------------------------------------------------------


def test_the_dispatcher_is_offered_exactly_the_steps_of_a_new_report(client, people, report):
    case = report()
    page = page_of(client, people.dispatcher, case)
    assert page.status_code == 200
    # …and moderation of what the public sees of it (the command centre moderates its area).
    assert offered(page) == ["file", "reject", "cancel", "escalate", "merge", "moderate"]


def test_the_department_is_offered_accept_return_and_extend_on_a_dispatched_case(
    client, people, report
):
    case = report(steps=["file", "dispatch"])
    page = page_of(client, people.staff, case)
    assert page.status_code == 200
    assert offered(page) == ["accept", "return", "extend", "suspend-request"]
    # Their workbench's queues in the left column.
    assert reverse("desk-queue", args=["department", "to-accept"]) in page.content.decode()


def test_a_supervisor_of_another_street_cannot_open_the_case(client, people, report):
    case = report()
    assert page_of(client, people.other_supervisor, case).status_code == 404
    assert page_of(client, people.supervisor, case).status_code == 200
    answer = act(client, case, "escalate", note="x")  # still the supervisor of street A
    assert answer.status_code == 303
    client.force_login(people.other_supervisor)
    assert act(client, case, "escalate", note="x").status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client, people, report):
    case = report()
    answer = client.get(reverse("desk-case", args=[case.number]))
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")


def test_a_step_of_another_role_is_the_403_page(client, people, report):
    case = report(steps=["file", "dispatch"])
    client.force_login(people.staff)
    answer = act(client, case, "reject", note="不是我们的")
    assert answer.status_code == 403
    assert Case.objects.get(pk=case.pk).status == Status.DISPATCHED


# --- what it shows -------------------------------------------------------------------------


def test_the_reporters_name_is_shown_to_the_dispatcher_the_phone_only_to_the_hotline(
    client, people, item
):
    centre = people.grid_a.geom.point_on_surface
    case = services.case_report(
        by=people.citizen,
        item=item,
        lon=centre.x,
        lat=centre.y,
        description="路面塌陷",
        contact_name="王先生",
        contact_phone="13800138000",
    ).case
    case = services.case_file(case=case, by=people.dispatcher)
    case = services.case_dispatch(case=case, by=people.dispatcher)
    dispatcher_sees = page_of(client, people.dispatcher, case).content.decode()
    assert "王先生" in dispatcher_sees and "13800138000" not in dispatcher_sees
    assert "13800138000" in page_of(client, people.admin, case).content.decode()
    staff_sees = page_of(client, people.staff, case).content.decode()
    assert "13800138000" not in staff_sees and "王先生" not in staff_sees
    # Neither knows who the citizen is: the timeline and the reporter say "Citizen".
    assert people.citizen.username not in dispatcher_sees
    assert "Citizen" in dispatcher_sees
    assert people.citizen.username in page_of(client, people.admin, case).content.decode()


def test_each_stage_shows_its_deadline_and_the_working_time_left(client, people, report):
    case = report(steps=["file", "dispatch"])
    page = page_of(client, people.dispatcher, case).content.decode()
    running = re.search(r'<tr class="running[^"]*" aria-current="step">(.*?)</tr>', page, re.S)
    assert running and "Handling" in running.group(1)
    assert re.search(r"\d+ working (days \d+ h|h \d+ min) left", running.group(1))
    Case.objects.filter(pk=case.pk).update(handle_due=timezone.now() - timedelta(days=9))
    page = page_of(client, people.dispatcher, case).content.decode()
    assert re.search(r"overdue by \d+ working days \d+ h", page)


def test_a_pending_extension_shows_the_deadline_now_and_once_approved(client, people, report):
    case = report(steps=["file", "dispatch", "accept", "extend"])
    page = page_of(client, people.dispatcher, case)
    assert offered(page)[-3:] == ["extend-approve", "extend-deny", "moderate"]
    text = page.content.decode()
    assert "Handling due now" in text and "Due once approved" in text and "Pending" in text


# --- the forms take the API's steps -----------------------------------------------------------


def test_a_form_files_then_dispatches_to_the_proposal_and_the_timeline_shows_it(
    client, people, report
):
    case = report()
    page_of(client, people.dispatcher, case)
    filed = act(client, case, "file", note="符合立案条件")
    assert filed.status_code == 303
    assert filed["Location"] == reverse("desk-case", args=[case.number])
    page = client.get(filed["Location"])
    text = page.content.decode()
    assert f"Filed {case.number}." in text  # the flash message
    assert "符合立案条件" in text
    proposal = re.search(r'<option value="([^"]+)" selected>[^<]*proposed', text)
    assert proposal and proposal.group(1) == people.department.code
    dispatched = act(client, case, "dispatch", department=proposal.group(1), note="")
    assert dispatched.status_code == 303
    case = Case.objects.get(pk=case.pk)
    assert case.status == Status.DISPATCHED and case.department_id == people.department.pk
    assert steps(case) == ["report", "file", "dispatch"]
    text = client.get(dispatched["Location"]).content.decode()
    assert f"Dispatched {case.number} to {people.department.name}." in text
    assert "Filed → Dispatched" in text


def test_a_reject_without_a_note_is_a_400_with_the_error_beside_the_note(client, people, report):
    case = report()
    client.force_login(people.dispatcher)
    answer = act(client, case, "reject", note="  ")
    assert answer.status_code == 400
    text = answer.content.decode()
    assert re.search(r'<details class="case-action danger" id="action-reject"[^>]* open>', text)
    assert re.search(r'<p class="field-error" id="reject-note-error">[^<]*note is required', text)
    assert 'aria-describedby="reject-note-error"' in text
    assert Case.objects.get(pk=case.pk).status == Status.REPORTED
    assert steps(case) == ["report"]


def test_a_bad_field_asked_for_as_json_is_the_apis_error(client, people, report):
    case = report(steps=["file"])
    client.force_login(people.dispatcher)
    answer = client.post(
        reverse("desk-case-action", args=[case.number, "dispatch"]),
        {"department": "no-such"},
        HTTP_ACCEPT="application/json",
    )
    assert answer.status_code == 400
    assert "department" in answer.json()["error"]["fields"]
    assert Case.objects.get(pk=case.pk).status == Status.FILED


def test_a_step_asked_for_as_json_answers_the_case_as_the_api_does(client, people, report):
    case = report()
    client.force_login(people.dispatcher)
    answer = client.post(
        reverse("desk-case-action", args=[case.number, "file"]),
        {"note": ""},
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    assert answer.status_code == 200
    assert answer.json()["status"] == "filed" and answer.json()["number"] == case.number


def test_the_second_dispatcher_to_file_is_told_who_filed_it_first(client, people, report):
    case = report()
    other = make_user("dispatcher-2", Role.DISPATCHER, district=people.dispatcher.district)
    client.force_login(other)
    stale = client.get(reverse("desk-case", args=[case.number]))
    assert "file" in offered(stale)
    client.force_login(people.dispatcher)
    assert act(client, case, "file", note="").status_code == 303
    client.force_login(other)
    answer = act(client, case, "file", note="")
    assert answer.status_code == 409
    text = answer.content.decode()
    banner = re.search(r'<div class="case-conflict" role="alert".*?</div>', text, re.S).group(0)
    assert "dispatcher" in banner and "“File”" in banner and "“Filed”" in banner
    assert "dispatch" in offered(answer) and "file" not in offered(answer)
    assert steps(case) == ["report", "file"]
    # The API says the same.
    again = client.post(
        reverse("desk-case-action", args=[case.number, "file"]),
        {"note": ""},
        HTTP_ACCEPT="application/json",
    )
    body = again.json()["error"]
    assert again.status_code == 409 and body["status"] == "filed"
    assert body["last_step"]["action"] == "file" and body["last_step"]["by"] == "dispatcher"


def test_the_apis_conflict_names_the_last_step_and_hides_a_citizen(client, people, item):
    centre = people.grid_a.geom.point_on_surface
    case = services.case_report(by=people.citizen, item=item, lon=centre.x, lat=centre.y).case
    client.force_login(people.dispatcher)
    answer = client.post(f"/api/v1/cases/{case.number}/close/", {"note": ""})
    body = answer.json()["error"]
    assert answer.status_code == 409
    assert body["last_step"]["action"] == "report"
    assert body["last_step"]["by"] == "Citizen"


def test_a_report_is_merged_into_the_open_case_nearby(client, people, report):
    first = report("井盖缺失")
    second = report("井盖又缺了")
    page = page_of(client, people.dispatcher, second).content.decode()
    nearby = re.search(r'<ul class="nearby">.*?</ul>', page, re.S).group(0)
    assert first.number in nearby and 'name="master"' in nearby
    merged = act(client, second, "merge", master=first.number)
    assert merged.status_code == 303
    second = Case.objects.get(pk=second.pk)
    assert second.status == Status.CLOSED and second.resolution == Resolution.DUPLICATE
    assert second.master_id == first.pk
    text = client.get(merged["Location"]).content.decode()
    assert f"Merged {second.number} into {first.number}." in text


def test_merging_into_an_unknown_case_names_the_master_field(client, people, report):
    case = report()
    client.force_login(people.dispatcher)
    answer = act(client, case, "merge", master="440306-20000101-000001")
    assert answer.status_code == 400
    assert 'id="merge-master-error"' in answer.content.decode()


# --- next case in the queue ---------------------------------------------------------------


def test_next_case_follows_the_queue_and_its_sort(client, people, report):
    cases = [report(f"第{n}件") for n in range(3)]
    oldest = "?from=dispatch:to-file&sort=oldest"
    page = page_of(client, people.dispatcher, cases[0], oldest).content.decode()
    second = reverse("desk-case", args=[cases[1].number])
    assert f'href="{second}?from=dispatch%3Ato-file&amp;sort=oldest"' in page
    newest = page_of(client, people.dispatcher, cases[2], "?from=dispatch:to-file&sort=newest")
    assert reverse("desk-case", args=[cases[1].number]) + "?" in newest.content.decode()
    last = page_of(client, people.dispatcher, cases[2], oldest).content.decode()
    assert 'id="next-case"' not in last


def test_file_and_next_opens_the_next_case_of_the_queue(client, people, report):
    first, second = report("一"), report("二")
    client.force_login(people.dispatcher)
    query = "?from=dispatch:to-file&sort=oldest"
    answer = act(client, first, "file", query, note="", next="1")
    assert answer.status_code == 303
    assert answer["Location"] == (
        reverse("desk-case", args=[second.number]) + "?from=dispatch%3Ato-file&sort=oldest"
    )
    # The last of the queue leads back to the queue.
    answer = act(client, second, "file", query, note="", next="1")
    assert (
        answer["Location"] == reverse("desk-queue", args=["dispatch", "to-file"]) + "?sort=oldest"
    )


# --- cost ----------------------------------------------------------------------------------


def _grow(case, people, n: int) -> None:
    now = timezone.now()
    for i in range(n):
        CaseTransition.objects.create(
            case=case,
            action="escalate",
            from_state=case.status,
            to_state=case.status,
            actor=people.supervisor if i % 2 else people.citizen,
            at=now + timedelta(seconds=i),
            note=f"催办 {i}",
        )
        CasePhoto.objects.create(
            case=case,
            stage="report",
            original=f"cases/x/original/{i}.jpg",
            display=f"cases/x/display/{i}.jpg",
            thumbnail=f"cases/x/thumb/{i}.jpg",
            width=64,
            height=48,
            size=100,
            sha256=f"{i:064d}",
            uploaded_by=people.inspector_a,
        )


def test_the_case_page_costs_the_same_queries_with_1_or_10_steps_and_photos(client, people, report):
    small, big = report("一"), report("二")
    _grow(small, people, 1)
    _grow(big, people, 10)
    client.force_login(people.dispatcher)
    counts = []
    for case in (small, big):
        url = reverse("desk-case", args=[case.number]) + "?from=dispatch:to-file"
        client.get(url)  # the code books and the calendar are read once per process
        reads = []
        # A per-process cache checks its table now and then (a query in either read): the
        # smaller of two reads is the page's own cost.
        for _ in range(2):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            reads.append(len(queries))
        counts.append(min(reads))
    assert counts[0] == counts[1], counts
    # Most of them are the left column's queue counts (three a queue, eight queues).
    assert counts[1] <= 50


def test_a_citizens_report_is_confirmed_on_site_through_the_case_page(client, people, item):
    centre = people.grid_a.geom.point_on_surface
    case = services.case_report(
        by=people.citizen, item=item, lon=centre.x, lat=centre.y, description="路灯不亮"
    ).case
    client.force_login(people.dispatcher)
    asked = client.post(reverse("desk-case-action", args=[case.number, "confirm-request"]))
    assert asked.status_code == 303
    client.force_login(people.inspector_a)
    page = client.get(reverse("desk-case", args=[case.number])).content.decode()
    assert 'name="found"' in page  # the found / not found choice of 核实

    refused = client.post(
        reverse("desk-case-action", args=[case.number, "confirm"]), {"found": "false"}
    )
    assert refused.status_code == 400  # not found needs a note: nothing written
    assert Case.objects.get(pk=case.pk).confirmation == "requested"

    done = client.post(
        reverse("desk-case-action", args=[case.number, "confirm"]),
        {"found": "true", "note": "现场属实"},
    )
    assert done.status_code == 303
    confirmed = Case.objects.get(pk=case.pk)
    assert (confirmed.status, confirmed.confirmation) == (Status.REPORTED, "found")
    assert confirmed.timeline.filter(action="confirm", note="现场属实").exists()
