"""Reads with rules: which cases a person may see, what waits for them, duplicates nearby.

Visibility is built from relations (grid, street, department, reporter), never from lists of
case ids, so a list costs the same whatever the number of cases; django-guardian grants on a
street or a grid (a supervisor lent another street) widen it.
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import Polygon
from django.contrib.gis.measure import D
from django.db.models import Exists, F, FloatField, Func, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from accounts import policy
from accounts.models import User
from accounts.selectors import granted_hierarchy_ids, scope_prefix
from cases import codes
from cases.models import (
    OPEN_STATES,
    Case,
    CaseExtension,
    CaseTransition,
    Confirmation,
    ExtensionDecision,
    Item,
    Status,
)
from gridcity.models import Street, WorkGrid


def case_scope_rule(user: User) -> Q | None:
    """The Q a user's visible cases satisfy; None when they see every case.

    The few grids and streets behind it (an inspector's grids, a supervisor's street, a
    district's ten streets, hand-made grants) are read first, so the database gets plain
    ``IN`` lists it can combine with its indexes rather than OR-ed subqueries that make it walk
    the whole table in date order.
    """
    if policy.sees_whole_district(user):
        return None
    rule = Q(reporter_id=user.pk) | Q(verifier_id=user.pk)
    # An inspector's own grids come in the same query as the hand-made grants.
    grids, streets = granted_hierarchy_ids(user, with_assigned=policy.is_inspector(user))
    if policy.is_department_staff(user) and user.department_id:
        rule |= Q(department_id=user.department_id)
    elif policy.answers_for_area(user) and (prefix := scope_prefix(user)):
        streets += Street.objects.filter(code__startswith=prefix).values_list("id", flat=True)
    if grids:
        rule |= Q(grid_id__in=sorted(set(grids)))
    if streets:
        rule |= Q(street_id__in=sorted(set(streets)))
    return rule


@dataclass(frozen=True)
class Watched:
    """Whose changes a person's notifications socket carries (``cases.notify``'s groups):
    every case, the cases of some streets and of some grids granted outside them, and the
    cases of one department."""

    everything: bool = False
    streets: tuple[int, ...] = ()
    grids: tuple[int, ...] = ()
    department: int | None = None


def streets_watched_by(user: User) -> Watched:
    """The streets (and lone granted grids) whose case changes ``user`` watches live.

    The scope of ``case_scope_rule`` for the people who ``policy.may_watch_cases``: the whole
    district, or their street or district by code plus the streets and grids granted by hand
    (a granted grid only when its street is not watched already: a socket in two groups would
    get each change twice). Department staff watch their department's cases. The cases a
    person reported or verifies reach them as notifications, not here. Three queries at most.
    """
    if not policy.is_signed_in(user):
        return Watched()
    if not policy.may_watch_cases(user):
        department = user.department_id if policy.is_department_staff(user) else None
        return Watched(department=department)
    if policy.sees_whole_district(user):
        return Watched(everything=True)
    grids, streets = granted_hierarchy_ids(user)
    if prefix := scope_prefix(user):
        streets += Street.objects.filter(code__startswith=prefix).values_list("id", flat=True)
    streets = sorted(set(streets))
    if grids:
        grids = WorkGrid.objects.filter(pk__in=grids).exclude(community__street_id__in=streets)
        grids = sorted(grids.values_list("id", flat=True))
    return Watched(streets=tuple(streets), grids=tuple(grids))


# What a list row shows: the case's own columns. The codes and names of what it points at come
# from per-process code books (cases.codes), never from joins, and never the polygons.
LIST_FIELDS = [
    "number",
    "status",
    "source",
    "description",
    "address",
    "point",
    "handle_due",
    "overdue",
    "escalated",
    "rework_count",
    "confirmation",  # 核实 (the to-file queue's rows say 核实中 / 属实 / 不属实)
    # The public side and the hotline: what decides the steps a row offers (cases.actions:
    # a held report is released before it is filed, 直接办结 by request type, 回访 due).
    "held",
    "request_type",
    "callback_due",
    "callback_done_at",
    "created_at",
    "updated_at",
    "reporter_id",
    "verifier_id",
    "item_id",
    "grid_id",
    "street_id",
    "department_id",
]


def as_list_rows(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Cases as list rows: the position as two numbers read by the database, not a geometry
    object parsed per row (a GEOS point for each of twenty rows costs more than the query)."""
    return cases.defer("point").annotate(
        lon=Func("point", function="ST_X", output_field=FloatField()),
        lat=Func("point", function="ST_Y", output_field=FloatField()),
    )


def cases_visible_to(user: User | AnonymousUser) -> QuerySet[Case]:
    """The cases a user may see, with what a list shows loaded."""
    cases = Case.objects.only(*LIST_FIELDS)
    if not user.is_authenticated or not user.is_active:
        return cases.none()
    rule = case_scope_rule(user)
    return cases if rule is None else cases.filter(rule)


def cases_waiting_for(user: User) -> QuerySet[Case]:
    """我的待办: the cases that need this person's hand now."""
    cases = cases_visible_to(user)
    if policy.is_inspector(user):
        # 核查 of a handled case, and 核实 of a reported one (index cases_waiting_on_site).
        return cases.filter(
            Q(status=Status.VERIFYING)
            | Q(status=Status.REPORTED, confirmation=Confirmation.REQUESTED),
            verifier=user,
        )
    if policy.is_department_staff(user):
        return cases.filter(
            status__in=[Status.DISPATCHED, Status.HANDLING], department_id=user.department_id
        )
    if policy.in_command_centre(user):
        return cases.filter(
            Q(status__in=[Status.REPORTED, Status.FILED, Status.RETURNED, Status.HANDLED])
            | _extension_waiting()
        ).distinct()
    if policy.is_supervisor(user):
        return cases.filter(
            Q(overdue=True, escalated=False, status__in=[Status.DISPATCHED, Status.HANDLING])
            | _extension_waiting()
        ).distinct()
    return cases.none()


def _extension_waiting() -> Q:
    return Q(
        extensions__decision=ExtensionDecision.PENDING,
        status__in=[Status.DISPATCHED, Status.HANDLING],
    )


def cases_near(
    *, item: Item, point, radius_m: float, exclude: Case | None = None
) -> QuerySet[Case]:
    """Open cases of the same item within ``radius_m`` of ``point``: likely duplicates."""
    found = Case.objects.filter(
        item=item,
        status__in=[s for s in OPEN_STATES if s != Status.SUSPENDED],
        # A box in degrees first (uses the spatial index on every backend; ``dwithin`` means
        # degrees on PostGIS but metres on SpatiaLite), then the exact distance in metres.
        point__intersects=_box_around(point, radius_m),
        point__distance_lte=(point, D(m=radius_m)),
    ).select_related("item")
    if exclude is not None:
        found = found.exclude(pk=exclude.pk)
    return found.order_by("-created_at")[:20]


def duplicates_visible_to(
    user: User, *, item: Item, point, radius_m: float, exclude: Case | None = None
) -> tuple[QuerySet[Case], int]:
    """Likely duplicates (:func:`cases_near`) that ``user`` may open, newest first, and how
    many more there are that they may not: a report's answer names only cases its reporter
    could open, and says that others exist."""
    near = list(
        cases_near(item=item, point=point, radius_m=radius_m, exclude=exclude).values_list(
            "pk", flat=True
        )
    )
    visible = cases_visible_to(user).filter(pk__in=near).order_by("-created_at", "-id")
    return visible, len(near) - visible.count()


def _box_around(point, metres: float) -> Polygon:
    """A lon/lat box reaching at least ``metres`` from ``point`` in every direction."""
    dlat = metres / 110_574 * 1.01
    dlon = metres / (111_320 * max(math.cos(math.radians(abs(point.y))), 0.01)) * 1.01
    box = Polygon.from_bbox((point.x - dlon, point.y - dlat, point.x + dlon, point.y + dlat))
    box.srid = 4326
    return box


def cases_overdue(now: datetime | None = None) -> QuerySet[Case]:
    """Open cases whose current stage's deadline has passed and are not yet marked."""
    now = now or timezone.now()
    return Case.objects.filter(
        Q(status=Status.REPORTED, file_due__lt=now)
        | Q(status__in=[Status.FILED, Status.RETURNED], dispatch_due__lt=now)
        | Q(status__in=[Status.DISPATCHED, Status.HANDLING], handle_due__lt=now)
        | Q(status=Status.VERIFYING, verify_due__lt=now),
        overdue=False,
    )


def cases_due_soon(now: datetime, until: datetime) -> QuerySet[Case]:
    """Cases being handled whose deadline falls before ``until`` and were not warned yet."""
    return Case.objects.filter(
        status__in=[Status.DISPATCHED, Status.HANDLING],
        handle_due__gte=now,
        handle_due__lt=until,
        warned_at__isnull=True,
    )


# --- workbench queues ----------------------------------------------------------------------
# Each queue of the workbenches (desk/) is a condition on the cases a person sees, the
# deadline it is sorted by, and a name. The pages list and count them; the rules of who sees
# which case stay in ``case_scope_rule``.

# Open and with a running clock: what "overdue" and "escalated" lists hold.
RUNNING = [s for s in OPEN_STATES if s != Status.SUSPENDED]


def _pending_request() -> Exists:
    """A department's request waiting for an approver's word (延期, 挂账)."""
    return Exists(
        CaseExtension.objects.filter(case=OuterRef("pk"), decision=ExtensionDecision.PENDING)
    )


def _shanghai_day_end(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=23, minute=59, second=59, microsecond=999999)


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    # (user, now) -> the condition on Case
    rule: Callable[[User, datetime], Q | Exists]
    # the deadline this queue is read against, and sorted by as "due"
    due: str = "handle_due"
    # whether the rows are shown as warnings (red) rather than work
    alarm: bool = False


def _mine(user: User) -> Q:
    return Q(department_id=user.department_id)


QUEUES: dict[str, Queue] = {
    q.key: q
    for q in [
        # 受理 / 派遣 (dispatcher)
        Queue(
            "to-file",
            pgettext_lazy("queue", "To file"),
            lambda u, n: Q(status=Status.REPORTED, held=False),
            "file_due",
        ),
        # 待审核: reports held for their spam markers, for a person to release or reject;
        # they are in no other queue until then (docs/desk-queues.md).
        Queue(
            "held",
            pgettext_lazy("queue", "Held for review"),
            lambda u, n: Q(status=Status.REPORTED, held=True),
            "file_due",
        ),
        Queue(
            "to-dispatch",
            pgettext_lazy("queue", "To dispatch"),
            lambda u, n: Q(status=Status.FILED),
            "dispatch_due",
        ),
        Queue(
            "returned",
            pgettext_lazy("queue", "Returned"),
            lambda u, n: Q(status=Status.RETURNED),
            "dispatch_due",
        ),
        Queue(
            "to-approve",
            pgettext_lazy("queue", "To approve"),
            lambda u, n: Q(_pending_request(), status__in=[Status.DISPATCHED, Status.HANDLING]),
        ),
        Queue(
            "to-verify",
            pgettext_lazy("queue", "To verify"),
            lambda u, n: Q(status=Status.HANDLED),
            "handled_at",
        ),
        Queue(
            "verifying",
            pgettext_lazy("queue", "Verifying"),
            lambda u, n: Q(status=Status.VERIFYING),
            "verify_due",
        ),
        Queue(
            "overdue",
            pgettext_lazy("queue", "Overdue"),
            lambda u, n: Q(overdue=True, status__in=RUNNING),
            alarm=True,
        ),
        Queue(
            "escalated",
            pgettext_lazy("queue", "Escalated"),
            lambda u, n: Q(escalated=True, status__in=RUNNING),
        ),
        # 处置部门 (department)
        Queue(
            "to-accept",
            pgettext_lazy("queue", "To accept"),
            lambda u, n: _mine(u) & Q(status=Status.DISPATCHED, rework_count=0),
        ),
        Queue(
            "handling",
            pgettext_lazy("queue", "Handling"),
            lambda u, n: _mine(u) & Q(status=Status.HANDLING),
        ),
        Queue(
            "rework",
            pgettext_lazy("queue", "Rework"),
            lambda u, n: (
                _mine(u) & Q(status__in=[Status.DISPATCHED, Status.HANDLING], rework_count__gt=0)
            ),
        ),
        Queue(
            "due-soon",
            pgettext_lazy("queue", "Due soon or overdue"),
            lambda u, n: (
                _mine(u)
                & Q(
                    status__in=[Status.DISPATCHED, Status.HANDLING],
                    handle_due__lt=n + timedelta(minutes=settings.GRIDCITY_WARN_BEFORE_MINUTES),
                )
            ),
            alarm=True,
        ),
        Queue(
            "due-today",
            pgettext_lazy("queue", "Due today"),
            lambda u, n: (
                _mine(u)
                & Q(
                    status__in=[Status.DISPATCHED, Status.HANDLING],
                    handle_due__lte=_shanghai_day_end(n),
                )
            ),
            alarm=True,
        ),
        Queue(
            "requested",
            pgettext_lazy("queue", "Requests waiting"),
            lambda u, n: (
                _mine(u) & Q(_pending_request(), status__in=[Status.DISPATCHED, Status.HANDLING])
            ),
        ),
        # 督察 (supervisor): what the street's inspectors are to verify
        Queue(
            "street-verifying",
            pgettext_lazy("queue", "Waiting for verification"),
            lambda u, n: Q(status=Status.VERIFYING),
            "verify_due",
        ),
    ]
}

# Which queues each workbench shows, in order (the first is where it opens).
WORKBENCH_QUEUES = {
    "dispatch": [
        "to-file",
        "held",
        "to-dispatch",
        "returned",
        "to-approve",
        "to-verify",
        "verifying",
        "overdue",
        "escalated",
    ],
    "department": ["to-accept", "handling", "rework", "due-soon", "requested", "due-today"],
    "supervise": ["overdue", "escalated", "street-verifying", "to-approve"],
}


def cases_in_queue(user: User, key: str, now: datetime | None = None) -> QuerySet[Case]:
    """The cases of queue ``key`` that ``user`` sees (list rows; unordered)."""
    queue = QUEUES[key]
    return cases_visible_to(user).filter(queue.rule(user, now or timezone.now()))


def queue_counts(user: User, keys: list[str], now: datetime | None = None) -> dict[str, int]:
    """How many cases each queue holds: one small count per queue, each on an index. The
    person's scope is read once for all of them (it costs a query or two of its own)."""
    now = now or timezone.now()
    visible = cases_visible_to(user)
    return {key: visible.filter(QUEUES[key].rule(user, now)).order_by().count() for key in keys}


# --- the supervisor's street (督察) ---------------------------------------------------------


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local day (TIME_ZONE, Asia/Shanghai) as [start, end) in aware times."""
    tz = timezone.get_default_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


def street_day_figures(
    user: User, day: date, *, streets: list[int], now: datetime | None = None
) -> dict[str, int]:
    """The streets' day at a glance, of the cases ``user`` sees: reported on the local ``day``,
    closed (结案) on it, overdue now and escalated (督办) and still open.

    Four counts, each on an index: ``created_at`` for the new; ``updated_at`` for the closed
    (closing saves the case, so a case closed on the day was updated on it or later, and the
    few rows changed since the day began are all that is read; ``closed_at`` has no index of
    its own); (street, status) for the overdue and the escalated.
    """
    now = now or timezone.now()
    start, end = local_day_bounds(day)
    cases = cases_visible_to(user).filter(street_id__in=sorted(set(streets))).order_by()
    return {
        "new": cases.filter(created_at__gte=start, created_at__lt=end).count(),
        "closed": cases.filter(
            status=Status.CLOSED,
            updated_at__gte=start,
            closed_at__gte=start,
            closed_at__lt=end,
        ).count(),
        "overdue": cases.filter(QUEUES["overdue"].rule(user, now)).count(),
        "escalated": cases.filter(QUEUES["escalated"].rule(user, now)).count(),
    }


# What a row of the supervisor's lists reads: a list row's columns without the position, and
# every stage's deadline (``Case.stage_due``).
_ROW_FIELDS = (
    *(f for f in LIST_FIELDS if f != "point"),
    "file_due",
    "dispatch_due",
    "verify_due",
)


def street_case_lists(
    user: User, *, streets: list[int], verifiers: list[int], limit: int = 10
) -> dict[str, list[Case]]:
    """The streets' pressing cases that ``user`` sees, ``limit`` of each list:

    - ``overdue`` and ``escalated``: the queues of those names, oldest first, with what the
      actions offered on each need read along (``pending_extension``), so that asking
      ``cases.actions.actions_for`` of every row costs no query;
    - ``verifying``: waiting for the verification (核查) of one of ``verifiers`` (the street's
      inspectors), the overdue first, then by verification deadline.

    One query per list, and the person's scope read once.
    """
    now = timezone.now()
    visible = cases_visible_to(user).only(*_ROW_FIELDS)
    in_streets = visible.filter(street_id__in=sorted(set(streets)))
    lists = {
        key: list(
            in_streets.filter(QUEUES[key].rule(user, now))
            .annotate(pending_extension=_pending_request())
            .order_by("created_at", "id")[:limit]
        )
        for key in ("overdue", "escalated")
    }
    lists["verifying"] = (
        list(
            visible.filter(
                status=Status.VERIFYING, verifier_id__in=sorted(set(verifiers))
            ).order_by("-overdue", F("verify_due").asc(nulls_last=True), "id")[:limit]
        )
        if verifiers
        else []
    )
    return lists


# --- filters and search of the workbenches ---------------------------------------------------


def streets_in_scope(user: User) -> QuerySet[Street]:
    """The streets a person's case lists may be narrowed to: their area's and those granted to
    them; every street for whom cases are not bound to an area (the whole district, a
    department that works across it)."""
    streets = Street.objects.order_by("code").only("id", "code", "name")
    if policy.sees_whole_district(user):
        return streets
    prefix = scope_prefix(user)
    if policy.is_department_staff(user) and not prefix:
        return streets
    _grids, granted = granted_hierarchy_ids(user)
    rule = Q(pk__in=granted)
    if prefix:
        rule |= Q(code__startswith=prefix)
    return streets.filter(rule)


def items_matching(text: str) -> list[int]:
    """The ids of the items whose code is ``text``, or else whose name holds it (from the code
    book: no query)."""
    text = text.strip()
    rows = codes.ITEMS.rows()
    exact = [pk for pk, (code, name) in rows.items() if text in (code, name)]
    if exact or not text:
        return exact
    folded = text.casefold()
    return sorted(pk for pk, (_code, name) in rows.items() if folded in name.casefold())


# A name that matches more grids than this is too vague to search by.
GRIDS_MATCHED_MAX = 50


def grids_matching(text: str) -> list[int]:
    """The ids of the work grids whose code is ``text``, or else whose name holds it (at most
    ``GRIDS_MATCHED_MAX``, in code order)."""
    text = text.strip()
    if not text:
        return []
    grids = WorkGrid.objects.order_by("code").values_list("id", flat=True)
    exact = list(grids.filter(Q(code=text) | Q(name=text))[:GRIDS_MATCHED_MAX])
    return exact or list(grids.filter(name__icontains=text)[:GRIDS_MATCHED_MAX])


# 440306-20261203-000123: district code, day, the day's sequence (cases.services).
CASE_NUMBER = re.compile(r"\d{6}-\d{8}-\d{6}")
CASE_NUMBER_PREFIX = re.compile(r"\d{6}(-\d{0,8}(-\d{0,6})?)?")
CODE_LIKE = re.compile(r"[\d-]+")
SEARCH_LIMIT = 50
# Address text has no index to search by (a pg_trgm index would give it one): each search
# reads every case of the window, so the window is kept to what a dispatcher asks about.
ADDRESS_SEARCH_DAYS = 30


@dataclass
class SearchFound:
    """What a search found, by kind; each list newest first and at most ``SEARCH_LIMIT``."""

    query: str
    number: list[Case]
    item: list[Case]
    grid: list[Case]
    address: list[Case]
    # the case whose number is exactly the query, if there is one
    exact: Case | None = None

    @property
    def empty(self) -> bool:
        return not (self.number or self.item or self.grid or self.address)


def cases_search(user: User, q: str, now: datetime | None = None) -> SearchFound:
    """Search the cases ``user`` sees by number (exact or prefix), item code or name, grid code
    or name, and address text, each kind in its own small query that an index serves:

    - a number-shaped query goes by the unique index on ``number`` (prefix by its range);
    - items and grids are resolved to ids first (the item code book; the grid table), then the
      cases by their ``(item, status)`` / ``(grid, status)`` indexes, newest first;
    - address text has no index: it is looked for in the last ``ADDRESS_SEARCH_DAYS`` days only
      (the ``created_at`` index bounds the scan), newest first, and not for a query of digits.

    Items and grids list open cases only (a closed one is found by its number or address).
    """
    now = now or timezone.now()
    q = q.strip()
    visible = cases_visible_to(user).defer("point")
    found = SearchFound(q, [], [], [], [])
    if not q:
        return found
    newest = ("-created_at", "-id")
    if CASE_NUMBER.fullmatch(q):
        found.exact = visible.filter(number=q).first()
        found.number = [found.exact] if found.exact else []
    elif CASE_NUMBER_PREFIX.fullmatch(q):
        # As a range, which the unique index serves in order: PostgreSQL turns LIKE 'q%' into
        # one only under the "C" collation (not C.UTF-8). Numbers are ASCII digits and "-",
        # all below "~", so [q, q~) holds exactly the numbers that begin with q.
        prefixed = visible.filter(number__gte=q, number__lt=f"{q}~", number__startswith=q)
        found.number = list(prefixed.order_by("-number")[:SEARCH_LIMIT])
    # Items and grids: the open cases, which the (item, status) and (grid, status) indexes
    # hold apart from the closed ones; a year of one common item would be sorted otherwise.
    open_ = visible.filter(status__in=OPEN_STATES)
    if items := items_matching(q):
        found.item = list(open_.filter(item_id__in=items).order_by(*newest)[:SEARCH_LIMIT])
    if grids := grids_matching(q):
        found.grid = list(open_.filter(grid_id__in=grids).order_by(*newest)[:SEARCH_LIMIT])
    if not CODE_LIKE.fullmatch(q):  # a code is no address text
        since = now - timedelta(days=ADDRESS_SEARCH_DAYS)
        found.address = list(
            visible.filter(address__icontains=q, created_at__gte=since).order_by(*newest)[
                :SEARCH_LIMIT
            ]
        )
    return found


# --- what a department reads beside its queues ----------------------------------------------


def with_pending_request(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Cases with ``pending_request_kind``: the kind of the department's request waiting on
    each (延期 ``extension``, 挂账 ``suspension``) or None, read in the same query, so a page
    offering the approvers' actions (``cases.actions``) asks nothing per case."""
    return cases.annotate(
        pending_request_kind=Subquery(
            CaseExtension.objects.filter(
                case=OuterRef("pk"), decision=ExtensionDecision.PENDING
            ).values("kind")[:1]
        )
    )


def rework_reasons(cases) -> dict[int, CaseTransition]:
    """返工 reason: for each case (or case id) that was sent back, its latest failed
    verification (核查不通过: the note, who, when), by case id; one query for a page of cases.
    A case never sent back has no entry."""
    ids = [getattr(case, "pk", case) for case in cases]
    if not ids:
        return {}
    failed = Q(action="verify", from_state=Status.VERIFYING, to_state=Status.DISPATCHED)
    latest = (
        CaseTransition.objects.filter(failed, case_id=OuterRef("case_id"))
        .order_by("-at", "-id")
        .values("id")[:1]
    )
    rows = (
        CaseTransition.objects.filter(failed, case_id__in=ids, id=Subquery(latest))
        .select_related("actor")
        .order_by()
    )
    return {row.case_id: row for row in rows}


def cases_due_today(user: User, now: datetime | None = None) -> QuerySet[Case]:
    """A department's warning list (今日到期): its cases being handled whose handling deadline
    has passed or falls before the end of today in Asia/Shanghai, soonest first."""
    return cases_in_queue(user, "due-today", now).order_by("handle_due", "id")
