"""Reads of patrol with rules: whose shifts a person may see, a shift's track, work due.

"An inspector sees their own tracks; supervisors their street's; nobody else's." Where an
inspector walked is personal data of an employee: the command centre (dispatchers), the
departments and the hotline see no track; administrators see all. A supervisor sees a shift
when the inspector held a grid of the supervisor's street (or district), or of a street or grid
granted to them by hand, at some time during that shift: moving to another street does not
take an inspector's past along, nor bring it.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import DateTimeField, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import GridAssignment, Role, User
from accounts.selectors import granted_hierarchy_ids, scope_prefix
from gridcity.models import WorkGrid
from patrol.models import Shift, ShiftStatus, Tracker, TrackPoint
from patrol.partitions import day_bounds

SEES_EVERY_SHIFT = {Role.ADMIN}

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)


def to_ms(at: datetime) -> int:
    """Milliseconds since the epoch: the unit fixes are compared and stored in."""
    return (at - EPOCH) // MS


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=int(ms))


def epoch_ms_sql(column: str) -> str:
    """SQL reading a timestamp column as integer milliseconds since the epoch."""
    if connection.vendor == "postgresql":
        return f"(extract(epoch FROM {column}) * 1000)::int8"
    # SQLite keeps times as text; julianday() reads it to the millisecond.
    return f"CAST(round((julianday({column}) - 2440587.5) * 86400000.0) AS INTEGER)"


def db_time(ms: int):
    """A time in ms as a raw query's parameter (SQLite compares Django's text form)."""
    return connection.ops.adapt_datetimefield_value(from_ms(ms))


def _held_during(area: Q) -> Exists:
    """The shift's inspector held a grid of ``area`` at some time between its start and end
    (now, for a shift still open)."""
    now = Value(timezone.now(), output_field=DateTimeField())
    return Exists(
        GridAssignment.objects.filter(
            area,
            inspector_id=OuterRef("inspector_id"),
            valid_from__lte=Coalesce(OuterRef("ended_at"), now),
        ).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=OuterRef("started_at")))
    )


def shifts_visible_to(user: User | AnonymousUser) -> QuerySet[Shift]:
    """The shifts a person may see, their inspector loaded (one query more for a supervisor:
    the streets and grids granted to them by hand)."""
    shifts = Shift.objects.select_related("inspector")
    if not user.is_authenticated or not user.is_active:
        return shifts.none()
    if user.is_superuser or user.role in SEES_EVERY_SHIFT:
        return shifts
    if user.role == Role.INSPECTOR:
        return shifts.filter(inspector_id=user.pk)
    if user.role == Role.SUPERVISOR:
        area = Q(pk__in=[])
        if prefix := scope_prefix(user):
            area |= Q(grid__code__startswith=prefix)
        grids, streets = granted_hierarchy_ids(user)
        if grids:
            area |= Q(grid_id__in=sorted(set(grids)))
        if streets:
            area |= Q(grid__community__street_id__in=sorted(set(streets)))
        return shifts.filter(_held_during(area))
    return shifts.none()


def shifts_in_area(shifts: QuerySet[Shift], code: str) -> QuerySet[Shift]:
    """Of these, the shifts of inspectors who held a grid under this street's (or community's,
    or grid's) code during the shift."""
    return shifts.filter(_held_during(Q(grid__code__startswith=code)))


def shifts_started_on(shifts: QuerySet[Shift], day: date) -> QuerySet[Shift]:
    start, end = day_bounds(day)
    return shifts.filter(started_at__gte=start, started_at__lt=end)


def shifts_idle(cutoff: datetime) -> QuerySet[Shift]:
    """Open shifts whose last fix (or start, with none yet) is before ``cutoff``."""
    return (
        Shift.objects.filter(status=ShiftStatus.OPEN)
        .alias(seen=Coalesce("last_point_at", "started_at"))
        .filter(seen__lt=cutoff)
        .order_by("pk")
    )


def shifts_report_due(day: date) -> QuerySet[Shift]:
    """Ended shifts of that local day (begun or ended in it) whose report is missing, or older
    than their last fix, or made from another number of fixes than they hold now."""
    start, end = day_bounds(day)
    return (
        Shift.objects.filter(status=ShiftStatus.CLOSED, started_at__lt=end, ended_at__gte=start)
        .filter(
            Q(report_at__isnull=True)
            | Q(report_at__lt=Coalesce("last_point_at", "started_at"))
            | ~Q(report_points=F("points_count"))
        )
        .order_by("pk")
    )


def shift_grids(shift: Shift) -> QuerySet[WorkGrid]:
    """The grids the shift's inspector held (primary or backup) at any time during it."""
    held = GridAssignment.objects.filter(
        inspector_id=shift.inspector_id,
        valid_from__lte=shift.ended_at or timezone.now(),
    ).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=shift.started_at))
    return WorkGrid.objects.filter(pk__in=held.values("grid_id")).order_by("code")


@dataclass
class Track:
    """A shift's fixes in time order, as columns (NaN where a value is absent)."""

    ms: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    accuracy: np.ndarray
    speed: np.ndarray
    heading: np.ndarray
    altitude: np.ndarray
    battery: np.ndarray
    mock: np.ndarray

    @property
    def t(self) -> np.ndarray:
        """Seconds since the epoch."""
        return self.ms / 1000.0

    def __len__(self) -> int:
        return len(self.ms)


def shift_track(shift: Shift) -> Track:
    """The shift's fixes, ordered by time, in one query without a model instance per fix.

    Bounded by the shift's first and last fix as well as by the shift itself, so that on
    PostgreSQL only the partitions of its days are read.
    """
    sql = (
        f"SELECT {epoch_ms_sql('t')}, ST_X(point), ST_Y(point), accuracy, speed, heading, "
        f"altitude, battery, mock FROM {TrackPoint._meta.db_table} WHERE shift_id = %s"
    )
    params: list = [shift.pk]
    if shift.first_point_at and shift.last_point_at:
        sql += " AND t >= %s AND t <= %s"
        params += [db_time(to_ms(shift.first_point_at)), db_time(to_ms(shift.last_point_at))]
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY t", params)
        rows = cursor.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * 9
    floats = [np.array(c, dtype=np.float64) for c in columns[1:8]]
    return Track(
        np.array(columns[0], dtype=np.int64),
        *floats,
        np.array(columns[8], dtype=bool),
    )


def tracker_active(kind: str, identifier: str) -> Tracker | None:
    """The registered, unrevoked positioning app (Traccar Client, OwnTracks) with this device
    identifier, its inspector loaded: whose fixes an OsmAnd or OwnTracks upload carries. None
    for an unknown or revoked identifier, or one whose inspector is disabled."""
    return (
        Tracker.objects.filter(
            kind=kind,
            identifier=identifier,
            revoked_at__isnull=True,
            inspector__is_active=True,
            inspector__role=Role.INSPECTOR,
        )
        .select_related("inspector")
        .first()
    )
