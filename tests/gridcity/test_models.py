"""Validation of the hierarchy one unit at a time (admin and forms use clean())."""

import pytest
import shapely
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError

from gridcity import geometry
from gridcity.models import Checkpoint, WorkGrid
from tests.factories import geos, square


def grid_in(community, code_suffix="950", shape=None):
    minx, miny, maxx, _maxy = community.geom.extent
    return WorkGrid(
        code=f"{community.code}{code_suffix}",
        name="新网格",
        community=community,
        geom=geos(shape if shape is not None else square(minx, miny, (maxx - minx) / 3)),
    )


def test_area_is_measured_on_the_ellipsoid(small_city):
    grid = small_city.grids[0]
    # A square of 0.04/12 degrees at latitude 30: about 370 m × 320 m.
    side_y = 0.04 / 12 * 110_852
    side_x = 0.04 / 12 * 96_486
    assert grid.area_m2 == pytest.approx(side_x * side_y, rel=0.005)


def test_code_must_have_the_right_number_of_digits(small_city):
    grid = grid_in(small_city.communities[0])
    grid.code = grid.code[:-1]

    with pytest.raises(ValidationError) as exc:
        grid.full_clean()

    assert "code" in exc.value.message_dict


def test_code_must_start_with_the_parents_code(small_city):
    community = small_city.communities[0]
    grid = grid_in(community)
    grid.code = "123456789012345"

    with pytest.raises(ValidationError) as exc:
        grid.clean()

    assert "does not start with its parent's code" in exc.value.message_dict["code"][0]


def test_grid_overlapping_a_sibling_is_refused_with_its_name(small_city):
    community = small_city.communities[0]
    sibling = small_city.grids[0]
    grid = grid_in(community, shape=geometry.to_shapely(sibling.geom))

    with pytest.raises(ValidationError) as exc:
        grid.clean()

    message = exc.value.message_dict["geom"][0]
    assert f"overlaps {sibling.code}" in message


def test_grid_outside_its_community_is_refused(small_city):
    community = small_city.communities[0]
    grid = grid_in(community, shape=square(101.0, 31.0, 0.001))

    with pytest.raises(ValidationError) as exc:
        grid.clean()

    assert "outside its parent" in exc.value.message_dict["geom"][0]


def test_invalid_polygon_is_refused_with_the_reason(small_city):
    bowtie = shapely.MultiPolygon(
        [shapely.Polygon([(100, 30), (100.001, 30.001), (100.001, 30), (100, 30.001)])]
    )
    grid = grid_in(small_city.communities[0], shape=bowtie)

    with pytest.raises(ValidationError) as exc:
        grid.clean()

    assert "invalid: Self-intersection" in exc.value.message_dict["geom"][0]


def test_grid_moved_within_tolerance_is_accepted(small_city, settings):
    settings.GRIDCITY_GEOMETRY_TOLERANCE_M = 1.0
    grid = small_city.grids[0]
    minx, miny, maxx, maxy = grid.geom.extent
    # 30 cm further out than the community's west edge, and 30 cm into the east neighbour.
    nudge = 0.3 / 96_486
    grid.geom = geos(shapely.box(minx - nudge, miny, maxx + nudge, maxy))

    grid.clean()


def test_checkpoint_must_lie_in_its_grid(small_city):
    grid = small_city.grids[0]
    checkpoint = Checkpoint(
        code=f"{grid.code}002", name="远处", grid=grid, point=Point(101, 31, srid=4326)
    )

    with pytest.raises(ValidationError) as exc:
        checkpoint.clean()

    assert "lies outside" in exc.value.message_dict["point"][0]


def test_checkpoint_code_is_its_grids_code_and_three_digits(small_city):
    grid = small_city.grids[0]
    checkpoint = Checkpoint(
        code="999999999999999001", name="路口", grid=grid, point=grid.geom.point_on_surface
    )

    with pytest.raises(ValidationError) as exc:
        checkpoint.clean()

    assert "does not start with its grid's code" in exc.value.message_dict["code"][0]


def test_admin_map_widget_needs_no_internet(small_city, admin_client):
    grid = small_city.grids[0]

    page = admin_client.get(f"/admin/gridcity/workgrid/{grid.pk}/change/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "/static/leaflet/leaflet.js" in html
    assert "cdn" not in html.lower()
    assert "openlayers" not in html.lower()


@pytest.mark.parametrize("model", ["district", "street", "community", "workgrid", "checkpoint"])
def test_admin_lists_open(small_city, admin_client, model):
    assert admin_client.get(f"/admin/gridcity/{model}/").status_code == 200


def test_check_hierarchy_passes_on_a_clean_city(small_city):
    from django.core.management import call_command

    call_command("check_hierarchy", small_city.district.code, verbosity=0)


def test_check_hierarchy_names_a_gap_and_an_overlap(small_city, capsys):
    from django.core.management import CommandError, call_command

    a, b = small_city.grids[0], small_city.grids[1]
    # Move grid b onto grid a (bypassing validation, as a bad raw SQL edit would).
    WorkGrid.objects.filter(pk=b.pk).update(geom=a.geom)

    with pytest.raises(CommandError, match="problem"):
        call_command("check_hierarchy", small_city.district.code, verbosity=0)

    err = capsys.readouterr().err
    assert f"overlaps {b.code}" in err or f"overlaps {a.code}" in err
    assert f"{a.community.code}" in err and "cover it only" in err
