"""Every write to a case: report, the workflow's transitions, extensions, photos, merges.

Each transition is one service call that (1) locks the case row (``select_for_update``), so of
two people acting on one case at once exactly one succeeds and the other gets ``CaseConflict``
with the state it found; (2) checks the actor's role and scope (``CaseForbidden``); (3) moves
the FSM (django-fsm, the guards live on the model); (4) writes one ``CaseTransition`` row in
the same transaction; (5) schedules its side effects (notifications, the websocket push) with
``transaction.on_commit``.
"""

import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import TransitionNotAllowed

from accounts import policy
from accounts.models import AssignmentKind, Department, GridAssignment, Role, User
from cases import transitions
from cases.calendar import calendar_current, deadline
from cases.models import (
    Case,
    CaseExtension,
    CaseFollower,
    CaseNumberCounter,
    CasePhoto,
    CaseTransition,
    Confirmation,
    ExtensionDecision,
    FollowerRole,
    Item,
    Notification,
    RequestKind,
    RequestType,
    Resolution,
    Satisfaction,
    Source,
    Stage,
    Status,
)
from cases.notify import case_changed, case_events_batched, notify, notify_followers
from gridcity import coords
from gridcity.errors import Conflict, DomainError, ErrorAnswer, FieldInvalid
from gridcity.locate import grid_at


class CaseConflict(Conflict):
    """The case is not in a state that allows this (409): someone else acted first. The answer
    says the case's current status."""

    def __init__(self, case: Case | None, message: str, code: str = "conflict"):
        super().__init__(message, code=code)
        self.case = case

    def answer(self) -> ErrorAnswer:
        answer = super().answer()
        if self.case is None:
            return answer
        extra = {"status": self.case.status}
        if (last := last_step(self.case)) is not None:
            extra["last_step"] = last
        return replace(answer, extra=extra)


def last_step(case: Case) -> dict | None:
    """The case's latest timeline step — who did what, when — for a 409's answer. Without the
    asker at hand, a citizen is only "citizen" (市民) here, as to most readers of the API."""
    if case.pk is None:
        return None
    row = (
        CaseTransition.objects.filter(case_id=case.pk)
        .select_related("actor")
        .order_by("-at", "-id")
        .first()
    )
    if row is None:
        return None
    actor = row.actor
    if actor is None:
        by = None
    elif policy.is_citizen(actor):
        by = str(Role.CITIZEN.label)
    else:
        by = actor.username
    return {"action": row.action, "by": by, "at": timezone.localtime(row.at).isoformat()}


class CaseForbidden(PermissionDenied):
    """The actor may see the case but not do this to it (403)."""


class CaseInvalid(FieldInvalid):
    """Input the service refuses (400), naming the field."""


# --- who may do what (the rules are accounts.policy's; these raise its refusals) ---------------

# Reports that need no 核实: an inspector reported what they saw on site themselves.
CONFIRMED_BY_SOURCE = frozenset({Source.INSPECTOR})

# The states in which a department may ask for more time (延期).
EXTENDABLE = [Status.DISPATCHED, Status.HANDLING]

SOURCE_OF_ROLE = {
    Role.INSPECTOR: Source.INSPECTOR,
    Role.CITIZEN: Source.CITIZEN,
    Role.HOTLINE: Source.HOTLINE,
    Role.SUPERVISOR: Source.SUPERVISOR,
    Role.DISPATCHER: Source.HOTLINE,
    Role.ADMIN: Source.HOTLINE,
}


def _allowed(user: User, case: Case, may: Callable[[User, Case], bool]) -> None:
    if not user.is_active:
        raise CaseForbidden(_("This account is disabled."))
    if not may(user, case):
        raise CaseForbidden(_("Your role may not do this to this case."))


def _command_centre(user, case):
    _allowed(user, case, policy.may_command)


def _approver(user, case):
    _allowed(user, case, policy.may_approve)


def _department(user, case):
    _allowed(user, case, policy.may_handle)


def _verifier(user, case):
    _allowed(user, case, policy.may_verify)


def _confirmer(user, case):
    _allowed(user, case, policy.may_confirm)


def _canceller(user, case):
    # The reporter may withdraw their own report while nobody has filed it yet.
    if policy.is_reporter(user, case) and case.status == Status.REPORTED:
        return
    _command_centre(user, case)


# --- the shared step ---------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """Where the actor stood (a handheld's fix), WGS-84 after conversion."""

    lon: float
    lat: float

    @classmethod
    def of(cls, lon, lat, crs: str = "wgs84") -> "Where | None":
        if lon is None or lat is None:
            return None
        if crs != "wgs84":
            lon, lat = coords.convert(lon, lat, crs, "wgs84")
        return cls(float(lon), float(lat))

    def point(self) -> Point:
        return Point(self.lon, self.lat, srid=4326)


def _lock(case: Case) -> Case:
    return Case.objects.select_for_update().select_related("item").get(pk=case.pk)


def _refuse(case: Case, action: str) -> CaseConflict:
    return CaseConflict(
        case,
        _("A case in state “%(status)s” does not allow “%(action)s”.")
        % {"status": case.get_status_display(), "action": action},
        code="invalid_state",
    )


def _record(case, *, action, by, from_state, note="", where=None, detail=None, at=None):
    """Write the timeline row; after commit the change goes live to its watchers."""
    row = CaseTransition.objects.create(
        case=case,
        action=action,
        from_state=from_state,
        to_state=case.status,
        actor=by,
        at=at or timezone.now(),
        note=note,
        location=where.point() if where else None,
        detail=detail or {},
    )
    case_changed(case, action=action, at=row.at)
    if action in PUBLIC_UPDATES:
        _followers_tell(case, action)
    return row


def _step(
    case: Case,
    *,
    action: str,
    by: User | None,
    check: Callable[[User, Case], None] | None,
    move: Callable[[Case, datetime], dict | None],
    note: str = "",
    where: Where | None = None,
    note_required: bool = False,
) -> Case:
    """Lock, check, move, record: the body of every transition."""
    if note_required and not note.strip():
        raise CaseInvalid("note", _("Say why: a note is required for this step."))
    locked = _lock(case)
    if by is not None and check is not None:
        check(by, locked)
    before = locked.status
    now = timezone.now()
    try:
        detail = move(locked, now) or {}
    except TransitionNotAllowed:
        raise _refuse(locked, action) from None
    if locked.status == Status.CLOSED and before != Status.CLOSED:
        _callback_schedule(locked, now)
    locked.save()
    if before in EXTENDABLE and locked.status not in EXTENDABLE:
        _requests_settle(locked, by=by, now=now)
    _record(
        locked,
        action=action,
        by=by,
        from_state=before,
        note=note,
        where=where,
        detail=detail,
        at=now,
    )
    return locked


def _due(start: datetime, item: Item, stage: str) -> datetime:
    amount, unit = item.limit(stage)
    return deadline(start, amount, unit)


# --- report --------------------------------------------------------------------------------


def request_digest(body: dict) -> str:
    """A stable hash of what a handheld sent, to tell a retry from a different report."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def case_number_next(prefix_code: str, at: datetime) -> str:
    """``440306-20261122-000123``: district, day in Asia/Shanghai, the day's sequence.

    The counter row is locked for the increment, so numbers are unique and gap-free per day
    even when handhelds upload at once (the lock is held only by the reporting transaction).
    """
    day = timezone.localtime(at, timezone=timezone.get_default_timezone()).strftime("%Y%m%d")
    prefix = f"{prefix_code}-{day}"
    last = _counter_increment(prefix)
    if last is None:
        try:
            with transaction.atomic():
                CaseNumberCounter.objects.create(prefix=prefix, last=1)
            last = 1
        except IntegrityError:  # another report created the day's row first
            last = _counter_increment(prefix)
    return f"{prefix}-{last:06d}"


def _counter_increment(prefix: str) -> int | None:
    """``UPDATE … RETURNING``: increment and read the day's counter in one statement (SQLite
    3.35+ and PostgreSQL); None when the day has no row yet."""
    table = connection.ops.quote_name(CaseNumberCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last = last + 1 WHERE prefix = %s RETURNING last", [prefix]
        )
        row = cursor.fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class Reported:
    case: Case
    created: bool


def case_report(
    *,
    by: User | None,
    item: Item,
    lon: float,
    lat: float,
    crs: str = "wgs84",
    description: str = "",
    address: str = "",
    client_uuid=None,
    source: str | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    digest: str = "",
    request_type: str = "",
    external_number: str | None = None,
    held: bool = False,
) -> Reported:
    """信息收集: a problem is reported. Idempotent by ``client_uuid`` and by a 12345 platform's
    ticket number (``external_number``): the same key and ``digest`` returns the first case
    (``created`` False), another digest is a ``CaseConflict``. Placed in its grid by locate (a
    point outside every grid is refused). ``by`` is None for an anonymous citizen; a request's
    ``request_type`` sets ``reply_due``; ``held`` keeps a spam-marked report off public pages.
    """
    earlier = _reported_before(client_uuid, external_number, digest, by)
    if earlier is not None:
        return earlier
    _report_checked(by=by, source=source, request_type=request_type, item=item)
    lon, lat, place = _placed(lon, lat, crs)
    now = timezone.now()
    try:
        with transaction.atomic():
            case = Case.objects.create(
                number=case_number_next(place.district.code, now),
                source=source or SOURCE_OF_ROLE.get(by.role, Source.INSPECTOR),
                item=item,
                description=description,
                point=Point(lon, lat, srid=4326),
                address=address,
                **_placed_in(place),
                reporter=by,
                contact_name=contact_name,
                contact_phone=contact_phone,
                file_due=_due(now, item, Stage.FILE),
                client_uuid=client_uuid,
                request_digest=digest,
                request_type=request_type,
                external_number=external_number or None,
                reply_due=reply_due_for(request_type, now),
                held=held,
            )
            _record(case, action="report", by=by, from_state="", at=now)
    except IntegrityError:
        # Two uploads of one report raced; the other one won.
        earlier = _reported_before(client_uuid, external_number, digest, by)
        if earlier is None:
            raise
        return earlier
    return Reported(case, True)


def _report_checked(*, by, source, request_type: str, item: Item) -> None:
    if by is None and not source:
        raise ValueError("an anonymous report names its source")
    if request_type and request_type not in RequestType.values:
        raise CaseInvalid("request_type", _("Not a request type."))
    if not item.active:
        raise CaseInvalid("item", _("This item is no longer in use."))


def _placed_in(place) -> dict:
    """The hierarchy columns of a case at ``place`` (what locate found)."""
    return {
        "grid_id": place.grid_id,
        "community_id": place.community.id,
        "street_id": place.street.id,
        "district_id": place.district.id,
    }


def _reported_before(client_uuid, external_number, digest: str, by) -> Reported | None:
    """The case this report already made, by its ``client_uuid`` or its ticket number."""
    if client_uuid is not None:
        existing = Case.objects.filter(client_uuid=client_uuid).first()
        if existing is not None:
            return _replayed(existing, digest, by)
    if external_number:
        existing = Case.objects.filter(external_number=external_number).first()
        if existing is not None:
            return _replayed(existing, digest, by, same_sender=True)
    return None


def _placed(lon: float, lat: float, crs: str):
    """The point in WGS-84, and the grid, community and street it lies in (locate)."""
    at = Where.of(lon, lat, crs)
    place = grid_at(at.lon, at.lat)
    if place is None:
        raise CaseInvalid("lon", _("This point lies outside every work grid of the district."))
    return at.lon, at.lat, place


def _replayed(
    existing: Case, digest: str, by: User | None, *, same_sender: bool = False
) -> Reported:
    """The first answer again, to the one who sent it (a platform's ticket number is the
    platform's: any of its calls may repeat it, ``same_sender``)."""
    if same_sender:
        if existing.request_digest and digest and existing.request_digest != digest:
            raise CaseConflict(
                existing,
                _("This ticket number was already used for a different ticket."),
                code="external_number_reused",
            )
        return Reported(existing, False)
    if existing.reporter_id != (by.pk if by is not None else None):
        # Someone else's report: say nothing about it, not even its state.
        raise CaseConflict(
            None,
            _("This client_uuid was already used for a different report."),
            code="client_uuid_reused",
        )
    if existing.request_digest and digest and existing.request_digest != digest:
        raise CaseConflict(
            existing,
            _("This client_uuid was already used for a different report."),
            code="client_uuid_reused",
        )
    return Reported(existing, False)


# --- routing ---------------------------------------------------------------------------------


def routing_proposal(case: Case) -> Department | None:
    """Where a case should go: the item's department for components (owner first); for events
    the street office of the case's street (locality first) unless the item names its own."""
    if case.item.department_id:
        return case.item.department
    if case.street_id:
        return Department.objects.filter(street_id=case.street_id).order_by("code").first()
    return None


# --- transitions -----------------------------------------------------------------------------


def _plain_step(
    case: Case,
    action: str,
    *,
    by: User,
    check,
    note: str,
    where: Where | None = None,
    note_required: bool = False,
) -> Case:
    """A step that only moves the state: no deadline or department changes with it."""

    def move(c, now):
        return transitions.advance(c, action, at=now)

    return _step(
        case,
        action=action,
        by=by,
        check=check,
        move=move,
        note=note,
        where=where,
        note_required=note_required,
    )


@transaction.atomic
def case_file(*, case: Case, by: User, note: str = "") -> Case:
    """立案: the command centre accepts the report as a case. A report held for its spam
    markers is released first (``case_release``: a person read it) or rejected."""

    def move(c, now):
        if c.held and transitions.allowed(c, "file"):
            raise CaseConflict(
                c, _("This report is held for review: release it first."), code="held"
            )
        return transitions.advance(
            c, "file", at=now, dispatch_due=_due(now, c.item, Stage.DISPATCH)
        )

    return _step(case, action="file", by=by, check=_command_centre, move=move, note=note)


@transaction.atomic
def case_reject(*, case: Case, by: User, note: str) -> Case:
    """不予立案: the report does not meet the item's filing condition."""
    return _plain_step(case, "reject", by=by, check=_command_centre, note=note, note_required=True)


@transaction.atomic
def case_cancel(*, case: Case, by: User, note: str) -> Case:
    """作废: withdrawn before dispatch (a mistaken report, a test, the reporter's wish)."""
    return _plain_step(case, "cancel", by=by, check=_canceller, note=note, note_required=True)


def _dispatch_to(c: Case, name: str, department: Department | None, now: datetime) -> dict:
    if not transitions.allowed(c, name):  # the state first: a conflict before a missing input
        raise TransitionNotAllowed(name)
    department = department or routing_proposal(c)
    if department is None:
        raise CaseInvalid("department", _("No department to dispatch to: choose one."))
    return transitions.advance(
        c,
        name,
        at=now,
        department_id=department.pk,
        department_code=department.code,
        handle_due=_due(now, c.item, Stage.HANDLE),
    )


def _notify_department(case: Case, kind: str, message: str) -> None:
    staff = User.objects.filter(
        department_id=case.department_id, role=Role.STAFF, is_active=True
    ).values_list("pk", flat=True)
    notify(list(staff), kind=kind, case=case, message=message)


def _dispatch_step(
    case: Case, name: str, *, by: User, department: Department | None, note: str
) -> Case:
    """Dispatch and redispatch alike: to the department chosen or proposed, staff told."""

    def move(c, now):
        return _dispatch_to(c, name, department, now)

    case = _step(case, action=name, by=by, check=_command_centre, move=move, note=note)
    _notify_department(case, Notification.Kind.DISPATCHED, _("New case %s") % case.number)
    return case


@transaction.atomic
def case_dispatch(
    *, case: Case, by: User, department: Department | None = None, note: str = ""
) -> Case:
    """派遣: send a filed case to a department; its handling clock starts now."""
    return _dispatch_step(case, "dispatch", by=by, department=department, note=note)


@transaction.atomic
def case_redispatch(
    *, case: Case, by: User, department: Department | None = None, note: str = ""
) -> Case:
    """重新派遣: a returned case goes to (usually another) department."""
    return _dispatch_step(case, "redispatch", by=by, department=department, note=note)


@transaction.atomic
def case_return(*, case: Case, by: User, note: str) -> Case:
    """回退: the department says the case is not theirs; the command centre redispatches."""

    def move(c, now):
        return transitions.advance(
            c,
            "return_",
            at=now,
            dispatch_due=_due(now, c.item, Stage.DISPATCH),
            department_code=c.department.code if c.department_id else None,
        )

    case = _step(
        case, action="return", by=by, check=_department, move=move, note=note, note_required=True
    )
    notify(
        _people_over(case, Role.DISPATCHER),
        kind=Notification.Kind.RETURNED,
        case=case,
        message=_("Case %s returned") % case.number,
    )
    return case


@transaction.atomic
def case_accept(*, case: Case, by: User, note: str = "") -> Case:
    """签收: a member of the department takes the case on."""

    def move(c, now):
        return transitions.advance(c, "accept", at=now, assignee_id=by.pk)

    return _step(case, action="accept", by=by, check=_department, move=move, note=note)


@transaction.atomic
def case_handle(*, case: Case, by: User, note: str, where: Where | None = None) -> Case:
    """处置 → 反馈: the department reports the problem solved (with after-photos)."""
    return _plain_step(
        case, "handle", by=by, check=_department, note=note, where=where, note_required=True
    )


def _verifier_for(case: Case) -> User | None:
    for kind in (AssignmentKind.PRIMARY, AssignmentKind.BACKUP):
        assignment = (
            GridAssignment.objects.filter(grid_id=case.grid_id, kind=kind, valid_to__isnull=True)
            .select_related("inspector")
            .first()
        )
        if assignment and assignment.inspector.is_active:
            return assignment.inspector
    return None


@transaction.atomic
def case_request_verify(*, case: Case, by: User, note: str = "") -> Case:
    """核查: the command centre asks the grid's inspector to check on site."""

    def move(c, now):
        verifier = _verifier_for(c) if transitions.allowed(c, "request_verify") else None
        return transitions.advance(
            c,
            "request_verify",
            at=now,
            verifier_id=verifier.pk if verifier else None,
            verifier_name=verifier.username if verifier else None,
            verify_due=_due(now, c.item, Stage.VERIFY),
        )

    case = _step(case, action="request-verify", by=by, check=_command_centre, move=move, note=note)
    if case.verifier_id:
        notify(
            [case.verifier_id],
            kind=Notification.Kind.VERIFY,
            case=case,
            message=_("Please verify case %s on site") % case.number,
        )
    return case


@transaction.atomic
def case_confirm_request(*, case: Case, by: User, note: str = "") -> Case:
    """核实 asked: before filing a report from a citizen, the hotline or Open311, the command
    centre asks the grid's inspector to confirm on site that the problem is there. The case
    stays reported; one request is open at a time."""
    locked = _lock(case)
    _command_centre(by, locked)
    if locked.status != Status.REPORTED:
        raise _refuse(locked, "confirm-request")
    if locked.source in CONFIRMED_BY_SOURCE:
        raise CaseConflict(
            locked,
            _("An inspector reported this on site: it needs no confirmation."),
            code="seen_on_site",
        )
    if locked.confirmation == Confirmation.REQUESTED:
        raise CaseConflict(
            locked, _("A confirmation on site is already asked for."), code="already_requested"
        )
    verifier = _verifier_for(locked)
    if verifier is None:
        raise CaseConflict(
            locked, _("No active inspector holds this case's grid."), code="no_inspector"
        )
    now = timezone.now()
    locked.verifier, locked.verifier_id = verifier, verifier.pk
    locked.confirmation, locked.confirm_requested_at = Confirmation.REQUESTED, now
    locked.save(update_fields=["verifier", "confirmation", "confirm_requested_at", "updated_at"])
    _record(
        locked,
        action="confirm-request",
        by=by,
        from_state=locked.status,
        note=note,
        detail={"verifier": verifier.username},
        at=now,
    )
    notify(
        [verifier.pk],
        kind=Notification.Kind.CONFIRM,
        case=locked,
        message=_("Please confirm case %s on site") % locked.number,
    )
    return locked


@transaction.atomic
def case_confirm(
    *, case: Case, by: User, found: bool, note: str = "", where: Where | None = None
) -> Case:
    """核实: the inspector answers whether the reported problem is there (属实) or not (不属实,
    saying why). The case stays reported: the command centre then files or rejects it. Only
    an open request is answered; a second answer is a conflict."""
    if not found and not note.strip():
        raise CaseInvalid("note", _("Say what you found: a note is required when not found."))
    locked = _lock(case)
    _confirmer(by, locked)
    if locked.status != Status.REPORTED:
        raise _refuse(locked, "confirm")
    if locked.confirmation != Confirmation.REQUESTED:
        raise CaseConflict(
            locked,
            _("No confirmation on site is asked for (it may be answered already)."),
            code="not_requested",
        )
    locked.confirmation = Confirmation.FOUND if found else Confirmation.NOT_FOUND
    locked.save(update_fields=["confirmation", "updated_at"])
    _record(
        locked,
        action="confirm",
        by=by,
        from_state=locked.status,
        note=note,
        where=where,
        detail={"found": found},
    )
    return locked


@transaction.atomic
def case_verify(
    *, case: Case, by: User, passed: bool, note: str = "", where: Where | None = None
) -> Case:
    """核查: passed closes the case (结案); failed sends it back for rework (返工)."""

    def move(c, now):
        if passed:
            return transitions.advance(c, "verify_pass", at=now)
        return transitions.advance(
            c, "verify_fail", at=now, handle_due=_due(now, c.item, Stage.HANDLE)
        )

    case = _step(
        case,
        action="verify",
        by=by,
        check=_verifier,
        move=move,
        note=note,
        where=where,
        note_required=not passed,
    )
    if not passed:
        _notify_department(case, Notification.Kind.REWORK, _("Case %s needs rework") % case.number)
    return case


@transaction.atomic
def case_close(*, case: Case, by: User, note: str = "") -> Case:
    """结案: the command centre closes a handled case on the evidence it has."""
    return _plain_step(case, "close", by=by, check=_command_centre, note=note)


@transaction.atomic
def case_suspend(*, case: Case, by: User, note: str) -> Case:
    """挂账: put on hold with the approver's word (waiting for a court, a season, funds). A
    department's waiting suspension request is answered by it (approved)."""
    return _plain_step(case, "suspend", by=by, check=_approver, note=note, note_required=True)


@transaction.atomic
def case_resume(*, case: Case, by: User, note: str = "") -> Case:
    """Back to the state it was suspended from; the time on hold is added to its deadlines."""

    def move(c, now):
        units = {stage: c.item.limit(stage)[1] for stage in Stage.values}
        return transitions.advance(c, "resume", at=now, calendar=calendar_current(), units=units)

    return _step(case, action="resume", by=by, check=_approver, move=move, note=note)


@transaction.atomic
def case_merge(*, case: Case, by: User, master: Case, note: str = "") -> Case:
    """Close a duplicate report into the case it repeats; its reporter is told."""
    if master.pk == case.pk:
        raise CaseInvalid("master", _("A case cannot be a duplicate of itself."))
    if master.master_id is not None:
        raise CaseInvalid("master", _("That case is itself a duplicate."))
    if master.status in (Status.REJECTED, Status.CANCELLED):
        # A closed master is fine (the problem was solved; the reporter is told so), but one
        # that was never a case would leave the duplicate's problem with nobody.
        raise CaseInvalid("master", _("That case was rejected or cancelled."))

    def move(c, now):
        return transitions.advance(
            c, "merge", at=now, master_id=master.pk, master_number=master.number
        )

    case = _step(case, action="merge", by=by, check=_command_centre, move=move, note=note)
    _followers_carry(case, master)
    if case.reporter_id and case.reporter_id != by.pk:
        notify(
            [case.reporter_id],
            kind=Notification.Kind.CLOSED,
            case=case,
            message=_("Your report %(case)s is being handled as %(master)s")
            % {"case": case.number, "master": master.number},
        )
    return case


@transaction.atomic
def case_rate(*, case: Case, by: User, rating: int, note: str = "") -> Case:
    """综合评价 by the reporter: 1–5 once the case is closed as resolved, once."""
    if not 1 <= rating <= 5:
        raise CaseInvalid("rating", _("Rate from 1 to 5."))
    locked = _lock(case)
    if by.pk != locked.reporter_id:
        raise CaseForbidden(_("Only the person who reported a case may rate it."))
    if locked.status != Status.CLOSED or locked.resolution != Resolution.RESOLVED:
        raise _refuse(locked, "rate")
    if locked.rating is not None:
        raise CaseConflict(locked, _("This case is already rated."), code="already_rated")
    locked.rating = rating
    locked.save(update_fields=["rating", "updated_at"])
    _record(
        locked,
        action="rate",
        by=by,
        from_state=locked.status,
        note=note,
        detail={"rating": rating},
    )
    return locked


# --- extension and escalation (no change of state, one timeline row each) -----------------


def _request_open(
    locked: Case, *, by: User, kind: str, note: str, amount=None, unit: str = ""
) -> CaseExtension:
    """A department's request (延期 or 挂账) on a locked case, checked and written: the
    department's, while it holds the case, and only when no other request waits."""
    action = "extend" if kind == RequestKind.EXTENSION else "suspend-request"
    _department(by, locked)
    if locked.status not in EXTENDABLE:
        raise _refuse(locked, action)
    waiting = locked.extensions.filter(decision=ExtensionDecision.PENDING).first()
    if waiting is not None:
        message = (
            _("An extension request is already waiting.")
            if waiting.kind == RequestKind.EXTENSION
            else _("A suspension request is already waiting.")
        )
        raise CaseConflict(locked, message, code="extension_pending")
    now = timezone.now()
    request = CaseExtension.objects.create(
        case=locked,
        kind=kind,
        amount=amount,
        unit=unit,
        reason=note,
        requested_by=by,
        requested_at=now,
        due_before=locked.handle_due,
    )
    locked.save(update_fields=["updated_at"])
    detail = {"amount": amount, "unit": unit} if kind == RequestKind.EXTENSION else {}
    _record(
        locked, action=action, by=by, from_state=locked.status, note=note, at=now, detail=detail
    )
    return request


def _note_given(note: str) -> None:
    if not note.strip():
        raise CaseInvalid("note", _("Say why: a note is required for this step."))


@transaction.atomic
def case_extend(*, case: Case, by: User, amount: int, unit: str, note: str) -> Case:
    """延期 requested: the department asks for more time; an approver decides."""
    _note_given(note)
    if amount <= 0:
        raise CaseInvalid("amount", _("Ask for a positive amount of time."))
    locked = _lock(case)
    _request_open(locked, by=by, kind=RequestKind.EXTENSION, note=note, amount=amount, unit=unit)
    notify(
        _people_over(locked, Role.DISPATCHER, Role.SUPERVISOR),
        kind=Notification.Kind.EXTENSION,
        case=locked,
        message=_("Extension requested for %s") % locked.number,
    )
    return locked


@transaction.atomic
def case_suspend_request(*, case: Case, by: User, note: str) -> Case:
    """挂账申请: the department asks for the case to be put on hold (waiting for a court, a
    season, funds), saying why; an approver decides (:func:`case_suspension_decide`). Only
    while the department holds the case (dispatched or handling), one request at a time."""
    _note_given(note)
    locked = _lock(case)
    _request_open(locked, by=by, kind=RequestKind.SUSPENSION, note=note)
    notify(
        _people_over(locked, Role.DISPATCHER, Role.SUPERVISOR),
        kind=Notification.Kind.SUSPENSION,
        case=locked,
        message=_("Suspension requested for %s") % locked.number,
    )
    return locked


def _request_pending(locked: Case, kind: str, action: str) -> CaseExtension:
    """The request of ``kind`` waiting on a locked case (locked too), or the 409 saying so."""
    request = (
        locked.extensions.select_for_update()
        .filter(decision=ExtensionDecision.PENDING, kind=kind)
        .first()
    )
    if request is None:
        if kind == RequestKind.EXTENSION:
            raise CaseConflict(locked, _("No extension request is waiting."), code="no_extension")
        raise CaseConflict(
            locked, _("No suspension request is waiting."), code="no_suspension_request"
        )
    if locked.status not in EXTENDABLE:
        raise _refuse(locked, action)
    return request


@transaction.atomic
def case_extension_decide(*, case: Case, by: User, approve: bool, note: str = "") -> Case:
    """Approve (the handling deadline moves on by the time asked) or deny an extension."""
    locked = _lock(case)
    _approver(by, locked)
    action = "extend-approve" if approve else "extend-deny"
    request = _request_pending(locked, RequestKind.EXTENSION, action)
    now = timezone.now()
    request.decision = ExtensionDecision.APPROVED if approve else ExtensionDecision.DENIED
    request.decided_by, request.decided_at = by, now
    if approve:
        base = max(locked.handle_due or now, now)
        locked.handle_due = deadline(base, request.amount, request.unit)
        locked.overdue = False
        locked.warned_at = None
        request.due_after = locked.handle_due
    request.save()
    locked.save()
    _record(
        locked,
        action=action,
        by=by,
        from_state=locked.status,
        note=note,
        at=now,
        detail={"handle_due": locked.handle_due.isoformat() if locked.handle_due else None},
    )
    notify(
        [request.requested_by_id],
        kind=Notification.Kind.EXTENSION_DECIDED,
        case=locked,
        message=(_("Extension approved for %s") if approve else _("Extension denied for %s"))
        % locked.number,
    )
    return locked


@transaction.atomic
def case_suspension_decide(*, case: Case, by: User, approve: bool, note: str = "") -> Case:
    """Decide a department's 挂账 request. Approved, the approver suspends the case as
    :func:`case_suspend` does (the timeline row of the decision is the move to suspended);
    denied, the case stays where it is and the department goes on."""
    locked = _lock(case)
    _approver(by, locked)
    action = "suspend-approve" if approve else "suspend-deny"
    request = _request_pending(locked, RequestKind.SUSPENSION, action)
    now = timezone.now()
    before = locked.status
    request.decision = ExtensionDecision.APPROVED if approve else ExtensionDecision.DENIED
    request.decided_by, request.decided_at = by, now
    detail = {"request": request.pk, "requested_by": request.requested_by.username}
    if approve:
        detail |= transitions.advance(locked, "suspend", at=now)
    request.save()
    locked.save()
    _record(locked, action=action, by=by, from_state=before, note=note, at=now, detail=detail)
    notify(
        [request.requested_by_id],
        kind=Notification.Kind.SUSPENSION_DECIDED,
        case=locked,
        message=(_("Suspension approved for %s") if approve else _("Suspension denied for %s"))
        % locked.number,
    )
    return locked


def _requests_settle(case: Case, *, by: User | None, now: datetime) -> None:
    """The requests left waiting when a step moves the case on. Suspended by an approver, a
    waiting suspension request is answered (approved by that step); leaving the department's
    hands (handled, returned), every waiting request is withdrawn: a later rework must not
    revive a request made about another round of work."""
    pending = CaseExtension.objects.filter(case=case, decision=ExtensionDecision.PENDING)
    if case.status == Status.SUSPENDED:
        pending.filter(kind=RequestKind.SUSPENSION).update(
            decision=ExtensionDecision.APPROVED, decided_by=by, decided_at=now
        )
    elif case.status not in EXTENDABLE:
        pending.update(decision=ExtensionDecision.WITHDRAWN, decided_at=now)


@transaction.atomic
def case_escalate(*, case: Case, by: User | None, note: str = "") -> Case:
    """督办: a supervisor (or the overdue sweep, ``by=None``) presses the department."""
    locked = _lock(case)
    if by is not None:
        _approver(by, locked)
    if not locked.is_open or locked.status == Status.SUSPENDED:
        raise _refuse(locked, "escalate")
    if locked.escalated:
        raise CaseConflict(locked, _("This case is already escalated."), code="already_escalated")
    now = timezone.now()
    locked.escalated = True
    locked.save(update_fields=["escalated", "updated_at"])
    _record(locked, action="escalate", by=by, from_state=locked.status, note=note, at=now)
    if locked.department_id:
        _notify_department(
            locked, Notification.Kind.OVERDUE, _("Case %s is escalated") % locked.number
        )
    return locked


# --- sweeps (periodic tasks call these) -----------------------------------------------------


def _people_over(case: Case, *roles: str) -> list[int]:
    """The active people of ``roles`` whose street or district holds the case."""
    return list(
        User.objects.filter(role__in=roles, is_active=True)
        .filter(Q(street_id=case.street_id) | Q(district_id=case.district_id))
        .values_list("pk", flat=True)
    )


def cases_mark_overdue(*, now: datetime | None = None) -> int:
    """Mark the cases whose stage deadline passed, escalate them and tell the supervisors.

    Each case is marked in its own transaction under its row lock and only if still unmarked,
    so a duplicate or late run of the task changes nothing twice.
    """
    from cases.selectors import cases_overdue

    now = now or timezone.now()
    marked = 0
    # Thousands of cases may pass due at once (after an outage, a holiday's end): their live
    # events go out together, capped, when the sweep ends.
    with case_events_batched():
        for pk in cases_overdue(now).values_list("pk", flat=True).iterator():
            marked += _overdue_mark(pk, now)
    return marked


def _overdue_mark(pk: int, now: datetime) -> int:
    """Mark one case overdue under its row lock, if it still is; 1 if it was marked."""
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=pk)
        due = case.stage_due()
        if case.overdue or due is None or due >= now or not case.is_open:
            return 0
        detail = transitions.mark_overdue(case, due=due)
        case.save(update_fields=["overdue", "escalated", "updated_at"])
        _record(case, action="overdue", by=None, from_state=case.status, at=now, detail=detail)
        notify(
            _people_over(case, Role.SUPERVISOR),
            kind=Notification.Kind.OVERDUE,
            case=case,
            message=_("Case %s is overdue") % case.number,
        )
        return 1


def cases_warn_due_soon(*, now: datetime | None = None) -> int:
    """Warn a department before a handling deadline (``GRIDCITY_WARN_BEFORE_MINUTES``)."""
    from datetime import timedelta

    from cases.selectors import cases_due_soon

    now = now or timezone.now()
    until = now + timedelta(minutes=getattr(settings, "GRIDCITY_WARN_BEFORE_MINUTES", 120))
    warned = 0
    for pk in cases_due_soon(now, until).values_list("pk", flat=True).iterator():
        with transaction.atomic():
            # Only the run that flips warned_at from empty sends the warning.
            flipped = Case.objects.filter(pk=pk, warned_at__isnull=True).update(warned_at=now)
            if not flipped:
                continue
            case = Case.objects.get(pk=pk)
            _notify_department(
                case, Notification.Kind.DUE_SOON, _("Case %s is due soon") % case.number
            )
            warned += 1
    return warned


# --- photos ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoAdded:
    photo: "CasePhoto"
    created: bool


# stage → the states in which a case takes that stage's photos (who may: accounts.policy)
PHOTO_STATES = {
    "report": {Status.REPORTED, Status.FILED},
    "handle": {Status.HANDLING, Status.HANDLED},
    "verify": {Status.VERIFYING},
}


def _photo_check(user: User | None, case: Case, stage: str, follower=None) -> None:
    if user is None:
        # A citizen without an account adds the photos of their own report, through the
        # reporter's row the report made (its private link), and nothing else.
        reporter = CaseFollower.objects.filter(case=case, role=FollowerRole.REPORTER)
        if follower is None or not reporter.filter(pk=follower.pk).exists():
            raise CaseForbidden(_("Only the person who reported a case may add its photos."))
        if stage != "report":
            raise CaseForbidden(_("Your role may not do this to this case."))
    else:
        _allowed(user, case, lambda u, c: policy.may_add_photo(u, c, stage))
    if case.status not in PHOTO_STATES[stage]:
        raise CaseConflict(
            case,
            _("A case in state “%(status)s” takes no %(stage)s photos.")
            % {"status": case.get_status_display(), "stage": stage},
            code="invalid_state",
        )


def _photo_sent_before(case: Case, client_id) -> "PhotoAdded | None":
    """The photo this ``client_id`` already stored for the case (a retry), or None."""
    existing = CasePhoto.objects.filter(client_id=client_id).first()
    if existing is None:
        return None
    if existing.case_id != case.pk:
        raise CaseConflict(
            case,
            _("This client_id was already used for another case's photo."),
            code="client_id_reused",
        )
    return PhotoAdded(existing, False)


def case_photo_add(
    *,
    case: Case,
    by: User | None,
    data: bytes,
    stage: str,
    client_id=None,
    follower: CaseFollower | None = None,
) -> PhotoAdded:
    """Store an evidence photo, stripped of its metadata; derivatives follow in a task.

    The upload is checked by its content (format, size, pixels, a complete decode) before
    anything is written; the capture time and GPS are read into fields first, and a photo
    taken far from the case is flagged. Idempotent by ``client_id``. ``by`` is None for a
    citizen without an account, who adds their own report's photos as its reporter
    (``follower``, the row ``case_follow`` made for them).
    """
    from django.core.files.base import ContentFile

    from cases import photos
    from cases.models import CasePhoto

    if client_id is not None and (earlier := _photo_sent_before(case, client_id)) is not None:
        return earlier
    _photo_check(by, case, stage, follower)
    try:
        image, facts = photos.photo_inspect(data)
    except photos.PhotoRejected as exc:
        raise CaseInvalid("file", str(exc.message)) from exc
    cleaned, extension = photos.photo_clean(image)
    far = None
    if facts.lon is not None and facts.lat is not None:
        far = photos.distance_m(facts.lon, facts.lat, case.point.x, case.point.y) > getattr(
            settings, "GRIDCITY_PHOTO_FAR_M", 500.0
        )
    try:
        with transaction.atomic():
            photo = CasePhoto(
                case=case,
                stage=stage,
                client_id=client_id,
                width=facts.width,
                height=facts.height,
                size=facts.bytes,
                sha256=facts.sha256,
                taken_at=facts.taken_at,
                taken_point=Point(facts.lon, facts.lat, srid=4326) if far is not None else None,
                far_from_case=far,
                uploaded_by=by,
            )
            photo.original.save(f"photo.{extension}", ContentFile(cleaned), save=False)
            photo.save()
            Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
            transaction.on_commit(lambda: _photo_derivatives_later(photo.pk))
    except IntegrityError:
        existing = CasePhoto.objects.filter(client_id=client_id).first() if client_id else None
        if existing is None:
            raise
        return PhotoAdded(existing, False)
    return PhotoAdded(photo, True)


def _photo_derivatives_later(photo_id: int) -> None:
    """Queue the derivatives after commit; a broker that cannot take the task is logged, not
    a failed upload (the photo is stored, and its copies say "still being processed")."""
    from cases.tasks import case_photo_derivatives_task

    try:
        case_photo_derivatives_task.delay(photo_id)
    except Exception:
        logging.getLogger("gridcity.cases").warning(
            "could not queue the copies of photo %s", photo_id, exc_info=True
        )


# A photo whose copies were not made this long after its upload (the task was never queued, or
# its worker died) is picked up by the periodic catch-up; one older than a week is left alone.
PHOTO_COPIES_GRACE = timedelta(minutes=2)
PHOTO_COPIES_GIVE_UP = timedelta(days=7)


def case_photo_copies_catch_up(*, now: datetime | None = None, limit: int = 50) -> int:
    """Make the missing copies of photos whose task never ran (the broker could not take it
    when they were uploaded, or the worker died); how many photos got them. Run by beat; a
    photo that cannot be read is logged and skipped, and tried again next time."""
    from cases.models import CasePhoto

    now = now or timezone.now()
    waiting = (
        CasePhoto.objects.filter(Q(display="") | Q(thumbnail=""))
        .filter(uploaded_at__lte=now - PHOTO_COPIES_GRACE)
        .filter(uploaded_at__gte=now - PHOTO_COPIES_GIVE_UP)
        .order_by("uploaded_at")
        .values_list("pk", flat=True)[:limit]
    )
    made = 0
    for photo_id in list(waiting):
        try:
            made += case_photo_derivatives(photo_id=photo_id)
        except Exception:
            logging.getLogger("gridcity.cases").warning(
                "copies of photo %s failed", photo_id, exc_info=True
            )
    return made


def case_photo_derivatives(*, photo_id: int) -> bool:
    """Make the thumbnail and the watermarked display copy (case number, time, place).

    Idempotent: a photo that has both already is left alone.
    """
    from django.core.files.base import ContentFile
    from PIL import Image

    from cases import photos
    from cases.models import CasePhoto

    photo = CasePhoto.objects.select_related("case", "case__street").filter(pk=photo_id).first()
    if photo is None or (photo.display and photo.thumbnail):
        return False
    with photo.original.open("rb") as f:
        image = Image.open(f)
        image.load()
    case = photo.case
    at = timezone.localtime(
        photo.taken_at or photo.uploaded_at, timezone=timezone.get_default_timezone()
    )
    place = f"{case.street.name if case.street_id else ''} · {case.point.y:.5f}, {case.point.x:.5f}"
    lines = [case.number, at.strftime("%Y-%m-%d %H:%M"), place]
    photo.thumbnail.save("thumb.jpg", ContentFile(photos.photo_thumbnail(image)), save=False)
    photo.display.save(
        "display.jpg", ContentFile(photos.photo_display(image, lines=lines)), save=False
    )
    CasePhoto.objects.filter(pk=photo.pk).update(
        thumbnail=photo.thumbnail.name, display=photo.display.name
    )
    return True


# --- the public side and the hotline (12345): 受理 → 派单 → 办理 → 答复 → 回访 → 评价 ----------

# The steps a case's followers are told of (through the outside channel), in public words:
# what a citizen following a problem wants to know, never who did it.
PUBLIC_UPDATES = {
    "file": gettext_lazy("accepted"),  # 立案
    "reject": gettext_lazy("not accepted"),  # 不予立案
    "merge": gettext_lazy("joined with a report of the same problem"),
    "dispatch": gettext_lazy("sent to the department in charge"),  # 派单
    "redispatch": gettext_lazy("sent to the department in charge"),
    "accept": gettext_lazy("being handled"),  # 办理
    "handle": gettext_lazy("handled, being checked"),
    "verify": gettext_lazy("checked"),
    "close": gettext_lazy("closed"),  # 答复
    "answer": gettext_lazy("answered"),
    "reopen": gettext_lazy("reopened to be done again"),  # 不满意重办
    "suspend": gettext_lazy("on hold"),
    "resume": gettext_lazy("resumed"),
}
# The request types that may be answered at once on the phone (直接办结), never dispatched.
DIRECT_ANSWER_TYPES = (RequestType.CONSULTATION, RequestType.SUGGESTION, RequestType.PRAISE)
# A closed case the hotline calls back about: one a citizen brought (not one answered on the
# phone already, nor a duplicate whose master carries the follow-up).
CALLBACK_SOURCES = (Source.CITIZEN, Source.HOTLINE, Source.OPEN311)


@dataclass(frozen=True)
class Followed:
    follower: CaseFollower
    created: bool


def reply_due_for(request_type: str, start: datetime) -> datetime | None:
    """答复时限: when a request of this type must be answered (``GRIDCITY_REPLY_LIMITS``)."""
    limit = settings.GRIDCITY_REPLY_LIMITS.get(request_type) if request_type else None
    return deadline(start, *limit) if limit else None


def phone_normalised(phone: str) -> str:
    """A phone number as the hotline compares them: digits only, without China's +86."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def _followers_tell(case: Case, action: str) -> None:
    """Tell the case's followers of a public step, in public words (after commit)."""
    followers = list(case.followers.filter(notify=True))
    if not followers:
        return
    what = str(PUBLIC_UPDATES[action])
    message = _("%(number)s: %(what)s") % {"number": case.number, "what": what}
    notify_followers(followers, case=case, message=message)


def _callback_schedule(case: Case, now: datetime) -> None:
    """A closed case a citizen brought is called back (回访) within the set working days; a
    new round starts with no verdict yet."""
    if case.resolution != Resolution.RESOLVED or case.source not in CALLBACK_SOURCES:
        return
    case.callback_due = deadline(now, settings.GRIDCITY_CALLBACK_WORKING_DAYS, "work_days")
    case.callback_done_at = None
    case.satisfaction = ""


@transaction.atomic
def case_follow(
    *,
    case: Case,
    role: str,
    via: str,
    by: User | None = None,
    user: User | None = None,
    name: str = "",
    phone: str = "",
    email: str = "",
    notify: bool = True,
) -> Followed:
    """A citizen follows a case: its reporter (the private link), someone with the same
    problem ("this is mine too"), or a caller whose repeat is merged into it (并单, counted in
    ``repeat_count``; ``by`` is the hotline operator). Idempotent by account or phone (and a
    case has one reporter): following twice returns the first row. Only an open case (or, for
    its reporter, any) may be followed."""
    if role not in FollowerRole.values:
        raise CaseInvalid("role", _("Not a follower role."))
    locked = _lock(case)
    if role != FollowerRole.REPORTER and not locked.is_open:
        raise _refuse(locked, "follow")
    if role == FollowerRole.CALLER and (by is None or not policy.may_take_calls(by)):
        raise CaseForbidden(_("Only the hotline merges a call into a case."))
    phone = phone_normalised(phone)
    existing = _follower_of(locked, role=role, user=user, phone=phone)
    now = timezone.now()
    if role == FollowerRole.CALLER:
        locked.repeat_count += 1
        locked.save(update_fields=["repeat_count", "updated_at"])
        _record(
            locked,
            action="repeat",
            by=by,
            from_state=locked.status,
            at=now,
            detail={"repeats": locked.repeat_count},
        )
    if existing is not None:
        return Followed(existing, False)
    follower = CaseFollower.objects.create(
        case=locked,
        role=role,
        via=via,
        user=user,
        name=name.strip()[:50],
        phone=phone,
        email=email.strip(),
        token=secrets.token_urlsafe(32),
        notify=notify,
    )
    if role == FollowerRole.FOLLOWER:
        _record(locked, action="follow", by=user, from_state=locked.status, at=now)
    return Followed(follower, True)


def _followers_carry(duplicate: Case, master: Case) -> None:
    """A merged duplicate's followers (its reporter included) follow the case it repeats from
    now on, so they hear of its progress; whoever already follows that case keeps their row.
    Their private link stays the duplicate's, whose page says where it went."""
    there = CaseFollower.objects.filter(case=master)
    users = set(there.exclude(user=None).values_list("user_id", flat=True))
    phones = set(there.exclude(phone="").values_list("phone", flat=True))
    carried = []
    for f in CaseFollower.objects.filter(case=duplicate):
        if (f.user_id and f.user_id in users) or (f.phone and f.phone in phones):
            continue
        users.add(f.user_id)
        phones.add(f.phone)
        carried.append(
            CaseFollower(
                case=master,
                role=FollowerRole.FOLLOWER,
                via=f.via,
                user_id=f.user_id,
                name=f.name,
                phone=f.phone,
                email=f.email,
                token=secrets.token_urlsafe(32),
                notify=f.notify,
            )
        )
    CaseFollower.objects.bulk_create(carried)


def _follower_of(case: Case, *, role: str, user, phone: str) -> CaseFollower | None:
    """The row this person already has on the case (by account, phone, or as its reporter)."""
    rows = CaseFollower.objects.filter(case=case)
    if user is not None:
        found = rows.filter(user=user).first()
        if found is not None:
            return found
    if phone:
        found = rows.filter(phone=phone).first()
        if found is not None:
            return found
    if role == FollowerRole.REPORTER:
        return rows.filter(role=FollowerRole.REPORTER).first()
    return None


@transaction.atomic
def case_answer(*, case: Case, by: User, note: str) -> Case:
    """直接办结: a consultation (or a suggestion, a praise) answered on the phone is closed at
    once, without dispatch; the answer is the note."""
    if case.request_type not in DIRECT_ANSWER_TYPES:
        raise CaseInvalid(
            "request_type", _("Only a consultation, a suggestion or a praise is answered at once.")
        )

    def check(user, c):
        _allowed(user, c, policy.may_answer_directly)

    return _plain_step(case, "answer", by=by, check=check, note=note, note_required=True)


def _reopen_move(c: Case, now: datetime) -> dict:
    return transitions.advance(
        c,
        "reopen",
        at=now,
        handle_due=_due(now, c.item, Stage.HANDLE),
        dispatch_due=_due(now, c.item, Stage.DISPATCH),
    )


def _reopen_by(follower: CaseFollower):
    """The reopen's move, its timeline row naming the follower row (never the person): their
    private page shows them their own reason."""

    def move(c: Case, now: datetime) -> dict:
        return {**(_reopen_move(c, now) or {}), "follower": follower.pk}

    return move


@transaction.atomic
def case_reopen(
    *, case: Case, note: str, by: User | None = None, follower: CaseFollower | None = None
) -> Case:
    """不满意重办: an unsatisfied citizen's case goes back to be done again (rework + 1): to the
    department that handled it, or to the command centre if it was answered at once. Asked by
    the case's reporter (through their private link, ``follower``) within
    ``GRIDCITY_REOPEN_DAYS`` of its closing, or for them by the hotline or the command centre
    (``by``). The reason is required."""
    if follower is not None:
        if follower.case_id != case.pk or follower.role != FollowerRole.REPORTER:
            raise CaseForbidden(_("Only the person who reported a case may reopen it."))
        locked = _lock(case)
        until = policy.reopen_until(locked)
        if until is not None and timezone.now() > until:
            raise CaseConflict(
                locked, _("The time to reopen this case has passed."), code="reopen_too_late"
            )
        # 不满意重办 is the unsatisfied reporter's: they say so first (``case_satisfaction``).
        if locked.status == Status.CLOSED and locked.satisfaction != Satisfaction.UNSATISFIED:
            raise CaseConflict(
                locked,
                _("Rate the result as unsatisfied first, then reopen it with the reason."),
                code="rate_first",
            )
        check = None
    elif by is not None:

        def check(user, c):
            _allowed(user, c, policy.may_reopen)

    else:
        raise ValueError("a reopen is asked by a follower or a person")
    case = _step(
        case,
        action="reopen",
        by=by if follower is None else follower.user,
        check=check,
        move=_reopen_move if follower is None else _reopen_by(follower),
        note=note,
        note_required=True,
    )
    if case.status == Status.DISPATCHED:
        _notify_department(case, Notification.Kind.REWORK, _("Case %s needs rework") % case.number)
    return case


def _verdict(locked: Case, satisfaction: str) -> None:
    if satisfaction not in Satisfaction.values:
        raise CaseInvalid("satisfaction", _("Say satisfied, fairly satisfied or unsatisfied."))
    if locked.status != Status.CLOSED or locked.resolution not in (
        Resolution.RESOLVED,
        Resolution.ANSWERED,
    ):
        raise _refuse(locked, "rate")
    if locked.satisfaction:
        raise CaseConflict(locked, _("This case is already rated."), code="already_rated")


@transaction.atomic
def case_satisfaction(
    *, case: Case, follower: CaseFollower, satisfaction: str, note: str = ""
) -> Case:
    """评价 by the citizen who reported it, from their private link: 满意 / 基本满意 / 不满意.
    Once per round; it counts as the callback (回访), so the hotline does not call. An
    unsatisfied reporter may then reopen it (``case_reopen``) within the window."""
    if follower.case_id != case.pk or follower.role != FollowerRole.REPORTER:
        raise CaseForbidden(_("Only the person who reported a case may rate it."))
    locked = _lock(case)
    _verdict(locked, satisfaction)
    now = timezone.now()
    locked.satisfaction = satisfaction
    locked.callback_done_at = now
    locked.save(update_fields=["satisfaction", "callback_done_at", "updated_at"])
    _record(
        locked,
        action="rate",
        by=follower.user,
        from_state=locked.status,
        note=note,
        at=now,
        detail={"satisfaction": satisfaction, "via": "portal"},
    )
    return locked


# A follower's comments a day: enough to add what they forgot, too few to flood a case.
COMMENTS_PER_FOLLOWER_DAY = 10
COMMENT_MAX_CHARS = 1000


class CommentsTooMany(DomainError):
    status = 429
    code = "rate_limited"


@transaction.atomic
def case_comment(*, case: Case, follower: CaseFollower, text: str) -> CaseTransition:
    """A follower adds a comment to a case from their private link (a detail they forgot,
    "it is still there"): a "comment" row of the timeline that the staff handling the case
    read, in any state. A comment is addressed to them, not a public forum: the public page
    never shows it (it is the citizen's own words, which nobody has read before it would
    show), and the follower's private page shows them their own. At most
    ``COMMENTS_PER_FOLLOWER_DAY`` a day per follower."""
    if follower.case_id != case.pk:
        raise CaseForbidden(_("Only a follower of this case may comment on it."))
    text = text.strip()
    if not text:
        raise CaseInvalid("text", _("Write the comment."))
    if len(text) > COMMENT_MAX_CHARS:
        raise CaseInvalid("text", _("At most %(n)d characters, please.") % {"n": COMMENT_MAX_CHARS})
    locked = _lock(case)
    now = timezone.now()
    recent = CaseTransition.objects.filter(
        case=locked,
        action="comment",
        at__gte=now - timedelta(days=1),
        detail__follower=follower.pk,
    ).count()
    if recent >= COMMENTS_PER_FOLLOWER_DAY:
        raise CommentsTooMany(_("Too many comments today; please try again tomorrow."))
    return _record(
        locked,
        action="comment",
        by=follower.user,
        from_state=locked.status,
        note=text,
        at=now,
        detail={"follower": follower.pk, "role": follower.role},
    )


@transaction.atomic
def follower_notify_set(*, follower: CaseFollower, notify: bool) -> CaseFollower:
    """A follower stops (or starts again) the updates on their case: the outside channel
    tells them of no more steps. Idempotent."""
    if follower.notify != notify:
        follower.notify = notify
        follower.save(update_fields=["notify"])
    return follower


@transaction.atomic
def case_callback(
    *, case: Case, by: User, reached: bool, satisfaction: str = "", note: str = ""
) -> Case:
    """回访: the hotline calls the citizen back after the case closed. Not reached: the attempt
    is recorded and the call stays due. Reached: the verdict is recorded; 不满意 reopens the
    case for rework (不满意重办) with the note as the reason."""
    locked = _lock(case)
    _allowed(by, locked, policy.may_call_back)
    now = timezone.now()
    if not reached:
        if locked.callback_due is None or locked.callback_done_at is not None:
            raise _refuse(locked, "callback")
        _record(
            locked,
            action="callback",
            by=by,
            from_state=locked.status,
            note=note,
            at=now,
            detail={"reached": False},
        )
        return locked
    _verdict(locked, satisfaction)
    if satisfaction == Satisfaction.UNSATISFIED:
        _note_given(note)
    locked.satisfaction = satisfaction
    locked.callback_done_at = now
    locked.save(update_fields=["satisfaction", "callback_done_at", "updated_at"])
    _record(
        locked,
        action="callback",
        by=by,
        from_state=locked.status,
        note=note,
        at=now,
        detail={"reached": True, "satisfaction": satisfaction},
    )
    if satisfaction == Satisfaction.UNSATISFIED:
        return case_reopen(case=locked, by=by, note=note)
    return locked


@transaction.atomic
def case_moderate(
    *,
    case: Case,
    by: User,
    note: str,
    hide_text: bool | None = None,
    public_text: str | None = None,
    hide_photos: list[int] | None = None,
    show_photos: list[int] | None = None,
) -> Case:
    """Moderation of what the public sees of a case: its description hidden or replaced
    (``public_text``; the original stays for staff), photos hidden or shown again. The reason
    is required and goes into the timeline; the public page says the case was moderated."""
    _note_given(note)
    locked = _lock(case)
    _allowed(by, locked, policy.may_moderate)
    # Only what changes is recorded: a form sends the wording it showed, unchanged or not.
    detail = {}
    if hide_text is not None and hide_text != locked.public_hidden:
        locked.public_hidden = hide_text
        detail["text_hidden"] = hide_text
    if public_text is not None and public_text.strip() != locked.public_text:
        locked.public_text = public_text.strip()
        detail["text_edited"] = bool(locked.public_text)
    photos = ((hide_photos, True, "hide_photos"), (show_photos, False, "show_photos"))
    for ids, hidden, field in photos:
        if ids:
            found = CasePhoto.objects.filter(case=locked, pk__in=ids)
            if found.count() != len(set(ids)):
                raise CaseInvalid(field, _("Not a photo of this case."))
            if changed := sorted(found.exclude(public_hidden=hidden).values_list("pk", flat=True)):
                CasePhoto.objects.filter(pk__in=changed).update(public_hidden=hidden)
                detail["photos_hidden" if hidden else "photos_shown"] = changed
    if not detail:
        raise CaseInvalid("hide_text", _("Nothing to change: say what to hide, show or edit."))
    locked.moderated_at = timezone.now()
    locked.save(update_fields=["public_hidden", "public_text", "moderated_at", "updated_at"])
    _record(
        locked,
        action="moderate",
        by=by,
        from_state=locked.status,
        note=note,
        at=locked.moderated_at,
        detail=detail,
    )
    return locked


@transaction.atomic
def case_release(*, case: Case, by: User, note: str = "") -> Case:
    """A report held for its spam markers is released to the queue (a person read it); one
    that really is spam is rejected instead (``case_reject``)."""
    locked = _lock(case)
    _allowed(by, locked, policy.may_moderate)
    if not locked.held:
        raise CaseConflict(locked, _("This report is not held."), code="not_held")
    locked.held = False
    locked.save(update_fields=["held", "updated_at"])
    _record(locked, action="release", by=by, from_state=locked.status, note=note)
    return locked
