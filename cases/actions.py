"""The workflow's steps as one table, for the API and the workbench pages alike.

Each step names its input (the API's input serializer, which the pages' forms feed too), the
service that performs it, the FSM transition it takes (so a page offers it only in a state
that allows it) and the policy rule of who may take it (so a page offers it only to someone
the service would let). The service stays the judge: a page that shows a button the service
then refuses is a bug, but never a hole.

``actions_for(user, case)`` is "exactly the actions this person may take in this state".
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts import policy
from cases import services, transitions
from cases.api import serializers as s
from cases.models import (
    Case,
    CaseExtension,
    Confirmation,
    ExtensionDecision,
    RequestKind,
    Resolution,
    Status,
)


@dataclass(frozen=True)
class Action:
    """One step a person may take on a case."""

    name: str  # the URL's last segment: /api/v1/cases/<number>/<name>/
    label: str | Promise
    input: type
    call: Callable  # (case, by, validated data) -> Case
    may: Callable  # policy predicate (user, case) -> bool
    transition: str | None = None  # the FSM transition it takes; None: no change of state
    applies: Callable[[Case], bool] | None = None  # a further condition on the case
    note_required: bool = False
    danger: bool = False  # shown as a destructive button
    key: str = ""  # the workbench's keyboard shortcut
    fields: tuple[str, ...] = field(default=("note",))  # what the page's form asks for

    def offered(self, user, case: Case) -> bool:
        if self.transition and not transitions.allowed(case, self.transition):
            return False
        if self.applies is not None and not self.applies(case):
            return False
        return self.may(user, case)


def _where(data):
    return services.Where.of(data.get("lon"), data.get("lat"), data.get("crs", "wgs84"))


def _master(by, number):
    from cases.selectors import cases_visible_to

    found = cases_visible_to(by).filter(number=number).first()
    if found is None:
        raise services.CaseInvalid("master", _("No such case."))
    return found


def _note_call(name: str):
    service = getattr(services, "case_" + name.replace("-", "_"))
    return lambda c, u, d: service(case=c, by=u, note=d["note"])


def _may_cancel(user, case) -> bool:
    return (
        policy.is_reporter(user, case) and case.status == Status.REPORTED
    ) or policy.may_command(user, case)


def _pending_kind(case: Case) -> str | None:
    """The kind of the department's request waiting on the case (延期 or 挂账), or None.

    A page that lists or shows cases reads it once (``cases.selectors.with_pending_request``
    annotates ``pending_request_kind``); otherwise it is asked here.
    """
    if hasattr(case, "pending_request_kind"):
        return case.pending_request_kind or None
    pending = getattr(case, "pending_extension", None)
    if isinstance(pending, CaseExtension):
        return pending.kind if pending.decision == ExtensionDecision.PENDING else None
    if pending is not None and not pending:  # read once by the page: nothing waits
        return None
    return (
        case.extensions.filter(decision=ExtensionDecision.PENDING)
        .values_list("kind", flat=True)
        .first()
    )


def _pending_extension(case: Case) -> bool:
    """Any request waits (one at a time per case, whatever its kind)."""
    return _pending_kind(case) is not None


def _pending_of(kind: str) -> Callable[[Case], bool]:
    return lambda case: _pending_kind(case) == kind


def _rateable(case: Case) -> bool:
    return (
        case.status == Status.CLOSED
        and case.resolution == Resolution.RESOLVED
        and case.rating is None
    )


def _open_unescalated(case: Case) -> bool:
    return case.is_open and case.status != Status.SUSPENDED and not case.escalated


def _extendable(case: Case) -> bool:
    return case.status in services.EXTENDABLE and not _pending_extension(case)


def _confirmable(case: Case) -> bool:
    return (
        case.status == Status.REPORTED
        and case.source not in services.CONFIRMED_BY_SOURCE
        and case.confirmation != Confirmation.REQUESTED
    )


def _confirming(case: Case) -> bool:
    return case.status == Status.REPORTED and case.confirmation == Confirmation.REQUESTED


def _not_held(case: Case) -> bool:
    """A report held for its spam markers is released (or rejected) before it is filed."""
    return not case.held


def _answerable(case: Case) -> bool:
    """直接办结 is for a consultation, a suggestion or a praise, never a problem to dispatch."""
    return case.request_type in services.DIRECT_ANSWER_TYPES


def _callback_waiting(case: Case) -> bool:
    """回访 due: a citizen's closed case nobody has called back about (nor rated) yet."""
    return (
        case.status == Status.CLOSED
        and case.callback_due is not None
        and case.callback_done_at is None
    )


def _held(case: Case) -> bool:
    return case.held


def _moderate_call(c, u, d):
    return services.case_moderate(
        case=c,
        by=u,
        note=d["note"],
        hide_text=d.get("hide_text"),
        public_text=d.get("public_text"),
        hide_photos=d.get("hide_photos") or None,
        show_photos=d.get("show_photos") or None,
    )


def _note(name, label, transition, may, **kw) -> Action:
    return Action(name, label, s.NoteInputSerializer, _note_call(name), may, transition, **kw)


def _decisions(name: str, kind: str, decide, labels: tuple) -> list[Action]:
    """A department's waiting request (延期 or 挂账) answered: ``<name>-approve`` and
    ``<name>-deny``, alike but for the answer (the denial shown as the destructive one)."""
    return [
        Action(
            f"{name}-{verdict}",
            label,
            s.NoteInputSerializer,
            lambda c, u, d, approve=approve: decide(case=c, by=u, approve=approve, note=d["note"]),
            policy.may_approve,
            applies=_pending_of(kind),
            danger=not approve,
        )
        for verdict, label, approve in (("approve", labels[0], True), ("deny", labels[1], False))
    ]


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in [
        _note("file", _("File"), "file", policy.may_command, applies=_not_held, key="f"),  # 立案
        _note(
            "reject",
            _("Reject"),
            "reject",
            policy.may_command,
            note_required=True,
            danger=True,
            key="x",
        ),  # 不予立案
        Action(
            "confirm-request",
            _("Ask for confirmation"),
            s.NoteInputSerializer,
            _note_call("confirm-request"),
            policy.may_command,
            applies=_confirmable,
        ),  # 请求核实
        Action(
            "confirm",
            _("Confirm on site"),
            s.ConfirmInputSerializer,
            lambda c, u, d: services.case_confirm(
                case=c, by=u, found=d["found"], note=d["note"], where=_where(d)
            ),
            policy.may_confirm,
            applies=_confirming,
            fields=("found", "note", "photos"),
        ),  # 核实
        _note(
            "cancel", _("Cancel"), "cancel", _may_cancel, note_required=True, danger=True
        ),  # 作废
        Action(
            "dispatch",
            _("Dispatch"),
            s.DispatchInputSerializer,
            lambda c, u, d: services.case_dispatch(
                case=c, by=u, department=d.get("department"), note=d["note"]
            ),
            policy.may_command,
            "dispatch",
            key="d",
            fields=("department", "note"),
        ),  # 派遣
        Action(
            "redispatch",
            _("Redispatch"),
            s.DispatchInputSerializer,
            lambda c, u, d: services.case_redispatch(
                case=c, by=u, department=d.get("department"), note=d["note"]
            ),
            policy.may_command,
            "redispatch",
            key="d",
            fields=("department", "note"),
        ),  # 重新派遣
        _note("accept", _("Accept"), "accept", policy.may_handle, key="a"),  # 签收
        _note(
            "return", _("Return"), "return_", policy.may_handle, note_required=True, danger=True
        ),  # 回退
        Action(
            "handle",
            _("Report handled"),
            s.NoteInputSerializer,
            lambda c, u, d: services.case_handle(case=c, by=u, note=d["note"], where=_where(d)),
            policy.may_handle,
            "handle",
            note_required=True,
            fields=("note", "photos"),
        ),  # 处置
        _note("request-verify", _("Ask for verification"), "request_verify", policy.may_command),
        Action(
            "verify",
            _("Verify"),
            s.VerifyInputSerializer,
            lambda c, u, d: services.case_verify(
                case=c, by=u, passed=d["passed"], note=d["note"], where=_where(d)
            ),
            policy.may_verify,
            "verify_pass",
            fields=("passed", "note", "photos"),
        ),  # 核查
        _note("close", _("Close"), "close", policy.may_command),  # 结案
        _note("suspend", _("Suspend"), "suspend", policy.may_approve, note_required=True),  # 挂账
        _note("resume", _("Resume"), "resume", policy.may_approve),
        _note(
            "escalate", _("Escalate"), None, policy.may_approve, applies=_open_unescalated
        ),  # 督办
        Action(
            "extend",
            _("Ask for more time"),
            s.ExtendInputSerializer,
            lambda c, u, d: services.case_extend(
                case=c, by=u, amount=d["amount"], unit=d["unit"], note=d["note"]
            ),
            policy.may_handle,
            applies=_extendable,
            note_required=True,
            fields=("amount", "unit", "note"),
        ),  # 延期申请
        Action(
            "suspend-request",
            _("Ask for suspension"),
            s.NoteInputSerializer,
            lambda c, u, d: services.case_suspend_request(case=c, by=u, note=d["note"]),
            policy.may_handle,
            applies=_extendable,
            note_required=True,
        ),  # 挂账申请
        *_decisions(
            "extend",
            RequestKind.EXTENSION,
            services.case_extension_decide,
            (_("Approve extension"), _("Deny extension")),
        ),  # 延期审批
        *_decisions(
            "suspend",
            RequestKind.SUSPENSION,
            services.case_suspension_decide,
            (_("Approve suspension"), _("Deny suspension")),
        ),  # 挂账审批
        Action(
            "rate",
            _("Rate"),
            s.RateInputSerializer,
            lambda c, u, d: services.case_rate(case=c, by=u, rating=d["rating"], note=d["note"]),
            policy.is_reporter,
            applies=_rateable,
            fields=("rating", "note"),
        ),
        Action(
            "merge",
            _("Merge into"),
            s.MergeInputSerializer,
            lambda c, u, d: services.case_merge(
                case=c, by=u, master=_master(u, d["master"]), note=d["note"]
            ),
            policy.may_command,
            "merge",
            fields=("master", "note"),
        ),
        # --- the public side and the hotline (12345) ---
        _note(
            "answer",
            _("Answer directly"),
            "answer",
            policy.may_answer_directly,
            applies=_answerable,
            note_required=True,
        ),  # 直接办结: the note is the answer
        _note(
            "reopen", _("Reopen for rework"), "reopen", policy.may_reopen, note_required=True
        ),  # 不满意重办 on the citizen's behalf
        Action(
            "callback",
            _("Call back"),
            s.CallbackInputSerializer,
            lambda c, u, d: services.case_callback(
                case=c,
                by=u,
                reached=d["reached"],
                satisfaction=d["satisfaction"],
                note=d["note"],
            ),
            policy.may_call_back,
            applies=_callback_waiting,
            fields=("reached", "satisfaction", "note"),
        ),  # 回访
        Action(
            "moderate",
            _("Moderate the public page"),
            s.ModerateInputSerializer,
            _moderate_call,
            policy.may_moderate,
            note_required=True,
            fields=("hide_text", "public_text", "public_photos", "note"),
        ),
        Action(
            "release",
            _("Release the held report"),
            s.NoteInputSerializer,
            _note_call("release"),
            policy.may_moderate,
            applies=_held,
        ),
    ]
}


def actions_for(user, case: Case) -> list[Action]:
    """The steps ``user`` may take on ``case`` in its state now, in the table's order."""
    if not policy.is_signed_in(user):
        return []
    return [action for action in ACTIONS.values() if action.offered(user, case)]
