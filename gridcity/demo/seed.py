"""Write the demo city (geometry from ``partition``) and its people to the database."""

import json
from pathlib import Path

import shapely
from django.db import transaction
from django.utils import timezone

from accounts.demo import demo_people_remove, demo_people_seed
from cases.taxonomy import DEMO_TAXONOMY, taxonomy_load_file
from gridcity import coords, geometry
from gridcity.demo.partition import build_demo_city
from gridcity.locate import grid_index
from gridcity.models import Checkpoint, Community, District, Street, WorkGrid

OUTLINE = Path(__file__).resolve().parent.parent / "data" / "baoan_district.geojson"


def load_outline() -> shapely.MultiPolygon:
    """The district outline, published in GCJ-02, converted to WGS-84 as everything is stored."""
    data = json.loads(OUTLINE.read_text(encoding="utf-8"))
    outline = shapely.geometry.shape(data["features"][0]["geometry"])
    return geometry.to_multipolygon(coords.shapely_transform(outline, "gcj02", "wgs84"))


def demo_cases_remove(prefix: str) -> None:
    """Cases of the district go before its grids and people (they point at both)."""
    from cases.models import Case, CaseNumberCounter

    Case.objects.filter(number__startswith=f"{prefix}-", master__isnull=False).delete()
    Case.objects.filter(number__startswith=f"{prefix}-").delete()
    CaseNumberCounter.objects.filter(prefix__startswith=f"{prefix}-").delete()


def demo_city_remove(prefix: str) -> None:
    """Everything the demo put under district ``prefix``: cases, then the taxonomy no case
    uses (it points at the demo departments; it is loaded again with the city), then the
    people, then the hierarchy."""
    from cases.models import Category, Item

    demo_cases_remove(prefix)
    Item.objects.filter(cases__isnull=True).delete()
    Category.objects.filter(items__isnull=True).delete()
    demo_people_remove(prefix)
    for model in (Checkpoint, WorkGrid, Community, Street, District):
        model.objects.filter(code__startswith=prefix).delete()


def _hierarchy_store(city, progress) -> tuple[District, list, list, dict[str, WorkGrid]]:
    """The district, its streets, communities and grids (by code), written in bulk."""
    now = timezone.now()

    def unit(model, spec, **parent):
        return model(
            code=spec.code,
            name=spec.name,
            geom=geometry.to_geos_multipolygon(spec.geom),
            area_m2=geometry.geodesic_area_m2(spec.geom),
            created_at=now,
            updated_at=now,
            **parent,
        )

    district = unit(District, city.district)
    district.save()
    streets = Street.objects.bulk_create([unit(Street, s, district=district) for s in city.streets])
    by_code = {s.code: s for s in streets}
    communities = Community.objects.bulk_create(
        [unit(Community, c, street=by_code[c.parent_code]) for c in city.communities]
    )
    by_code = {c.code: c for c in communities}
    total = len(city.grids)
    grids = []
    for start in range(0, total, 500):
        batch = city.grids[start : start + 500]
        grids += WorkGrid.objects.bulk_create(
            [unit(WorkGrid, g, community=by_code[g.parent_code]) for g in batch]
        )
        if progress:
            progress("store grids", len(grids), total)
    return district, streets, communities, {g.code: g for g in grids}


@transaction.atomic
def demo_city_seed(*, seed: int = 2026, replace: bool = False, progress=None) -> dict[str, int]:
    """Build and store the demo city in one transaction; returns what it created."""
    city = build_demo_city(load_outline(), seed=seed, progress=progress)
    existing = District.objects.filter(code=city.district.code)
    if existing.exists():
        if not replace:
            raise ValueError(
                f"district {city.district.code} already exists: use --replace to rebuild it"
            )
        demo_city_remove(city.district.code)

    district, streets, communities, grids = _hierarchy_store(city, progress)
    Checkpoint.objects.bulk_create(
        [
            Checkpoint(
                code=cp.code,
                name=cp.name,
                grid=grids[cp.grid_code],
                point=geometry.to_geos(cp.point),
                min_dwell_minutes=cp.min_dwell_minutes,
            )
            for cp in city.checkpoints
        ],
        batch_size=1000,
    )
    people = demo_people_seed(district, progress=progress)
    taxonomy = taxonomy_load_file(DEMO_TAXONOMY)
    transaction.on_commit(grid_index.invalidate)
    return {
        "districts": 1,
        "streets": len(streets),
        "communities": len(communities),
        "grids": len(grids),
        "checkpoints": len(city.checkpoints),
        **people,
        "case items": taxonomy["items created"] + taxonomy["items updated"],
    }
