import pytest


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
