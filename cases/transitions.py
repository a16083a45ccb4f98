"""What each step of the case workflow changes, as functions without I/O.

A transition has two halves, each written once:

- the state machine: ``Case``'s django-fsm ``@transition`` methods (``cases/models.py``) say
  from which states a transition leaves, where it goes, and the machine's own bookkeeping
  (``suspended_from``, ``resolution``, ``rework_count``);
- the clocks and the people: the function of the same name here, given the moment, the inputs
  and the deadlines the working calendar gives, changes the case's other fields and returns
  the detail of the step's timeline row.

``advance(case, name, at=…, **inputs)`` runs both halves. On a ``Case`` it calls the FSM method
(what ``cases.services`` does under the row lock); on any other object with the case's fields
(the bulk seeder's in ``cases.demo``) it reads the same transition from the model and runs the
same method body. So the seeder and the services cannot move a case differently.

Nothing here reads the database or the clock: the callers compute deadlines
(``cases.calendar``) and pass them in; ``resume`` is given the calendar itself.
"""

from datetime import UTC, datetime
from functools import cache

from django_fsm import State, TransitionNotAllowed

from cases import workcal
from cases.models import Case


def later(old: datetime | None, new: datetime) -> datetime:
    """A restarted stage's deadline: a fresh clock, but never earlier than one already given
    (an extension or a hold may have pushed it further)."""
    return new if old is None or new > old else old


# --- the field changes, one per FSM transition of Case ------------------------------------
# Each is called after the FSM moved the status and returns the timeline row's detail.


def file(c, *, at: datetime, dispatch_due: datetime) -> dict:  # 立案
    c.filed_at = at
    c.dispatch_due = dispatch_due
    return {}


def reject(c, *, at: datetime) -> dict:  # 不予立案
    c.closed_at = at
    return {}


def cancel(c, *, at: datetime) -> dict:  # 作废
    c.closed_at = at
    return {}


def merge(c, *, at: datetime, master_id: int, master_number: str) -> dict:
    c.master_id = master_id
    c.closed_at = at
    return {"master": master_number}


def answer(c, *, at: datetime) -> dict:  # 直接办结: answered at once, on time by definition
    c.closed_at = at
    c.closed_on_time = True
    return {}


def dispatch(
    c, *, at: datetime, department_id: int, department_code: str, handle_due: datetime
) -> dict:  # 派遣, and 重新派遣: the handling clock starts
    c.department_id = department_id
    c.assignee_id = None
    c.dispatched_at = at
    c.handle_due = later(c.handle_due, handle_due)
    c.overdue = False
    c.warned_at = None
    return {"department": department_code}


redispatch = dispatch


def return_(c, *, at: datetime, dispatch_due: datetime, department_code: str | None) -> dict:
    # 回退: the dispatch clock runs again for the command centre.
    c.dispatch_due = later(c.dispatch_due, dispatch_due)
    return {"department": department_code}


def accept(c, *, at: datetime, assignee_id: int | None) -> dict:  # 签收
    c.assignee_id = assignee_id
    return {}


def handle(c, *, at: datetime) -> dict:  # 处置 → 反馈
    c.handled_at = at
    return {}


def request_verify(
    c, *, at: datetime, verifier_id: int | None, verifier_name: str | None, verify_due: datetime
) -> dict:  # 核查 requested from the grid's inspector
    c.verifier_id = verifier_id
    c.verify_due = later(c.verify_due, verify_due)
    return {"verifier": verifier_name}


def _closed(c, at: datetime) -> None:
    c.closed_at = at
    c.closed_on_time = c.handle_due is None or (c.handled_at or at) <= c.handle_due


def verify_pass(c, *, at: datetime) -> dict:  # 核查通过 → 结案
    _closed(c, at)
    return {"passed": True}


def verify_fail(c, *, at: datetime, handle_due: datetime) -> dict:  # 核查不通过 → 返工
    c.dispatched_at = at
    c.handle_due = later(c.handle_due, handle_due)
    c.handled_at = None
    c.assignee_id = None
    c.overdue = False
    return {"passed": False, "rework": c.rework_count}


def close(c, *, at: datetime) -> dict:  # 结案 by the command centre
    _closed(c, at)
    return {}


def reopen(
    c, *, at: datetime, handle_due: datetime, dispatch_due: datetime
) -> dict:  # 不满意重办: the citizen was not satisfied; the case goes back to be done again
    c.closed_at = None
    c.closed_on_time = None
    c.callback_due = None
    c.overdue = False
    c.warned_at = None
    if c.status == "dispatched":  # to the department that handled it, with a fresh clock
        c.dispatched_at = at
        c.handle_due = handle_due
        c.handled_at = None
        c.assignee_id = None
    else:  # never dispatched (answered directly): the command centre dispatches it now
        c.dispatch_due = dispatch_due
    return {"rework": c.rework_count}


def suspend(c, *, at: datetime) -> dict:  # 挂账
    c.suspended_at = at
    return {}


def resume(c, *, at: datetime, calendar, units: dict[str, str]) -> dict:
    """Back from 挂账: each stage clock (``units``: stage → the item's limit unit) stops while
    the case is on hold, in its own unit: a round-the-clock limit gets the whole time back, a
    working-time limit the working time that passed (``calendar``: ``calendar_current()``)."""
    since, c.suspended_at = c.suspended_at, None
    if since is None:
        return {"held_seconds": 0}
    working = calendar.working_seconds_between(since, at) / 3600
    for stage, unit in units.items():
        name = f"{stage}_due"
        due = getattr(c, name)
        if due is None:
            continue
        if unit == workcal.CLOCK_HOURS:
            setattr(c, name, due + (at - since))
        elif working > 0:
            setattr(c, name, calendar.deadline(due, working, workcal.WORK_HOURS))
    return {"held_seconds": int((at - since).total_seconds()), "held_working_hours": working}


CHANGES = {
    "file": file,
    "reject": reject,
    "cancel": cancel,
    "merge": merge,
    "answer": answer,
    "dispatch": dispatch,
    "redispatch": redispatch,
    "return_": return_,
    "accept": accept,
    "handle": handle,
    "request_verify": request_verify,
    "verify_pass": verify_pass,
    "verify_fail": verify_fail,
    "close": close,
    "reopen": reopen,
    "suspend": suspend,
    "resume": resume,
}


def mark_overdue(c, *, due: datetime) -> dict:
    """督办 by the overdue sweep: no change of state; the first mark also escalates."""
    detail = {"due": due.astimezone(UTC).isoformat(), "escalated": not c.escalated}
    c.overdue = c.escalated = True
    return detail


# --- the state machine ---------------------------------------------------------------------


@cache
def _fsm(name: str):
    """The django-fsm bookkeeping of ``Case.<name>``: its transitions by source state."""
    return getattr(Case, name)._django_fsm


def allowed(c, name: str) -> bool:
    """Whether the FSM transition ``name`` may leave the case's status now."""
    meta = _fsm(name)
    return meta.has_transition(c.status) and meta.conditions_met(c, c.status)


def _move(c, name: str) -> None:
    """The FSM step of a plain object: the model's own transition, method body and all."""
    meta = _fsm(name)
    # By its source state first: the seeder takes millions of steps.
    transition = meta.transitions.get(c.status)
    if transition is None and meta.has_transition(c.status):
        transition = meta.get_transition(c.status)  # a "*" or "+" source
    if transition is None or (
        transition.conditions and not all(condition(c) for condition in transition.conditions)
    ):
        raise TransitionNotAllowed(f"Can't switch from state '{c.status}' using method '{name}'")
    result = transition.method(c)
    target = transition.target
    if isinstance(target, State):  # RETURN_VALUE: resume goes back where it came from
        target = target.get_state(c, transition, result)
    c.status = target


def advance(c, name: str, *, at: datetime, **inputs) -> dict:
    """Move ``c`` by the FSM transition ``name`` (``Case`` method name) at ``at``, change its
    fields as the function of that name says, and return the timeline row's detail. Raises
    django-fsm's ``TransitionNotAllowed`` when the status does not allow it (nothing changed)."""
    if isinstance(c, Case):
        getattr(c, name)()
    else:
        _move(c, name)
    return CHANGES[name](c, at=at, **inputs)
