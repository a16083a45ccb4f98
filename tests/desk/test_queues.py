"""The workbench queues: who lands where, what each queue holds, its counts and its table."""

import pytest
from django.urls import reverse

from accounts import policy
from cases.actions import actions_for
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
    case = report()
    assert [a.name for a in actions_for(people.dispatcher, case)] == [
        "file",
        "reject",
        "cancel",
        "escalate",
        "merge",
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
