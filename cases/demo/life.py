"""One demo case lived in memory, step by step, through the workflow's own transitions.

Each step goes through ``cases.transitions.advance``: the FSM transition of ``Case`` and the
same field changes the services make, with the deadlines of the working calendar. What the
periodic sweeps would have done while the case waited (the due-soon warning, the overdue mark)
is added before each step. The story stops at the moment the history is taken at.
"""

import uuid
from bisect import bisect
from contextlib import suppress
from datetime import datetime, timedelta
from operator import attrgetter

from cases import transitions
from cases.demo.mix import (
    CANCEL_NOTES,
    CLOSED_BY_CENTRE_SHARE,
    FAIL_NOTES,
    HANDLE_NOTES,
    LATE,
    PASS_NOTES,
    RATED_SHARE,
    REJECT_NOTES,
    RETURN_NOTES,
    RETURNED_SHARE,
    REWORK_SHARES,
    SURNAMES,
    SUSPEND_NOTES,
    SWEEP_SECONDS,
    WARN_SWEEP_SECONDS,
)
from cases.demo.rows import CASE_FIELDS, ewkb
from cases.models import STAGE_DUE, Source, Stage, Status

# A case's row: its fields in ``CASE_FIELDS`` order, the item's and grid's ids among them.
_ROW = attrgetter(*({"item_id": "item.id", "grid_id": "grid.id"}.get(f, f) for f in CASE_FIELDS))


class _Stop(Exception):
    """The story has reached the moment the history is taken at (or a case on hold for good)."""


class Life:
    """One case from report to wherever it is at ``as_of``: an object with the case's fields,
    moved by ``cases.transitions`` as the services move a ``Case``."""

    __slots__ = (
        *(f for f in CASE_FIELDS if f not in ("item_id", "grid_id")),
        "h",
        "rng",
        "item",
        "grid",
        "as_of",
        "steps",
        "lag",
        "xy",
        "fate",
        "master",
    )

    def __init__(self, h, rng, case_id, number, t0, source, as_of, masters):
        self.h, self.rng, self.as_of = h, rng, as_of
        self.id, self.number, self.source = case_id, number, source
        self._choose(masters)
        self.point, x, y = self.grid.points[int(rng.random() * len(self.grid.points))]
        self.xy = (x, y)
        self.address = self.grid.addresses[int(rng.random() * len(self.grid.addresses))]
        self.community_id, self.street_id = self.grid.community_id, self.grid.street_id
        self.district_id = h.district.id
        self._reporter()
        self.department_id = self.assignee_id = self.verifier_id = self.master_id = None
        self.status = Status.REPORTED
        self.suspended_from = self.resolution = ""
        self.filed_at = self.dispatched_at = self.handled_at = self.closed_at = None
        self.suspended_at = self.dispatch_due = self.handle_due = self.verify_due = None
        self.warned_at = self.closed_on_time = self.rating = None
        self.confirmation, self.confirm_requested_at = "", None  # the demo asks for no 核实
        self.overdue = self.escalated = False
        self.rework_count = self.repeat_count = 0
        # The public side and the hotline: the demo's calls carry no request type or ticket.
        self.request_type = self.public_text = self.satisfaction = ""
        self.external_number = self.reply_due = self.moderated_at = None
        self.callback_due = self.callback_done_at = None
        self.held = self.public_hidden = False
        self.created_at = self.updated_at = t0
        self.file_due = self.due(t0, Stage.FILE)
        self.lag = timedelta(seconds=1 + int(rng.random() * (SWEEP_SECONDS - 1)))
        self.steps = [
            (case_id, "report", "", Status.REPORTED, self.reporter_id, t0, "", None, "{}")
        ]

    def _choose(self, masters: dict) -> None:
        """The item, the fate and the grid; a duplicate repeats an earlier case's problem."""
        h, rng = self.h, self.rng
        if self.source == Source.SENSOR and h.sensed:
            item = h.sensed[bisect(h.sensed_cum, rng.random() * h.sensed_cum[-1])]
        else:
            if self.source == Source.SENSOR:
                self.source = Source.INSPECTOR
            item = h.items[bisect(h.item_cum, rng.random() * h.item_cum[-1])]
        self.item = item
        self.fate = h.fates[bisect(h.fate_cum, rng.random() * h.fate_cum[-1])]
        self.master = masters.get(item.id) if self.fate == "duplicate" else None
        if self.master is not None:
            grid = self.master[2]  # the same problem, reported again: same item, same grid
        else:
            if self.fate == "duplicate":
                self.fate = "resolved"
            grid = h.grids[bisect(h.grid_cum, rng.random() * h.grid_cum[-1])]
        if self.fate in ("resolved", "held"):
            # A later report of the same problem may be merged into this one.
            masters[item.id] = (self.id, self.number, grid)
        self.grid = grid

    def _reporter(self) -> None:
        """Who reported it and how they put it."""
        h, rng, grid, source, name = self.h, self.rng, self.grid, self.source, self.item.name
        self.contact_name = self.contact_phone = self.request_digest = ""
        self.client_uuid = None
        if source in (Source.INSPECTOR, Source.SUPERVISOR):
            inspector = source == Source.INSPECTOR
            self.reporter_id = grid.inspector_id if inspector else grid.supervisor_id
            self.client_uuid = uuid.UUID(int=rng.getrandbits(128), version=4).hex
            self.description = (
                f"巡查发现{self.address}{name}。"
                if inspector
                else f"督察发现{self.address}{name}，请立即处置。"
            )
        elif source == Source.SENSOR:
            self.reporter_id = None
            device = f"{grid.code}-{rng.randrange(1, 40):02d}"
            self.description = f"物联感知告警：{name}（设备 {device}）。"
        else:
            self.reporter_id = h.hotline_id if source == Source.HOTLINE else None
            self.contact_name = rng.choice(SURNAMES) + rng.choice(("先生", "女士"))
            self.contact_phone = (
                f"1{rng.choice('3578')}{rng.randrange(10)}****{rng.randrange(10000):04d}"
            )
            said = "市民来电反映" if source == Source.HOTLINE else "市民随手拍"
            self.description = f"{said}：{self.address}{name}，请核实处理。"

    # -- time ---------------------------------------------------------------------------

    def due(self, start: datetime, stage: str) -> datetime:
        """A stage's deadline from ``start``, as ``cases.services._due`` computes it."""
        amount, unit = self.item.limits[stage]
        return self.h.calendar.deadline(start, amount, unit)

    def within(self, start: datetime, stage: str, late: bool | None = None, slow=1.0):
        """When a stage's work is done: a share of its limit on the working calendar, past
        the limit for the few that are late (``late=None``: as often as ``LATE`` says)."""
        rng = self.rng
        if late is None:
            late = rng.random() < LATE[stage]
        share = (1.1 + rng.random() * 1.5) * slow if late else 0.1 + rng.random() * 0.8
        amount, unit = self.item.limits[stage]
        return self.h.calendar.deadline(start, amount * share, unit)

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=int(60 * (low + self.rng.random() * (high - low))))

    # -- steps --------------------------------------------------------------------------

    def step(self, action, name, at, actor_id, note="", location=None, **inputs):
        """One transition (``name``, the FSM method of ``Case``) and its timeline row, after
        whatever the sweeps did while the case waited for it."""
        if at >= self.as_of:
            raise _Stop
        self._sweeps(at)
        source = self.status
        told = transitions.advance(self, name, at=at, **inputs)
        detail = self.h.detail(told) if told else "{}"
        row = (self.id, action, source, self.status, actor_id, at, note, location, detail)
        self.steps.append(row)
        self.updated_at = at

    def _sweeps(self, until: datetime) -> None:
        """What cases_warn_due_soon and cases_mark_overdue did before ``until``."""
        status = self.status
        if self.warned_at is None and status in (Status.DISPATCHED, Status.HANDLING):
            due = self.handle_due
            since = max(due - self.h.warn_before, self.updated_at)
            warned = since + timedelta(seconds=1 + int(self.rng.random() * WARN_SWEEP_SECONDS))
            if warned < until and warned < due:
                self.warned_at = warned
        if self.overdue:
            return
        name = STAGE_DUE.get(status)  # the deadline the sweep compares (Case.stage_due)
        due = getattr(self, name) if name else None
        if due is None:
            return
        marked = due + self.lag
        if marked < until:
            detail = self.h.detail(transitions.mark_overdue(self, due=due))
            self.steps.append((self.id, "overdue", status, status, None, marked, "", None, detail))
            self.updated_at = marked

    def near(self) -> str:
        """Where a handler or verifier stood: the spot, give or take a GPS error (~10 m)."""
        x, y = self.xy
        return ewkb(x + self.rng.gauss(0, 1e-4), y + self.rng.gauss(0, 1e-4))

    # -- the story ----------------------------------------------------------------------

    def live(self) -> None:
        with suppress(_Stop):
            self._live(self.fate)
        self._sweeps(self.as_of)

    def _live(self, fate: str) -> None:
        if self._ended_unfiled(fate):
            return
        t = self.within(self.created_at, Stage.FILE)
        self.step("file", "file", t, self.h.dispatcher_id, dispatch_due=self.due(t, Stage.DISPATCH))
        if fate == "cancelled":
            at = self.within(t, Stage.DISPATCH, late=False)
            self.step("cancel", "cancel", at, self.h.dispatcher_id, note=self.choice(CANCEL_NOTES))
            return
        hold_in = None
        if fate in ("held", "suspended"):
            hold_in = self.rng.choice((Status.FILED, Status.DISPATCHED, Status.HANDLING))
        forever = fate == "suspended"
        if hold_in == Status.FILED:
            t = self.hold(t, forever)
        department = self.item.department_id or self.grid.office_id
        t = self._dispatched(t, department, fate == "resolved")
        if hold_in == Status.DISPATCHED:
            t = self.hold(t, forever)
        self._worked(t, department, hold_in == Status.HANDLING, forever, fate == "stuck")

    def choice(self, notes: tuple[str, ...]) -> str:
        return self.rng.choice(notes)

    def _ended_unfiled(self, fate: str) -> bool:
        """Rejected, merged into an earlier case, or withdrawn before anyone filed it."""
        t, centre = self.created_at, self.h.dispatcher_id
        if fate == "rejected":
            at = self.within(t, Stage.FILE)
            self.step("reject", "reject", at, centre, note=self.choice(REJECT_NOTES))
            return True
        if fate == "duplicate":
            master_id, master_number, _grid = self.master
            at = self.within(t, Stage.FILE, late=False)
            self.step(
                "merge", "merge", at, centre, master_id=master_id, master_number=master_number
            )
            return True
        if fate == "cancelled" and self.rng.random() < 0.6:
            at = self.within(t, Stage.FILE, late=False)
            # A report no one has filed yet may be withdrawn by whoever made it.
            mine = self.source == Source.INSPECTOR and self.reporter_id
            by = self.reporter_id if mine else centre
            self.step("cancel", "cancel", at, by, note=self.choice(CANCEL_NOTES))
            return True
        return False

    def _dispatched(self, t: datetime, department: int, may_return: bool) -> datetime:
        """Dispatched, to the wrong department first for a few: returned and redispatched."""
        h, rng = self.h, self.rng
        wrong = None
        if may_return and rng.random() < RETURNED_SHARE:
            others = [d for d in (self.grid.office_id, *h.city_departments) if d != department]
            wrong = others[0] if self.item.department_id else rng.choice(others or [None])
        at = self.within(t, Stage.DISPATCH)
        self.dispatch("dispatch", at, wrong or department)
        if not wrong:
            return at
        t = at
        at = t + self.minutes(20, 240)
        self.step(
            "return",
            "return_",
            at,
            h.staff.get(wrong),
            note=self.choice(RETURN_NOTES),
            dispatch_due=self.due(at, Stage.DISPATCH),
            department_code=h.department_codes[wrong],
        )
        t = at
        at = self.within(t, Stage.DISPATCH, late=False)
        self.dispatch("redispatch", at, department)
        return at

    def dispatch(self, action: str, at: datetime, department_id: int) -> None:
        self.step(
            action,
            action,
            at,
            self.h.dispatcher_id,
            department_id=department_id,
            department_code=self.h.department_codes.get(department_id),
            handle_due=self.due(at, Stage.HANDLE),
        )

    def _worked(
        self, t: datetime, department: int, hold_first: bool, forever: bool, stuck: bool
    ) -> None:
        """Accepted, handled and verified, with rework for a few, until the case closes."""
        r = self.rng.random()
        planned = 2 if r < REWORK_SHARES[1] else 1 if r < sum(REWORK_SHARES) else 0
        staff = self.h.staff.get(department)
        reworks = 0
        while True:
            handled = self._handled(t, staff, hold_first and not reworks, forever, stuck)
            if not planned and self.rng.random() < CLOSED_BY_CENTRE_SHARE:
                at = handled + self.minutes(10, 180)
                self.step("close", "close", at, self.h.dispatcher_id)
                self.rated()
                return
            at = self._verify_requested(handled)
            by = self.grid.inspector_id or self.grid.supervisor_id
            if reworks == planned:
                self.step(
                    "verify",
                    "verify_pass",
                    at,
                    by,
                    note=self.choice(PASS_NOTES),
                    location=self.near(),
                )
                self.rated()
                return
            reworks += 1
            self.step(
                "verify",
                "verify_fail",
                at,
                by,
                note=self.choice(FAIL_NOTES),
                location=self.near(),
                handle_due=self.due(at, Stage.HANDLE),
            )
            t = at

    def _handled(self, t, staff, hold: bool, forever: bool, stuck: bool) -> datetime:
        """Accepted by the department's staff and handled; put on hold in between for some."""
        if stuck:
            handled = self.within(t, Stage.HANDLE, late=True, slow=4.0)
        else:
            handled = self.within(t, Stage.HANDLE)
        accepted = t + (handled - t) * (0.05 + self.rng.random() * 0.25)
        self.step("accept", "accept", accepted, staff, assignee_id=staff)
        if hold:
            t = self.hold(accepted, forever)
            handled = self.within(t, Stage.HANDLE)
        self.step(
            "handle", "handle", handled, staff, note=self.choice(HANDLE_NOTES), location=self.near()
        )
        return handled

    def _verify_requested(self, handled: datetime) -> datetime:
        """The command centre asks the grid's inspector to check; when the check is done."""
        at = handled + self.minutes(5, 90)
        self.step(
            "request-verify",
            "request_verify",
            at,
            self.h.dispatcher_id,
            verifier_id=self.grid.inspector_id,
            verifier_name=self.grid.inspector_name,
            verify_due=self.due(at, Stage.VERIFY),
        )
        return self.within(at, Stage.VERIFY)

    def hold(self, t: datetime, forever: bool) -> datetime:
        """挂账 by the street's supervisor a little after ``t``; resumed days later, or never.
        On resuming every clock gets the time on hold back, as case_resume gives it. Returns
        when it resumed."""
        by = self.grid.supervisor_id or self.h.dispatcher_id
        at = t + self.minutes(30, 300)
        self.step("suspend", "suspend", at, by, note=self.choice(SUSPEND_NOTES))
        if forever:
            raise _Stop
        back = at + self.minutes(2 * 1440, 25 * 1440)
        self.step("resume", "resume", back, by, calendar=self.h.calendar, units=self.item.units)
        return back

    def rated(self) -> None:
        """Hotline and citizen reports are often rated by their reporter once closed."""
        h, rng = self.h, self.rng
        if self.source in (Source.HOTLINE, Source.CITIZEN) and rng.random() < RATED_SHARE:
            self.rating = h.ratings[bisect(h.rating_cum, rng.random() * h.rating_cum[-1])]

    def row(self) -> tuple:
        """The case as a row in ``CASE_FIELDS`` order."""
        return _ROW(self)
