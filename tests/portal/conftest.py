"""Fixtures of the portal's tests: the items citizens may pick (and one they may not, and a
private one), on the small city with its personas; photos stored under a temporary folder.
"""

from dataclasses import dataclass

import pytest

from cases.models import CaseClass, Item, Ownership
from tests.factories import CategoryFactory, ItemFactory
from tests.portal.publicside import world  # noqa: F401 - the public pages' world


@dataclass
class Items:
    manhole: Item  # 上水井盖, offered to citizens as 井盖坏了 / Broken manhole cover
    rubbish: Item  # 暴露垃圾, offered under its own name
    internal: Item  # not offered to citizens
    security: Item  # private: its cases never show on a public page


@pytest.fixture
def items(people) -> Items:
    components = CategoryFactory(
        code="01", case_class=CaseClass.COMPONENT, name="公用设施", name_en="Public facilities"
    )
    events = CategoryFactory(code="11", case_class=CaseClass.EVENT, name="市容环境")
    return Items(
        manhole=ItemFactory(
            category=components,
            code="0101",
            name="上水井盖",
            name_en="Water supply manhole cover",
            public_name="井盖坏了",
            public_name_en="Broken manhole cover",
            department=people.department,
            ownership=Ownership.OWNER,
        ),
        rubbish=ItemFactory(category=events, code="1101", name="暴露垃圾"),
        internal=ItemFactory(
            category=components, code="0199", name="内部设施", citizen_reportable=False
        ),
        security=ItemFactory(category=events, code="1199", name="治安隐患", private=True),
    )


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- the hotline ------------------------------------------------------------------------------


@pytest.fixture
def item(people):
    from tests.factories import make_manhole_item

    return make_manhole_item(people)


@pytest.fixture
def operator(people):
    """A hotline operator (12345 热线接线员) of the small city."""
    from accounts.models import Role
    from tests.factories import make_user

    return make_user("hotline-operator", Role.HOTLINE)


@pytest.fixture
def call(people, item, operator):
    """Take a call in grid A as the operator; returns the ``Call``."""
    from portal.services import call_take

    def take(phone="13800138000", request_type="complaint", **extra):
        centre = people.grid_a.geom.point_on_surface
        fields = {
            "by": operator,
            "phone": phone,
            "name": "王先生",
            "request_type": request_type,
            "item": item,
            "description": "井盖松动",
            "lon": centre.x,
            "lat": centre.y,
            **extra,
        }
        return call_take(**fields)

    return take


@pytest.fixture
def closed_hotline_case(people, call):
    """A hotline case taken, filed, dispatched, handled and closed: due for its callback."""
    from cases import services

    def make(phone="13900139000"):
        case = call(phone=phone).case
        for step in ("file", "dispatch", "accept", "handle", "close"):
            by = people.staff if step in ("accept", "handle") else people.dispatcher
            kwargs = {"note": "已处理"} if step == "handle" else {}
            case = getattr(services, f"case_{step}")(case=case, by=by, **kwargs)
        return case

    return make
