import pytest


@pytest.fixture
def item(people):
    from tests.factories import make_manhole_item

    return make_manhole_item(people)


@pytest.fixture
def report(people, item):
    """Report a case in grid A as inspector A; returns a function taking optional steps."""
    from cases import services

    def make(description: str = "井盖缺失", steps=()):
        centre = people.grid_a.geom.point_on_surface
        case = services.case_report(
            by=people.inspector_a, item=item, lon=centre.x, lat=centre.y, description=description
        ).case
        for step in steps:
            by = (
                people.staff
                if step in ("accept", "handle", "return", "extend")
                else people.dispatcher
            )
            kwargs = {"note": "测试"} if step in ("handle", "return", "suspend", "reject") else {}
            if step == "extend":
                kwargs = {"amount": 1, "unit": "work_days", "note": "测试"}
            case = getattr(services, f"case_{step}")(case=case, by=by, **kwargs)
        return case

    return make
