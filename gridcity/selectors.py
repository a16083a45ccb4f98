"""Reads of the grid hierarchy that have rules (filters, shapes for export)."""

from collections.abc import Iterable, Iterator

from django.contrib.gis.db.models.functions import PointOnSurface
from django.db.models import FloatField, Func, QuerySet
from django.utils.translation import gettext as _

from gridcity import geometry, validation
from gridcity.locate import Location, grid_at  # noqa: F401  (re-exported: the locate selector)
from gridcity.models import LEVEL_MODELS, PARENT_LEVEL, Checkpoint, Level, Unit


def units_under(level: str, code: str | None = None) -> QuerySet[Unit]:
    """Units of a level whose code starts with ``code`` (a code prefixes its descendants')."""
    qs = LEVEL_MODELS[Level(level)].objects.order_by("code")
    return qs.filter(code__startswith=code) if code else qs


def label_points(level: str, codes: Iterable[str]) -> dict[str, tuple[float, float, str]]:
    """Where a map writes each unit's label: a point inside its polygon (``ST_PointOnSurface``;
    a centroid may fall outside a bent grid), with its name, by code. One query."""
    label = PointOnSurface("geom")
    rows = (
        LEVEL_MODELS[Level(level)]
        .objects.filter(code__in=sorted(set(codes)))
        .annotate(
            x=Func(label, function="ST_X", output_field=FloatField()),
            y=Func(label, function="ST_Y", output_field=FloatField()),
        )
        .values_list("code", "x", "y", "name")
    )
    return {code: (x, y, name) for code, x, y, name in rows}


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


def hierarchy_problems(
    within: str | None = None, *, coverage_tolerance: float = 0.001, progress=None
) -> list[validation.Problem]:
    """Every broken rule in the stored hierarchy under ``within`` (a code), level by level.

    Children inside their parents, checkpoints inside their grids, siblings not overlapping
    (all within the geometry tolerance) and each parent tiled by its children to within
    ``coverage_tolerance`` of its area. Parents with no children yet are not a coverage problem.
    """
    kwargs = {"progress": progress} if progress else {}
    problems: list[validation.Problem] = []
    for level, parent_level in PARENT_LEVEL.items():
        model = LEVEL_MODELS[level]
        parent_key = f"{model.parent_field}_id"
        parents = {
            p.pk: (str(p), geometry.to_shapely(p.geom))
            for p in units_under(parent_level, within).only("code", "name", "geom")
        }
        children = [
            (str(u), geometry.to_shapely(u.geom), getattr(u, parent_key))
            for u in units_under(level, within).only("code", "name", "geom", parent_key)
        ]
        children = [c for c in children if c[2] in parents]
        problems += validation.outside_parent_problems(children, parents, **kwargs)
        problems += validation.overlap_problems([(label, g) for label, g, _p in children], **kwargs)
        by_parent: dict[int, list] = {}
        for _label, g, key in children:
            by_parent.setdefault(key, []).append(g)
        for key, shapes in by_parent.items():
            share = validation.uncovered_share(parents[key][1], shapes)
            if share > coverage_tolerance:
                problems.append(
                    validation.Problem(
                        parents[key][0],
                        _("its %(level)s cover it only to within %(share).2f %% of its area")
                        % {"level": Level(level).label, "share": share * 100},
                    )
                )
    grids = {
        g.pk: (str(g), geometry.to_shapely(g.geom))
        for g in units_under(Level.GRID, within).only("code", "name", "geom")
    }
    checkpoints = (
        Checkpoint.objects.filter(grid_id__in=grids.keys())
        if within
        else (Checkpoint.objects.all())
    )
    problems += validation.outside_parent_problems(
        [
            (c.code, geometry.to_shapely(c.point), c.grid_id)
            for c in checkpoints.only("code", "point", "grid_id")
        ],
        grids,
        **kwargs,
    )
    return problems
