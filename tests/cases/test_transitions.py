"""The workflow's field changes (cases.transitions) move a plain object, as the bulk seeder holds
a case, exactly as they move a Case through its django-fsm methods, as the services do."""

from datetime import UTC, datetime, timedelta

import pytest
from django_fsm import TransitionNotAllowed

from cases import transitions
from cases.calendar import calendar_current
from cases.models import Case, Status, TimeUnit

AT = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Shanghai
HOUR = timedelta(hours=1)
pytestmark = pytest.mark.django_db  # the working calendar reads its overrides
FIELDS = (
    "status",
    "suspended_from",
    "resolution",
    "master_id",
    "department_id",
    "assignee_id",
    "verifier_id",
    "filed_at",
    "dispatched_at",
    "handled_at",
    "closed_at",
    "callback_due",
    "suspended_at",
    "file_due",
    "dispatch_due",
    "handle_due",
    "verify_due",
    "warned_at",
    "overdue",
    "escalated",
    "rework_count",
    "closed_on_time",
)
UNITS = {
    "file": TimeUnit.WORK_HOURS,
    "dispatch": TimeUnit.WORK_HOURS,
    "handle": TimeUnit.WORK_DAYS,
    "verify": TimeUnit.CLOCK_HOURS,
}


class Plain:
    """What the seeder moves: nothing but the case's fields."""


def inputs(name: str) -> dict:
    """The inputs each transition takes, as a service would compute them."""
    return {
        "file": {"dispatch_due": AT + HOUR},
        "merge": {"master_id": 7, "master_number": "440306-20260304-000007"},
        "dispatch": {"department_id": 3, "department_code": "cg", "handle_due": AT + 30 * HOUR},
        "redispatch": {"department_id": 4, "department_code": "hb", "handle_due": AT + HOUR},
        "return_": {"dispatch_due": AT + 2 * HOUR, "department_code": "cg"},
        "accept": {"assignee_id": 11},
        "request_verify": {
            "verifier_id": 12,
            "verifier_name": "inspector",
            "verify_due": AT + 4 * HOUR,
        },
        "verify_fail": {"handle_due": AT + 20 * HOUR},
        "reopen": {"handle_due": AT + 20 * HOUR, "dispatch_due": AT + 2 * HOUR},
        "resume": {"calendar": calendar_current(), "units": UNITS},
    }.get(name, {})


def case_fields(status: str) -> dict:
    """A case in ``status`` part-way through the workflow, some of its clocks running."""
    return {
        "status": status,
        "suspended_from": Status.HANDLING if status == Status.SUSPENDED else "",
        "resolution": "resolved" if status == Status.CLOSED else "",
        "master_id": None,
        "department_id": 3,
        "assignee_id": 11,
        "verifier_id": None,
        "filed_at": AT - 50 * HOUR,
        "dispatched_at": AT - 40 * HOUR,
        "handled_at": AT - 2 * HOUR if status in (Status.HANDLED, Status.VERIFYING) else None,
        "closed_at": AT - HOUR if status == Status.CLOSED else None,
        "callback_due": AT + 30 * HOUR if status == Status.CLOSED else None,
        "suspended_at": AT - 100 * HOUR if status == Status.SUSPENDED else None,
        "file_due": AT - 60 * HOUR,
        "dispatch_due": AT - 45 * HOUR,
        "handle_due": AT + 3 * HOUR,
        "verify_due": AT + 6 * HOUR,
        "warned_at": AT - HOUR,
        "overdue": True,
        "escalated": True,
        "rework_count": 1,
        "closed_on_time": None,
    }


def edges() -> list[tuple[str, str]]:
    """Every (transition, source state) of the model's state machine."""
    return sorted(
        (t.name, t.source) for t in Case._meta.get_field("status").get_all_transitions(Case)
    )


def test_every_transition_of_the_state_machine_has_its_field_change():
    assert {name for name, _source in edges()} == set(transitions.CHANGES)


@pytest.mark.parametrize(("name", "source"), edges())
def test_a_plain_object_moves_as_the_case_does(name, source):
    case = Case(**case_fields(source))
    plain = Plain()
    for field, value in case_fields(source).items():
        setattr(plain, field, value)

    told_case = transitions.advance(case, name, at=AT, **inputs(name))
    told_plain = transitions.advance(plain, name, at=AT, **inputs(name))

    assert told_plain == told_case
    assert {f: getattr(plain, f) for f in FIELDS} == {f: getattr(case, f) for f in FIELDS}
    assert case.status != source or name == "resume"


@pytest.mark.parametrize("name", sorted(transitions.CHANGES))
def test_a_step_the_workflow_refuses_moves_neither(name):
    state = Status.REJECTED  # final: no transition leaves it
    plain = Plain()
    for field, value in case_fields(state).items():
        setattr(plain, field, value)
    case = Case(**case_fields(state))

    with pytest.raises(TransitionNotAllowed):
        transitions.advance(plain, name, at=AT, **inputs(name))
    with pytest.raises(TransitionNotAllowed):
        transitions.advance(case, name, at=AT, **inputs(name))
    assert {f: getattr(plain, f) for f in FIELDS} == case_fields(state)


def test_a_restarted_clock_never_moves_a_deadline_back():
    plain = Plain()
    for field, value in case_fields(Status.VERIFYING).items():
        setattr(plain, field, value)

    transitions.advance(plain, "verify_fail", at=AT, handle_due=AT + HOUR)

    assert plain.handle_due == AT + 3 * HOUR
    assert (plain.status, plain.rework_count, plain.assignee_id) == (Status.DISPATCHED, 2, None)


def test_resume_gives_each_clock_the_time_on_hold_in_its_own_unit():
    plain = Plain()
    for field, value in case_fields(Status.SUSPENDED).items():
        setattr(plain, field, value)

    detail = transitions.advance(plain, "resume", at=AT, **inputs("resume"))

    assert plain.status == Status.HANDLING and plain.suspended_from == ""
    assert plain.verify_due == AT + 6 * HOUR + 100 * HOUR  # round-the-clock: all of it
    working = detail["held_working_hours"]  # working hours only, on the working calendar
    assert 0 < working < 100
    assert plain.handle_due == calendar_current().deadline(
        AT + 3 * HOUR, working, TimeUnit.WORK_HOURS
    )
    assert detail["held_seconds"] == 100 * 3600


def test_reopen_sends_a_handled_case_back_to_its_department_with_a_fresh_clock():
    plain = Plain()
    for field, value in case_fields(Status.CLOSED).items():
        setattr(plain, field, value)

    detail = transitions.advance(plain, "reopen", at=AT, **inputs("reopen"))

    assert (plain.status, plain.rework_count, plain.resolution) == (Status.DISPATCHED, 2, "")
    assert (plain.handle_due, plain.closed_at, plain.callback_due) == (AT + 20 * HOUR, None, None)
    assert detail == {"rework": 2}


def test_reopen_of_a_case_never_dispatched_goes_to_the_command_centre():
    plain = Plain()
    for field, value in {**case_fields(Status.CLOSED), "department_id": None}.items():
        setattr(plain, field, value)
    plain.resolution = "answered"

    transitions.advance(plain, "reopen", at=AT, **inputs("reopen"))

    assert (plain.status, plain.dispatch_due) == (Status.FILED, AT + 2 * HOUR)


def test_a_duplicate_closed_into_another_case_cannot_be_reopened():
    plain = Plain()
    for field, value in case_fields(Status.CLOSED).items():
        setattr(plain, field, value)
    plain.resolution = "duplicate"

    with pytest.raises(TransitionNotAllowed):
        transitions.advance(plain, "reopen", at=AT, **inputs("reopen"))
