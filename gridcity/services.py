"""Every write to the grid hierarchy goes through here."""

from collections import Counter
from dataclasses import dataclass, field

import shapely
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridcity import geometry, validation
from gridcity.locate import grid_index
from gridcity.models import LEVEL_MODELS, PARENT_LEVEL, Level, Unit
from gridcity.validation import Problem, Progress
from gridcity.vector_io import FeatureIn


class ImportRejected(Exception):
    """The import wrote nothing because of these problems (every one of them, not the first)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s)")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    codes: list[str] = field(default_factory=list)


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def units_import(
    *, level: str, features: list[FeatureIn], progress: Progress | None = None
) -> ImportResult:
    """Import one level of the hierarchy, all or nothing, updating existing units by code.

    Every feature is checked first (code, name, geometry, parent, inside the parent, overlaps
    with siblings in the file and in the database); if any is bad, nothing is written and every
    problem is reported. A unit whose name, parent and geometry are unchanged is not touched, so
    importing the same file twice changes nothing.
    """
    progress = progress or _no_progress
    level = Level(level)
    model = LEVEL_MODELS[level]
    # 1. Each feature on its own.
    good, problems = _features_checked(level, features, progress)
    # 2. Parents: known, and holding the child.
    good, parents, parent_problems = _parents_checked(level, good, progress)
    problems += parent_problems
    # 3. Siblings: the file against itself and against units it does not replace.
    problems += _overlap_problems(model, good, progress)
    if problems:
        raise ImportRejected(problems)
    return _write(model, level, good, parents, progress)


def _feature_reasons(level: Level, f: FeatureIn, counts: Counter) -> list[str]:
    """What is wrong with one feature on its own; normalises its geometry and parent code."""
    reasons = [f.read_error] if f.read_error else []
    if not f.code:
        reasons.append(_("the code is missing"))
    elif counts[f.code] > 1:
        reasons.append(
            _("the code %(code)s appears %(n)d times in the file")
            % {"code": f.code, "n": counts[f.code]}
        )
    if not f.name:
        reasons.append(_("the name is missing"))
    if not f.read_error:
        if f.geom is not None and not f.geom.is_empty:
            f.geom = (
                geometry.to_multipolygon(f.geom)
                if f.geom.geom_type in ("Polygon", "MultiPolygon", "GeometryCollection")
                else f.geom
            )
        reasons += validation.geometry_errors(f.geom)
    if f.code:
        parent_level = PARENT_LEVEL.get(level)
        if parent_level is None:
            reasons += validation.code_errors(level, f.code, None)
        else:
            if f.parent_code is None and len(f.code) == validation.CODE_LENGTHS[level]:
                f.parent_code = f.code[: validation.CODE_LENGTHS[parent_level]]
            reasons += validation.code_errors(level, f.code, f.parent_code)
    return reasons


def _features_checked(
    level: Level, features: list[FeatureIn], progress: Progress
) -> tuple[list[FeatureIn], list[Problem]]:
    """The features that are good on their own, and the problems of the others."""
    counts = Counter(f.code for f in features if f.code)
    good: list[FeatureIn] = []
    problems: list[Problem] = []
    for done, f in enumerate(features, start=1):
        reasons = _feature_reasons(level, f, counts)
        problems += [Problem(f.label, r) for r in reasons]
        if not reasons:
            good.append(f)
        if done % 500 == 0:
            progress("check", done, len(features))
    return good, problems


def _parents_checked(
    level: Level, good: list[FeatureIn], progress: Progress
) -> tuple[list[FeatureIn], dict[str, Unit], list[Problem]]:
    """The features whose parent exists, the parents by code, and the problems: an unknown
    parent, or a unit not inside its parent."""
    parent_level = PARENT_LEVEL.get(level)
    if parent_level is None:
        return good, {}, []
    parent_model = LEVEL_MODELS[parent_level]
    wanted = {f.parent_code for f in good}
    parents = {p.code: p for p in parent_model.objects.filter(code__in=wanted)}
    parent_shapes = {code: geometry.to_shapely(p.geom) for code, p in parents.items()}
    problems = [
        Problem(f.label, _("unknown parent %(code)s") % {"code": f.parent_code})
        for f in good
        if f.parent_code not in parents
    ]
    good = [f for f in good if f.parent_code in parents]
    problems += validation.outside_parent_problems(
        [(f.label, f.geom, f.parent_code) for f in good],
        {code: (str(parents[code]), shape) for code, shape in parent_shapes.items()},
        progress=progress,
    )
    return good, parents, problems


def _overlap_problems(
    model: type[Unit], good: list[FeatureIn], progress: Progress
) -> list[Problem]:
    """Overlaps within the file, and with the units of that level the file does not replace."""
    if not good:
        return []
    bounds = shapely.union_all([shapely.box(*f.geom.bounds) for f in good]).envelope
    others = [
        (str(u), geometry.to_shapely(u.geom))
        for u in model.objects.exclude(code__in={f.code for f in good})
        .filter(geom__intersects=geometry.to_geos(bounds))
        .only("code", "name", "geom")
    ]
    return validation.overlap_problems([(f.label, f.geom) for f in good], others, progress=progress)


@transaction.atomic
def _write(model, level, features, parents, progress) -> ImportResult:
    result = ImportResult(codes=[f.code for f in features])
    existing = {u.code: u for u in model.objects.filter(code__in=result.codes)}
    now = timezone.now()
    to_create, to_update = [], []
    parent_attr = f"{model.parent_field}_id" if model.parent_field else None
    for done, f in enumerate(features, start=1):
        unit = existing.get(f.code)
        parent_id = parents[f.parent_code].id if parent_attr else None
        if unit is not None:
            same_geom = shapely.equals_exact(geometry.to_shapely(unit.geom), f.geom, 0)
            same_parent = parent_attr is None or getattr(unit, parent_attr) == parent_id
            if same_geom and same_parent and unit.name == f.name:
                result.unchanged += 1
                continue
        else:
            unit = model(code=f.code, created_at=now)
        unit.name = f.name
        unit.geom = geometry.to_geos_multipolygon(f.geom)
        unit.area_m2 = geometry.geodesic_area_m2(f.geom)
        unit.updated_at = now
        if parent_attr:
            setattr(unit, parent_attr, parent_id)
        (to_update if unit.pk else to_create).append(unit)
        if done % 500 == 0:
            progress("write", done, len(features))
    model.objects.bulk_create(to_create, batch_size=500)
    update_fields = ["name", "geom", "area_m2", "updated_at"] + (
        [model.parent_field] if parent_attr else []
    )
    model.objects.bulk_update(to_update, update_fields, batch_size=500)
    result.created, result.updated = len(to_create), len(to_update)
    progress("write", len(features), len(features))
    # bulk writes send no signals: tell this process's locate index itself.
    transaction.on_commit(grid_index.invalidate)
    return result
