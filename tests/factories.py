"""Test data: factories for single objects and a small city of exact squares."""

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import factory
import numpy
import shapely
from django.contrib.gis.geos import Point
from factory.django import DjangoModelFactory

from gridcity import geometry
from gridcity.models import Checkpoint, Community, District, Street, WorkGrid

if TYPE_CHECKING:
    from accounts.models import Department, User


def square(x0: float, y0: float, size: float) -> shapely.MultiPolygon:
    return shapely.MultiPolygon([shapely.box(x0, y0, x0 + size, y0 + size)])


def geos(shape):
    return geometry.to_geos_multipolygon(shape)


@dataclass
class SmallCity:
    district: District
    streets: list[Street] = field(default_factory=list)
    communities: list[Community] = field(default_factory=list)
    grids: list[WorkGrid] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)

    def grid(self, code: str) -> WorkGrid:
        return next(g for g in self.grids if g.code == code)

    def keys(self) -> "CityKeys":
        """The primary keys of its rows, to load the same city again in another test."""
        return CityKeys(
            district=self.district.pk,
            streets=tuple(s.pk for s in self.streets),
            communities=tuple(c.pk for c in self.communities),
            grids=tuple(g.pk for g in self.grids),
            checkpoints=tuple(c.pk for c in self.checkpoints),
        )


@dataclass(frozen=True)
class CityKeys:
    district: int
    streets: tuple[int, ...]
    communities: tuple[int, ...]
    grids: tuple[int, ...]
    checkpoints: tuple[int, ...]


def _unit(model, **fields):
    """An unsaved unit with the area its ``save()`` would have derived (bulk_create skips it)."""
    unit = model(**fields)
    unit.area_m2 = geometry.geodesic_area_m2(geometry.to_shapely(unit.geom))
    return unit


def make_small_city(
    *, code: str = "999901", origin: tuple[float, float] = (100.0, 30.0), size: float = 0.04
) -> SmallCity:
    """A district of ``size`` degrees split 2×2 into streets, each 2×2 into communities, each
    3×3 into grids (4 streets, 16 communities, 144 grids), one checkpoint at each grid's centre.
    Squares share their edges exactly, like a clean survey would.

    Written level by level in one INSERT each (the rows a row at a time took a fifth of a
    second, and the suite builds this city for every transactional test)."""
    from gridcity.locate import grid_index

    x0, y0 = origin
    district = _unit(District, code=code, name="测试区", geom=geos(square(x0, y0, size)))
    district.save()
    city = SmallCity(district)
    s_size, c_size = size / 2, size / 4
    g_size = c_size / 3
    corners: dict[str, tuple[float, float]] = {}
    for si in range(4):
        sx, sy = x0 + (si % 2) * s_size, y0 + (si // 2) * s_size
        street = _unit(
            Street,
            code=f"{code}{si + 1:03d}",
            name=f"测试{si + 1}街道",
            district=district,
            geom=geos(square(sx, sy, s_size)),
        )
        city.streets.append(street)
        corners[street.code] = (sx, sy)
    Street.objects.bulk_create(city.streets)
    for si, street in enumerate(city.streets):
        sx, sy = corners[street.code]
        for ci in range(4):
            cx, cy = sx + (ci % 2) * c_size, sy + (ci // 2) * c_size
            community = _unit(
                Community,
                code=f"{street.code}{ci + 1:03d}",
                name=f"测试{si + 1}-{ci + 1}社区",
                street=street,
                geom=geos(square(cx, cy, c_size)),
            )
            city.communities.append(community)
            corners[community.code] = (cx, cy)
    Community.objects.bulk_create(city.communities)
    for community in city.communities:
        cx, cy = corners[community.code]
        for gi in range(9):
            gx, gy = cx + (gi % 3) * g_size, cy + (gi // 3) * g_size
            city.grids.append(
                _unit(
                    WorkGrid,
                    code=f"{community.code}{gi + 1:03d}",
                    name=f"{community.name[:-2]}第{gi + 1:03d}网格",
                    community=community,
                    geom=geos(square(gx, gy, g_size)),
                )
            )
            corners[city.grids[-1].code] = (gx, gy)
    WorkGrid.objects.bulk_create(city.grids)
    for grid in city.grids:
        gx, gy = corners[grid.code]
        city.checkpoints.append(
            Checkpoint(
                code=f"{grid.code}001",
                name="路口",
                grid=grid,
                point=Point(gx + g_size / 2, gy + g_size / 2, srid=4326),
                min_dwell_minutes=5,
            )
        )
    Checkpoint.objects.bulk_create(city.checkpoints)
    grid_index.invalidate()  # as the hierarchy's post_save signal would have, row by row
    return city


_read: dict[CityKeys, SmallCity] = {}


def load_small_city(keys: CityKeys) -> SmallCity | None:
    """The city ``keys`` name, as new instances wired to each other as ``make_small_city``
    wires them, or None when its rows are gone.

    Its rows are read once and copied for each caller (the rows only change in transactions
    that are rolled back): reading 309 rows with their polygons costs a tenth of a second."""
    if not District.objects.filter(pk=keys.district).exists():
        return None
    if keys not in _read:
        city = _read_city(keys)
        if city is None:
            return None
        _read.clear()
        _read[keys] = city
    return _wired(_read[keys], copy_of=_copy)


def _copy(instance, geometry_field: str = "geom"):
    """A copy that shares nothing mutable with ``instance`` (GEOS geometries are mutable)."""
    copied = copy.copy(instance)  # Model.__reduce__ copies its _state and fields cache
    setattr(copied, geometry_field, getattr(instance, geometry_field).clone())
    return copied


def _read_city(keys: CityKeys) -> SmallCity | None:
    def in_order(model, pks):
        rows = model.objects.in_bulk(pks)
        if len(rows) != len(pks):
            raise LookupError(model)
        return [rows[pk] for pk in pks]

    try:
        city = SmallCity(
            District.objects.get(pk=keys.district),
            streets=in_order(Street, keys.streets),
            communities=in_order(Community, keys.communities),
            grids=in_order(WorkGrid, keys.grids),
            checkpoints=in_order(Checkpoint, keys.checkpoints),
        )
    except (LookupError, District.DoesNotExist):
        return None
    return city


def _wired(read: SmallCity, *, copy_of) -> SmallCity:
    district = copy_of(read.district)
    city = SmallCity(
        district,
        streets=[copy_of(s) for s in read.streets],
        communities=[copy_of(c) for c in read.communities],
        grids=[copy_of(g) for g in read.grids],
        checkpoints=[copy_of(c, "point") for c in read.checkpoints],
    )
    for street in city.streets:
        street.district = district
    streets = {s.pk: s for s in city.streets}
    for community in city.communities:
        community.street = streets[community.street_id]
    communities = {c.pk: c for c in city.communities}
    for grid in city.grids:
        grid.community = communities[grid.community_id]
    grids = {g.pk: g for g in city.grids}
    for checkpoint in city.checkpoints:
        checkpoint.grid = grids[checkpoint.grid_id]
    return city


def random_points_inside(grids, n, seed=1):
    rng = numpy.random.default_rng(seed)
    shapes = [geometry.to_shapely(g.geom) for g in grids]
    out = []
    for i in rng.integers(0, len(grids), size=n):
        minx, miny, maxx, maxy = shapes[i].bounds
        while True:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            # Keep clear of edges: on a shared edge either neighbour is a right answer.
            if shapes[i].contains(shapely.Point(x, y).buffer(1e-6)):
                out.append((grids[i].code, x, y))
                break
    return out


@dataclass
class People:
    """The personas of the permission tests, on a small city."""

    citizen: "User"
    inspector_a: "User"
    inspector_b: "User"
    staff: "User"
    dispatcher: "User"
    supervisor: "User"
    other_supervisor: "User"
    admin: "User"
    grid_a: WorkGrid
    grid_b: WorkGrid
    department: "Department"

    def all(self) -> dict[str, "User"]:
        return {
            name: getattr(self, name)
            for name in (
                "citizen",
                "inspector_a",
                "inspector_b",
                "staff",
                "dispatcher",
                "supervisor",
                "other_supervisor",
                "admin",
            )
        }


PASSWORD = "correct horse battery staple 7"


class DepartmentFactory(DjangoModelFactory):
    """A department; the same code twice is the same department."""

    class Meta:
        model = "accounts.Department"
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"test-dept-{n}")
    name = factory.LazyAttribute(lambda o: f"测试部门 {o.code}")


class UserFactory(DjangoModelFactory):
    """A user with the password ``PASSWORD`` and a role, given as ``user_set_role`` gives it
    (its group, and the scope the role takes: ``street``, ``district`` or ``department``)."""

    class Meta:
        model = "accounts.User"

    username = factory.Sequence(lambda n: f"user-{n}")
    role = "citizen"

    @classmethod
    def _create(cls, model_class, *args, username, role, **scope):
        from accounts.services import user_set_role

        user = model_class.objects.create_user(username, password=PASSWORD)
        return user_set_role(user=user, role=role, **scope)


class CategoryFactory(DjangoModelFactory):
    """A major class of the taxonomy; the same code twice is the same category."""

    class Meta:
        model = "cases.Category"
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"{n % 100:02d}")
    case_class = "component"
    name = factory.LazyAttribute(lambda o: f"测试大类 {o.code}")


class ItemFactory(DjangoModelFactory):
    """An item of the taxonomy, going to the locality first unless told otherwise."""

    class Meta:
        model = "cases.Item"

    category = factory.SubFactory(CategoryFactory)
    code = factory.Sequence(lambda n: f"{n % 10000:04d}")
    name = factory.LazyAttribute(lambda o: f"测试小类 {o.code}")
    ownership = "locality"


def make_user(username: str, role: str, **scope) -> "User":
    return UserFactory(username=username, role=role, **scope)


PERSONAS = {  # field of People: username
    "citizen": "citizen",
    "inspector_a": "inspector-a",
    "inspector_b": "inspector-b",
    "staff": "staff",
    "dispatcher": "dispatcher",
    "supervisor": "supervisor",
    "other_supervisor": "other-supervisor",
    "admin": "admin",
}
DEPARTMENT_CODE = "test-chengguan"


def make_people(city: SmallCity) -> People:
    """Grid A lies in the city's first street, grid B in its second.

    The personas kept for the whole test run (see tests/conftest.py) are read afresh when they
    are there for this city; otherwise they are made."""
    from accounts.models import Role
    from accounts.services import grid_assign

    grid_a, grid_b = city.grids[0], city.grids[40]
    street_a, street_b = city.streets[0], city.streets[1]
    assert grid_a.code.startswith(street_a.code) and grid_b.code.startswith(street_b.code)
    kept = _people_kept(city, grid_a, grid_b)
    if kept is not None:
        return kept
    department = DepartmentFactory(code=DEPARTMENT_CODE, name="测试城管")
    people = People(
        citizen=make_user("citizen", Role.CITIZEN),
        inspector_a=make_user("inspector-a", Role.INSPECTOR),
        inspector_b=make_user("inspector-b", Role.INSPECTOR),
        staff=make_user("staff", Role.STAFF, department=department),
        dispatcher=make_user("dispatcher", Role.DISPATCHER, district=city.district),
        supervisor=make_user("supervisor", Role.SUPERVISOR, street=street_a),
        other_supervisor=make_user("other-supervisor", Role.SUPERVISOR, street=street_b),
        admin=make_user("admin", Role.ADMIN),
        grid_a=grid_a,
        grid_b=grid_b,
        department=department,
    )
    grid_assign(grid=grid_a, inspector=people.inspector_a)
    grid_assign(grid=grid_b, inspector=people.inspector_b)
    return people


def _people_kept(city: SmallCity, grid_a: WorkGrid, grid_b: WorkGrid) -> People | None:
    """The personas already in the database for this city, read afresh, as if made now: their
    grid assignments start now and they joined now, as ``make_people`` would have made them
    (tests move the clock before asking for the personas)."""
    from django.utils import timezone

    from accounts.models import Department, GridAssignment, User

    users = {u.username: u for u in User.objects.filter(username__in=PERSONAS.values())}
    department = Department.objects.filter(code=DEPARTMENT_CODE).first()
    if (
        len(users) != len(PERSONAS)
        or department is None
        or users["dispatcher"].district_id != city.district.pk
    ):
        return None
    now = timezone.now()
    assignments = GridAssignment.objects.filter(
        inspector__in=[users["inspector-a"], users["inspector-b"]], valid_to__isnull=True
    )
    if assignments.update(valid_from=now) != 2:
        return None
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(date_joined=now)
    streets = {s.pk: s for s in city.streets}
    for user in users.values():
        user.date_joined = now
        if user.street_id is not None:
            user.street = streets[user.street_id]
        if user.district_id is not None:
            user.district = city.district
        if user.department_id is not None:
            user.department = department
    return People(
        **{name: users[username] for name, username in PERSONAS.items()},
        grid_a=grid_a,
        grid_b=grid_b,
        department=department,
    )


def make_manhole_item(people: People, **extra):
    """The component item most case tests report: 上水井盖 (0101) of category 公用设施, going to
    the owner department first, handled within 3 working days."""
    from cases.models import CaseClass, Ownership, TimeUnit

    values = {
        "name": "上水井盖",
        "department": people.department,
        "ownership": Ownership.OWNER,
        "handle_limit": 3,
        "handle_unit": TimeUnit.WORK_DAYS,
        **extra,
    }
    category = CategoryFactory(code="01", case_class=CaseClass.COMPONENT, name="公用设施")
    return ItemFactory(category=category, code="0101", **values)
