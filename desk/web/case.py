"""The case page: the map, photos, timeline and deadlines of one case, the open cases of the
same item nearby, and exactly the steps this person may take now, each with its form.

A thin page: ``cases.selectors`` decide what the person sees, ``cases.actions`` what they may
do, and a form's POST is the API's step (the same input serializer, the same service, inside
the same ``write_retrying``). A refused step re-renders the page with the refusal beside the
field (400) or with who acted first (409); a request that asks for JSON gets the API's answer.
"""

import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import DateTimeField, F, Prefetch, Q, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts import policy
from accounts.models import Department, Role
from cases import services
from cases.actions import ACTIONS, Action, actions_for
from cases.api import serializers as s
from cases.api.filters import CaseFilter
from cases.calendar import calendar_current, deadline
from cases.models import (
    STAGE_DUE,
    Case,
    CaseExtension,
    CasePhoto,
    CaseTransition,
    ExtensionDecision,
    PhotoStage,
    Satisfaction,
    Status,
    TimeUnit,
)
from cases.selectors import QUEUES, WORKBENCH_QUEUES, cases_in_queue, cases_visible_to
from cases.selectors import duplicates_visible_to as duplicates
from desk.web.common import DEFAULT_SORT, FAR, SORTS, queue_nav, signed_in_required
from gridcity import db
from gridcity.errors import DomainError, ErrorAnswer, FieldInvalid, error_response

# --- reading the case ----------------------------------------------------------------------


def case_whole(user, number: str) -> Case:
    """The case ``number`` if ``user`` may see it (else 404), with everything the page shows
    read in a fixed number of queries whatever the length of its history."""
    # The id first, by the unique number and the person's scope: joined to the rest in one
    # statement, PostgreSQL planned a hash join over the whole case table (seconds at 1 M).
    pk = cases_visible_to(user).filter(number=number).values_list("pk", flat=True).first()
    if pk is None:
        raise Http404
    found = (
        Case.objects.filter(pk=pk)
        .select_related(
            "item",
            "item__department",
            "grid",
            "community",
            "street",
            "department",
            "assignee",
            "verifier",
            "reporter",
            "master",
        )
        .prefetch_related(
            Prefetch("timeline", CaseTransition.objects.select_related("actor")),
            Prefetch("photos", CasePhoto.objects.order_by("uploaded_at", "id")),
            Prefetch(
                "extensions",
                CaseExtension.objects.select_related("requested_by", "decided_by").order_by(
                    "requested_at", "id"
                ),
            ),
            "followers",
        )
        .order_by()
        .first()
    )
    if found is None:
        raise Http404
    # Read once here; cases.actions asks it for the extension steps (False: none waits).
    found.pending_extension = next(
        (e for e in found.extensions.all() if e.decision == ExtensionDecision.PENDING), False
    )
    return found


def shown_actor(viewer, actor) -> str | None:
    """Who took a step, as the API says it: a citizen is "citizen" (市民) to those who may not
    know who they are (``TransitionSerializer.get_actor``)."""
    if actor is None:
        return None
    if policy.is_citizen(actor) and not policy.sees_citizen_identity(viewer, actor):
        return str(Role.CITIZEN.label)
    return actor.get_full_name() or actor.username


def working_span(seconds: float, day_seconds: float) -> str:
    """A stretch of working time as a dispatcher reads it: "1 工作日 2 时", "3 工作时 20 分"."""
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, max(int(day_seconds // 60), 1))
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(days)d working days %(hours)d h") % {"days": days, "hours": hours}
    return _("%(hours)d working h %(minutes)d min") % {"hours": hours, "minutes": mins}


def time_left(due, now) -> dict:
    """The working time from ``now`` to ``due`` on the district's calendar, or past it."""
    calendar = calendar_current()
    day = calendar.day_length.total_seconds()
    if due >= now:
        span = working_span(calendar.working_seconds_between(now, due), day)
        return {"overdue": False, "text": _("%(span)s left") % {"span": span}}
    span = working_span(calendar.working_seconds_between(due, now), day)
    return {"overdue": True, "text": _("overdue by %(span)s") % {"span": span}}


# stage → (its deadline, the time it ended, its name)
STAGES = [
    ("file", "file_due", "filed_at", pgettext_lazy("stage", "Filing")),
    ("dispatch", "dispatch_due", "dispatched_at", pgettext_lazy("stage", "Dispatch")),
    ("handle", "handle_due", "handled_at", pgettext_lazy("stage", "Handling")),
    ("verify", "verify_due", "closed_at", pgettext_lazy("stage", "Verification")),
]


def _deadlines(case: Case, now) -> list[dict]:
    running = STAGE_DUE.get(case.status)
    rows = []
    for stage, due_field, done_field, label in STAGES:
        due = getattr(case, due_field)
        row = {"stage": stage, "label": label, "due": due, "running": due_field == running}
        if due and row["running"]:
            row["left"] = time_left(due, now)
        elif due and (done := getattr(case, done_field)):
            row["done_late"] = done > due
        rows.append(row)
    return rows


def _extensions(case: Case, viewer, now) -> list[dict]:
    rows = []
    for e in case.extensions.all():
        row = {"e": e, "by": shown_actor(viewer, e.requested_by)}
        if e.decision == ExtensionDecision.PENDING:
            # What approving it now would make of the handling deadline (case_extension_decide).
            row["due_now"] = case.handle_due
            row["due_after"] = deadline(max(case.handle_due or now, now), e.amount, e.unit)
        rows.append(row)
    return rows


def _timeline(case: Case, viewer) -> list[dict]:
    return [
        {
            "row": row,
            "actor": shown_actor(viewer, row.actor),
            "action": _action_label(row.action),
            "from": Status(row.from_state).label if row.from_state else "",
            "to": Status(row.to_state).label if row.to_state else "",
        }
        for row in case.timeline.all()
    ]


# Timeline steps that are no action a person takes on the page.
STEP_LABELS = {
    "report": gettext_lazy("Report"),
    "overdue": gettext_lazy("Marked overdue"),
    "follow": gettext_lazy("Followed by a citizen"),  # "this is mine too" on the portal
    "repeat": gettext_lazy("Repeat call merged"),  # 并单
    "comment": gettext_lazy("Citizen's comment"),
}


def _action_label(name: str) -> str:
    action = ACTIONS.get(name)
    return str(action.label if action else STEP_LABELS.get(name, name))


def _photos(case: Case) -> list[dict]:
    by_stage = {stage: [] for stage in PhotoStage.values}
    for photo in case.photos.all():
        if not (photo.thumbnail and photo.display):
            continue  # its copies are still being made
        urls = {
            kind: reverse("case-photo-file", args=[case.number, photo.pk, kind])
            for kind in ("thumbnail", "display")
        }
        by_stage.setdefault(photo.stage, []).append({"photo": photo, **urls})
    return [
        {"stage": stage, "label": PhotoStage(stage).label, "photos": shown}
        for stage, shown in by_stage.items()
        if shown
    ]


def _map_data(case: Case) -> dict:
    grid = None
    if case.grid_id and case.grid.geom:
        # About a metre of tolerance: the outline is drawn, not measured.
        grid = json.loads(case.grid.geom.simplify(0.00001, preserve_topology=True).geojson)
    return {
        "point": [case.point.x, case.point.y],
        "grid": grid,
        "tileUrl": settings.GRIDCITY_TILE_URL,
        "tileAttribution": settings.GRIDCITY_TILE_ATTRIBUTION,
    }


def _reporter(case: Case, viewer) -> dict:
    contact = policy.sees_contact(viewer, case)
    return {
        "who": shown_actor(viewer, case.reporter),
        "contact": contact,
        "name": case.contact_name if contact else "",
        "phone": case.contact_phone if policy.sees_phone(viewer, case) else "",
    }


def _public(case: Case, viewer, now) -> dict:
    """The public side of the case as staff read it: the hotline's request (type, ticket,
    time to answer, repeats), who follows it (their contacts only to those who may read
    contacts), the citizen's verdict and the callback (回访), and what the public sees of it
    (held, hidden or edited, beside the original)."""
    contact = policy.sees_contact(viewer, case)
    phone = policy.sees_phone(viewer, case)
    followers = list(case.followers.all())
    attempts = sum(
        1
        for row in case.timeline.all()
        if row.action == "callback" and not row.detail.get("reached")
    )
    callback = None
    if case.callback_due or case.callback_done_at:
        waiting = case.callback_done_at is None
        callback = {
            "due": case.callback_due,
            "done_at": case.callback_done_at,
            "waiting": waiting,
            "late": waiting and case.callback_due is not None and case.callback_due < now,
            "attempts": attempts,
        }
    return {
        "request_type": case.get_request_type_display() if case.request_type else "",
        "external_number": case.external_number or "",
        "reply_due": case.reply_due,
        "reply_left": time_left(case.reply_due, now) if case.reply_due and case.is_open else None,
        "repeat_count": case.repeat_count,
        "followers_count": len(followers),
        "followers": (
            [
                {
                    "role": f.get_role_display(),
                    "via": f.get_via_display(),
                    "name": f.name,
                    "phone": f.phone if phone else "",
                    "email": f.email if phone else "",
                    "notify": f.notify,
                }
                for f in followers
            ]
            if contact
            else []
        ),
        "satisfaction": case.satisfaction,
        "satisfaction_label": case.get_satisfaction_display() if case.satisfaction else "",
        "callback": callback,
        "held": case.held,
        "hidden": case.public_hidden,
        "public_text": case.public_text,
        "moderated_at": case.moderated_at,
        "is_public": Case.objects.filter(policy.public_cases(), pk=case.pk).exists(),
        "hidden_photos": sum(1 for p in case.photos.all() if p.public_hidden),
    }


# --- the queue the person came from ----------------------------------------------------------


class Origin:
    """``?from=<workbench>:<queue>`` and that queue's filters and sort, as the queue table
    passes them: where "next case" leads, and which queues the left column shows."""

    def __init__(self, user, params: QueryDict):
        self.params = params
        workbench, _sep, queue = params.get("from", "").partition(":")
        if queue not in WORKBENCH_QUEUES.get(workbench, ()) or not policy.may_use_workbench(
            user, workbench
        ):
            workbench, queue = policy.workbench_of(user), None
        self.workbench = workbench if workbench in WORKBENCH_QUEUES else None
        self.queue = queue
        self.query = params.urlencode() if queue else ""

    def next_number(self, user, case: Case) -> str | None:
        """The case after ``case`` in the queue's order (``case`` itself may have left the
        queue): one query on the queue's condition, filters and sort key."""
        if not self.queue:
            return None
        spec = QUEUES[self.queue]
        sort = self.params.get("sort") or DEFAULT_SORT
        ordering = SORTS.get(sort, SORTS[DEFAULT_SORT])
        found = CaseFilter(self.params, queryset=cases_in_queue(user, self.queue))
        rows = found.qs if found.is_valid() else found.queryset
        rows = rows.annotate(due_at=Coalesce(F(spec.due), Value(FAR), output_field=DateTimeField()))
        key = ordering[0].lstrip("-")
        mine = case.created_at if key == "created_at" else (getattr(case, spec.due) or FAR)
        after = "lt" if ordering[0].startswith("-") else "gt"
        rows = rows.filter(
            Q(**{f"{key}__{after}": mine}) | Q(**{key: mine, f"id__{after}": case.pk})
        )
        return rows.exclude(pk=case.pk).order_by(*ordering).values_list("number", flat=True).first()

    def case_url(self, number: str) -> str:
        url = reverse("desk-case", args=[number])
        return f"{url}?{self.query}" if self.query else url

    def queue_url(self) -> str:
        url = reverse("desk-queue", args=[self.workbench, self.queue])
        rest = {k: v for k, v in self.params.items() if k != "from"}
        return f"{url}?{urlencode(rest)}" if rest else url


# --- the forms -----------------------------------------------------------------------------


# Which stage an action's photos are evidence of (the photo API's ``stage``).
PHOTO_STAGE = {"verify": "verify", "confirm": "report", "handle": "handle"}
# What the note is, where it is more than a reason.
NOTE_LABELS = {
    "answer": gettext_lazy("The answer given (required)"),  # 直接办结
    "reopen": gettext_lazy("Why the citizen is not satisfied (required)"),
    "callback": gettext_lazy("Note (the reason, when not satisfied)"),
    "moderate": gettext_lazy("Reason (required, in the timeline)"),
}


def _moderation_photos(case: Case) -> list[dict]:
    """The case's photos (their copies made) for the moderation form, each with its state."""
    return [
        {
            "photo": photo,
            "thumbnail": reverse("case-photo-file", args=[case.number, photo.pk, "thumbnail"]),
        }
        for photo in case.photos.all()
        if photo.thumbnail and photo.display
    ]


def _forms(request, case: Case, offered: list[Action], failed: dict | None) -> list[dict]:
    proposal = departments = None
    if any("department" in a.fields for a in offered):
        proposal = services.routing_proposal(case)
        departments = list(Department.objects.order_by("code").only("code", "name"))
    forms = []
    for action in offered:
        mine = failed if failed and failed["action"] == action.name else None
        errors = mine["errors"] if mine else {}
        forms.append(
            {
                "action": action,
                "url": reverse("desk-case-action", args=[case.number, action.name]),
                "errors": {k: v for k, v in errors.items() if k in action.fields},
                # What no field of the form shows: said at the top of the form.
                "general": [m for k, v in errors.items() if k not in action.fields for m in v],
                "values": mine["values"] if mine else {},
                "open": mine is not None,
                "note_required": action.note_required,
                "departments": departments,
                "proposal": proposal,
                "photo_stage": PHOTO_STAGE.get(action.name, "handle"),
                "note_label": NOTE_LABELS.get(action.name),
                "case_photos": (
                    _moderation_photos(case) if "public_photos" in action.fields else None
                ),
            }
        )
    return forms


def _nearby(request, case: Case, may_merge: bool) -> dict:
    if not case.is_open:
        return {"cases": [], "hidden": 0, "may_merge": False}
    visible, hidden = duplicates(
        request.user,
        item=case.item,
        point=case.point,
        radius_m=settings.GRIDCITY_DUPLICATE_RADIUS_M,
        exclude=case,
    )
    rows = [{"case": c} for c in visible.defer("point")]
    return {"cases": rows, "hidden": hidden, "may_merge": may_merge}


def render_case(request, case: Case, *, status: int = 200, failed=None, conflict=None):
    """The page for ``case`` as ``request.user`` sees it now."""
    user, now = request.user, timezone.now()
    origin = Origin(user, request.GET)
    offered = actions_for(user, case)
    extensions = _extensions(case, user, now)
    following = origin.next_number(user, case)
    context = {
        "case": case,
        "item": case.item,
        "reporter": _reporter(case, user),
        "public": _public(case, user, now),
        "satisfactions": Satisfaction.choices,
        "people": {
            "assignee": shown_actor(user, case.assignee),
            "verifier": shown_actor(user, case.verifier),
        },
        "map": _map_data(case),
        "photos": _photos(case),
        "timeline": _timeline(case, user),
        "deadlines": _deadlines(case, now),
        "extensions": extensions,
        "pending": next((row for row in extensions if "due_after" in row), None),
        "forms": _forms(request, case, offered, failed),
        "nearby": _nearby(request, case, any(a.name == "merge" for a in offered)),
        "conflict": conflict,
        "origin": origin,
        "next_url": origin.case_url(following) if following else None,
        "workbench": origin.workbench,
        "nav": queue_nav(user, origin.workbench, origin.queue) if origin.workbench else None,
        "keys": [(a.key, a.label) for a in offered if a.key],
        "units": TimeUnit.choices,
    }
    return render(request, "desk/case.html", context, status=status)


# --- the page and its steps ---------------------------------------------------------------


@require_GET
@signed_in_required
def case_page(request, number: str):
    return render_case(request, case_whole(request.user, number))


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "") or (
        request.headers.get("X-Requested-With") == "XMLHttpRequest"
    )


def _given(request) -> QueryDict | dict:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise FieldInvalid("non_field_errors", _("The body is not JSON.")) from None
        if not isinstance(body, dict):
            raise FieldInvalid("non_field_errors", _("The body is not a JSON object."))
        return body
    return request.POST


def _invalid_answer(errors: dict) -> ErrorAnswer:
    fields = {
        name: [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
        for name, msgs in errors.items()
    }
    name, first = next(iter(fields.items()))
    message = first[0] if name == "non_field_errors" else f"{name}: {first[0]}"
    return ErrorAnswer(400, "invalid", message, fields)


DONE = {
    "file": gettext_lazy("Filed %(number)s."),
    "reject": gettext_lazy("Rejected %(number)s."),
    "cancel": gettext_lazy("Cancelled %(number)s."),
    "dispatch": gettext_lazy("Dispatched %(number)s to %(department)s."),
    "redispatch": gettext_lazy("Dispatched %(number)s again, to %(department)s."),
    "accept": gettext_lazy("Accepted %(number)s."),
    "return": gettext_lazy("Returned %(number)s to the command centre."),
    "handle": gettext_lazy("Reported %(number)s handled."),
    "request-verify": gettext_lazy("Asked for the verification of %(number)s."),
    "verify": gettext_lazy("Verified %(number)s."),
    "close": gettext_lazy("Closed %(number)s."),
    "suspend": gettext_lazy("Suspended %(number)s."),
    "resume": gettext_lazy("Resumed %(number)s."),
    "escalate": gettext_lazy("Escalated %(number)s."),
    "extend": gettext_lazy("Asked for more time for %(number)s."),
    "extend-approve": gettext_lazy("Approved the extension of %(number)s."),
    "extend-deny": gettext_lazy("Denied the extension of %(number)s."),
    "rate": gettext_lazy("Rated %(number)s."),
    "merge": gettext_lazy("Merged %(number)s into %(master)s."),
    "answer": gettext_lazy("Answered %(number)s and closed it."),
    "reopen": gettext_lazy("Reopened %(number)s for rework."),
    "callback": gettext_lazy("Recorded the callback of %(number)s."),
    "moderate": gettext_lazy("Moderated the public page of %(number)s."),
    "release": gettext_lazy("Released %(number)s to the queue."),
}


def _done_message(action: Action, changed: Case, data: dict) -> str:
    department = Department.objects.filter(pk=changed.department_id).first()
    return str(DONE.get(action.name, "%(number)s")) % {
        "number": changed.number,
        "department": department.name if department else "—",
        "master": data.get("master", ""),
    }


@require_POST
def case_action(request, number: str, action: str):
    """POST /desk/cases/<number>/<action>/: the step, as the API takes it."""
    wants_json = _wants_json(request)
    if not policy.is_signed_in(request.user):
        if wants_json:
            return error_response(ErrorAnswer(401, "not_authenticated", _("Log in first.")))
        return redirect_to_login(reverse("desk-case", args=[number]))
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    case = case_whole(request.user, number)
    try:
        return _act(request, case, spec, wants_json)
    except PermissionDenied as refused:
        if wants_json:
            message = str(refused) or _("Your role may not do this to this case.")
            return error_response(ErrorAnswer(403, "permission_denied", message))
        raise


def _act(request, case: Case, spec: Action, wants_json: bool):
    try:
        given = spec.input(data=_given(request))
        if not given.is_valid():
            return _refused(request, case, spec, _invalid_answer(given.errors), wants_json)
        data = given.validated_data
        try:
            changed = db.write_retrying(lambda: spec.call(case, request.user, data))
        except db.DatabaseBusy:
            current = Case.objects.get(pk=case.pk)
            raise services.CaseConflict(
                current, _("The case is being changed by someone else; try again."), code="busy"
            ) from None
    except DomainError as refused:
        return _refused(request, case, spec, refused.answer(), wants_json)
    return _succeeded(request, case, spec, changed, wants_json)


def _succeeded(request, before: Case, spec: Action, changed: Case, wants_json: bool):
    if wants_json:
        whole = case_whole(request.user, changed.number)
        context = {"request": request, **s.contact_context(request.user, whole)}
        return JsonResponse(s.CaseDetailSerializer(whole, context=context).data)
    messages.success(request, _done_message(spec, changed, request.POST))
    origin = Origin(request.user, request.GET)
    target = origin.case_url(changed.number)
    if request.POST.get("next") and origin.queue:
        following = origin.next_number(request.user, before)
        target = origin.case_url(following) if following else origin.queue_url()
    back = request.POST.get("return_to", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        target = back  # a step taken from another page (the supervisor's street) goes back there
    return HttpResponseRedirect(target, status=303)


def _refused(request, case: Case, spec: Action, answer: ErrorAnswer, wants_json: bool):
    if wants_json:
        return error_response(answer)
    if answer.status == 409:
        # Someone else acted first: the page as it is now, and who did what, when.
        fresh = case_whole(request.user, case.number)
        last = list(fresh.timeline.all())[-1:] or [None]
        conflict = {
            "message": answer.message,
            "step": last[0],
            "actor": shown_actor(request.user, last[0].actor) if last[0] else None,
            "action": _action_label(last[0].action) if last[0] else "",
        }
        return render_case(request, fresh, status=409, conflict=conflict)
    failed = {
        "action": spec.name,
        "errors": answer.fields or {"non_field_errors": [answer.message]},
        "values": request.POST,
    }
    return render_case(request, case, status=answer.status, failed=failed)


urlpatterns = [
    path("cases/<str:number>/", case_page, name="desk-case"),
    path("cases/<str:number>/<str:action>/", case_action, name="desk-case-action"),
]
