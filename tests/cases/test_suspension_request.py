"""挂账申请: a department asks for a case to be put on hold, an approver approves or denies.

The request shares the extension's table (one request of either kind waits per case), its
queues (the dispatcher's 待审批, the department's 申请中) and its rules of who may do what.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from cases import services
from cases.actions import actions_for
from cases.models import Case, CaseExtension, CaseTransition, Notification, RequestKind
from cases.selectors import cases_in_queue, with_pending_request
from tests.cases.conftest import act, reported
from tests.factories import DepartmentFactory, make_user

pytestmark = pytest.mark.django_db


def steps(number: str) -> list[tuple[str, str, str]]:
    return list(
        CaseTransition.objects.filter(case__number=number)
        .order_by("at", "id")
        .values_list("action", "from_state", "to_state")
    )


def handling_case(client, people, taxonomy) -> str:
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    act(client, people.dispatcher, number, "file")
    act(client, people.dispatcher, number, "dispatch")
    act(client, people.staff, number, "accept")
    return number


def test_the_department_asks_and_the_request_waits_for_an_approver(client, people, taxonomy):
    number = handling_case(client, people, taxonomy)

    asked = act(client, people.staff, number, "suspend-request", note="等待法院裁定")

    assert asked.status_code == 200, asked.content
    body = asked.json()
    assert body["status"] == "handling"
    assert body["extension_pending"]["kind"] == "suspension"
    assert body["extension_pending"]["amount"] is None
    assert body["extension_pending"]["reason"] == "等待法院裁定"
    assert steps(number)[-1] == ("suspend-request", "handling", "handling")
    request = CaseExtension.objects.get(case__number=number)
    assert (request.kind, request.decision, request.unit) == ("suspension", "pending", "")
    assert Notification.objects.filter(user=people.supervisor, kind="suspension").exists()
    assert Notification.objects.filter(user=people.dispatcher, kind="suspension").exists()
    # The dispatcher's 待审批 and the department's 申请中 both list it.
    assert cases_in_queue(people.dispatcher, "to-approve").filter(number=number).exists()
    assert cases_in_queue(people.staff, "requested").filter(number=number).exists()


def test_an_approved_request_suspends_the_case_by_the_approver(client, people, taxonomy):
    number = handling_case(client, people, taxonomy)
    act(client, people.staff, number, "suspend-request", note="等待法院裁定")

    approved = act(client, people.supervisor, number, "suspend-approve", note="同意挂账")

    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "suspended"
    assert approved.json()["extension_pending"] is None
    assert steps(number)[-2:] == [
        ("suspend-request", "handling", "handling"),
        ("suspend-approve", "handling", "suspended"),
    ]
    decision = CaseTransition.objects.filter(case__number=number).order_by("-id").first()
    assert (decision.actor, decision.note) == (people.supervisor, "同意挂账")
    request = CaseExtension.objects.get(case__number=number)
    assert (request.decision, request.decided_by) == ("approved", people.supervisor)
    case = Case.objects.get(number=number)
    assert case.suspended_from == "handling" and case.suspended_at is not None
    assert Notification.objects.filter(user=people.staff, kind="suspension_decided").exists()
    assert not cases_in_queue(people.dispatcher, "to-approve").filter(number=number).exists()
    # Held, and back where it was when resumed, as a direct suspension is.
    assert act(client, people.staff, number, "handle", note="x").status_code == 409
    assert act(client, people.supervisor, number, "resume").json()["status"] == "handling"


def test_a_denied_request_leaves_the_case_with_the_department(client, people, taxonomy):
    number = handling_case(client, people, taxonomy)
    act(client, people.staff, number, "suspend-request", note="等待法院裁定")

    denied = act(client, people.dispatcher, number, "suspend-deny", note="可先行处置")

    assert denied.status_code == 200, denied.content
    assert denied.json()["status"] == "handling"
    assert steps(number)[-1] == ("suspend-deny", "handling", "handling")
    assert CaseExtension.objects.get(case__number=number).decision == "denied"
    assert act(client, people.dispatcher, number, "suspend-approve").status_code == 409
    # Denied, the department may ask again (or ask for time instead).
    again = act(client, people.staff, number, "suspend-request", note="仍需等待")
    assert again.status_code == 200, again.content


def test_one_request_of_either_kind_waits_per_case(client, people, taxonomy):
    number = handling_case(client, people, taxonomy)
    act(client, people.staff, number, "extend", amount=2, unit="work_days", note="需采购")

    refused = act(client, people.staff, number, "suspend-request", note="等待法院裁定")

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "extension_pending"
    assert CaseExtension.objects.filter(case__number=number).count() == 1
    # An approver's step decides only the kind of request that waits.
    answer = act(client, people.supervisor, number, "suspend-approve")
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "no_suspension_request"
    assert Case.objects.get(number=number).status == "handling"


def test_a_waiting_suspension_is_not_decided_as_an_extension(client, people, taxonomy):
    number = handling_case(client, people, taxonomy)
    due = Case.objects.get(number=number).handle_due
    act(client, people.staff, number, "suspend-request", note="等待法院裁定")

    assert act(client, people.staff, number, "extend", amount=1, unit="work_days", note="x").json()[
        "error"
    ]["code"] == ("extension_pending")
    answer = act(client, people.supervisor, number, "extend-approve")

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "no_extension"
    assert Case.objects.get(number=number).handle_due == due


def test_a_request_says_why(client, people, taxonomy):
    number = handling_case(client, people, taxonomy)
    before = steps(number)

    answer = act(client, people.staff, number, "suspend-request", note="  ")

    assert answer.status_code == 400
    assert "note" in answer.json()["error"]["fields"]
    assert steps(number) == before
    assert not CaseExtension.objects.filter(case__number=number).exists()


@pytest.mark.parametrize("state", ["dispatched", "handling"])
def test_the_department_may_ask_while_it_holds_the_case(client, people, taxonomy, state):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    act(client, people.dispatcher, number, "file")
    act(client, people.dispatcher, number, "dispatch")
    if state == "handling":
        act(client, people.staff, number, "accept")

    assert act(client, people.staff, number, "suspend-request", note="x").status_code == 200


def test_a_handled_case_takes_no_request(client, people, taxonomy):
    number = handling_case(client, people, taxonomy)
    act(client, people.staff, number, "handle", note="已处置")

    answer = act(client, people.staff, number, "suspend-request", note="x")

    assert answer.status_code == 409
    assert answer.json()["error"]["status"] == "handled"


def test_only_the_department_asks_and_only_an_approver_decides(client, people, taxonomy):
    number = handling_case(client, people, taxonomy)
    other = make_user(
        "staff-other", Role.STAFF, department=DepartmentFactory(code="huanbao", name="环保")
    )

    assert act(client, people.dispatcher, number, "suspend-request", note="x").status_code == 403
    assert act(client, other, number, "suspend-request", note="x").status_code == 404
    act(client, people.staff, number, "suspend-request", note="等待法院裁定")
    assert act(client, people.staff, number, "suspend-approve").status_code == 403
    assert act(client, people.other_supervisor, number, "suspend-approve").status_code == 404
    assert Case.objects.get(number=number).status == "handling"


def test_the_actions_offered_follow_the_request(client, people, taxonomy):
    number = handling_case(client, people, taxonomy)
    case = Case.objects.get(number=number)
    assert "suspend-request" in [a.name for a in actions_for(people.staff, case)]
    act(client, people.staff, number, "suspend-request", note="等待法院裁定")
    case = Case.objects.get(number=number)

    staff = [a.name for a in actions_for(people.staff, case)]
    supervisor = [a.name for a in actions_for(people.supervisor, case)]

    assert "suspend-request" not in staff and "extend" not in staff
    assert {"suspend-approve", "suspend-deny"} <= set(supervisor)
    assert not {"extend-approve", "extend-deny"} & set(supervisor)


def test_a_page_reads_the_waiting_request_once(client, people, taxonomy):
    asked = handling_case(client, people, taxonomy)
    act(client, people.staff, asked, "suspend-request", note="等待法院裁定")
    quiet = handling_case(client, people, taxonomy)
    cases = {c.number: c for c in with_pending_request(Case.objects.all())}
    assert cases[asked].pending_request_kind == RequestKind.SUSPENSION
    assert cases[quiet].pending_request_kind is None

    with CaptureQueriesContext(connection) as queries:
        offered = {n: [a.name for a in actions_for(people.supervisor, c)] for n, c in cases.items()}

    assert not [q for q in queries.captured_queries if "caseextension" in q["sql"]]
    assert "suspend-approve" in offered[asked]
    assert "suspend-approve" not in offered[quiet]


def test_a_direct_suspension_answers_the_waiting_request(people, taxonomy, client):
    number = handling_case(client, people, taxonomy)
    act(client, people.staff, number, "suspend-request", note="等待法院裁定")
    case = Case.objects.get(number=number)

    services.case_suspend(case=case, by=people.dispatcher, note="挂账")

    request = CaseExtension.objects.get(case=case)
    assert (request.decision, request.decided_by) == ("approved", people.dispatcher)
    services.case_resume(case=case, by=people.dispatcher)
    assert not cases_in_queue(people.dispatcher, "to-approve").filter(pk=case.pk).exists()


def test_a_request_left_waiting_is_withdrawn_when_the_case_is_handled(client, people, taxonomy):
    number = handling_case(client, people, taxonomy)
    act(client, people.staff, number, "suspend-request", note="等待法院裁定")

    act(client, people.staff, number, "handle", note="已处置")

    assert CaseExtension.objects.get(case__number=number).decision == "withdrawn"
    # Sent back for rework later, the old request does not come back to the approvers.
    act(client, people.dispatcher, number, "request-verify")
    act(client, people.inspector_a, number, "verify", passed=False, note="未修复")
    assert Case.objects.get(number=number).status == "dispatched"
    assert not cases_in_queue(people.dispatcher, "to-approve").filter(number=number).exists()
    assert act(client, people.staff, number, "suspend-request", note="再申请").status_code == 200
