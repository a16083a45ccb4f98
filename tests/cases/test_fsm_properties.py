"""The case workflow as a state machine: random steps by random people, invariants after each.

Hypothesis drives every service that acts on a case (cases.services) on a few cases, by any of
the personas, with notes that are sometimes empty, while the clock moves on between steps. The
services may refuse (CaseConflict, CaseForbidden, CaseInvalid); whatever they do, a ``Ledger``
checks after every step that

- the timeline has one row for the report plus one per successful call, and that row says the
  step (action, from, to, actor, time, note) along an edge of the workflow diagram;
- the status is one of the diagram's states, and a case in a final state never changes again;
- a refused call changes nothing (no case row, no timeline row, no extension, no notification);
- a successful call changes only the case it acts on;
- each stage deadline is the item's time limit on the working calendar, and never moves
  backwards (see ``Ledger.act`` for the one place a fresh clock may end earlier);
- ``rework_count`` is the number of failed verifications.

The example tests at the end doctor a case behind the ledger's back, so a broken invariant is
shown to fail the checker (and the machine) rather than pass unnoticed.
"""

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from cases import services
from cases.calendar import deadline
from cases.models import Case, CaseExtension, CaseTransition, Notification, Stage, Status
from tests.cases.conftest import centre

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday at work, in a year whose statutory holidays the working calendar knows.
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
DEADLINES = ("file_due", "dispatch_due", "handle_due", "verify_due")
REFUSALS = (services.CaseConflict, services.CaseForbidden, services.CaseInvalid)
# Ordered so that hypothesis's simplest draws (the first of each list) are useful steps.
PERSONAS = (
    "dispatcher",
    "staff",
    "inspector_a",
    "supervisor",
    "admin",
    "citizen",
    "inspector_b",
    "other_supervisor",
)

S = Status
# The workflow diagram of DESIGN.md, written out here rather than read from the model, so the
# test says what the workflow should be: action → the (from, to) steps it may take.
HELD_FROM = (S.FILED, S.DISPATCHED, S.RETURNED, S.HANDLING)  # 挂账: once filed, until handled
EXTENDABLE = (S.DISPATCHED, S.HANDLING)
OPEN_NOT_HELD = (S.REPORTED, S.FILED, S.DISPATCHED, S.RETURNED, S.HANDLING, S.HANDLED, S.VERIFYING)
FINAL = (S.CLOSED, S.REJECTED, S.CANCELLED)
EDGES: dict[str, set[tuple[str, str]]] = {
    "file": {(S.REPORTED, S.FILED)},
    "reject": {(S.REPORTED, S.REJECTED), (S.FILED, S.REJECTED)},
    "cancel": {(S.REPORTED, S.CANCELLED), (S.FILED, S.CANCELLED)},
    "merge": {(S.REPORTED, S.CLOSED), (S.FILED, S.CLOSED)},
    "dispatch": {(S.FILED, S.DISPATCHED)},
    "redispatch": {(S.RETURNED, S.DISPATCHED)},
    "return": {(S.DISPATCHED, S.RETURNED)},
    "accept": {(S.DISPATCHED, S.HANDLING)},
    "handle": {(S.HANDLING, S.HANDLED)},
    "request-verify": {(S.HANDLED, S.VERIFYING)},
    "verify-pass": {(S.VERIFYING, S.CLOSED)},
    "verify-fail": {(S.VERIFYING, S.DISPATCHED)},
    "close": {(S.HANDLED, S.CLOSED), (S.VERIFYING, S.CLOSED)},
    "suspend": {(s, S.SUSPENDED) for s in HELD_FROM},
    "resume": {(S.SUSPENDED, s) for s in HELD_FROM},
    "extend": {(s, s) for s in EXTENDABLE},
    "extend-approve": {(s, s) for s in EXTENDABLE},
    "extend-deny": {(s, s) for s in EXTENDABLE},
    # 挂账申请: asked while the department holds the case; approved, the approver suspends it.
    "suspend-request": {(s, s) for s in EXTENDABLE},
    "suspend-approve": {(s, S.SUSPENDED) for s in EXTENDABLE},
    "suspend-deny": {(s, s) for s in EXTENDABLE},
    "escalate": {(s, s) for s in OPEN_NOT_HELD},
}
TIMELINE_ACTION = {"verify-pass": "verify", "verify-fail": "verify"}
# A stage entered again starts its clock afresh: action → the deadline it sets anew.
RESTARTS = {"return": "dispatch_due", "redispatch": "handle_due", "request-verify": "verify_due"}

# How often step_forward tries each allowed action: the way through first, so runs reach
# rework, holds and extensions; the steps that end a case early least.
WEIGHT = {
    **dict.fromkeys(EDGES, 2),
    **dict.fromkeys(["reject", "cancel", "merge", "close"], 1),
    **dict.fromkeys(
        ["file", "dispatch", "redispatch", "accept", "handle", "request-verify", "resume"], 6
    ),
    **dict.fromkeys(["verify-pass", "verify-fail", "extend"], 3),
    **dict.fromkeys(["extend-approve", "extend-deny"], 8),  # offered only when one is pending
    **dict.fromkeys(["suspend-approve", "suspend-deny"], 8),
}
# The approver's steps that decide a waiting request, by the kind of request they decide.
DECIDES = {
    "extend-approve": "extension",
    "extend-deny": "extension",
    "suspend-approve": "suspension",
    "suspend-deny": "suspension",
}
COMMAND_CENTRE = ("dispatcher", "dispatcher", "admin")
DEPARTMENT = ("staff", "staff", "admin")
APPROVERS = ("supervisor", "dispatcher", "admin", "other_supervisor")
# Who would plausibly try each action ("reporter" and "inspector" are the case's own).
HANDS = {
    "file": COMMAND_CENTRE,
    "reject": COMMAND_CENTRE,
    "cancel": (*COMMAND_CENTRE, "reporter"),
    "merge": COMMAND_CENTRE,
    "dispatch": COMMAND_CENTRE,
    "redispatch": COMMAND_CENTRE,
    "request-verify": COMMAND_CENTRE,
    "close": COMMAND_CENTRE,
    "return": DEPARTMENT,
    "accept": DEPARTMENT,
    "handle": DEPARTMENT,
    "extend": DEPARTMENT,
    "suspend-request": DEPARTMENT,
    "verify-pass": ("inspector", "inspector", "supervisor", "admin"),
    "verify-fail": ("inspector", "inspector", "supervisor", "admin"),
    "suspend": APPROVERS,
    "resume": APPROVERS,
    "extend-approve": APPROVERS,
    "extend-deny": APPROVERS,
    "suspend-approve": APPROVERS,
    "suspend-deny": APPROVERS,
    "escalate": APPROVERS,
}
NOTES = st.sampled_from(["现场已处置", "", "不符合立案条件", "   ", "note"])


# --- the ledger: what the cases should look like, checked against what they do look like ----

CASE_FIELDS = tuple(f.attname for f in Case._meta.concrete_fields if f.name != "point")


def snapshots(pks) -> dict[int, dict]:
    """Everything a step may change about each case: its row, timeline, extensions, inbox."""
    rows = {row["id"]: row for row in Case.objects.filter(pk__in=pks).values(*CASE_FIELDS)}
    steps = dict(
        CaseTransition.objects.filter(case_id__in=pks)
        .values("case_id")
        .annotate(n=Count("id"))
        .values_list("case_id", "n")
    )
    inbox = dict(
        Notification.objects.filter(case_id__in=pks)
        .values("case_id")
        .annotate(n=Count("id"))
        .values_list("case_id", "n")
    )
    extensions: dict[int, list] = {pk: [] for pk in pks}
    for ext in CaseExtension.objects.filter(case_id__in=pks).order_by("id").values():
        extensions[ext["case_id"]].append(ext)
    for pk, row in rows.items():
        row["steps"] = steps.get(pk, 0)
        row["notifications"] = inbox.get(pk, 0)
        row["extensions"] = extensions[pk]
    return rows


@dataclass
class Track:
    last: dict
    successes: int = 0
    failed_verifications: int = 0
    final: dict | None = None
    # Deadlines pushed by a hold or an approved extension since the stage clock last started.
    pushed: set[str] = field(default_factory=set)
    # Deadlines the last step restarted from a pushed value: the one place one may fall back.
    restarted: set[str] = field(default_factory=set)


class Ledger:
    def __init__(self):
        self.tracks: dict[int, Track] = {}

    def track(self, pk: int) -> None:
        self.tracks[pk] = Track(last=snapshots([pk])[pk])
        self.check()

    def act(self, pk: int, action: str, by, call, *, note: str = "") -> bool:
        """Run ``call`` (a service acting on case ``pk`` by ``by``), check the step, return
        whether it succeeded."""
        before = snapshots(self.tracks)
        now = timezone.now()
        item = Case.objects.select_related("item").get(pk=pk).item
        pending = next((e for e in before[pk]["extensions"] if e["decision"] == "pending"), None)
        try:
            call()
        except REFUSALS:
            after = snapshots(self.tracks)
            for other in after:
                assert after[other] == before[other], f"a refused {action} changed case {other}"
            self.check(after)
            return False
        after = snapshots(self.tracks)
        for other in after:
            if other != pk:
                assert after[other] == before[other], f"{action} on {pk} changed case {other}"
        track = self.tracks[pk]
        track.successes += 1
        if action == "verify-fail":
            track.failed_verifications += 1
        b, a = before[pk], after[pk]

        row = CaseTransition.objects.filter(case_id=pk).order_by("-id").first()
        assert (row.action, row.from_state, row.to_state) == (
            TIMELINE_ACTION.get(action, action),
            b["status"],
            a["status"],
        )
        assert (row.actor_id, row.at, row.note) == (by.pk, now, note)
        assert (b["status"], a["status"]) in EDGES[action], f"{action}: not in the diagram"
        if action == "resume":
            assert a["status"] == b["suspended_from"]

        due = self.expected_deadlines(action, b, item, now, pending)
        if action == "resume":
            # The time on hold is added: nothing moves back, nothing appears or disappears.
            for name in DEADLINES:
                assert (a[name] is None) == (b[name] is None), name
                assert a[name] is None or a[name] >= b[name], f"resume moved {name} back"
            track.pushed |= {name for name in DEADLINES if a[name] is not None}
        else:
            assert {n: a[n] for n in DEADLINES} == due, f"{action}: deadlines"
        if action == "extend-approve":
            track.pushed.add("handle_due")
        if action in RESTARTS:
            # A stage entered again gets a fresh clock (checked exactly above). It may end
            # before the old deadline only when that one had been pushed: by an extension
            # granted to the department that returned the case (by design: the department it
            # goes to now starts afresh), or by a hold.
            restarted = RESTARTS[action]
            track.restarted = {restarted} & track.pushed
            track.pushed.discard(restarted)
        self.check(after)
        return True

    @staticmethod
    def expected_deadlines(action, b, item, now, pending) -> dict:
        due = {name: b[name] for name in DEADLINES}

        def fresh(stage):
            return deadline(now, *item.limit(stage))

        if action == "file":
            due["dispatch_due"] = fresh(Stage.DISPATCH)
        elif action in ("dispatch", "redispatch"):
            due["handle_due"] = fresh(Stage.HANDLE)
        elif action == "return":
            due["dispatch_due"] = fresh(Stage.DISPATCH)
        elif action == "request-verify":
            due["verify_due"] = fresh(Stage.VERIFY)
        elif action == "verify-fail":
            # Rework: the department gets a fresh handling limit, never less than it had.
            due["handle_due"] = max(due["handle_due"] or now, fresh(Stage.HANDLE))
        elif action == "extend-approve":
            base = max(due["handle_due"] or now, now)
            due["handle_due"] = deadline(base, pending["amount"], pending["unit"])
        return due

    def check(self, snaps: dict | None = None) -> None:
        """The invariants of every case, whatever happened since the last check."""
        snaps = snaps if snaps is not None else snapshots(self.tracks)
        for pk, track in self.tracks.items():
            s = snaps[pk]
            assert s["status"] in Status.values, f"case {pk}: unknown state {s['status']!r}"
            assert s["steps"] == 1 + track.successes, (
                f"case {pk}: {s['steps']} timeline rows for {track.successes} steps"
            )
            assert s["rework_count"] == track.failed_verifications, f"case {pk}: rework count"
            if track.final is not None:
                assert s == track.final, f"case {pk} changed after it ended {track.final['status']}"
            for name in DEADLINES:
                old, new = track.last[name], s[name]
                if old is None:
                    continue
                assert new is not None, f"case {pk}: {name} disappeared"
                assert new >= old or name in track.restarted, (
                    f"case {pk}: {name} moved back from {old} to {new}"
                )
            held = s["status"] == S.SUSPENDED
            assert held == bool(s["suspended_from"]) == (s["suspended_at"] is not None)
            ended = s["status"] in FINAL
            assert ended == (s["closed_at"] is not None), f"case {pk}: closed_at"
            if s["status"] == S.CLOSED:
                assert s["resolution"] in ("resolved", "duplicate")
            else:
                assert s["resolution"] == ""
            pending = [e for e in s["extensions"] if e["decision"] == "pending"]
            assert len(pending) <= 1
            if ended and track.final is None:
                track.final = s
            track.last = s
            track.restarted = set()


# --- the machine ---------------------------------------------------------------------------


def report(by, item, grid):
    lon, lat = centre(grid)
    return services.case_report(by=by, item=item, lon=lon, lat=lat, description="测试").case


class CaseWorkflow(RuleBasedStateMachine):
    """A few cases, any step by anyone, the clock moving on in between."""

    def __init__(self, people, taxonomy):
        super().__init__()
        self.people, self.taxonomy = people, taxonomy
        # Each example starts from the same data: its writes are rolled back at teardown.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.traveller = time_machine.travel(START, tick=False)
        self.clock = self.traveller.start()
        p, t = people, taxonomy
        self.cases = [
            report(p.inspector_a, t.component, p.grid_a),  # goes to the test department
            report(p.citizen, t.event, p.grid_a),  # goes to street A's office
            report(p.inspector_b, t.event, p.grid_b),  # street B has no office: choose one
            report(p.dispatcher, t.emergency, p.grid_b),  # round-the-clock limits
        ]
        self.pks = [c.pk for c in self.cases]
        self.ledger = Ledger()
        for pk in self.pks:
            self.ledger.track(pk)

    def teardown(self):
        self.traveller.stop()
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def person(self, name: str, case: Case):
        if name == "reporter":
            return case.reporter
        if name == "inspector":
            grid_a = case.grid_id == self.people.grid_a.pk
            return self.people.inspector_a if grid_a else self.people.inspector_b
        return getattr(self.people, name)

    def do(self, data, case: Case, action: str, by) -> None:
        note = data.draw(NOTES, label="note")
        master = department = None
        amount, unit = 1, "work_days"
        if action == "merge":
            master = Case.objects.get(pk=data.draw(st.sampled_from(self.pks), label="master"))
        if action in ("dispatch", "redispatch"):
            department = data.draw(
                st.sampled_from(
                    [
                        None,
                        self.people.department,
                        self.people.department,
                        self.taxonomy.street_office,
                    ]
                ),
                label="department",
            )
        if action == "extend":
            amount = data.draw(st.sampled_from([1, 2, 8, 0]), label="amount")
            unit = data.draw(st.sampled_from(["work_hours", "work_days", "clock_hours"]))
        calls = {
            "file": lambda: services.case_file(case=case, by=by, note=note),
            "reject": lambda: services.case_reject(case=case, by=by, note=note),
            "cancel": lambda: services.case_cancel(case=case, by=by, note=note),
            "merge": lambda: services.case_merge(case=case, by=by, master=master, note=note),
            "dispatch": lambda: services.case_dispatch(
                case=case, by=by, department=department, note=note
            ),
            "redispatch": lambda: services.case_redispatch(
                case=case, by=by, department=department, note=note
            ),
            "return": lambda: services.case_return(case=case, by=by, note=note),
            "accept": lambda: services.case_accept(case=case, by=by, note=note),
            "handle": lambda: services.case_handle(case=case, by=by, note=note),
            "request-verify": lambda: services.case_request_verify(case=case, by=by, note=note),
            "verify-pass": lambda: services.case_verify(case=case, by=by, passed=True, note=note),
            "verify-fail": lambda: services.case_verify(case=case, by=by, passed=False, note=note),
            "close": lambda: services.case_close(case=case, by=by, note=note),
            "suspend": lambda: services.case_suspend(case=case, by=by, note=note),
            "resume": lambda: services.case_resume(case=case, by=by, note=note),
            "extend": lambda: services.case_extend(
                case=case, by=by, amount=amount, unit=unit, note=note
            ),
            "extend-approve": lambda: services.case_extension_decide(
                case=case, by=by, approve=True, note=note
            ),
            "extend-deny": lambda: services.case_extension_decide(
                case=case, by=by, approve=False, note=note
            ),
            "suspend-request": lambda: services.case_suspend_request(case=case, by=by, note=note),
            "suspend-approve": lambda: services.case_suspension_decide(
                case=case, by=by, approve=True, note=note
            ),
            "suspend-deny": lambda: services.case_suspension_decide(
                case=case, by=by, approve=False, note=note
            ),
            "escalate": lambda: services.case_escalate(case=case, by=by, note=note),
        }
        self.ledger.act(case.pk, action, by, calls[action], note=note)

    @rule(data=st.data())
    def step_forward(self, data):
        """An action the diagram allows from the case's state, by someone likely to try it."""
        case = Case.objects.get(pk=data.draw(st.sampled_from(self.pks), label="case"))
        allowed = [a for a, edges in EDGES.items() if any(f == case.status for f, _ in edges)]
        waiting = case.extensions.filter(decision="pending").values_list("kind", flat=True)
        allowed = [a for a in allowed if a not in DECIDES or DECIDES[a] in waiting]
        weighted = [a for a in allowed for _ in range(WEIGHT[a])]
        action = data.draw(st.sampled_from(weighted or list(EDGES)), label="action")
        hand = data.draw(st.sampled_from(HANDS[action]), label="by")
        self.do(data, case, action, self.person(hand, case))

    @rule(data=st.data())
    def step_anything(self, data):
        """Any action by any persona: mostly refusals, which must change nothing."""
        case = Case.objects.get(pk=data.draw(st.sampled_from(self.pks), label="case"))
        action = data.draw(st.sampled_from(list(EDGES)), label="action")
        by = getattr(self.people, data.draw(st.sampled_from(PERSONAS), label="by"))
        self.do(data, case, action, by)

    @rule(minutes=st.one_of(st.integers(1, 120), st.integers(121, 3 * 24 * 60)))
    def wait(self, minutes):
        self.clock.shift(dt.timedelta(minutes=minutes))

    @invariant()
    def invariants_hold(self):
        self.ledger.check()


PROPERTY_SETTINGS = settings(
    max_examples=30,
    stateful_step_count=50,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the project
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.django_db
def test_random_steps_by_random_people_keep_the_workflow_invariants(people, taxonomy):
    run_state_machine_as_test(lambda: CaseWorkflow(people, taxonomy), settings=PROPERTY_SETTINGS)


# --- the checker fails on a broken invariant ------------------------------------------------


@pytest.fixture
def ledger_cases(people, taxonomy, time_machine):
    """A ledger tracking a case that went the whole way (with one rework) and one dispatched."""
    time_machine.move_to(START, tick=False)
    p, t = people, taxonomy
    ledger = Ledger()
    closed = report(p.inspector_a, t.component, p.grid_a)
    open_ = report(p.inspector_a, t.component, p.grid_a)
    ledger.track(closed.pk)
    ledger.track(open_.pk)

    def run(case, action, by, call, note=""):
        time_machine.shift(dt.timedelta(minutes=30))
        assert ledger.act(case.pk, action, by, call, note=note), action

    for case in (closed, open_):
        run(case, "file", p.dispatcher, lambda c=case: services.case_file(case=c, by=p.dispatcher))
        run(
            case,
            "dispatch",
            p.dispatcher,
            lambda c=case: services.case_dispatch(case=c, by=p.dispatcher),
        )
    for failed in (True, False):
        run(closed, "accept", p.staff, lambda: services.case_accept(case=closed, by=p.staff))
        run(
            closed,
            "handle",
            p.staff,
            lambda: services.case_handle(case=closed, by=p.staff, note="已处置"),
            note="已处置",
        )
        run(
            closed,
            "request-verify",
            p.dispatcher,
            lambda: services.case_request_verify(case=closed, by=p.dispatcher),
        )
        run(
            closed,
            "verify-fail" if failed else "verify-pass",
            p.inspector_a,
            lambda f=failed: services.case_verify(
                case=closed, by=p.inspector_a, passed=not f, note="仍有问题" if f else ""
            ),
            note="仍有问题" if failed else "",
        )
    return ledger, closed, open_


def test_the_ledger_accepts_an_honest_history(ledger_cases):
    ledger, closed, open_ = ledger_cases

    ledger.check()

    assert Case.objects.get(pk=closed.pk).status == "closed"
    assert Case.objects.get(pk=open_.pk).status == "dispatched"
    assert ledger.tracks[closed.pk].final is not None
    assert ledger.tracks[closed.pk].failed_verifications == 1


DOCTORINGS = {
    "lost timeline row": (
        lambda closed, open_: CaseTransition.objects.filter(case=open_).last().delete(),
        "timeline rows",
    ),
    "state outside the diagram": (
        lambda closed, open_: Case.objects.filter(pk=open_.pk).update(status="lost"),
        "unknown state",
    ),
    "deadline moved back": (
        lambda closed, open_: Case.objects.filter(pk=open_.pk).update(
            handle_due=open_.handle_due - dt.timedelta(hours=1)
        ),
        "handle_due moved back",
    ),
    "closed case reopened": (
        lambda closed, open_: Case.objects.filter(pk=closed.pk).update(status="dispatched"),
        "changed after it ended",
    ),
    "closed case touched": (
        lambda closed, open_: Case.objects.filter(pk=closed.pk).update(escalated=True),
        "changed after it ended",
    ),
    "rework not counted": (
        lambda closed, open_: Case.objects.filter(pk=open_.pk).update(rework_count=3),
        "rework count",
    ),
}


@pytest.mark.parametrize("doctoring", DOCTORINGS)
def test_the_ledger_fails_on_a_doctored_case(ledger_cases, doctoring):
    ledger, closed, open_ = ledger_cases
    open_ = Case.objects.get(pk=open_.pk)
    doctor, message = DOCTORINGS[doctoring]

    doctor(closed, open_)

    with pytest.raises(AssertionError, match=message):
        ledger.check()


def test_the_ledger_fails_on_a_refusal_that_wrote(ledger_cases, people):
    ledger, _, open_ = ledger_cases

    def sloppy_refusal():  # writes, then refuses, outside any transaction
        Case.objects.filter(pk=open_.pk).update(escalated=True)
        raise services.CaseConflict(open_, "no")

    with pytest.raises(AssertionError, match="a refused escalate changed case"):
        ledger.act(open_.pk, "escalate", people.supervisor, sloppy_refusal)


def test_the_ledger_fails_on_a_step_off_the_diagram(ledger_cases, people):
    ledger, _, open_ = ledger_cases

    def skip_ahead():  # a "dispatch" that lands in handling, with an honest timeline row
        now = timezone.now()
        Case.objects.filter(pk=open_.pk).update(status="handling", updated_at=now)
        CaseTransition.objects.create(
            case=open_,
            action="dispatch",
            from_state="dispatched",
            to_state="handling",
            actor=people.dispatcher,
            at=now,
        )

    with pytest.raises(AssertionError, match="not in the diagram"):
        ledger.act(open_.pk, "dispatch", people.dispatcher, skip_ahead)


class LeakyWorkflow(CaseWorkflow):
    """The machine with one rule that loses a timeline row, as a buggy service would."""

    @rule(data=st.data())
    def lose_a_step(self, data):
        pk = data.draw(st.sampled_from(self.pks))
        CaseTransition.objects.filter(case_id=pk).order_by("-id").first().delete()


@pytest.mark.django_db
def test_the_machine_fails_when_a_step_breaks_an_invariant(people, taxonomy):
    quick = settings(
        PROPERTY_SETTINGS, max_examples=5, stateful_step_count=5, phases=[Phase.generate]
    )

    with pytest.raises(AssertionError, match="timeline rows"):
        run_state_machine_as_test(lambda: LeakyWorkflow(people, taxonomy), settings=quick)


# --- bugs found --------------------------------------------------------------------------

# A hold stops each clock in its own unit: working-time limits get back the working time
# that passed on hold, round-the-clock limits the whole time.


def dispatched_at(people, taxonomy, time_machine, when) -> Case:
    time_machine.move_to(when, tick=False)
    case = report(people.inspector_a, taxonomy.component, people.grid_a)
    services.case_file(case=case, by=people.dispatcher)
    return services.case_dispatch(case=case, by=people.dispatcher)


def test_a_hold_outside_working_time_leaves_the_deadlines(people, taxonomy, time_machine):
    friday = dt.datetime(2026, 3, 6, 17, 0, tzinfo=SHANGHAI)
    case = dispatched_at(people, taxonomy, time_machine, friday)
    due = {name: getattr(case, name) for name in DEADLINES}
    time_machine.move_to(friday.replace(hour=18, minute=30), tick=False)  # after work
    services.case_suspend(case=case, by=people.supervisor, note="等待业主答复")

    time_machine.move_to(dt.datetime(2026, 3, 9, 8, 0, tzinfo=SHANGHAI), tick=False)  # Monday
    resumed = services.case_resume(case=case, by=people.supervisor)

    # Not a minute of working time passed on hold: the clock had stopped on its own.
    assert {name: getattr(resumed, name) for name in DEADLINES} == due


def test_a_return_after_a_hold_never_moves_the_dispatch_deadline_back(
    people, taxonomy, time_machine
):
    friday = dt.datetime(2026, 3, 6, 17, 30, tzinfo=SHANGHAI)
    case = dispatched_at(people, taxonomy, time_machine, friday)
    services.case_suspend(case=case, by=people.supervisor, note="等待业主答复")
    time_machine.move_to(dt.datetime(2026, 3, 9, 9, 0, tzinfo=SHANGHAI), tick=False)
    resumed = services.case_resume(case=case, by=people.supervisor)

    returned = services.case_return(case=case, by=people.staff, note="不属于本部门")

    assert returned.dispatch_due >= resumed.dispatch_due


# A request for more time dies with the stage it was for: a case that leaves dispatched or
# handling before a decision withdraws it, and waits for nobody's decision afterwards.


def test_a_closed_case_with_an_undecided_extension_waits_for_nobody(people, taxonomy):
    from cases.selectors import cases_waiting_for

    case = report(people.inspector_a, taxonomy.component, people.grid_a)
    services.case_file(case=case, by=people.dispatcher)
    services.case_dispatch(case=case, by=people.dispatcher)
    services.case_accept(case=case, by=people.staff)
    services.case_extend(case=case, by=people.staff, amount=2, unit="work_days", note="需采购")
    services.case_handle(case=case, by=people.staff, note="已提前处置")  # before any decision

    closed = services.case_close(case=case, by=people.dispatcher, note="视频核实")

    assert closed.status == "closed"
    assert not cases_waiting_for(people.dispatcher).filter(pk=case.pk).exists()
    assert not cases_waiting_for(people.supervisor).filter(pk=case.pk).exists()
