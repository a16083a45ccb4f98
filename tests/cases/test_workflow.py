"""The case workflow through the API, with the personas who really do each step."""

from unittest.mock import ANY

import pytest

from cases.models import Case, CaseTransition, Notification
from tests.cases.conftest import act, reported

pytestmark = pytest.mark.django_db


def steps(number: str) -> list[tuple[str, str, str]]:
    return list(
        CaseTransition.objects.filter(case__number=number)
        .order_by("at", "id")
        .values_list("action", "from_state", "to_state")
    )


def test_report_to_close_with_the_right_personas(client, people, taxonomy):
    case = reported(client, people.inspector_a, people.grid_a, taxonomy.component)
    number = case["number"]
    assert case["status"] == "reported" and case["grid"] == people.grid_a.code
    assert case["source"] == "inspector"

    assert act(client, people.dispatcher, number, "file").status_code == 200
    dispatched = act(client, people.dispatcher, number, "dispatch")
    assert dispatched.status_code == 200, dispatched.content
    assert dispatched.json()["department"] == people.department.code
    assert dispatched.json()["handle_due"] is not None
    assert act(client, people.staff, number, "accept").status_code == 200
    handled = act(client, people.staff, number, "handle", note="已补齐井盖")
    assert handled.status_code == 200, handled.content
    asked = act(client, people.dispatcher, number, "request-verify")
    assert asked.json()["verifier"] == people.inspector_a.username
    verified = act(client, people.inspector_a, number, "verify", passed=True, note="现场核查通过")
    assert verified.status_code == 200, verified.content

    body = verified.json()
    assert body["status"] == "closed" and body["resolution"] == "resolved"
    assert body["closed_on_time"] is True
    assert steps(number) == [
        ("report", "", "reported"),
        ("file", "reported", "filed"),
        ("dispatch", "filed", "dispatched"),
        ("accept", "dispatched", "handling"),
        ("handle", "handling", "handled"),
        ("request-verify", "handled", "verifying"),
        ("verify", "verifying", "closed"),
    ]
    assert [t["action"] for t in body["timeline"]] == [s[0] for s in steps(number)]


def test_an_event_goes_to_the_street_office_first(client, people, taxonomy):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.event)["number"]
    act(client, people.dispatcher, number, "file")

    dispatched = act(client, people.dispatcher, number, "dispatch")

    assert dispatched.json()["department"] == taxonomy.street_office.code


def test_the_dispatcher_may_choose_another_department(client, people, taxonomy):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    act(client, people.dispatcher, number, "file")

    dispatched = act(client, people.dispatcher, number, "dispatch", department="jd-a")

    assert dispatched.json()["department"] == "jd-a"


def test_reject_needs_a_reason_and_ends_the_case(client, people, taxonomy):
    number = reported(client, people.citizen, people.grid_a, taxonomy.event)["number"]

    without = act(client, people.dispatcher, number, "reject")
    assert without.status_code == 400
    assert "note" in without.json()["error"]["fields"]
    assert Case.objects.get(number=number).status == "reported"

    rejected = act(client, people.dispatcher, number, "reject", note="不符合立案条件")
    assert rejected.json()["status"] == "rejected"
    assert act(client, people.dispatcher, number, "file").status_code == 409


def test_return_and_redispatch_to_another_department(client, people, taxonomy):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    act(client, people.dispatcher, number, "file")
    act(client, people.dispatcher, number, "dispatch")

    returned = act(client, people.staff, number, "return", note="不属于本部门")
    assert returned.json()["status"] == "returned"
    assert Notification.objects.filter(user=people.dispatcher, kind="returned").exists()

    again = act(client, people.dispatcher, number, "redispatch", department="jd-a")
    assert again.json()["status"] == "dispatched" and again.json()["department"] == "jd-a"
    # The first department no longer holds the case.
    assert act(client, people.staff, number, "accept").status_code in (403, 404)


def dispatched_case(client, people, taxonomy) -> str:
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    act(client, people.dispatcher, number, "file")
    act(client, people.dispatcher, number, "dispatch")
    return number


def handled_case(client, people, taxonomy) -> str:
    number = dispatched_case(client, people, taxonomy)
    act(client, people.staff, number, "accept")
    act(client, people.staff, number, "handle", note="已处置")
    return number


def test_a_failed_verification_sends_the_case_back_for_rework(client, people, taxonomy):
    number = handled_case(client, people, taxonomy)
    act(client, people.dispatcher, number, "request-verify")

    failed = act(client, people.inspector_a, number, "verify", passed=False, note="仍有缺失")

    body = failed.json()
    assert body["status"] == "dispatched" and body["rework_count"] == 1
    assert Notification.objects.filter(user=people.staff, kind="rework").exists()
    act(client, people.staff, number, "accept")
    act(client, people.staff, number, "handle", note="返工完成")
    act(client, people.dispatcher, number, "request-verify")
    closed = act(client, people.inspector_a, number, "verify", passed=True)
    assert closed.json()["status"] == "closed" and closed.json()["rework_count"] == 1


def test_a_failed_verification_needs_a_reason(client, people, taxonomy):
    number = handled_case(client, people, taxonomy)
    act(client, people.dispatcher, number, "request-verify")

    assert act(client, people.inspector_a, number, "verify", passed=False).status_code == 400


def test_only_the_grids_inspector_verifies(client, people, taxonomy):
    number = handled_case(client, people, taxonomy)
    act(client, people.dispatcher, number, "request-verify")

    # Inspector B cannot even see a case in grid A.
    assert act(client, people.inspector_b, number, "verify", passed=True).status_code == 404
    assert act(client, people.staff, number, "verify", passed=True).status_code == 403


def test_the_command_centre_may_close_a_handled_case_itself(client, people, taxonomy):
    number = handled_case(client, people, taxonomy)

    closed = act(client, people.dispatcher, number, "close", note="视频核实")

    assert closed.json()["status"] == "closed"


def test_suspend_and_resume_return_to_the_same_state_and_push_deadlines(
    client, people, taxonomy, time_machine
):
    time_machine.move_to("2026-11-24 10:00 +08:00", tick=False)
    number = dispatched_case(client, people, taxonomy)
    due = Case.objects.get(number=number).handle_due

    assert act(client, people.staff, number, "suspend", note="x").status_code == 403
    suspended = act(client, people.supervisor, number, "suspend", note="等待法院裁定")
    assert suspended.json()["status"] == "suspended"
    assert act(client, people.staff, number, "accept").status_code == 409
    time_machine.shift(3600 * 24)

    resumed = act(client, people.supervisor, number, "resume")

    assert resumed.json()["status"] == "dispatched"
    assert Case.objects.get(number=number).handle_due > due


def test_an_extension_is_asked_by_the_department_and_approved_by_a_supervisor(
    client, people, taxonomy
):
    number = dispatched_case(client, people, taxonomy)
    act(client, people.staff, number, "accept")
    due = Case.objects.get(number=number).handle_due

    asked = act(client, people.staff, number, "extend", amount=2, unit="work_days", note="需采购")
    assert asked.status_code == 200, asked.content
    assert asked.json()["extension_pending"]["amount"] == 2
    assert act(client, people.staff, number, "extend", amount=1, unit="work_days", note="再要")
    assert Notification.objects.filter(user=people.supervisor, kind="extension").exists()

    assert act(client, people.staff, number, "extend-approve").status_code == 403
    approved = act(client, people.supervisor, number, "extend-approve")

    assert approved.status_code == 200
    assert Case.objects.get(number=number).handle_due > due
    assert approved.json()["extension_pending"] is None
    assert act(client, people.supervisor, number, "extend-deny").status_code == 409


def test_a_second_extension_request_waits_for_the_first(client, people, taxonomy):
    number = dispatched_case(client, people, taxonomy)
    act(client, people.staff, number, "extend", amount=2, unit="work_days", note="需采购")

    again = act(client, people.staff, number, "extend", amount=1, unit="work_days", note="再要")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "extension_pending"


def test_a_denied_extension_leaves_the_deadline(client, people, taxonomy):
    number = dispatched_case(client, people, taxonomy)
    due = Case.objects.get(number=number).handle_due
    act(client, people.staff, number, "extend", amount=2, unit="work_days", note="需采购")

    denied = act(client, people.dispatcher, number, "extend-deny", note="可当日完成")

    assert denied.status_code == 200
    assert Case.objects.get(number=number).handle_due == due


def test_escalation_by_the_streets_supervisor_only(client, people, taxonomy):
    number = dispatched_case(client, people, taxonomy)

    assert act(client, people.other_supervisor, number, "escalate").status_code == 404
    assert act(client, people.inspector_a, number, "escalate").status_code == 403
    escalated = act(client, people.supervisor, number, "escalate", note="请加快处置")
    assert escalated.json()["escalated"] is True
    assert act(client, people.supervisor, number, "escalate").status_code == 409


def test_cancel_before_dispatch_only(client, people, taxonomy):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    act(client, people.dispatcher, number, "file")
    act(client, people.dispatcher, number, "dispatch")

    refused = act(client, people.dispatcher, number, "cancel", note="误报")

    assert refused.status_code == 409
    assert refused.json()["error"]["status"] == "dispatched"


def test_a_reporter_may_withdraw_an_unfiled_report(client, people, taxonomy):
    number = reported(client, people.citizen, people.grid_a, taxonomy.event)["number"]

    withdrawn = act(client, people.citizen, number, "cancel", note="已自行解决")

    assert withdrawn.json()["status"] == "cancelled"


def test_merging_a_duplicate_closes_it_and_tells_its_reporter(client, people, taxonomy):
    master = reported(client, people.inspector_a, people.grid_a, taxonomy.event)["number"]
    duplicate = reported(client, people.citizen, people.grid_a, taxonomy.event)["number"]

    merged = act(client, people.dispatcher, duplicate, "merge", master=master)

    assert merged.status_code == 200, merged.content
    assert merged.json()["status"] == "closed" and merged.json()["resolution"] == "duplicate"
    assert merged.json()["master"] == master
    assert Notification.objects.filter(user=people.citizen, kind="closed").exists()


def test_a_role_that_may_not_gets_403_and_nothing_changes(client, people, taxonomy):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]

    refused = act(client, people.inspector_a, number, "file")

    assert refused.status_code == 403
    assert Case.objects.get(number=number).status == "reported"
    assert len(steps(number)) == 1


def test_a_state_that_does_not_allow_it_gets_409_with_the_current_state(client, people, taxonomy):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]

    refused = act(client, people.dispatcher, number, "dispatch")

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error == {
        "code": "invalid_state",
        "message": error["message"],
        "status": "reported",
        # who did what last: here the report itself, by the inspector
        "last_step": {"action": "report", "by": people.inspector_a.username, "at": ANY},
    }
    assert "Reported" in error["message"]


def test_a_duplicate_cannot_be_merged_into_a_rejected_case(client, people, taxonomy):
    master = reported(client, people.inspector_a, people.grid_a, taxonomy.event)["number"]
    act(client, people.dispatcher, master, "reject", note="不符合立案条件")
    duplicate = reported(client, people.citizen, people.grid_a, taxonomy.event)["number"]

    refused = act(client, people.dispatcher, duplicate, "merge", master=master)

    assert refused.status_code == 400
    assert "master" in refused.json()["error"]["fields"]
    assert Case.objects.get(number=duplicate).status == "reported"


def test_the_reporter_rates_a_resolved_case_once(client, people, taxonomy):
    number = handled_case(client, people, taxonomy)
    assert act(client, people.inspector_a, number, "rate", rating=4).status_code == 409
    act(client, people.dispatcher, number, "close")

    assert act(client, people.inspector_a, number, "rate", rating=9).status_code == 400
    assert act(client, people.dispatcher, number, "rate", rating=5).status_code == 403
    rated = act(client, people.inspector_a, number, "rate", rating=4, note="处理及时")
    assert rated.status_code == 200 and rated.json()["rating"] == 4
    again = act(client, people.inspector_a, number, "rate", rating=1)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"
    assert Case.objects.get(number=number).rating == 4
