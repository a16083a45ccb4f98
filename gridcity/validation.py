"""Rules that every unit of the hierarchy obeys, with messages a person can act on.

Used one unit at a time by the models' ``clean()`` (admin, forms) and in bulk by the importer,
so the wording is the same wherever a rule is broken.
"""

import re

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


def outside_parent_error(
    child: BaseGeometry, parent: BaseGeometry, parent_label: str
) -> str | None:
    frame = geometry.LocalMetric.around(parent)
    outside = geometry.outside_part_m2(
        frame.to_metric(child), frame.to_metric(parent), tolerance_m()
    )
    if outside and child.geom_type == "Point":
        return _("lies outside %(parent)s (further than the %(tol)g m tolerance)") % {
            "parent": parent_label,
            "tol": tolerance_m(),
        }
    if outside:
        return _(
            "lies outside its parent %(parent)s: %(area).1f m² beyond the %(tol)g m tolerance"
        ) % {"parent": parent_label, "area": outside, "tol": tolerance_m()}
    return None


def overlap_errors(geom: BaseGeometry, others: list[tuple[str, BaseGeometry]]) -> list[str]:
    """Messages for each sibling that this geometry overlaps deeper than the tolerance."""
    if not others:
        return []
    frame = geometry.LocalMetric.around(geom)
    mine = frame.to_metric(geom)
    errors = []
    for label, other in others:
        area = geometry.overlap_beyond(mine, frame.to_metric(other), tolerance_m())
        if area:
            errors.append(
                _("overlaps %(other)s by %(area).1f m² (deeper than the %(tol)g m tolerance)")
                % {"other": label, "area": area, "tol": tolerance_m()}
            )
    return errors


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
        geom_msgs = []
        if parent is not None:
            msg = outside_parent_error(shape, geometry.to_shapely(parent.geom), str(parent))
            if msg:
                geom_msgs.append(msg)
        siblings = (
            type(unit)
            .objects.filter(geom__intersects=unit.geom)
            .exclude(pk=unit.pk)
            .only("code", "name", "geom")
        )
        geom_msgs += overlap_errors(
            shape, [(str(s), geometry.to_shapely(s.geom)) for s in siblings]
        )
        if geom_msgs:
            errors["geom"] = geom_msgs
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
        point = geometry.to_shapely(checkpoint.point)
        msg = outside_parent_error(point, geometry.to_shapely(checkpoint.grid.geom), grid_code)
        if msg:
            errors["point"] = [msg]
    if errors:
        raise ValidationError(errors)


def parent_model(level: str) -> type[Unit] | None:
    parent_level = PARENT_LEVEL.get(Level(level))
    return LEVEL_MODELS[parent_level] if parent_level else None
