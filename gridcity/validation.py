"""Rules that every unit of the hierarchy obeys, with messages a person can act on.

Used one unit at a time by the models' ``clean()`` (admin, forms) and in bulk by the importer,
so the wording is the same wherever a rule is broken.
"""

import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from shapely.geometry.base import BaseGeometry

from gridcity import geometry
from gridcity.models import (
    CHECKPOINT_CODE_LENGTH,
    CODE_LENGTHS,
    LEVEL_MODELS,
    PARENT_LEVEL,
    Checkpoint,
    Level,
    Unit,
)

Progress = Callable[[str, int, int], None]


@dataclass
class Problem:
    """One broken rule, said of one feature or unit."""

    label: str
    reason: str

    def __str__(self) -> str:
        return f"{self.label}: {self.reason}"


def _quiet(stage: str, done: int, total: int) -> None:
    pass


def tolerance_m() -> float:
    return settings.GRIDCITY_GEOMETRY_TOLERANCE_M


def code_errors(level: str, code: str, parent_code: str | None) -> list[str]:
    length = CODE_LENGTHS[Level(level)]
    if not isinstance(code, str) or not re.fullmatch(rf"\d{{{length}}}", code):
        return [
            _("code %(code)r is malformed: a %(level)s code is exactly %(n)d digits")
            % {"code": code, "level": Level(level).label, "n": length}
        ]
    if parent_code is not None and not code.startswith(parent_code):
        return [
            _("code %(code)s does not start with its parent's code %(parent)s")
            % {"code": code, "parent": parent_code}
        ]
    return []


def geometry_errors(geom: BaseGeometry | None) -> list[str]:
    if geom is None or geom.is_empty:
        return [_("the geometry is empty")]
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return [_("the geometry is a %(type)s, not a polygon") % {"type": geom.geom_type}]
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        return [_("the coordinates are not longitude/latitude degrees")]
    if not geom.is_valid:
        return [
            _("the geometry is invalid: %(reason)s") % {"reason": shapely.is_valid_reason(geom)}
        ]
    if geometry.geodesic_area_m2(geom) <= 0:
        return [_("the geometry has no area")]
    return []


def raise_for_unit(unit: Unit) -> None:
    """Validate one unit against the database: code, geometry, parent and siblings."""
    errors: dict[str, list[str]] = {}
    parent = unit.parent if unit.parent_field and getattr(unit, f"{unit.parent_field}_id") else None
    if unit.code and (msgs := code_errors(unit.level, unit.code, parent.code if parent else None)):
        errors["code"] = msgs
    shape = geometry.to_shapely(unit.geom) if unit.geom is not None else None
    if msgs := geometry_errors(shape):
        errors["geom"] = msgs
    else:
        problems = []
        if parent is not None:
            problems += outside_parent_problems(
                [(str(unit), shape, parent.pk)],
                {parent.pk: (str(parent), geometry.to_shapely(parent.geom))},
            )
        siblings = (
            type(unit)
            .objects.filter(geom__intersects=unit.geom)
            .exclude(pk=unit.pk)
            .only("code", "name", "geom")
        )
        problems += overlap_problems(
            [(str(unit), shape)], [(str(s), geometry.to_shapely(s.geom)) for s in siblings]
        )
        if problems:
            errors["geom"] = [p.reason for p in problems]
    if errors:
        raise ValidationError(errors)


def raise_for_checkpoint(checkpoint: Checkpoint) -> None:
    errors: dict[str, list[str]] = {}
    grid_code = checkpoint.grid.code if checkpoint.grid_id else None
    if checkpoint.code and grid_code:
        length = CHECKPOINT_CODE_LENGTH
        if not re.fullmatch(rf"\d{{{length}}}", checkpoint.code):
            errors["code"] = [
                _("code %(code)r is malformed: a checkpoint code is exactly %(n)d digits")
                % {"code": checkpoint.code, "n": length}
            ]
        elif not checkpoint.code.startswith(grid_code):
            errors["code"] = [
                _("code %(code)s does not start with its grid's code %(parent)s")
                % {"code": checkpoint.code, "parent": grid_code}
            ]
    if checkpoint.point is not None and checkpoint.grid_id:
        grid = checkpoint.grid
        problems = outside_parent_problems(
            [(checkpoint.code, geometry.to_shapely(checkpoint.point), grid.pk)],
            {grid.pk: (str(grid), geometry.to_shapely(grid.geom))},
        )
        if problems:
            errors["point"] = [p.reason for p in problems]
    if errors:
        raise ValidationError(errors)


def parent_model(level: str) -> type[Unit] | None:
    parent_level = PARENT_LEVEL.get(Level(level))
    return LEVEL_MODELS[parent_level] if parent_level else None


def outside_parent_problems(
    children: Sequence[tuple[str, BaseGeometry, Hashable]],
    parents: dict[Hashable, tuple[str, BaseGeometry]],
    *,
    progress: Progress = _quiet,
) -> list[Problem]:
    """Children (label, geometry, parent key) that stray outside their parent beyond tolerance.

    All in one metric frame, each parent grown by the tolerance and prepared once.
    """
    if not children:
        return []
    tol = tolerance_m()
    frame = geometry.LocalMetric.around(
        shapely.union_all([shapely.box(*g.bounds) for _label, g in parents.values()])
    )
    grown = {
        key: frame.to_metric(shape).buffer(tol, quad_segs=2) for key, (_l, shape) in parents.items()
    }
    for shape in grown.values():
        shapely.prepare(shape)
    metric = frame.to_metric(np.array([g for _label, g, _key in children], dtype=object))
    problems = []
    for done, ((label, _g, key), shape) in enumerate(zip(children, metric, strict=True), 1):
        if shape.geom_type == "Point" and not grown[key].covers(shape):
            problems.append(
                Problem(
                    label,
                    _("lies outside %(parent)s (further than the %(tol)g m tolerance)")
                    % {"parent": parents[key][0], "tol": tol},
                )
            )
        elif not grown[key].covers(shape):
            outside = shape.difference(grown[key]).area
            problems.append(
                Problem(
                    label,
                    _(
                        "lies outside its parent %(parent)s: %(area).1f m² beyond the %(tol)g m "
                        "tolerance"
                    )
                    % {"parent": parents[key][0], "area": outside, "tol": tol},
                )
            )
        if done % 500 == 0:
            progress("inside parents", done, len(children))
    return problems


def overlap_problems(
    items: Sequence[tuple[str, BaseGeometry]],
    others: Sequence[tuple[str, BaseGeometry]] = (),
    *,
    progress: Progress = _quiet,
) -> list[Problem]:
    """Pairs that overlap deeper than the tolerance: items among themselves and with others.

    An STRtree finds the pairs whose polygons meet; only those are shrunk by the tolerance and
    intersected, so the cost follows the number of neighbours, not the square of the count.
    """
    if not items:
        return []
    tol = tolerance_m()
    everything = [*items, *others]
    shapes = np.array([g for _label, g in everything], dtype=object)
    frame = geometry.LocalMetric.around(shapely.union_all([shapely.box(*g.bounds) for g in shapes]))
    metric = frame.to_metric(shapes)
    tree = shapely.STRtree(metric)
    left, right = tree.query(metric[: len(items)], predicate="intersects")
    pairs = sorted({(min(a, b), max(a, b)) for a, b in zip(left, right, strict=True) if a != b})
    shrunk: dict[int, BaseGeometry] = {}
    problems = []
    for done, (a, b) in enumerate(pairs, start=1):
        if a not in shrunk:
            shrunk[a] = metric[a].buffer(-tol, quad_segs=2) if tol > 0 else metric[a]
        if shrunk[a].intersects(metric[b]):
            area = shrunk[a].intersection(metric[b]).area
            if area > 0:
                problems.append(
                    Problem(
                        everything[a][0],
                        _(
                            "overlaps %(other)s by %(area).1f m² (deeper than the %(tol)g m "
                            "tolerance)"
                        )
                        % {"other": everything[b][0], "area": area, "tol": tol},
                    )
                )
        if done % 2000 == 0:
            progress("overlaps", done, len(pairs))
    return problems


def uncovered_share(parent: BaseGeometry, children: Sequence[BaseGeometry]) -> float:
    """Share of the parent's area that its children, together, do not cover (0 = tiled)."""
    frame = geometry.LocalMetric.around(parent)
    whole = frame.to_metric(parent)
    union = shapely.union_all(frame.to_metric(np.array(children, dtype=object)))
    return whole.symmetric_difference(union).area / whole.area
