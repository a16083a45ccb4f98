"""Reads of the grid hierarchy that have rules (filters, shapes for export)."""

from collections.abc import Iterator

from django.db.models import QuerySet

from gridcity import geometry
from gridcity.locate import Location, grid_at  # noqa: F401  (re-exported: the locate selector)
from gridcity.models import LEVEL_MODELS, Level, Unit


def units_under(level: str, code: str | None = None) -> QuerySet[Unit]:
    """Units of a level whose code starts with ``code`` (a code prefixes its descendants')."""
    qs = LEVEL_MODELS[Level(level)].objects.order_by("code")
    return qs.filter(code__startswith=code) if code else qs


def units_for_export(level: str, within: str | None = None) -> Iterator[dict]:
    model = LEVEL_MODELS[Level(level)]
    qs = units_under(level, within)
    if model.parent_field:
        qs = qs.select_related(model.parent_field)
    for unit in qs.iterator(chunk_size=500):
        parent = unit.parent
        yield {
            "properties": {
                "code": unit.code,
                "name": unit.name,
                "parent_code": parent.code if parent else None,
                "level": level,
                "area_m2": round(unit.area_m2, 1),
            },
            "geom": geometry.to_shapely(unit.geom),
        }
