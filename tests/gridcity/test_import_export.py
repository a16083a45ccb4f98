"""import_grids and export_grids: all or nothing, idempotent, and a faithful round trip."""

import json

import pytest
import shapely
from django.core.management import CommandError, call_command

from gridcity import coords, geometry
from gridcity.models import Community, Street, WorkGrid

FIELDS = {"code_field": "code", "name_field": "name"}


def write_features(path, features):
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": props,
                        "geometry": shapely.geometry.mapping(geom) if geom is not None else None,
                    }
                    for props, geom in features
                ],
            },
            ensure_ascii=False,
        )
    )
    return path


def snapshot():
    return {
        model.__name__: sorted(
            (u.code, u.name, u.geom.wkb.hex(), u.updated_at.isoformat())
            for u in model.objects.all()
        )
        for model in (Street, Community, WorkGrid)
    }


def new_grids(community, n=3):
    """``n`` vertical strips that tile the community exactly."""
    minx, miny, maxx, maxy = geometry.to_shapely(community.geom).bounds
    width = (maxx - minx) / n
    return [
        (
            {"code": f"{community.code}{900 + i:03d}", "name": f"新网格{i}"},
            shapely.box(minx + i * width, miny, minx + (i + 1) * width, maxy),
        )
        for i in range(n)
    ]


@pytest.fixture
def empty_community(small_city):
    """A community of the small city whose nine grids are removed, ready for new ones."""
    community = small_city.communities[0]
    WorkGrid.objects.filter(community=community).delete()
    return community


def test_import_creates_grids_under_their_community(tmp_path, empty_community):
    path = write_features(tmp_path / "g.geojson", new_grids(empty_community))

    call_command("import_grids", str(path), level="grid", verbosity=0, **FIELDS)

    grids = WorkGrid.objects.filter(community=empty_community).order_by("code")
    assert [g.code for g in grids] == [f"{empty_community.code}90{i}" for i in range(3)]
    assert all(g.geom.geom_type == "MultiPolygon" and g.area_m2 > 0 for g in grids)
    total = sum(g.area_m2 for g in grids)
    assert total == pytest.approx(empty_community.area_m2, rel=1e-6)


def test_reimporting_the_same_file_changes_nothing(tmp_path, empty_community):
    path = write_features(tmp_path / "g.geojson", new_grids(empty_community))
    call_command("import_grids", str(path), level="grid", verbosity=0, **FIELDS)
    before = snapshot()

    call_command("import_grids", str(path), level="grid", verbosity=0, **FIELDS)

    assert snapshot() == before


def test_reimport_updates_changed_names_by_code(tmp_path, empty_community):
    features = new_grids(empty_community)
    call_command(
        "import_grids",
        str(write_features(tmp_path / "a.geojson", features)),
        level="grid",
        verbosity=0,
        **FIELDS,
    )
    features[1][0]["name"] = "改名网格"

    call_command(
        "import_grids",
        str(write_features(tmp_path / "b.geojson", features)),
        level="grid",
        verbosity=0,
        **FIELDS,
    )

    assert WorkGrid.objects.get(code=features[1][0]["code"]).name == "改名网格"
    assert WorkGrid.objects.filter(community=empty_community).count() == 3


def test_bad_file_names_every_bad_feature_and_writes_nothing(tmp_path, empty_community, capsys):
    good = new_grids(empty_community)
    minx, miny, maxx, maxy = geometry.to_shapely(empty_community.geom).bounds
    bowtie = shapely.Polygon([(minx, miny), (maxx, maxy), (maxx, miny), (minx, maxy)])
    far_away = shapely.box(minx + 1, miny + 1, maxx + 1, maxy + 1)
    features = [
        *good,
        ({"code": f"{empty_community.code}950", "name": "自相交"}, bowtie),
        ({"code": good[0][0]["code"], "name": "重复编码"}, good[0][1]),
        ({"code": "12345", "name": "编码太短"}, good[1][1]),
        ({"code": f"{empty_community.code[:-3]}999950", "name": "未知社区"}, good[2][1]),
        ({"code": f"{empty_community.code}951", "name": "社区之外"}, far_away),
        ({"code": f"{empty_community.code}952", "name": "空几何"}, None),
    ]
    path = write_features(tmp_path / "bad.geojson", features)
    before = snapshot()

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_grids", str(path), level="grid", verbosity=0, **FIELDS)

    err = capsys.readouterr().err
    assert "invalid" in err and f"{empty_community.code}950" in err
    assert "appears 2 times" in err
    assert "'12345' is malformed" in err
    assert f"unknown parent {empty_community.code[:-3]}999" in err
    assert f"{empty_community.code}951" in err and "outside its parent" in err
    assert f"feature 9 (code {empty_community.code}952): the geometry is empty" in err
    assert snapshot() == before


def test_overlapping_siblings_are_refused(tmp_path, empty_community):
    features = new_grids(empty_community, n=2)
    # Widen the first strip halfway into the second: a deep overlap, far beyond 1 m.
    a = features[0][1]
    b = features[1][1]
    features[0] = (
        features[0][0],
        shapely.box(*a.bounds[:2], (b.bounds[0] + b.bounds[2]) / 2, a.bounds[3]),
    )
    path = write_features(tmp_path / "overlap.geojson", features)

    with pytest.raises(CommandError):
        call_command("import_grids", str(path), level="grid", verbosity=0, **FIELDS)

    assert not WorkGrid.objects.filter(community=empty_community).exists()


def test_grid_overlapping_an_existing_grid_is_refused(tmp_path, small_city):
    neighbour = small_city.grids[1]
    community = neighbour.community
    intruder = geometry.to_shapely(neighbour.geom)
    path = write_features(
        tmp_path / "g.geojson", [({"code": f"{community.code}999", "name": "侵入"}, intruder)]
    )

    with pytest.raises(CommandError):
        call_command("import_grids", str(path), level="grid", verbosity=0, **FIELDS)

    assert not WorkGrid.objects.filter(code=f"{community.code}999").exists()


def test_sliver_within_tolerance_is_accepted(tmp_path, empty_community, settings):
    settings.GRIDCITY_GEOMETRY_TOLERANCE_M = 1.0
    features = new_grids(empty_community, n=2)
    a = features[0][1]
    # 20 cm past the shared edge: digitising noise, not an overlap.
    features[0] = (
        features[0][0],
        shapely.box(*a.bounds[:2], a.bounds[2] + 0.2 / 102_000, a.bounds[3]),
    )

    call_command(
        "import_grids",
        str(write_features(tmp_path / "g.geojson", features)),
        level="grid",
        verbosity=0,
        **FIELDS,
    )

    assert WorkGrid.objects.filter(community=empty_community).count() == 2


def test_import_converts_gcj02_to_wgs84(tmp_path, empty_community):
    features = new_grids(empty_community, n=1)
    wgs = features[0][1]
    gcj = coords.shapely_transform(wgs, "wgs84", "gcj02")
    path = write_features(tmp_path / "gcj.geojson", [(features[0][0], gcj)])

    call_command("import_grids", str(path), level="grid", crs="gcj02", verbosity=0, **FIELDS)

    stored = geometry.to_shapely(WorkGrid.objects.get(code=features[0][0]["code"]).geom)
    assert shapely.equals_exact(stored, shapely.MultiPolygon([wgs]), tolerance=1e-7)


def test_missing_field_is_a_clear_error(tmp_path, empty_community):
    path = write_features(tmp_path / "g.geojson", new_grids(empty_community))

    with pytest.raises(CommandError, match=r"no field 'bianma'.*code, name"):
        call_command(
            "import_grids",
            str(path),
            level="grid",
            code_field="bianma",
            name_field="name",
            verbosity=0,
        )


def test_missing_file_is_a_clear_error(tmp_path, db):
    with pytest.raises(CommandError, match="no such file"):
        call_command(
            "import_grids", str(tmp_path / "nope.gpkg"), level="grid", verbosity=0, **FIELDS
        )


@pytest.mark.parametrize("suffix", ["geojson", "gpkg"])
def test_export_then_import_reads_back_identically(tmp_path, small_city, suffix):
    path = tmp_path / f"grids.{suffix}"
    city = small_city.district.code
    call_command("export_grids", str(path), level="grid", within=city, verbosity=0)
    grids = WorkGrid.objects.filter(code__startswith=city)
    originals = {g.code: (g.name, g.geom.wkb.hex()) for g in grids}
    grids.delete()

    call_command(
        "import_grids",
        str(path),
        level="grid",
        code_field="code",
        name_field="name",
        parent_field="parent_code",
        verbosity=0,
        **({"layer": "grid"} if suffix == "gpkg" else {}),
    )

    assert {g.code: (g.name, g.geom.wkb.hex()) for g in grids.all()} == originals


def test_shapefile_is_read_too(tmp_path, empty_community):
    import subprocess

    src = write_features(tmp_path / "g.geojson", new_grids(empty_community))
    subprocess.run(["ogr2ogr", "-f", "ESRI Shapefile", str(tmp_path / "shp"), str(src)], check=True)
    shp = next((tmp_path / "shp").glob("*.shp"))

    call_command("import_grids", str(shp), level="grid", verbosity=0, **FIELDS)

    assert WorkGrid.objects.filter(community=empty_community).count() == 3


def test_interrupted_import_leaves_nothing_behind(tmp_path, empty_community):
    from gridcity.services import units_import
    from gridcity.vector_io import read_features

    path = write_features(tmp_path / "g.geojson", new_grids(empty_community, n=3))
    features = read_features(path, code_field="code", name_field="name")
    before = snapshot()

    def ctrl_c_while_writing(stage, done, total):
        if stage == "write":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        units_import(level="grid", features=features, progress=ctrl_c_while_writing)

    assert snapshot() == before
