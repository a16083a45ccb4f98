"""Reads of patrol with rules: whose shifts a person may see, a shift's track, work due.

"An inspector sees their own tracks; supervisors their street's; nobody else's." Where an
inspector walked is personal data of an employee: the command centre (dispatchers), the
departments and the hotline see no stored track; administrators see all. The live map is
another matter: dispatchers watch the newest position of every inspector of their scope
(``accounts.policy.may_watch_live``, ``streets_watchable_by``), never the way there. A
supervisor sees a shift when the inspector held a grid of the supervisor's street (or
district), or of a street or grid granted to them by hand, at some time during that shift:
moving to another street does not take an inspector's past along, nor bring it.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import DateTimeField, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts import policy
from accounts.models import AssignmentKind, GridAssignment, Role, User
from accounts.selectors import granted_hierarchy_ids, scope_prefix
from gridcity.errors import DomainError
from gridcity.models import Checkpoint, Community, District, Street, WorkGrid
from patrol.analysis import ANOMALY_KINDS
from patrol.models import PatrolRequirement, Shift, ShiftStatus, Tracker, TrackPoint
from patrol.partitions import day_bounds

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
    if policy.sees_every_shift(user):
        return shifts
    if policy.is_inspector(user):
        return shifts.filter(inspector_id=user.pk)
    if policy.is_supervisor(user):
        return shifts.filter(_held_during(_supervised_area(user)))
    return shifts.none()


def _supervised_area(user: User, grants: tuple[list[int], list[int]] | None = None) -> Q:
    """The grid assignments (a condition on GridAssignment) of a supervisor's street or
    district and of the streets and grids granted to them by hand (``grants``, or one query
    for them)."""
    area = Q(pk__in=[])
    if prefix := scope_prefix(user):
        area |= Q(grid__code__startswith=prefix)
    grids, streets = grants or granted_hierarchy_ids(user)
    if grids:
        area |= Q(grid_id__in=sorted(set(grids)))
    if streets:
        area |= Q(grid__community__street_id__in=sorted(set(streets)))
    return area


def shifts_in_area(shifts: QuerySet[Shift], code: str) -> QuerySet[Shift]:
    """Of these, the shifts of inspectors who held a grid under this street's (or community's,
    or grid's) code during the shift."""
    return shifts.filter(_held_during(Q(grid__code__startswith=code)))


def shifts_started_on(shifts: QuerySet[Shift], day: date) -> QuerySet[Shift]:
    start, end = day_bounds(day)
    return shifts.filter(started_at__gte=start, started_at__lt=end)


def shifts_idle(
    *, idle_before: datetime, silent_before: datetime, started_by: datetime
) -> QuerySet[Shift]:
    """Open shifts that may be due to end: opened by their fixes, with the last fix (or the
    start, with none yet) before ``idle_before``; started by the inspector, with it before
    ``silent_before`` or begun by ``started_by``."""
    return (
        Shift.objects.filter(status=ShiftStatus.OPEN)
        .alias(seen=Coalesce("last_point_at", "started_at"))
        .filter(
            Q(opened_auto=True, seen__lt=idle_before)
            | Q(opened_auto=False, seen__lt=silent_before)
            | Q(opened_auto=False, started_at__lte=started_by)
        )
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
    segment_start: np.ndarray  # bool: the recording breaks before this fix

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
        f"altitude, battery, mock, segment_start FROM {TrackPoint._meta.db_table} "
        "WHERE shift_id = %s"
    )
    params: list = [shift.pk]
    if shift.first_point_at and shift.last_point_at:
        sql += " AND t >= %s AND t <= %s"
        params += [db_time(to_ms(shift.first_point_at)), db_time(to_ms(shift.last_point_at))]
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY t", params)
        rows = cursor.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * 10
    floats = [np.array(c, dtype=np.float64) for c in columns[1:8]]
    return Track(
        np.array(columns[0], dtype=np.int64),
        *floats,
        np.array(columns[8], dtype=bool),
        np.array(columns[9], dtype=bool),
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


# --- a supervisor's day: every inspector against their grids' requirements ----------------------


class AreaOutOfScope(DomainError):
    """An area (street, community or grid code) outside what the caller oversees (403)."""

    status = 403
    code = "permission_denied"

    def __init__(self, area: str | None):
        super().__init__(gettext_lazy("This area is outside the one you oversee."))
        self.area = area


@dataclass(frozen=True)
class Requirement:
    """What an inspector must do in a day (巡查要求); None where nothing is required."""

    laps: int | None
    online_minutes: int | None
    coverage: float | None
    all_checkpoints: bool

    def as_dict(self) -> dict:
        return {
            "laps": self.laps,
            "online_minutes": self.online_minutes,
            "coverage": self.coverage,
            "all_checkpoints": self.all_checkpoints,
        }


def requirement_default() -> Requirement:
    """The district's requirement (GRIDCITY_PATROL_REQUIRED_*), for grids without their own."""
    return Requirement(
        laps=settings.GRIDCITY_PATROL_REQUIRED_LAPS,
        online_minutes=settings.GRIDCITY_PATROL_REQUIRED_ONLINE_MINUTES,
        coverage=settings.GRIDCITY_PATROL_REQUIRED_COVERAGE,
        all_checkpoints=settings.GRIDCITY_PATROL_REQUIRE_ALL_CHECKPOINTS,
    )


def requirement_of_grids(
    overrides: list[PatrolRequirement | None], default: Requirement
) -> Requirement | None:
    """The requirement of an inspector holding these grids as the responsible inspector: each
    grid's own figures where set, the district's elsewhere, and of several grids the strictest
    (the laps, minutes and coverage are of the whole patrol, which walks them all). None
    without a grid: a backup inspector answers for no daily patrol."""
    if not overrides:
        return None
    each = [
        Requirement(
            laps=default.laps if o is None or o.laps_per_day is None else o.laps_per_day,
            online_minutes=default.online_minutes
            if o is None or o.online_minutes is None
            else o.online_minutes,
            coverage=default.coverage if o is None or o.coverage is None else o.coverage,
            all_checkpoints=default.all_checkpoints
            if o is None or o.all_checkpoints is None
            else o.all_checkpoints,
        )
        for o in overrides
    ]

    def strictest(values):
        values = [v for v in values if v]
        return max(values) if values else None

    return Requirement(
        laps=strictest(r.laps for r in each),
        online_minutes=strictest(r.online_minutes for r in each),
        coverage=strictest(r.coverage for r in each),
        all_checkpoints=any(r.all_checkpoints for r in each),
    )


def shortfalls_of(row: dict, requirement: Requirement | None) -> list[dict]:
    """What a day's figures lack against the requirement: ``{kind, need, got}`` each, in the
    units of the row (laps, checkpoints met, seconds online, share covered). A day without any
    shift is short of one thing only: ``no_patrol``. Laps and checkpoints are required only of
    grids that have checkpoints."""
    if requirement is None:
        return []
    if not row["shifts"]:
        return [{"kind": "no_patrol", "need": 1, "got": 0}]
    short = []
    has_checkpoints = row["checkpoints_required"] > 0
    if has_checkpoints and requirement.laps and row["laps"] < requirement.laps:
        short.append({"kind": "laps", "need": requirement.laps, "got": row["laps"]})
    if (
        has_checkpoints
        and requirement.all_checkpoints
        and row["checkpoints_met"] < row["checkpoints_required"]
    ):
        short.append(
            {
                "kind": "checkpoints",
                "need": row["checkpoints_required"],
                "got": row["checkpoints_met"],
            }
        )
    if requirement.online_minutes and row["online_s"] < requirement.online_minutes * 60:
        short.append(
            {"kind": "online", "need": requirement.online_minutes * 60, "got": row["online_s"]}
        )
    if requirement.coverage and (row["coverage"] or 0.0) < requirement.coverage:
        short.append(
            {"kind": "coverage", "need": requirement.coverage, "got": row["coverage"] or 0.0}
        )
    return short


def _summary_area(user: User, grants=None) -> Q | None:
    """The grid assignments whose inspectors a caller's summary lists (a condition on
    GridAssignment); None for a caller who gets no summary."""
    if not user.is_authenticated or not user.is_active:
        return None
    if policy.sees_every_shift(user):
        return Q()
    if policy.is_supervisor(user):
        return _supervised_area(user, grants)
    if policy.is_inspector(user):
        return Q(inspector_id=user.pk)
    return None


def may_summarise(user: User | AnonymousUser) -> bool:
    return _summary_area(user) is not None


# The figures of a stored report the summary adds up; read out of the JSON by the database, so
# that the day's stops, visits and anomalies (most of a report) never leave it.
_REPORT_FIGURES = (
    "distance_m",
    "online_s",
    "moving_s",
    "stopped_s",
    "laps",
    "checkpoints",
    "coverage",
    "outside_s",
    "anomaly_counts",
)


def _held_on(day: date) -> Q:
    start, end = day_bounds(day)
    return Q(valid_from__lt=end) & (Q(valid_to__isnull=True) | Q(valid_to__gt=start))


def inspectors_day_summary(user: User, *, day: date, area: str | None = None) -> list[dict]:
    """督查汇总: every inspector who held a grid in the caller's scope (and under ``area``, a
    district, street, community or grid code) on the local ``day``, one row each, with the
    figures of that day's shifts (begun that day) added up and what they lack against the
    grids' requirements. An inspector sees their own row only.

    Figures come from the stored reports; a shift without one, or with one made from fewer
    fixes than it holds (open shifts, reports not computed yet), counts with what the shift
    row holds (online from its first to its last fix; nothing else) and marks the row
    ``report_pending``. Coverage is the best single shift's share (reports keep the share, not
    the cells, so shares of two shifts cannot be united: a lower bound of the day's). Laps are
    added up (a lap that two shifts share counts in neither).

    Raises AreaOutOfScope for an area with no grid in the caller's scope. A fixed number of
    queries whatever the number of inspectors.
    """
    held, shifts = _summary_scope(user, day=day, area=area)
    assignments = _summary_assignments(held=held)
    if area and policy.is_inspector(user) and not assignments:
        raise AreaOutOfScope(area)
    if not assignments:
        return []
    rows, grids_of = _summary_rows(assignments=assignments)
    visited, met = _summary_add_shifts(rows=rows, shifts=shifts)
    return _summary_against_requirements(
        rows=rows, grids_of=grids_of, visited=visited, met=met, grid_ids=held.values("grid_id")
    )


def _summary_scope(
    user: User, *, day: date, area: str | None
) -> tuple[QuerySet[GridAssignment], QuerySet[Shift]]:
    """The grid assignments a summary of ``day`` lists (held on the day, in the caller's scope,
    under ``area``) and the shifts it adds up (begun that day, by their inspectors, as the
    caller may see them). Raises AreaOutOfScope as ``inspectors_day_summary`` says."""
    if not may_summarise(user):
        raise AreaOutOfScope(area)
    supervisor = policy.is_supervisor(user) and not user.is_superuser
    grants = granted_hierarchy_ids(user) if supervisor else ([], [])
    scope = _summary_area(user, grants)
    if area and supervisor and not _area_supervised(user, area, grants):
        raise AreaOutOfScope(area)
    held = GridAssignment.objects.filter(scope, _held_on(day))
    if area:
        held = held.filter(grid__code__startswith=area)
    shifts = shifts_started_on(
        Shift.objects.filter(inspector_id__in=held.values("inspector_id")), day
    )
    if supervisor:
        # What a supervisor may see of those shifts, as shifts_visible_to decides: not those
        # an inspector walked before moving into the street.
        shifts = shifts.filter(_held_during(scope))
    return held, shifts


@dataclass(frozen=True)
class InspectorsOfDay:
    """The inspectors of a day's summary at a glance, without their figures."""

    names: dict[int, str]  # inspector id → name, as the summary's rows name them
    on_patrol: int  # on patrol now (an open shift the caller may see)
    no_shift: int  # neither a shift begun that day nor one open
    ids: QuerySet  # their ids, as a subquery (``inspector_id`` of the assignments held)


def inspectors_of_day(user: User, *, day: date, area: str | None = None) -> InspectorsOfDay:
    """The inspectors ``inspectors_day_summary`` lists for ``day`` and ``area`` (the same scope,
    the same checks) counted as its rows would be, without adding up their shifts: how many are
    on patrol now and how many have no shift that day, the figures of a supervisor's street
    page, whose table of figures loads apart. Four queries (and the caller's grants, read
    twice) whatever the number of inspectors."""
    held, shifts = _summary_scope(user, day=day, area=area)
    ids = held.values("inspector_id")
    names = {
        inspector_id: _inspector_name(username, first, last)
        for inspector_id, username, first, last in held.order_by().values_list(
            "inspector_id",
            "inspector__username",
            "inspector__first_name",
            "inspector__last_name",
        )
    }
    if not names:
        return InspectorsOfDay(names={}, on_patrol=0, no_shift=0, ids=ids)
    with_shift = set(shifts.order_by().values_list("inspector_id", flat=True).distinct())
    patrolling = inspectors_on_patrol(user, inspector_ids=ids)
    no_shift = sum(1 for i in names if i not in with_shift and i not in patrolling)
    return InspectorsOfDay(names=names, on_patrol=len(patrolling), no_shift=no_shift, ids=ids)


def _summary_assignments(*, held: QuerySet[GridAssignment]) -> list[tuple]:
    return list(
        held.order_by("grid__code", "kind", "valid_from").values_list(
            "inspector_id",
            "inspector__username",
            "inspector__first_name",
            "inspector__last_name",
            "grid_id",
            "grid__code",
            "kind",
        )
    )


def _summary_rows(*, assignments: list[tuple]) -> tuple[dict[int, dict], dict[int, dict]]:
    """An empty row per inspector, and the grids each held (grid id → [code, primary])."""
    rows: dict[int, dict] = {}
    grids_of: dict[int, dict[int, list]] = {}
    for inspector_id, username, first, last, grid_id, code, kind in assignments:
        if inspector_id not in rows:
            rows[inspector_id] = _summary_row(inspector_id, username, first, last)
        grid = grids_of.setdefault(inspector_id, {}).setdefault(grid_id, [code, False])
        grid[1] |= kind == AssignmentKind.PRIMARY
    return rows, grids_of


def _summary_add_shifts(
    *, rows: dict[int, dict], shifts: QuerySet[Shift]
) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
    """The shifts' figures added to their inspectors' rows; the checkpoints each inspector
    visited, and those where a visit met the dwell."""
    shift_rows = shifts.order_by("started_at", "pk").values_list(
        "pk",
        "inspector_id",
        "first_point_at",
        "last_point_at",
        "points_count",
        "report_points",
        "report_at",
        *(f"report__{name}" for name in _REPORT_FIGURES),
    )
    visited: dict[int, set[int]] = {}
    met: dict[int, set[int]] = {}
    for pk, inspector_id, first_at, last_at, count, reported, report_at, *figures in shift_rows:
        row = rows[inspector_id]
        row["shifts"].append(pk)
        if report_at is None or reported != count:
            row["report_pending"] = True
        if report_at is None:
            if first_at and last_at:
                row["online_s"] += (last_at - first_at).total_seconds()
            continue
        report = dict(zip(_REPORT_FIGURES, figures, strict=True))
        _summary_add_report(row, report)
        for c in report["checkpoints"] or []:
            if c["visits"]:
                visited.setdefault(inspector_id, set()).add(c["checkpoint_id"])
            if c["met"]:
                met.setdefault(inspector_id, set()).add(c["checkpoint_id"])
    return visited, met


def _summary_add_report(row: dict, report: dict) -> None:
    for name in ("distance_m", "online_s", "moving_s", "stopped_s", "outside_s"):
        row[name] += report[name] or 0.0
    row["laps"] += report["laps"] or 0
    if report["coverage"] is not None:
        row["coverage"] = max(row["coverage"] or 0.0, report["coverage"])
    for kind, n in (report["anomaly_counts"] or {}).items():
        row["anomalies"][kind] = row["anomalies"].get(kind, 0) + n


def _summary_against_requirements(
    *,
    rows: dict[int, dict],
    grids_of: dict[int, dict],
    visited: dict[int, set[int]],
    met: dict[int, set[int]],
    grid_ids: QuerySet,
) -> list[dict]:
    """The rows completed with their grids, checkpoints and what they lack against the
    requirements of the grids held as primary.

    Hundreds of rows in a street: the requirement of each set of overrides is worked out once
    (most grids have none, and share the district's), and the checkpoints are read unsorted
    (sorting a street's thousands by code was most of their query). ``grid_ids`` stays a
    subquery: as a list of hundreds of ids it cost more to send than to run."""
    checkpoints_of: dict[int, set[int]] = {}
    checkpoints = Checkpoint.objects.filter(grid_id__in=grid_ids).order_by()
    for pk, grid_id in checkpoints.values_list("pk", "grid_id"):
        checkpoints_of.setdefault(grid_id, set()).add(pk)
    overrides = {r.grid_id: r for r in PatrolRequirement.objects.filter(grid_id__in=grid_ids)}
    default = requirement_default()
    requirements: dict[tuple, tuple[Requirement | None, dict | None]] = {}
    none: set[int] = set()
    out = []
    for inspector_id, row in rows.items():
        grids = grids_of[inspector_id]
        if len(grids) == 1:
            required = checkpoints_of.get(next(iter(grids)), none)
        else:
            required = set().union(*(checkpoints_of.get(g, none) for g in grids))
        row["grids"] = [code for code, _primary in grids.values()]
        row["checkpoints_required"] = len(required)
        row["checkpoints_visited"] = len(required & visited.get(inspector_id, none))
        row["checkpoints_met"] = len(required & met.get(inspector_id, none))
        held_as_primary = [overrides.get(g) for g, (_code, primary) in grids.items() if primary]
        key = tuple(o.pk if o else None for o in held_as_primary)
        if key not in requirements:
            requirement = requirement_of_grids(held_as_primary, default)
            requirements[key] = (requirement, requirement.as_dict() if requirement else None)
        requirement, as_dict = requirements[key]
        row["requirement"] = dict(as_dict) if as_dict else None
        row["shortfalls"] = shortfalls_of(row, requirement)
        row["short"] = bool(row["shortfalls"])
        out.append(row)
    return out


def _summary_row(inspector_id: int, username: str, first: str, last: str) -> dict:
    return {
        "inspector": {
            "id": inspector_id,
            "username": username,
            "name": _inspector_name(username, first, last),
        },
        "grids": [],
        "shifts": [],
        "distance_m": 0.0,
        "online_s": 0.0,
        "moving_s": 0.0,
        "stopped_s": 0.0,
        "laps": 0,
        "checkpoints_visited": 0,
        "checkpoints_met": 0,
        "checkpoints_required": 0,
        "coverage": None,
        "outside_s": 0.0,
        "anomalies": dict.fromkeys(ANOMALY_KINDS, 0),
        "report_pending": False,
    }


def _inspector_name(username: str, first: str, last: str) -> str:
    return f"{first} {last}".strip() or username  # as User.get_full_name()


def _area_supervised(user: User, area: str, grants: tuple[list[int], list[int]]) -> bool:
    """Whether an area (code) and a supervisor's scope share a grid: the area lies in their
    street or district (or holds it), or holds a grid or street granted to them."""
    prefix = scope_prefix(user)
    if prefix and (area.startswith(prefix) or prefix.startswith(area)):
        return True
    grids, streets = grants
    if not (grids or streets):
        return False
    return WorkGrid.objects.filter(
        Q(pk__in=grids) | Q(community__street_id__in=streets), code__startswith=area
    ).exists()


def area_exists(code: str) -> bool:
    """Whether a district, street, community or grid has this code (by its length)."""
    model = {6: District, 9: Street, 12: Community, 15: WorkGrid}.get(len(code))
    return bool(model and code.isdigit() and model.objects.filter(code=code).exists())


def streets_supervised(user: User) -> QuerySet[Street]:
    """The streets a supervisor oversees (their street, or their district's; those granted by
    hand, and those of grids granted by hand), every street for an administrator: the
    choices of the patrol audit page."""
    streets = Street.objects.order_by("code").only("code", "name")
    if not user.is_authenticated or not user.is_active:
        return streets.none()
    if policy.sees_every_shift(user):
        return streets
    if not policy.is_supervisor(user):
        return streets.none()
    rule = Q(pk__in=[])
    if prefix := scope_prefix(user):
        rule |= Q(code__startswith=prefix)
    grids, granted = granted_hierarchy_ids(user)
    if granted:
        rule |= Q(pk__in=granted)
    if grids:
        rule |= Q(communities__grids__in=grids)
    return streets.filter(rule).distinct()


def streets_watchable_by(user) -> QuerySet[Street]:
    """The streets whose inspectors a person may watch live.

    An administrator (or superuser) every street; a supervisor or dispatcher the streets under
    their scope code (their street, or every street of their district), and any street granted
    to them by hand (guardian ``view_street``). A grant of a single work grid does not open the
    street: its positions would show every other grid's inspectors too.
    """
    streets = Street.objects.all()
    if not policy.may_watch_live(user):
        return streets.none()
    if policy.is_administrator(user):
        return streets
    _grids, granted = granted_hierarchy_ids(user)
    rule = Q(pk__in=granted)
    if prefix := scope_prefix(user):
        rule |= Q(code__startswith=prefix)
    return streets.filter(rule)


def inspectors_on_patrol(user: User, *, inspector_ids: list[int] | QuerySet) -> dict[int, dict]:
    """Of these inspectors, those on patrol now (an open shift that ``user`` may see), each
    with their shift's id, start and last fix: one query whatever their number. The ids may
    come as a subquery (``InspectorsOfDay.ids``): a street's hundreds cost more to send as a
    list than to select again."""
    if isinstance(inspector_ids, QuerySet):
        ids = inspector_ids
    elif not inspector_ids:
        return {}
    else:
        ids = sorted(set(inspector_ids))
    shifts = shifts_visible_to(user).filter(status=ShiftStatus.OPEN, inspector_id__in=ids)
    return {
        inspector_id: {"shift": pk, "started_at": started_at, "last_point_at": last_point_at}
        for pk, inspector_id, started_at, last_point_at in shifts.order_by().values_list(
            "pk", "inspector_id", "started_at", "last_point_at"
        )
    }
