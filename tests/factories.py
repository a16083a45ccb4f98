"""Test data: factories for single objects and a small city of exact squares."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy
import shapely
from django.contrib.gis.geos import Point

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


def make_small_city(
    *, code: str = "999901", origin: tuple[float, float] = (100.0, 30.0), size: float = 0.04
) -> SmallCity:
    """A district of ``size`` degrees split 2×2 into streets, each 2×2 into communities, each
    3×3 into grids (4 streets, 16 communities, 144 grids), one checkpoint at each grid's centre.
    Squares share their edges exactly, like a clean survey would."""
    x0, y0 = origin
    city = SmallCity(
        District.objects.create(code=code, name="测试区", geom=geos(square(x0, y0, size)))
    )
    s_size, c_size = size / 2, size / 4
    g_size = c_size / 3
    for si in range(4):
        sx, sy = x0 + (si % 2) * s_size, y0 + (si // 2) * s_size
        street = Street.objects.create(
            code=f"{code}{si + 1:03d}",
            name=f"测试{si + 1}街道",
            district=city.district,
            geom=geos(square(sx, sy, s_size)),
        )
        city.streets.append(street)
        for ci in range(4):
            cx, cy = sx + (ci % 2) * c_size, sy + (ci // 2) * c_size
            community = Community.objects.create(
                code=f"{street.code}{ci + 1:03d}",
                name=f"测试{si + 1}-{ci + 1}社区",
                street=street,
                geom=geos(square(cx, cy, c_size)),
            )
            city.communities.append(community)
            for gi in range(9):
                gx, gy = cx + (gi % 3) * g_size, cy + (gi // 3) * g_size
                grid = WorkGrid.objects.create(
                    code=f"{community.code}{gi + 1:03d}",
                    name=f"{community.name[:-2]}第{gi + 1:03d}网格",
                    community=community,
                    geom=geos(square(gx, gy, g_size)),
                )
                city.grids.append(grid)
                city.checkpoints.append(
                    Checkpoint.objects.create(
                        code=f"{grid.code}001",
                        name="路口",
                        grid=grid,
                        point=Point(gx + g_size / 2, gy + g_size / 2, srid=4326),
                        min_dwell_minutes=5,
                    )
                )
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


def make_user(username: str, role: str, **scope) -> "User":
    from accounts.models import User
    from accounts.services import user_set_role

    user = User.objects.create_user(username, password=PASSWORD)
    return user_set_role(user=user, role=role, **scope)


def make_people(city: SmallCity) -> People:
    """Grid A lies in the city's first street, grid B in its second."""
    from accounts.models import Department, Role
    from accounts.services import grid_assign

    grid_a, grid_b = city.grids[0], city.grids[40]
    street_a, street_b = city.streets[0], city.streets[1]
    assert grid_a.code.startswith(street_a.code) and grid_b.code.startswith(street_b.code)
    department = Department.objects.create(code="test-chengguan", name="测试城管")
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


def make_manhole_item(people: People, **extra):
    """The component item most case tests report: 上水井盖 (0101) of category 公用设施, going to
    the owner department first, handled within 3 working days."""
    from cases.models import CaseClass, Category, Item, Ownership, TimeUnit

    category, _ = Category.objects.get_or_create(
        code="01", defaults={"case_class": CaseClass.COMPONENT, "name": "公用设施"}
    )
    values = {
        "name": "上水井盖",
        "department": people.department,
        "ownership": Ownership.OWNER,
        "handle_limit": 3,
        "handle_unit": TimeUnit.WORK_DAYS,
        **extra,
    }
    return Item.objects.create(category=category, code="0101", **values)
