"""The demo city's people: predictable user names so docs, tests and demos can name them.

``admin``, ``dispatcher``, ``hotline``, ``supervisor-<street code>``, ``inspector-<grid code>``
and ``staff-<department code>``, all with the password in ``GRIDCITY_DEMO_PASSWORD``. Only
``seed_demo_city`` calls this: no other path creates them.
"""

import os
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.db.models import Q
from django.utils import timezone

from accounts.models import AssignmentKind, Department, GridAssignment, Role, User
from accounts.roles import role_groups_sync
from gridcity.models import District, Street, WorkGrid

DEMO_PASSWORD_DEFAULT = "gridcity-demo"
# The demo grid assignments start this long before the demo city is built (one retention period).
DEMO_ASSIGNED_BEFORE = timedelta(days=180)

# City-wide departments a Chinese district dispatches to: (code, name).
DEPARTMENTS = [
    ("chengguan", "区城市管理和综合执法局"),
    ("huanbao", "区生态环境局"),
    ("zhujian", "区住房和建设局"),
    ("shichang", "区市场监督管理局"),
    ("shuiwu", "区水务局"),
    ("jiaotong", "区交通运输局"),
    ("gongan", "区公安分局社区警务"),
    ("yingji", "区应急管理局"),
    ("guihua", "区规划和自然资源局"),
    ("gongdian", "供电局宝安供电分局"),
    ("ranqi", "燃气集团宝安分公司"),
    ("tongxin", "通信运营商宝安联络处"),
]


def demo_password() -> str:
    return os.environ.get("GRIDCITY_DEMO_PASSWORD", DEMO_PASSWORD_DEFAULT)


def demo_people_seed(district: District, *, progress=None) -> dict[str, int]:
    """Departments, then one inspector per grid and the other personas, in bulk.

    The password is hashed once and the hash shared: hashing it 5,000 times would take minutes
    for nothing, since every demo user has the same password by design.
    """
    groups = role_groups_sync()
    password = make_password(demo_password())
    now = timezone.now()
    streets = list(Street.objects.filter(district=district).order_by("code"))

    departments = Department.objects.bulk_create(
        [Department(code=code, name=name) for code, name in DEPARTMENTS]
        + [Department(code=f"jd-{s.code}", name=f"{s.name}办事处", street=s) for s in streets]
    )

    def person(username: str, role: str, **fields) -> User:
        return User(username=username, password=password, role=role, date_joined=now, **fields)

    people = [
        person("admin", Role.ADMIN, is_staff=True, is_superuser=True, first_name="管理员"),
        person("dispatcher", Role.DISPATCHER, district=district, first_name="派遣员"),
        person("hotline", Role.HOTLINE, first_name="热线接线员"),
        *(
            person(f"supervisor-{s.code}", Role.SUPERVISOR, street=s, first_name=f"{s.name}督察员")
            for s in streets
        ),
        *(
            person(f"staff-{d.code}", Role.STAFF, department=d, first_name=f"{d.name}处置员")
            for d in departments
        ),
    ]
    grids = list(WorkGrid.objects.filter(code__startswith=district.code).only("id", "code", "name"))
    inspectors = [
        person(f"inspector-{g.code}", Role.INSPECTOR, first_name=f"{g.name}网格员") for g in grids
    ]
    created = User.objects.bulk_create([*people, *inspectors], batch_size=1000)
    if progress:
        progress("people", len(created), len(created))
    memberships = [User.groups.through(user_id=u.pk, group_id=groups[u.role].pk) for u in created]
    User.groups.through.objects.bulk_create(memberships, batch_size=2000)
    by_name = {u.username: u for u in created}
    GridAssignment.objects.bulk_create(
        [
            GridAssignment(
                inspector=by_name[f"inspector-{g.code}"],
                grid=g,
                kind=AssignmentKind.PRIMARY,
                # Assigned long before the demo history begins: the seeded cases and patrols
                # of past days must find the inspector who held the grid then.
                valid_from=now - DEMO_ASSIGNED_BEFORE,
                note="demo",
            )
            for g in grids
        ],
        batch_size=2000,
    )
    return {"departments": len(departments), "users": len(created)}


def demo_logins() -> list[tuple[str, str]]:
    """(user name, what it is) for the banner of ``make run`` and the README."""
    return [
        ("admin", "administrator 管理员"),
        ("dispatcher", "dispatcher of the district 派遣员"),
        ("hotline", "hotline operator 热线接线员"),
        ("supervisor-440306001", "supervisor of 新安街道 (any street code) 督察员"),
        ("inspector-440306001001001", "inspector of that grid (any grid code) 网格员"),
        ("staff-chengguan", "department staff, 城管 (any department code) 处置部门"),
    ]


def demo_people_remove(district_code: str) -> None:
    """Remove what demo_people_seed made for this district (``seed_demo_city --replace``)."""
    GridAssignment.objects.filter(grid__code__startswith=district_code).delete()
    User.objects.filter(
        Q(username__in=["admin", "dispatcher", "hotline"])
        | Q(username__startswith=f"supervisor-{district_code}")
        | Q(username__startswith=f"inspector-{district_code}")
        | Q(username__startswith="staff-")
    ).delete()
    Department.objects.filter(
        Q(code__in=[code for code, _name in DEPARTMENTS])
        | Q(code__startswith=f"jd-{district_code}")
    ).delete()
