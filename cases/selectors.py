"""Reads with rules: which cases a person may see, what waits for them, duplicates nearby.

Visibility is built from relations (grid, street, department, reporter), never from lists of
case ids, so a list costs the same whatever the number of cases; django-guardian grants on a
street or a grid (a supervisor lent another street) widen it.
"""

import math
from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import Polygon
from django.contrib.gis.measure import D
from django.db.models import FloatField, Func, Q, QuerySet
from django.utils import timezone

from accounts import policy
from accounts.models import User
from accounts.selectors import granted_hierarchy_ids, scope_prefix
from cases.models import OPEN_STATES, Case, ExtensionDecision, Item, Status
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
