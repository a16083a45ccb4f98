"""The demo city's case history, written in bulk (``manage.py seed_demo_cases``).

Each case is lived in memory the way ``cases.services`` would have moved it: the same fields
change at each step, one timeline row per step with the person who really does it, deadlines
from the working calendar (``calendar_current().deadline``, as ``_due`` computes them), and the
marks the overdue sweep would have made when a deadline passed. Nothing happens after the
moment the history is taken at (midnight starting ``end``), so old cases are mostly closed and
the last days' cases are spread over the open states.

Batches of cases and their timelines are then written at once: COPY on PostgreSQL (a year at
20,000 cases a day is millions of rows), ``bulk_create`` elsewhere. One day is one transaction
and its case number counter is written in it, so Ctrl-C leaves whole days only, a re-run skips
the days whose counter exists, and ``case_report`` continues each day's sequence afterwards.
"""

import json
import random
import struct
import uuid
from bisect import bisect
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import AssignmentKind, Department, GridAssignment, Role, User
from cases.calendar import calendar_current
from cases.models import (
    Case,
    CaseNumberCounter,
    CaseTransition,
    Item,
    Resolution,
    Source,
    Stage,
    Status,
    TimeUnit,
)
from gridcity import geometry
from gridcity.models import Checkpoint, District, WorkGrid

DEMO_DISTRICT = "440306"
SHANGHAI = ZoneInfo("Asia/Shanghai")
BATCH_SIZE = 5_000
POINTS_PER_GRID = 48

Progress = Callable[[str, int, int], None]


class DemoCasesMissing(ValueError):
    """What the history needs is not in the database: the demo city, its people, the taxonomy."""


# --- the mix: who reports what, when, and how it ends ---------------------------------------

# Grid inspectors find most problems on patrol; the 12345 hotline and citizens' own reports
# come next; sensors (smart covers, video analytics) and supervisors' spot checks are few.
SOURCE_SHARES = (
    (Source.INSPECTOR, 70),
    (Source.HOTLINE, 12),
    (Source.CITIZEN, 8),
    (Source.SENSOR, 5),
    (Source.SUPERVISOR, 5),
)

# When each source reports, as (from, to, share) in local minutes: inspectors within their
# patrol periods, the hotline and citizens from morning to late evening, sensors at any hour.
REPORT_HOURS = {
    Source.INSPECTOR: ((510, 720, 45), (840, 1080, 45), (1080, 1260, 7), (420, 510, 3)),
    Source.SUPERVISOR: ((540, 720, 50), (840, 1050, 50)),
    Source.HOTLINE: (
        (0, 420, 2),
        (420, 540, 8),
        (540, 720, 30),
        (720, 840, 12),
        (840, 1080, 30),
        (1080, 1320, 15),
        (1320, 1440, 3),
    ),
    Source.CITIZEN: (
        (0, 420, 2),
        (420, 540, 10),
        (540, 720, 22),
        (720, 840, 14),
        (840, 1080, 22),
        (1080, 1380, 25),
        (1380, 1440, 5),
    ),
    Source.SENSOR: ((0, 1440, 1),),
}

# Street-level events dominate every city's statistics; emergencies are rare.
ITEM_WEIGHTS = {
    "暴露垃圾": 60,
    "占道经营": 45,
    "乱堆物料": 40,
    "店外经营": 25,
    "流动摊贩": 22,
    "非机动车乱停放": 20,
    "机动车乱停放": 18,
    "非法小广告": 18,
    "共享单车乱停放": 16,
    "垃圾满溢": 15,
    "道路不洁": 12,
    "乱拉晒挂": 10,
    "乱扔乱倒": 10,
    "积存垃圾渣土": 8,
    "工地扬尘": 6,
    "渣土车遗撒": 6,
    "飞线充电": 6,
    "涂写刻画": 6,
    "噪声扰民": 6,
    "施工占道": 5,
    "条幅": 5,
    "占道广告牌": 5,
    "大件垃圾乱弃": 5,
    "油烟污染": 4,
    "露天烧烤": 4,
}
OTHER_EVENT_WEIGHT = 2.0
COMPONENT_WEIGHT = 1.0
EMERGENCY_WEIGHT = 0.15
# What sensors and video analytics report (智能井盖, 积水/噪声/油烟/扬尘监测, AI 视频识别).
SENSED_ITEMS = frozenset(
    {
        "上水井盖",
        "污水井盖",
        "雨水井盖",
        "电力井盖",
        "通信井盖",
        "燃气井盖",
        "井盖缺失",
        "窨井冒溢",
        "道路积水",
        "垃圾满溢",
        "噪声扰民",
        "油烟污染",
        "工地扬尘",
        "暴露垃圾",
        "占道经营",
        "机动车乱停放",
        "消防通道堵塞",
    }
)

# How a case ends (per mille). The resolved ones close after verification or on the command
# centre's word; "held" are suspended (挂账) for a while and then resolved; "suspended" stay on
# hold; "stuck" are handled very late, the long tail of every overdue list.
FATES = (
    ("resolved", 875),
    ("rejected", 45),
    ("duplicate", 25),
    ("cancelled", 20),
    ("held", 15),
    ("suspended", 15),
    ("stuck", 5),
)
RETURNED_SHARE = 0.04  # dispatched to the wrong department first, returned, redispatched
REWORK_SHARES = (0.06, 0.01)  # verification failed once; twice
CLOSED_BY_CENTRE_SHARE = 0.08  # closed on the handling photos, without an on-site check
RATED_SHARE = 0.6  # hotline and citizen reports rated by the reporter once closed
RATINGS = ((5, 55), (4, 30), (3, 10), (2, 3), (1, 2))
# Share of each stage done after its deadline: together about one case in ten is overdue once.
LATE = {Stage.FILE: 0.02, Stage.DISPATCH: 0.02, Stage.HANDLE: 0.05, Stage.VERIFY: 0.02}
# The overdue sweep runs every minute (CELERY_BEAT_SCHEDULE), the due-soon warning every five.
SWEEP_SECONDS = 60
WARN_SWEEP_SECONDS = 300

REJECT_NOTES = ("不符合立案条件", "不属于城市管理范围", "现场无此问题", "信息不全，无法核实")
CANCEL_NOTES = ("误报", "重复上报，作废", "上报人撤回", "测试数据")
RETURN_NOTES = ("不属于本部门职责范围，请重新派遣", "权属不明，申请回退")
SUSPEND_NOTES = ("需多部门协调，暂时挂账", "待资金落实后处置", "涉及产权纠纷，待法院裁定")
HANDLE_NOTES = ("已处置完毕", "已清理完毕，现场恢复整洁", "已责令整改并完成", "已维修更换")
FAIL_NOTES = ("现场核查未整改到位", "问题仍然存在，需返工")
PASS_NOTES = ("现场核查通过", "已整改到位", "")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐许韩冯邓曹彭曾肖田"

# The deadline each status waits on (``Case.stage_due``): what the overdue sweep compares.
_CLOCKED = {
    Status.REPORTED: "file_due",
    Status.FILED: "dispatch_due",
    Status.RETURNED: "dispatch_due",
    Status.DISPATCHED: "handle_due",
    Status.HANDLING: "handle_due",
    Status.VERIFYING: "verify_due",
}

# The columns written, in row order: every concrete field of the two models.
CASE_FIELDS = (
    "id",
    "number",
    "source",
    "item_id",
    "description",
    "point",
    "address",
    "grid_id",
    "community_id",
    "street_id",
    "district_id",
    "reporter_id",
    "contact_name",
    "contact_phone",
    "department_id",
    "assignee_id",
    "verifier_id",
    "status",
    "suspended_from",
    "resolution",
    "master_id",
    "filed_at",
    "dispatched_at",
    "handled_at",
    "closed_at",
    "suspended_at",
    "file_due",
    "dispatch_due",
    "handle_due",
    "verify_due",
    "warned_at",
    "overdue",
    "escalated",
    "rework_count",
    "closed_on_time",
    "rating",
    "client_uuid",
    "request_digest",
    "created_at",
    "updated_at",
)
STEP_FIELDS = (
    "case_id",
    "action",
    "from_state",
    "to_state",
    "actor_id",
    "at",
    "note",
    "location",
    "detail",
)


def _fields_check() -> None:
    """A field added to Case or CaseTransition must be added here too, or the rows go wrong."""
    for model, names in ((Case, CASE_FIELDS), (CaseTransition, STEP_FIELDS)):
        have = {f.attname for f in model._meta.concrete_fields}
        written = set(names) | ({"id"} if model is CaseTransition else set())
        if have != written:
            raise RuntimeError(
                f"{model.__name__} fields and the columns cases.demo writes differ in "
                f"{sorted(have ^ written)}: update CASE_FIELDS or STEP_FIELDS and the rows"
            )


def _ewkb(x: float, y: float) -> str:
    """A WGS-84 point as hex EWKB: what PostGIS reads in COPY and GEOS reads elsewhere."""
    return struct.pack("<BIIdd", 1, 0x20000001, 4326, x, y).hex()


def _later(old: datetime | None, new: datetime) -> datetime:
    """A restarted stage's deadline never moves back (``cases.services._later``)."""
    return new if old is None or new > old else old


def _cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


# --- the city as the history needs it ------------------------------------------------------


@dataclass(slots=True)
class _Item:
    id: int
    name: str
    department_id: int | None
    emergency: bool
    limits: dict


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
        self.source_cum = _cumulative(w for _, w in SOURCE_SHARES)
        self.hours = {
            source: ([(a, b) for a, b, _ in spans], _cumulative(w for _, _, w in spans))
            for source, spans in REPORT_HOURS.items()
        }
        self.fates = [f for f, _ in FATES]
        self.fate_cum = _cumulative(w for _, w in FATES)
        self.ratings = [r for r, _ in RATINGS]
        self.rating_cum = _cumulative(w for _, w in RATINGS)
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
        # The verifier of a grid's cases, as _verifier_for finds them: its primary inspector.
        inspectors = {
            grid_id: (user_id, username)
            for grid_id, user_id, username in GridAssignment.objects.filter(
                grid__community__street__district=district,
                kind=AssignmentKind.PRIMARY,
                valid_to__isnull=True,
                inspector__is_active=True,
            ).values_list("grid_id", "inspector_id", "inspector__username")
        }
        if not inspectors:
            raise self._missing("grid inspectors")
        places: dict[int, list[str]] = {}
        for grid_id, name in (
            Checkpoint.objects.filter(grid__community__street__district=district)
            .order_by("code")
            .values_list("grid_id", "name")
        ):
            places.setdefault(grid_id, []).append(name)
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
                (_ewkb(x, y), x, y) for x, y in _points_inside(shape, POINTS_PER_GRID, rng)
            ]
            self.grids.append(grid)
        # Some grids are busier than others (markets, transport hubs, villages in the city).
        self.grid_cum = _cumulative(rng.lognormal(0.0, 0.6, len(self.grids)).tolist())

    def _load_items(self) -> None:
        items = [
            _Item(
                id=i.id,
                name=i.name,
                department_id=i.department_id,
                emergency=i.emergency,
                limits={stage: i.limit(stage) for stage in Stage.values},
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
        self.item_cum = _cumulative(weight(i) for i in items)
        self.sensed = [i for i in items if i.name in SENSED_ITEMS]
        self.sensed_cum = _cumulative(weight(i) for i in self.sensed)

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
                life = _Life(self, rng, ids[i], number, t0, source, as_of, masters)
                life.live()
                batch.cases.append(life.row())
                batch.steps += life.steps
            yield batch

    def _second_of_day(self, rng: random.Random, source: str) -> int:
        spans, cum = self.hours[source]
        a, b = spans[bisect(cum, rng.random() * cum[-1])]
        return int((a + rng.random() * (b - a)) * 60)

    def detail(self, **values) -> str:
        """A timeline row's detail as JSON, kept for the few values that repeat."""
        key = tuple(values.items())
        text = self._details.get(key)
        if text is None:
            text = self._details[key] = json.dumps(values, ensure_ascii=False)
        return text


@dataclass
class Batch:
    """Rows ready to write: cases in ``CASE_FIELDS`` order, steps in ``STEP_FIELDS`` order.
    Points are hex EWKB, details JSON text."""

    cases: list[tuple] = field(default_factory=list)
    steps: list[tuple] = field(default_factory=list)


class _Stop(Exception):
    """The story has reached the moment the history is taken at (or a case on hold for good)."""


class _Life:
    """One case from report to wherever it is at ``as_of``, changed as the services change it."""

    __slots__ = (
        *(f for f in CASE_FIELDS if f not in ("item_id", "grid_id", "request_digest")),
        "h",
        "rng",
        "item",
        "grid",
        "as_of",
        "steps",
        "lag",
        "xy",
        "fate",
        "master",
    )

    def __init__(self, h: DemoHistory, rng, case_id, number, t0, source, as_of, masters):
        self.h, self.rng, self.as_of = h, rng, as_of
        self.id, self.number, self.source = case_id, number, source
        if source == Source.SENSOR and h.sensed:
            item = h.sensed[bisect(h.sensed_cum, rng.random() * h.sensed_cum[-1])]
        else:
            if source == Source.SENSOR:
                self.source = source = Source.INSPECTOR
            item = h.items[bisect(h.item_cum, rng.random() * h.item_cum[-1])]
        self.item = item
        self.fate = h.fates[bisect(h.fate_cum, rng.random() * h.fate_cum[-1])]
        self.master = masters.get(item.id) if self.fate == "duplicate" else None
        if self.master is not None:
            grid = self.master[2]  # the same problem, reported again: same item, same grid
        else:
            if self.fate == "duplicate":
                self.fate = "resolved"
            grid = h.grids[bisect(h.grid_cum, rng.random() * h.grid_cum[-1])]
        if self.fate in ("resolved", "held"):
            # A later report of the same problem may be merged into this one.
            masters[item.id] = (case_id, number, grid)
        self.grid = grid
        self.point, x, y = grid.points[int(rng.random() * len(grid.points))]
        self.xy = (x, y)
        self.address = grid.addresses[int(rng.random() * len(grid.addresses))]
        self.community_id, self.street_id = grid.community_id, grid.street_id
        self.district_id = h.district.id
        self.contact_name = self.contact_phone = ""
        self.client_uuid = None
        if source == Source.INSPECTOR:
            self.reporter_id = grid.inspector_id
            self.client_uuid = uuid.UUID(int=rng.getrandbits(128), version=4).hex
            self.description = f"巡查发现{self.address}{item.name}。"
        elif source == Source.SUPERVISOR:
            self.reporter_id = grid.supervisor_id
            self.client_uuid = uuid.UUID(int=rng.getrandbits(128), version=4).hex
            self.description = f"督察发现{self.address}{item.name}，请立即处置。"
        elif source == Source.SENSOR:
            self.reporter_id = None
            device = f"{grid.code}-{rng.randrange(1, 40):02d}"
            self.description = f"物联感知告警：{item.name}（设备 {device}）。"
        else:
            self.reporter_id = h.hotline_id if source == Source.HOTLINE else None
            self.contact_name = rng.choice(SURNAMES) + rng.choice(("先生", "女士"))
            self.contact_phone = (
                f"1{rng.choice('3578')}{rng.randrange(10)}****{rng.randrange(10000):04d}"
            )
            said = "市民来电反映" if source == Source.HOTLINE else "市民随手拍"
            self.description = f"{said}：{self.address}{item.name}，请核实处理。"
        self.department_id = self.assignee_id = self.verifier_id = self.master_id = None
        self.status = Status.REPORTED
        self.suspended_from = self.resolution = ""
        self.filed_at = self.dispatched_at = self.handled_at = self.closed_at = None
        self.suspended_at = self.dispatch_due = self.handle_due = self.verify_due = None
        self.warned_at = self.closed_on_time = self.rating = None
        self.overdue = self.escalated = False
        self.rework_count = 0
        self.created_at = self.updated_at = t0
        self.file_due = self.due(t0, Stage.FILE)
        self.lag = timedelta(seconds=1 + int(rng.random() * (SWEEP_SECONDS - 1)))
        self.steps = [
            (case_id, "report", "", Status.REPORTED, self.reporter_id, t0, "", None, "{}")
        ]

    # -- time ---------------------------------------------------------------------------

    def due(self, start: datetime, stage: str) -> datetime:
        amount, unit = self.item.limits[stage]
        return self.h.calendar.deadline(start, amount, unit)

    def within(self, start: datetime, stage: str, late: bool | None = None, slow=1.0):
        """When a stage's work is done: a share of its limit on the working calendar, past
        the limit for the few that are late (``late=None``: as often as ``LATE`` says)."""
        rng = self.rng
        if late is None:
            late = rng.random() < LATE[stage]
        share = (1.1 + rng.random() * 1.5) * slow if late else 0.1 + rng.random() * 0.8
        amount, unit = self.item.limits[stage]
        return self.h.calendar.deadline(start, amount * share, unit)

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=int(60 * (low + self.rng.random() * (high - low))))

    # -- steps --------------------------------------------------------------------------

    def step(self, action, to_state, at, actor_id, note="", detail="{}", location=None):
        """One timeline row, after whatever the sweeps did while the case waited for it."""
        if at >= self.as_of:
            raise _Stop
        self._sweeps(at)
        self.steps.append(
            (self.id, action, self.status, to_state, actor_id, at, note, location, detail)
        )
        self.status = to_state
        self.updated_at = at

    def _sweeps(self, until: datetime) -> None:
        """What cases_warn_due_soon and cases_mark_overdue did before ``until``."""
        status = self.status
        if self.warned_at is None and status in (Status.DISPATCHED, Status.HANDLING):
            due = self.handle_due
            since = max(due - self.h.warn_before, self.updated_at)
            warned = since + timedelta(seconds=1 + int(self.rng.random() * WARN_SWEEP_SECONDS))
            if warned < until and warned < due:
                self.warned_at = warned
        name = _CLOCKED.get(status)
        if self.overdue or name is None:
            return
        due = getattr(self, name)
        marked = due + self.lag
        if marked < until:
            detail = json.dumps(
                {"due": due.astimezone(UTC).isoformat(), "escalated": not self.escalated}
            )
            self.steps.append((self.id, "overdue", status, status, None, marked, "", None, detail))
            self.overdue = self.escalated = True
            self.updated_at = marked

    def near(self) -> str:
        """Where a handler or verifier stood: the spot, give or take a GPS error (~10 m)."""
        x, y = self.xy
        return _ewkb(x + self.rng.gauss(0, 1e-4), y + self.rng.gauss(0, 1e-4))

    # -- the story ----------------------------------------------------------------------

    def live(self) -> None:
        with suppress(_Stop):
            self._live(self.fate)
        self._sweeps(self.as_of)

    def _live(self, fate: str) -> None:
        h, rng, centre = self.h, self.rng, self.h.dispatcher_id
        t = self.created_at
        if fate == "rejected":
            at = self.within(t, Stage.FILE)
            self.step("reject", Status.REJECTED, at, centre, note=rng.choice(REJECT_NOTES))
            self.closed_at = at
            return
        if fate == "duplicate":
            master_id, master_number, _grid = self.master
            at = self.within(t, Stage.FILE, late=False)
            detail = json.dumps({"master": master_number})
            self.step("merge", Status.CLOSED, at, centre, detail=detail)
            self.resolution, self.master_id, self.closed_at = Resolution.DUPLICATE, master_id, at
            return
        if fate == "cancelled" and rng.random() < 0.6:
            at = self.within(t, Stage.FILE, late=False)
            # A report no one has filed yet may be withdrawn by whoever made it.
            by = (
                self.reporter_id if self.source == Source.INSPECTOR and self.reporter_id else centre
            )
            self.step("cancel", Status.CANCELLED, at, by, note=rng.choice(CANCEL_NOTES))
            self.closed_at = at
            return

        at = self.within(t, Stage.FILE)
        self.step("file", Status.FILED, at, centre)
        self.filed_at, self.dispatch_due = at, self.due(at, Stage.DISPATCH)
        t = at
        if fate == "cancelled":
            at = self.within(t, Stage.DISPATCH, late=False)
            self.step("cancel", Status.CANCELLED, at, centre, note=rng.choice(CANCEL_NOTES))
            self.closed_at = at
            return
        hold_in = None
        if fate in ("held", "suspended"):
            hold_in = rng.choice((Status.FILED, Status.DISPATCHED, Status.HANDLING))
        forever = fate == "suspended"
        if hold_in == Status.FILED:
            t = self.hold(t, forever)

        department = self.item.department_id or self.grid.office_id
        wrong = None
        if fate == "resolved" and rng.random() < RETURNED_SHARE:
            others = [d for d in (self.grid.office_id, *h.city_departments) if d != department]
            wrong = others[0] if self.item.department_id else rng.choice(others or [None])
        at = self.within(t, Stage.DISPATCH)
        self.dispatch("dispatch", at, wrong or department)
        t = at
        if wrong:
            at = t + self.minutes(20, 240)
            code = h.department_codes[wrong]
            self.step(
                "return",
                Status.RETURNED,
                at,
                h.staff.get(wrong),
                note=rng.choice(RETURN_NOTES),
                detail=h.detail(department=code),
            )
            self.dispatch_due = _later(self.dispatch_due, self.due(at, Stage.DISPATCH))
            t = at
            at = self.within(t, Stage.DISPATCH, late=False)
            self.dispatch("redispatch", at, department)
            t = at
        if hold_in == Status.DISPATCHED:
            t = self.hold(t, forever)

        reworks = 0
        planned = 0
        r = rng.random()
        if r < REWORK_SHARES[1]:
            planned = 2
        elif r < REWORK_SHARES[0] + REWORK_SHARES[1]:
            planned = 1
        staff = h.staff.get(department)
        verifier = self.grid.inspector_id
        while True:
            if fate == "stuck":
                handled = self.within(t, Stage.HANDLE, late=True, slow=4.0)
            else:
                handled = self.within(t, Stage.HANDLE)
            accepted = t + (handled - t) * (0.05 + rng.random() * 0.25)
            self.step("accept", Status.HANDLING, accepted, staff)
            self.assignee_id = staff
            if hold_in == Status.HANDLING and not reworks:
                t = self.hold(accepted, forever)
                handled = self.within(t, Stage.HANDLE)
            self.step(
                "handle",
                Status.HANDLED,
                handled,
                staff,
                note=rng.choice(HANDLE_NOTES),
                location=self.near(),
            )
            self.handled_at = handled
            if not planned and rng.random() < CLOSED_BY_CENTRE_SHARE:
                at = handled + self.minutes(10, 180)
                self.step("close", Status.CLOSED, at, centre)
                self.closed(at)
                return
            at = handled + self.minutes(5, 90)
            self.step(
                "request-verify",
                Status.VERIFYING,
                at,
                centre,
                detail=h.detail(verifier=self.grid.inspector_name),
            )
            self.verifier_id = verifier
            self.verify_due = _later(self.verify_due, self.due(at, Stage.VERIFY))
            t = at
            at = self.within(t, Stage.VERIFY)
            by = verifier or self.grid.supervisor_id
            if reworks == planned:
                self.step(
                    "verify",
                    Status.CLOSED,
                    at,
                    by,
                    note=rng.choice(PASS_NOTES),
                    detail=h.detail(passed=True),
                    location=self.near(),
                )
                self.closed(at)
                return
            reworks += 1
            self.step(
                "verify",
                Status.DISPATCHED,
                at,
                by,
                note=rng.choice(FAIL_NOTES),
                detail=h.detail(passed=False, rework=reworks),
                location=self.near(),
            )
            self.rework_count = reworks
            self.dispatched_at = at
            self.handle_due = _later(self.handle_due, self.due(at, Stage.HANDLE))
            self.handled_at = self.assignee_id = None
            self.overdue = False
            t = at

    def dispatch(self, action: str, at: datetime, department_id: int) -> None:
        code = self.h.department_codes.get(department_id)
        self.step(
            action,
            Status.DISPATCHED,
            at,
            self.h.dispatcher_id,
            detail=self.h.detail(department=code),
        )
        self.department_id, self.assignee_id, self.dispatched_at = department_id, None, at
        self.handle_due = _later(self.handle_due, self.due(at, Stage.HANDLE))
        self.overdue, self.warned_at = False, None

    def hold(self, t: datetime, forever: bool) -> datetime:
        """挂账 by the street's supervisor a little after ``t``; resumed days later, or never.
        On resuming every clock gets the time on hold back in its own unit, as case_resume
        gives it. Returns when it resumed."""
        by = self.grid.supervisor_id or self.h.dispatcher_id
        at = t + self.minutes(30, 300)
        state = self.status
        self.step("suspend", Status.SUSPENDED, at, by, note=self.rng.choice(SUSPEND_NOTES))
        self.suspended_from, self.suspended_at = state, at
        if forever:
            raise _Stop
        back = at + self.minutes(2 * 1440, 25 * 1440)
        calendar = self.h.calendar
        working = calendar.working_seconds_between(at, back) / 3600
        detail = {"held_seconds": int((back - at).total_seconds()), "held_working_hours": working}
        self.step("resume", state, back, by, detail=json.dumps(detail))
        for stage in Stage.values:
            name = f"{stage}_due"
            due = getattr(self, name)
            if due is None:
                continue
            if self.item.limits[stage][1] == TimeUnit.CLOCK_HOURS:
                setattr(self, name, due + (back - at))
            elif working > 0:
                setattr(self, name, calendar.deadline(due, working, TimeUnit.WORK_HOURS))
        self.suspended_from, self.suspended_at = "", None
        return back

    def closed(self, at: datetime) -> None:
        h, rng = self.h, self.rng
        self.resolution, self.closed_at = Resolution.RESOLVED, at
        self.closed_on_time = self.handle_due is None or (self.handled_at or at) <= self.handle_due
        if self.source in (Source.HOTLINE, Source.CITIZEN) and rng.random() < RATED_SHARE:
            self.rating = h.ratings[bisect(h.rating_cum, rng.random() * h.rating_cum[-1])]

    def row(self) -> tuple:
        return (
            self.id,
            self.number,
            self.source,
            self.item.id,
            self.description,
            self.point,
            self.address,
            self.grid.id,
            self.community_id,
            self.street_id,
            self.district_id,
            self.reporter_id,
            self.contact_name,
            self.contact_phone,
            self.department_id,
            self.assignee_id,
            self.verifier_id,
            self.status,
            self.suspended_from,
            self.resolution,
            self.master_id,
            self.filed_at,
            self.dispatched_at,
            self.handled_at,
            self.closed_at,
            self.suspended_at,
            self.file_due,
            self.dispatch_due,
            self.handle_due,
            self.verify_due,
            self.warned_at,
            self.overdue,
            self.escalated,
            self.rework_count,
            self.closed_on_time,
            self.rating,
            self.client_uuid,
            "",
            self.created_at,
            self.updated_at,
        )


# --- writing -----------------------------------------------------------------------------


def _columns(model, names) -> str:
    quote = connection.ops.quote_name
    return ", ".join(quote(model._meta.get_field(n).column) for n in names)


def cases_write_copy(batch: Batch) -> None:
    """PostgreSQL: the batch through COPY, an order of magnitude faster than INSERTs."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        with raw.copy(
            f"COPY {quote(Case._meta.db_table)} ({_columns(Case, CASE_FIELDS)}) FROM STDIN"
        ) as copy:
            for row in batch.cases:
                copy.write_row(row)
        with raw.copy(
            f"COPY {quote(CaseTransition._meta.db_table)} "
            f"({_columns(CaseTransition, STEP_FIELDS)}) FROM STDIN"
        ) as copy:
            for row in batch.steps:
                copy.write_row(row)


@contextmanager
def _clock_fields_as_given(model):
    """Let bulk_create store created_at/updated_at as given: auto_now(_add) would stamp every
    row with the time of writing. Only a single-threaded seeding command may do this."""
    changed = [
        (f, f.auto_now, f.auto_now_add)
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    for f, _now, _add in changed:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, now, add in changed:
            f.auto_now, f.auto_now_add = now, add


def cases_write_bulk(batch: Batch) -> None:
    """Anywhere: the batch through Django's bulk_create (SpatiaLite, or a test database)."""
    point = CASE_FIELDS.index("point")
    cases = []
    for row in batch.cases:
        values = dict(zip(CASE_FIELDS, row, strict=True))
        values["point"] = GEOSGeometry(row[point])
        cases.append(Case(**values))
    steps = []
    for row in batch.steps:
        values = dict(zip(STEP_FIELDS, row, strict=True))
        if values["location"]:
            values["location"] = GEOSGeometry(values["location"])
        values["detail"] = json.loads(values["detail"])
        steps.append(CaseTransition(**values))
    with _clock_fields_as_given(Case):
        Case.objects.bulk_create(cases, batch_size=1000)
    CaseTransition.objects.bulk_create(steps, batch_size=2000)


def cases_writer() -> Callable[[Batch], None]:
    return cases_write_copy if connection.vendor == "postgresql" else cases_write_bulk


def case_ids_reserve(n: int) -> list[int]:
    """``n`` case ids nobody else will get, so timelines and duplicates can point at cases
    before they are written. Called after the day's counter row is written, which on SQLite
    already holds the database's write lock."""
    table = Case._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, n],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
        top = cursor.fetchone()[0]
        if connection.vendor == "sqlite":
            # AUTOINCREMENT never reuses an id, even of a deleted row.
            cursor.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = %s", [table]
            )
            top = max(top, cursor.fetchone()[0])
    return list(range(top + 1, top + n + 1))


def _analyze() -> None:
    """Fresh planner statistics after a bulk load, or the first lists plan for empty tables."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Case._meta.db_table}, {CaseTransition._meta.db_table}")


# --- the whole run -----------------------------------------------------------------------


def history_as_of(end: date) -> datetime:
    """The moment the history is taken at: midnight starting ``end``, Asia/Shanghai."""
    return datetime(end.year, end.month, end.day, tzinfo=SHANGHAI)


def demo_cases_seed(
    *,
    days: int,
    per_day: int,
    seed: int = 2026,
    end: date | None = None,
    district: District | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write ``per_day`` cases for each of the ``days`` days before ``end`` (default today in
    Asia/Shanghai) in the demo district (or ``district``), with their timelines.

    Each day is one transaction holding its cases, timelines and case number counter; a day
    whose counter exists is skipped, so an interrupted run continues where it stopped when run
    again. Raises ``DemoCasesMissing`` when the district, its people or the taxonomy are not
    there, ``ValueError`` for counts out of range or an ``end`` after today.
    """
    if days < 1 or not 1 <= per_day <= 999_999:
        raise ValueError("days must be at least 1 and per_day between 1 and 999,999")
    today = timezone.localdate(timezone=SHANGHAI)
    end = end or today
    if end > today:
        raise ValueError(f"end {end} is after today ({today}): history cannot be in the future")
    if district is None:
        district = District.objects.filter(code=DEMO_DISTRICT).first()
        if district is None:
            raise DemoCasesMissing(
                f"There is no district {DEMO_DISTRICT}: run `manage.py seed_demo_city` first "
                "(it builds the demo city, its people and the case taxonomy)."
            )
    _fields_check()
    history = DemoHistory(district, seed=seed)
    as_of = history_as_of(end)
    wanted = [end - timedelta(days=back) for back in range(days, 0, -1)]
    there = set(
        CaseNumberCounter.objects.filter(
            prefix__in=[history.prefix(d) for d in wanted]
        ).values_list("prefix", flat=True)
    )
    todo = [d for d in wanted if history.prefix(d) not in there]
    counts = {"days written": 0, "days skipped": len(wanted) - len(todo), "cases": 0, "steps": 0}
    write = cases_writer()
    total = len(todo) * per_day
    if progress:
        progress("cases", 0, total)
    for day in todo:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    # First, so that a second run writing the same day at once waits here
                    # and then finds the day taken.
                    CaseNumberCounter.objects.create(prefix=history.prefix(day), last=per_day)
            except IntegrityError:
                counts["days skipped"] += 1
                total -= per_day
                continue
            ids = case_ids_reserve(per_day)
            for batch in history.day_batches(day, per_day, ids, as_of, batch_size):
                write(batch)
                counts["cases"] += len(batch.cases)
                counts["steps"] += len(batch.steps)
                if progress:
                    progress("cases", counts["cases"], total)
        counts["days written"] += 1
    if counts["cases"]:
        _analyze()
    return counts
