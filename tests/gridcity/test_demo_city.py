"""The demo city as stored: Bao'an, 1 / 10 / 126 / 4,833, tiled, consistent, plausible."""

import pytest
import shapely
from django.core.management import CommandError, call_command

from gridcity import geometry, validation
from gridcity.demo.seed import demo_city_remove
from gridcity.locate import grid_at
from gridcity.models import Checkpoint, Community, District, Street, WorkGrid
from gridcity.selectors import hierarchy_problems
from tests.factories import random_points_inside

pytestmark = pytest.mark.slow

BAOAN = "440306"
REAL_STREETS = ["新安", "西乡", "航城", "福永", "福海", "沙井", "新桥", "松岗", "燕罗", "石岩"]


@pytest.fixture(scope="module")
def demo_city(django_db_setup, django_db_blocker, kept_rows_removed):
    """Bao'an as ``seed_demo_city`` builds it, made once for this module and removed after.

    It lives outside the per-test transactions, so the tests here must not change it. Its
    people are named as the kept personas are: those are removed for this module.
    """
    with django_db_blocker.unblock():
        call_command("seed_demo_city", verbosity=0)
        yield
        demo_city_remove(BAOAN)


def under(model):
    return model.objects.filter(code__startswith=BAOAN)


def test_demo_city_has_exactly_the_units_of_baoan(demo_city, db):
    assert under(District).count() == 1
    assert under(Street).count() == 10
    assert under(Community).count() == 126
    assert under(WorkGrid).count() == 4833
    assert [s.name for s in under(Street).order_by("code")] == [f"{n}街道" for n in REAL_STREETS]
    assert District.objects.get(code=BAOAN).name == "宝安区"


def test_demo_district_is_the_real_outline(demo_city, db):
    # The published outline is about 409 km² (GCJ-02 and WGS-84 differ by a shift, not a size).
    area = District.objects.get(code=BAOAN).area_m2
    assert area == pytest.approx(409e6, rel=0.03)


def test_grids_tile_the_district_to_within_a_thousandth(demo_city, db):
    district = geometry.to_shapely(District.objects.get(code=BAOAN).geom)
    grids = [geometry.to_shapely(g) for g in under(WorkGrid).values_list("geom", flat=True)]

    assert validation.uncovered_share(district, grids) < 0.001


def test_stored_hierarchy_has_no_overlap_gap_or_stray_unit(demo_city, db):
    # Every grid inside its community, every community inside its street, every street inside
    # the district, checkpoints inside their grids, no sibling overlaps, parents tiled.
    assert hierarchy_problems(BAOAN) == []


def test_about_three_checkpoints_per_grid_with_plausible_names(demo_city, db):
    grids = under(WorkGrid).count()
    checkpoints = Checkpoint.objects.filter(code__startswith=BAOAN)

    assert 2.5 <= checkpoints.count() / grids <= 3.5
    assert not WorkGrid.objects.filter(code__startswith=BAOAN, checkpoints=None).exists()
    sample = checkpoints.order_by("code").first()
    assert sample.name and sample.min_dwell_minutes > 0


def test_names_are_unique_where_people_tell_units_apart(demo_city, db):
    names = list(under(Community).values_list("name", flat=True))
    assert len(set(names)) == len(names)
    assert all(n.endswith("社区") for n in names)
    grid_names = list(under(WorkGrid).values_list("name", flat=True))
    assert len(set(grid_names)) == len(grid_names)


def test_seeding_again_is_refused_and_if_empty_does_nothing(demo_city, db):
    with pytest.raises(CommandError, match="already exists"):
        call_command("seed_demo_city", verbosity=0)

    call_command("seed_demo_city", if_empty=True, verbosity=0)

    assert under(WorkGrid).count() == 4833


def test_demo_city_areas_add_up(demo_city, db):
    street_total = sum(under(Street).values_list("area_m2", flat=True))
    grid_total = sum(under(WorkGrid).values_list("area_m2", flat=True))
    district = District.objects.get(code=BAOAN).area_m2

    assert street_total == pytest.approx(district, rel=1e-3)
    assert grid_total == pytest.approx(district, rel=1e-3)


def test_demo_grids_are_each_one_piece_where_possible(demo_city, db):
    # Voronoi cells clipped to a ragged coast can fall apart; the generator merges fragments.
    multi = [
        code
        for code, geom in under(WorkGrid).values_list("code", "geom")
        if len(shapely.get_parts(geometry.to_shapely(geom))) > 1
    ]
    assert len(multi) <= 5


def test_locate_is_right_for_2000_random_points_in_the_demo_city(demo_city, db):
    grids = list(WorkGrid.objects.filter(code__startswith="440306"))
    points = random_points_inside(grids, 2000, seed=42)

    wrong = [(code, x, y) for code, x, y in points if grid_at(x, y).grid.code != code]

    assert wrong == []


def test_locate_api_is_404_outside_the_demo_district(demo_city, db, client):
    for lon, lat in [(113.5, 22.5), (114.2, 22.6), (113.85, 23.2), (-73.98, 40.75)]:
        response = client.get("/api/v1/locate/", {"lon": lon, "lat": lat})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_demo_people_have_predictable_names_and_scopes(demo_city, db):
    from accounts.models import Role, User
    from accounts.selectors import grids_visible_to

    grid = under(WorkGrid).order_by("code").first()
    inspector = User.objects.get(username=f"inspector-{grid.code}")
    supervisor = User.objects.get(username="supervisor-440306001")

    assert inspector.role == Role.INSPECTOR
    assert list(grids_visible_to(inspector)) == [grid]
    assert (
        grids_visible_to(supervisor).count()
        == under(WorkGrid).filter(code__startswith="440306001").count()
    )
    assert (
        User.objects.filter(role=Role.INSPECTOR, username__startswith="inspector-440306").count()
        == 4833
    )
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.filter(username__startswith="staff-").exists()
    assert inspector.check_password("gridcity-demo")
