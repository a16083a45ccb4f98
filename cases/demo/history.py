"""The district as the demo case history needs it, loaded once, and the maker of each day's
cases: grids with their people and places, departments, the taxonomy's items and limits."""

import json
import random
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import shapely
from django.conf import settings

from accounts.models import AssignmentKind, Department, GridAssignment, Role, User
from cases.calendar import calendar_current
from cases.demo.life import Life
from cases.demo.mix import (
    BATCH_SIZE,
    COMPONENT_WEIGHT,
    EMERGENCY_WEIGHT,
    FATES,
    ITEM_WEIGHTS,
    OTHER_EVENT_WEIGHT,
    POINTS_PER_GRID,
    RATINGS,
    REPORT_HOURS,
    SENSED_ITEMS,
    SHANGHAI,
    SOURCE_SHARES,
    DemoCasesMissing,
    cumulative,
)
from cases.demo.rows import Batch, ewkb
from cases.models import Item, Stage
from gridcity import geometry
from gridcity.models import Checkpoint, District, WorkGrid

# The details that repeat (a department, a verifier, passed or not) are kept as JSON text.
DETAILS_KEPT = 4096


@dataclass(slots=True)
class _Item:
    id: int
    name: str
    department_id: int | None
    emergency: bool
    limits: dict
    units: dict  # stage → the unit of its limit, as cases.transitions.resume takes them


@dataclass(slots=True)
class _Grid:
    id: int
    code: str
    community_id: int
    street_id: int
    inspector_id: int | None
    inspector_name: str | None
    supervisor_id: int | None
    office_id: int | None  # the street office: events without a department go there
    addresses: list[str]
    points: list[tuple[str, float, float]] = field(default_factory=list)


def _points_inside(geom, n: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """``n`` random points strictly inside a polygon (rejection sampling in its bounds)."""
    minx, miny, maxx, maxy = geom.bounds
    found: list[tuple[float, float]] = []
    for _ in range(200):
        xs = rng.uniform(minx, maxx, 4 * n)
        ys = rng.uniform(miny, maxy, 4 * n)
        inside = shapely.contains_xy(geom, xs, ys)
        found += zip(xs[inside].tolist(), ys[inside].tolist(), strict=True)
        if len(found) >= n:
            return found[:n]
    centre = geom.point_on_surface()
    return found + [(centre.x, centre.y)] * (n - len(found))


class DemoHistory:
    """The district's grids, people, departments and taxonomy, loaded once, and the maker of
    each day's cases. Deterministic: the same seed and day give the same cases."""

    def __init__(self, district: District, *, seed: int = 2026):
        self.district = district
        self.seed = seed
        self.calendar = calendar_current()
        self.warn_before = timedelta(minutes=getattr(settings, "GRIDCITY_WARN_BEFORE_MINUTES", 120))
        self._load_people()
        self._load_grids()
        self._load_items()
        self.sources = [s for s, _ in SOURCE_SHARES]
        self.source_cum = cumulative(w for _, w in SOURCE_SHARES)
        self.hours = {
            source: ([(a, b) for a, b, _ in spans], cumulative(w for _, _, w in spans))
            for source, spans in REPORT_HOURS.items()
        }
        self.fates = [f for f, _ in FATES]
        self.fate_cum = cumulative(w for _, w in FATES)
        self.ratings = [r for r, _ in RATINGS]
        self.rating_cum = cumulative(w for _, w in RATINGS)
        self._details: dict = {}

    # -- loading ------------------------------------------------------------------------

    def _missing(self, what: str) -> DemoCasesMissing:
        return DemoCasesMissing(
            f"District {self.district.code} has no {what}. The case history needs the demo "
            "city with its people and case taxonomy: run `manage.py seed_demo_city` first."
        )

    def _load_people(self) -> None:
        district = self.district
        users = User.objects.filter(is_active=True).order_by("username")
        self.dispatcher_id = (
            users.filter(role=Role.DISPATCHER, district=district)
            .values_list("id", flat=True)
            .first()
        )
        if self.dispatcher_id is None:
            raise self._missing("dispatcher")
        self.hotline_id = users.filter(role=Role.HOTLINE).values_list("id", flat=True).first()
        self.supervisors: dict[int, int] = {}
        for street_id, user_id in users.filter(
            role=Role.SUPERVISOR, street__district=district
        ).values_list("street_id", "id"):
            self.supervisors.setdefault(street_id, user_id)
        self.staff: dict[int, int] = {}
        for department_id, user_id in users.filter(
            role=Role.STAFF, department__isnull=False
        ).values_list("department_id", "id"):
            self.staff.setdefault(department_id, user_id)
        # The street office of a street: the first department of the street by code, as
        # routing_proposal picks it.
        self.offices: dict[int, int] = {}
        for street_id, department_id in (
            Department.objects.filter(street__district=district)
            .order_by("code")
            .values_list("street_id", "id")
        ):
            self.offices.setdefault(street_id, department_id)
        self.city_departments = list(
            Department.objects.filter(street__isnull=True)
            .order_by("code")
            .values_list("id", flat=True)
        )
        self.department_codes = dict(Department.objects.values_list("id", "code"))

    def _load_grids(self) -> None:
        district = self.district
        rows = list(
            WorkGrid.objects.filter(community__street__district=district)
            .order_by("code")
            .values_list(
                "id",
                "code",
                "name",
                "geom",
                "community_id",
                "community__name",
                "community__street_id",
                "community__street__code",
                "community__street__name",
            )
        )
        if not rows:
            raise self._missing("work grids")
        inspectors = self._inspectors()
        places = self._places()
        missing_offices = {r[7] for r in rows if r[6] not in self.offices}
        if missing_offices:
            raise self._missing(f"street office for street {min(missing_offices)}")
        rng = np.random.default_rng(self.seed)
        self.grids: list[_Grid] = []
        for gid, code, name, geom, cid, cname, sid, _scode, sname in rows:
            shape = geometry.to_shapely(geom)
            prefix = f"{sname}{cname}"
            grid = _Grid(
                id=gid,
                code=code,
                community_id=cid,
                street_id=sid,
                inspector_id=inspectors.get(gid, (None, None))[0],
                inspector_name=inspectors.get(gid, (None, None))[1],
                supervisor_id=self.supervisors.get(sid),
                office_id=self.offices.get(sid),
                addresses=[f"{prefix}{p}附近" for p in places.get(gid, [name])],
            )
            grid.points = [
                (ewkb(x, y), x, y) for x, y in _points_inside(shape, POINTS_PER_GRID, rng)
            ]
            self.grids.append(grid)
        # Some grids are busier than others (markets, transport hubs, villages in the city).
        self.grid_cum = cumulative(rng.lognormal(0.0, 0.6, len(self.grids)).tolist())

    def _inspectors(self) -> dict[int, tuple[int, str]]:
        """The verifier of a grid's cases, as _verifier_for finds them: its primary inspector."""
        inspectors = {
            grid_id: (user_id, username)
            for grid_id, user_id, username in GridAssignment.objects.filter(
                grid__community__street__district=self.district,
                kind=AssignmentKind.PRIMARY,
                valid_to__isnull=True,
                inspector__is_active=True,
            ).values_list("grid_id", "inspector_id", "inspector__username")
        }
        if not inspectors:
            raise self._missing("grid inspectors")
        return inspectors

    def _places(self) -> dict[int, list[str]]:
        """Each grid's checkpoints by name: the places cases are reported near."""
        places: dict[int, list[str]] = {}
        for grid_id, name in (
            Checkpoint.objects.filter(grid__community__street__district=self.district)
            .order_by("code")
            .values_list("grid_id", "name")
        ):
            places.setdefault(grid_id, []).append(name)
        return places

    def _load_items(self) -> None:
        items = [
            _Item(
                id=i.id,
                name=i.name,
                department_id=i.department_id,
                emergency=i.emergency,
                limits={stage: i.limit(stage) for stage in Stage.values},
                units={stage: i.limit(stage)[1] for stage in Stage.values},
            )
            for i in Item.objects.filter(active=True).order_by("code")
        ]
        if not items:
            raise self._missing("case taxonomy (items)")
        classes = dict(Item.objects.values_list("id", "category__case_class"))

        def weight(item: _Item) -> float:
            if item.emergency:
                return EMERGENCY_WEIGHT
            if item.name in ITEM_WEIGHTS:
                return ITEM_WEIGHTS[item.name]
            return OTHER_EVENT_WEIGHT if classes[item.id] == "event" else COMPONENT_WEIGHT

        self.items = items
        self.item_cum = cumulative(weight(i) for i in items)
        self.sensed = [i for i in items if i.name in SENSED_ITEMS]
        self.sensed_cum = cumulative(weight(i) for i in self.sensed)

    # -- making cases ---------------------------------------------------------------------

    def prefix(self, day: date) -> str:
        return f"{self.district.code}-{day:%Y%m%d}"

    def day_batches(
        self, day: date, n: int, ids: list[int], as_of: datetime, batch_size: int = BATCH_SIZE
    ) -> Iterator["Batch"]:
        """The ``n`` cases reported on ``day`` (numbered in the order they were reported) and
        their timelines as of ``as_of``, ``batch_size`` cases at a time."""
        rng = random.Random(f"{self.seed}:{day.isoformat()}")
        midnight = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)
        sources = rng.choices(self.sources, cum_weights=self.source_cum, k=n)
        reported = sorted(
            (midnight + timedelta(seconds=self._second_of_day(rng, s)), s) for s in sources
        )
        prefix = self.prefix(day)
        masters: dict[int, tuple[int, str, _Grid]] = {}
        for start in range(0, n, batch_size):
            batch = Batch()
            for i in range(start, min(start + batch_size, n)):
                t0, source = reported[i]
                number = f"{prefix}-{i + 1:06d}"
                life = Life(self, rng, ids[i], number, t0, source, as_of, masters)
                life.live()
                batch.cases.append(life.row())
                batch.steps += life.steps
            yield batch

    def _second_of_day(self, rng: random.Random, source: str) -> int:
        spans, cum = self.hours[source]
        a, b = spans[bisect(cum, rng.random() * cum[-1])]
        return int((a + rng.random() * (b - a)) * 60)

    def detail(self, values: dict) -> str:
        """A timeline row's detail as JSON, kept for the few values that repeat."""
        key = tuple(values.items())
        text = self._details.get(key)
        if text is None:
            text = json.dumps(values, ensure_ascii=False)
            if len(self._details) < DETAILS_KEPT:
                self._details[key] = text
        return text
