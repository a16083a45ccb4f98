"""Fixtures of the case tests: a small taxonomy on the small city, the personas, a reporter."""

import uuid
from dataclasses import dataclass

import pytest

from accounts.models import Department
from cases.models import CaseClass, Item, Ownership, TimeUnit
from tests.factories import CategoryFactory, DepartmentFactory, ItemFactory


@dataclass
class Taxonomy:
    component: Item  # owner first: the test department
    event: Item  # locality first: the street office
    emergency: Item  # round-the-clock limits
    street_office: Department


@pytest.fixture
def taxonomy(people) -> Taxonomy:
    street_a = people.grid_a.community.street
    components = CategoryFactory(code="01", case_class=CaseClass.COMPONENT, name="公用设施")
    events = CategoryFactory(code="11", case_class=CaseClass.EVENT, name="市容环境")
    urgent = CategoryFactory(code="15", case_class=CaseClass.EVENT, name="突发事件")
    return Taxonomy(
        component=ItemFactory(
            category=components,
            code="0101",
            name="上水井盖",
            department=people.department,
            ownership=Ownership.OWNER,
            handle_limit=3,
            handle_unit=TimeUnit.WORK_DAYS,
        ),
        event=ItemFactory(
            category=events, code="1101", name="暴露垃圾", ownership=Ownership.LOCALITY
        ),
        emergency=ItemFactory(
            category=urgent,
            code="1501",
            name="井盖缺失",
            department=people.department,
            ownership=Ownership.LOCALITY,
            emergency=True,
            file_unit=TimeUnit.CLOCK_HOURS,
            dispatch_unit=TimeUnit.CLOCK_HOURS,
            handle_limit=4,
            handle_unit=TimeUnit.CLOCK_HOURS,
            verify_unit=TimeUnit.CLOCK_HOURS,
        ),
        street_office=DepartmentFactory(code="jd-a", name="测试街道办", street=street_a),
    )


def centre(grid) -> tuple[float, float]:
    p = grid.geom.point_on_surface
    return p.x, p.y


def report_body(grid, item, **extra) -> dict:
    lon, lat = centre(grid)
    return {
        "client_uuid": str(uuid.uuid4()),
        "item": item.code,
        "description": "井盖缺失，行人有坠落危险",
        "lon": lon,
        "lat": lat,
        **extra,
    }


def act(client, user, case_number: str, action: str, **body):
    client.force_login(user)
    return client.post(
        f"/api/v1/cases/{case_number}/{action}/", body, content_type="application/json"
    )


def reported(client, user, grid, item, **extra):
    client.force_login(user)
    response = client.post(
        "/api/v1/cases/", report_body(grid, item, **extra), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()
