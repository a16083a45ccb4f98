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
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.contrib.gis.measure import D
from django.db.models import (
    Count,
    Exists,
    F,
    FloatField,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
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


def cases_in_box(cases: QuerySet[Case], box: GEOSGeometry) -> QuerySet[Case]:
    """The cases whose position lies in ``box`` (a map's view; its edges included).

    By the bounding-box operator (PostGIS ``@``, SpatiaLite ``MbrWithin``), not
    ``ST_Intersects``: for a point and a box they answer alike, to the single-precision boxes
    PostGIS compares (a point less than a metre outside an edge may be in; none inside is
    out). PostGIS declares ``ST_Intersects`` a costly function, so PostgreSQL, to spare
    itself calls, planned the open cases of a view through the spatial index of every case
    (a street's box holds ~190,000 of them) with parallel workers and JIT compilation, about
    half a second; with the operator alone it reads the open cases' own index
    (``cases_open_point``), a few thousand rows.
    """
    return cases.filter(point__contained=box)


def cases_counted_by_grid(cases: QuerySet[Case]) -> list[dict]:
    """``cases`` counted per work grid: ``grid_id`` (None for the cases outside every grid),
    ``n``, ``overdue_n`` (how many of them are marked overdue) and the box the cases lie in
    (``west``, ``south``, ``east``, ``north``). One query, grouped in the database: what a map
    draws for a view that holds more cases than it can draw one by one."""
    x = Func("point", function="ST_X", output_field=FloatField())
    y = Func("point", function="ST_Y", output_field=FloatField())
    return list(
        cases.order_by()
        .values("grid_id")
        .annotate(
            n=Count("id"),
            overdue_n=Count("id", filter=Q(overdue=True)),
            west=Min(x),
            south=Min(y),
            east=Max(x),
            north=Max(y),
        )
        .values("grid_id", "n", "overdue_n", "west", "south", "east", "north")
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
        "to-dispatch",
        "returned",
        "to-approve",
        "to-verify",
        "verifying",
        "overdue",
        "escalated",
        # Last, so that the keys g1…g8 keep their queues: spam held for a look is rare.
        "held",
    ],
    "department": ["to-accept", "handling", "rework", "due-soon", "requested", "due-today"],
    "supervise": ["overdue", "escalated", "street-verifying", "to-approve"],
}


def cases_in_queue(user: User, key: str, now: datetime | None = None) -> QuerySet[Case]:
    """The cases of queue ``key`` that ``user`` sees (list rows; unordered)."""
    queue = QUEUES[key]
    return cases_visible_to(user).filter(queue.rule(user, now or timezone.now()))


def queue_counts(
    user: User,
    keys: list[str],
    now: datetime | None = None,
    *,
    visible: QuerySet[Case] | None = None,
    counted: dict[str, int] | None = None,
) -> dict[str, int]:
    """How many cases each queue holds: one small count per queue, each on an index. The
    person's scope is read once for all of them (it costs a query or two of its own), or not at
    all when the page has read it already (``visible``: ``cases_visible_to(user)``); the queues
    in ``counted`` the page has counted already (``queue_counts_by_street``)."""
    now = now or timezone.now()
    visible = cases_visible_to(user) if visible is None else visible
    counted = counted or {}
    return {
        key: counted[key]
        if key in counted
        else visible.filter(QUEUES[key].rule(user, now)).order_by().count()
        for key in keys
    }


def queue_counts_by_street(
    user: User,
    keys: list[str],
    now: datetime | None = None,
    *,
    visible: QuerySet[Case] | None = None,
) -> dict[str, dict[int | None, int]]:
    """How many cases each queue holds in each street (None: the cases of no street), one
    query a queue, on the same index as its count: the queue's count is the sum, and a
    street's share the figure of the street's page (督察), counted once for both."""
    now = now or timezone.now()
    visible = cases_visible_to(user) if visible is None else visible
    return {
        key: dict(
            visible.filter(QUEUES[key].rule(user, now))
            .order_by()
            .values_list("street_id")
            .annotate(n=Count("id"))
            .values_list("street_id", "n")
        )
        for key in keys
    }


# --- the supervisor's street (督察) ---------------------------------------------------------


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local day (TIME_ZONE, Asia/Shanghai) as [start, end) in aware times."""
    tz = timezone.get_default_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


def street_day_figures(
    user: User,
    day: date,
    *,
    streets: list[int],
    now: datetime | None = None,
    visible: QuerySet[Case] | None = None,
    counted: dict[str, int] | None = None,
) -> dict[str, int]:
    """The streets' day at a glance, of the cases ``user`` sees: reported on the local ``day``,
    closed (结案) on it, overdue now and escalated (督办) and still open.

    Four counts, each on an index: ``created_at`` for the new; ``updated_at`` for the closed
    (closing saves the case, so a case closed on the day was updated on it or later, and the
    few rows changed since the day began are all that is read; ``closed_at`` has no index of
    its own); (street, status) for the overdue and the escalated. ``visible``: the cases
    ``user`` sees (``cases_visible_to``) when the page has read their scope already;
    ``counted``: the overdue and escalated of these streets when the page has counted them
    already (``queue_counts_by_street``), not counted again.
    """
    now = now or timezone.now()
    start, end = local_day_bounds(day)
    visible = cases_visible_to(user) if visible is None else visible
    cases = visible.filter(street_id__in=sorted(set(streets))).order_by()
    counted = counted or {}
    figures = {
        "new": cases.filter(created_at__gte=start, created_at__lt=end).count(),
        "closed": cases.filter(
            status=Status.CLOSED,
            updated_at__gte=start,
            closed_at__gte=start,
            closed_at__lt=end,
        ).count(),
    }
    for key in ("overdue", "escalated"):
        if key in counted:
            figures[key] = counted[key]
        else:
            figures[key] = cases.filter(QUEUES[key].rule(user, now)).count()
    return figures


# What a row of the supervisor's lists reads: a list row's columns without the position, and
# every stage's deadline (``Case.stage_due``).
_ROW_FIELDS = (
    *(f for f in LIST_FIELDS if f != "point"),
    "file_due",
    "dispatch_due",
    "verify_due",
)


def street_case_lists(
    user: User,
    *,
    streets: list[int],
    verifiers: list[int] | QuerySet,
    limit: int = 10,
    visible: QuerySet[Case] | None = None,
) -> dict[str, list[Case]]:
    """The streets' pressing cases that ``user`` sees, ``limit`` of each list:

    - ``overdue`` and ``escalated``: the queues of those names, oldest first, with what the
      actions offered on each need read along (``pending_extension``), so that asking
      ``cases.actions.actions_for`` of every row costs no query;
    - ``verifying``: waiting for the verification (核查) of one of ``verifiers`` (the street's
      inspectors: their ids, or a subquery selecting them), the overdue first, then by
      verification deadline.

    One query per list, and the person's scope read once (or not at all: ``visible``, as for
    ``street_day_figures``).
    """
    now = timezone.now()
    visible = (cases_visible_to(user) if visible is None else visible).only(*_ROW_FIELDS)
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
                status=Status.VERIFYING,
                verifier_id__in=verifiers
                if isinstance(verifiers, QuerySet)
                else sorted(set(verifiers)),
            ).order_by("-overdue", F("verify_due").asc(nulls_last=True), "id")[:limit]
        )
        if isinstance(verifiers, QuerySet) or verifiers
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


# --- the public side: what anyone may read of a case (市民门户) ---------------------------------
#
# A citizen reads a case through these and nothing else: the public words for its state, the
# item's citizen-facing name, the place, the times, the description as moderated, the display
# copies of the photos not hidden, and a timeline of states. Never a person: no actor, no
# contact, no follower, no staff note, no original photo. A case is public under
# ``policy.public_cases()``; its followers read their own case through their private link
# (``case_tracked``) whatever its state, with the same sanitised view.

# A case's state in public words: what a citizen following a problem wants to know.
PUBLIC_STATES = {
    Status.REPORTED: pgettext_lazy("public state", "Waiting to be accepted"),  # 待受理
    Status.FILED: pgettext_lazy("public state", "Accepted"),  # 已受理
    Status.DISPATCHED: pgettext_lazy("public state", "With the department in charge"),  # 已派单
    Status.RETURNED: pgettext_lazy("public state", "Accepted"),  # back at the centre: 已受理
    Status.HANDLING: pgettext_lazy("public state", "Being handled"),  # 办理中
    Status.HANDLED: pgettext_lazy("public state", "Handled, being checked"),  # 已办理，核查中
    Status.VERIFYING: pgettext_lazy("public state", "Handled, being checked"),
    Status.CLOSED: pgettext_lazy("public state", "Closed"),  # 已办结
    Status.SUSPENDED: pgettext_lazy("public state", "On hold"),  # 暂缓办理
    Status.REJECTED: pgettext_lazy("public state", "Not accepted"),  # 不予受理
    Status.CANCELLED: pgettext_lazy("public state", "Withdrawn"),  # 已撤销
}
# The timeline steps a public page shows, in public words. The workflow's steps are those the
# followers are told of (``cases.services.PUBLIC_UPDATES``, read there: one list); these are
# the others a citizen may see happen. Staff notes never show: a note is written for colleagues.
PUBLIC_STEPS_MORE = {
    "report": pgettext_lazy("public step", "reported"),
    "moderate": pgettext_lazy("public step", "what the public sees of it was moderated"),
    "rate": pgettext_lazy("public step", "rated by the person who reported it"),
    "callback": pgettext_lazy("public step", "the hotline called the reporter back"),
}
# Near me: the newest public cases in view, at most this many (a phone draws them at once).
PUBLIC_NEAR_LIMIT = 200
# … reported within this many days: "recent problems", not the archive.
PUBLIC_NEAR_DAYS = 90
# The largest radius (metres) of a "near me" circle.
PUBLIC_NEAR_RADIUS_MAX = 5000


def _public_name(item_name: str, public_name: str, name_en: str, public_name_en: str) -> str:
    """An item's name for citizens in the language of the request."""
    from django.utils import translation

    zh = public_name or item_name
    if (translation.get_language() or "").startswith("en"):
        return public_name_en or name_en or zh
    return zh


@dataclass(frozen=True)
class PublicPhoto:
    id: int
    stage: str
    width: int
    height: int


@dataclass(frozen=True)
class PublicStep:
    """One step of a public timeline: what happened, in public words, and the state after it.
    ``text`` is the citizen's own words on their private page (their comment, their reason for
    reopening) or the hotline's answer to them (直接办结); empty on a public page."""

    action: str
    words: str
    state: str
    state_label: str
    at: datetime
    text: str = ""
    mine: bool = False


@dataclass(frozen=True)
class PublicCase:
    """A case as anyone may see it (or its follower, through their private link)."""

    number: str
    item: str
    state: str
    state_label: str
    address: str
    lon: float
    lat: float
    reported_at: datetime
    filed_at: datetime | None
    closed_at: datetime | None
    description: str
    moderated: bool
    satisfaction: str
    satisfaction_label: str
    rework_count: int
    repeat_count: int
    photos: tuple[PublicPhoto, ...]
    timeline: tuple[PublicStep, ...]
    public: bool


def public_description(case: Case) -> str:
    """What the public reads of a case's description: nothing once hidden, the moderators'
    text when they edited it, else the reporter's own words."""
    if case.public_hidden:
        return ""
    return case.public_text or case.description


def _public_words(action: str):
    from cases.services import PUBLIC_UPDATES

    return PUBLIC_UPDATES.get(action) or PUBLIC_STEPS_MORE.get(action)


def public_timeline(case: Case, *, follower=None) -> tuple[PublicStep, ...]:
    """A case's timeline in public words (one query): the workflow steps citizens are told of,
    the report, moderation and the rating, with no actor and no staff note. With ``follower``
    (their private page) also their own comments and reopen reason, and the hotline's answer."""
    rows = CaseTransition.objects.filter(case=case).order_by("at", "id")
    rows = rows.values_list("action", "to_state", "at", "note", "detail")
    steps = []
    for action, state, at, note, detail in rows:
        text, mine = "", False
        if action == "comment":
            mine = follower is not None and (detail or {}).get("follower") == follower.pk
            if not mine:
                continue  # a comment is for the people handling the case, not a public forum
            text = note
        elif follower is not None and action == "reopen" and (detail or {}).get("follower"):
            mine = detail["follower"] == follower.pk
            text = note if mine else ""
        elif follower is not None and action == "answer":
            text = note  # 直接办结: the answer given to the citizen
        elif action == "callback" and not (detail or {}).get("reached"):
            continue  # a call nobody answered is the hotline's business
        words = _public_words(action) if action != "comment" else _comment_words()
        if words is None:
            continue
        steps.append(
            PublicStep(
                action=action,
                words=str(words),
                state=state,
                state_label=str(PUBLIC_STATES.get(state, "")),
                at=at,
                text=text,
                mine=mine,
            )
        )
    return tuple(steps)


def _comment_words():
    return pgettext_lazy("public step", "your comment")


def public_photos(case: Case) -> tuple[PublicPhoto, ...]:
    """The photos the public may see (one query): display copies made, not hidden."""
    from cases.models import CasePhoto

    rows = (
        CasePhoto.objects.filter(case=case, public_hidden=False)
        .exclude(display="")
        .order_by("uploaded_at", "id")
        .values_list("id", "stage", "width", "height")
    )
    return tuple(PublicPhoto(*row) for row in rows)


def public_photo(case: Case, photo_id: int):
    """One photo of a case the public may see, or None (hidden, not processed, not its own)."""
    from cases.models import CasePhoto

    return (
        CasePhoto.objects.filter(case=case, pk=photo_id, public_hidden=False)
        .exclude(display="")
        .first()
    )


def _public_case_of(case: Case, *, follower=None) -> PublicCase:
    return PublicCase(
        number=case.number,
        item=_public_name(
            case.item.name, case.item.public_name, case.item.name_en, case.item.public_name_en
        ),
        state=case.status,
        state_label=str(PUBLIC_STATES.get(case.status, "")),
        address=case.address,
        lon=round(case.point.x, 6),
        lat=round(case.point.y, 6),
        reported_at=case.created_at,
        filed_at=case.filed_at,
        closed_at=case.closed_at,
        description=public_description(case),
        moderated=case.moderated_at is not None,
        satisfaction=case.satisfaction,
        satisfaction_label=str(case.get_satisfaction_display()) if case.satisfaction else "",
        rework_count=case.rework_count,
        repeat_count=case.repeat_count,
        photos=public_photos(case),
        timeline=public_timeline(case, follower=follower),
        public=Case.objects.filter(policy.public_cases(), pk=case.pk).exists()
        if follower is not None
        else True,
    )


def case_public(number: str) -> Case | None:
    """A public case by its number (one query, with its item), or None: a case that is not
    public does not exist for the public pages."""
    return Case.objects.filter(policy.public_cases(), number=number).select_related("item").first()


def case_public_view(number: str) -> PublicCase | None:
    """The public page of a case (three queries), or None when it is not public."""
    case = case_public(number)
    return None if case is None else _public_case_of(case)


def follower_by_token(token: str):
    """The follower whose private link this is, with their case and its item (one query),
    or None. Any state: a reporter follows their report before it is filed too."""
    from cases.models import CaseFollower

    if not token or len(token) > 64:
        return None
    return CaseFollower.objects.select_related("case__item").filter(token=token).first()


def case_tracked(follower) -> PublicCase:
    """The case as its follower sees it through their private link: the public view, whatever
    its state, with their own comments and reopen reason and the hotline's answer to them."""
    return _public_case_of(follower.case, follower=follower)


@dataclass(frozen=True)
class TrackOptions:
    """What a follower's private page offers now (the services decide again when asked)."""

    reporter: bool
    rate: bool
    reopen: bool
    reopen_until: datetime | None
    comment: bool
    notify: bool


def track_options(follower, now: datetime | None = None) -> TrackOptions:
    """What this follower may do on their private page now: ``policy.follower_may_rate`` and
    ``policy.follower_may_reopen``; any follower may comment and stop the updates."""
    case = follower.case
    now = now or timezone.now()
    return TrackOptions(
        reporter=policy.follower_is_reporter(follower),
        rate=policy.follower_may_rate(follower, case),
        reopen=policy.follower_may_reopen(follower, case, now),
        reopen_until=policy.reopen_until(case),
        comment=True,
        notify=follower.notify,
    )


@dataclass(frozen=True)
class NearFound:
    """Public cases in view, newest first: plain rows for a list and a map."""

    rows: list[dict]
    truncated: bool
    limit: int


_NEAR_VALUES = ("number", "status", "address", "created_at", "lon", "lat")
_NEAR_ITEM_NAMES = ("name", "public_name", "name_en", "public_name_en")


def _item_names() -> dict[str, Subquery]:
    """The item's names of a row as subqueries of the row's own item, not a join: joined, the
    item table led PostgreSQL's plan of near me (see ``policy.public_cases``)."""
    item = Item.objects.filter(pk=OuterRef("item_id")).order_by()
    return {f"item_{name}": Subquery(item.values(name)[:1]) for name in _NEAR_ITEM_NAMES}


def cases_public_near(
    *,
    bbox: tuple[float, float, float, float] | None = None,
    point=None,
    radius_m: float | None = None,
    now: datetime | None = None,
    limit: int = PUBLIC_NEAR_LIMIT,
) -> NearFound:
    """Near me (附近的问题): the public cases reported in the last ``PUBLIC_NEAR_DAYS`` days
    in a box (``bbox`` lon/lat, WGS-84) or around a point, newest first, at most ``limit``.
    One query whatever the number of rows: the item's names come in the same row."""
    now = now or timezone.now()
    cases = Case.objects.filter(
        policy.public_cases(), created_at__gte=now - timedelta(days=PUBLIC_NEAR_DAYS)
    )
    if bbox is not None:
        box = Polygon.from_bbox(bbox)
        box.srid = 4326
        # ST_Intersects, not the box operator of ``cases_in_box``: PostgreSQL estimates how
        # many cases a box holds only for the former (the operator's fixed guess planned a
        # district-wide view through the spatial index, 1 s for 430,000 rows).
        cases = cases.filter(point__intersects=box)
    if point is not None:
        radius_m = min(radius_m or 1000, PUBLIC_NEAR_RADIUS_MAX)
        cases = cases.filter(
            point__intersects=_box_around(point, radius_m),
            point__distance_lte=(point, D(m=radius_m)),
        )
    names = _item_names()
    rows = list(
        as_list_rows(cases)
        .annotate(**names)
        .order_by("-created_at", "-id")
        .values(*_NEAR_VALUES, *names)[: limit + 1]
    )
    truncated = len(rows) > limit
    out = []
    for row in rows[:limit]:
        out.append(
            {
                "number": row["number"],
                "item": _public_name(*(row[f"item_{name}"] for name in _NEAR_ITEM_NAMES)),
                "state": row["status"],
                "state_label": str(PUBLIC_STATES.get(row["status"], "")),
                "address": row["address"],
                "reported_at": row["created_at"],
                "lon": round(row["lon"], 6),
                "lat": round(row["lat"], 6),
            }
        )
    return NearFound(rows=out, truncated=truncated, limit=limit)
