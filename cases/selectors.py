"""Reads with rules: which cases a person may see, what waits for them, duplicates nearby.

Visibility is built from relations (grid, street, department, reporter), never from lists of
case ids, so a list costs the same whatever the number of cases; django-guardian grants on a
street or a grid (a supervisor lent another street) widen it.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import Polygon
from django.contrib.gis.measure import D
from django.db.models import Exists, FloatField, Func, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import policy
from accounts.models import User
from accounts.selectors import granted_hierarchy_ids, scope_prefix
from cases.models import OPEN_STATES, Case, CaseExtension, ExtensionDecision, Item, Status
from gridcity.models import Street


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
        return cases.filter(status=Status.VERIFYING, verifier=user)
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
        Queue("to-file", _("To file"), lambda u, n: Q(status=Status.REPORTED), "file_due"),
        Queue("to-dispatch", _("To dispatch"), lambda u, n: Q(status=Status.FILED), "dispatch_due"),
        Queue("returned", _("Returned"), lambda u, n: Q(status=Status.RETURNED), "dispatch_due"),
        Queue(
            "to-approve",
            _("To approve"),
            lambda u, n: Q(_pending_request(), status__in=[Status.DISPATCHED, Status.HANDLING]),
        ),
        Queue("to-verify", _("To verify"), lambda u, n: Q(status=Status.HANDLED), "handled_at"),
        Queue("verifying", _("Verifying"), lambda u, n: Q(status=Status.VERIFYING), "verify_due"),
        Queue(
            "overdue",
            _("Overdue"),
            lambda u, n: Q(overdue=True, status__in=RUNNING),
            alarm=True,
        ),
        Queue("escalated", _("Escalated"), lambda u, n: Q(escalated=True, status__in=RUNNING)),
        # 处置部门 (department)
        Queue(
            "to-accept",
            _("To accept"),
            lambda u, n: _mine(u) & Q(status=Status.DISPATCHED, rework_count=0),
        ),
        Queue("handling", _("Handling"), lambda u, n: _mine(u) & Q(status=Status.HANDLING)),
        Queue(
            "rework",
            _("Rework"),
            lambda u, n: (
                _mine(u) & Q(status__in=[Status.DISPATCHED, Status.HANDLING], rework_count__gt=0)
            ),
        ),
        Queue(
            "due-soon",
            _("Due soon or overdue"),
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
            _("Due today"),
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
            _("Requests waiting"),
            lambda u, n: (
                _mine(u) & Q(_pending_request(), status__in=[Status.DISPATCHED, Status.HANDLING])
            ),
        ),
        # 督察 (supervisor): what the street's inspectors are to verify
        Queue(
            "street-verifying",
            _("Waiting for verification"),
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
    ],
    "department": ["to-accept", "handling", "rework", "due-soon", "requested", "due-today"],
    "supervise": ["overdue", "escalated", "street-verifying", "to-approve"],
}


def cases_in_queue(user: User, key: str, now: datetime | None = None) -> QuerySet[Case]:
    """The cases of queue ``key`` that ``user`` sees (list rows; unordered)."""
    queue = QUEUES[key]
    return cases_visible_to(user).filter(queue.rule(user, now or timezone.now()))


def queue_counts(user: User, keys: list[str], now: datetime | None = None) -> dict[str, int]:
    """How many cases each queue holds: one small count per queue, each on an index."""
    now = now or timezone.now()
    return {key: cases_in_queue(user, key, now).order_by().count() for key in keys}
