"""The grid hierarchy: District → Street → Community → WorkGrid, and patrol Checkpoints.

Codes follow the digital urban management convention (GB/T 2260 administrative code + 3 digits
per level): 6 digits for a district, 9 for a street, 12 for a community, 15 for a work grid; a
parent's code prefixes its children's. Geometries are stored in WGS-84 (SRID 4326).
"""

from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gridcity import geometry


class Level(models.TextChoices):
    DISTRICT = "district", _("District")
    STREET = "street", _("Street")
    COMMUNITY = "community", _("Community")
    GRID = "grid", _("Work grid")


CODE_LENGTHS = {Level.DISTRICT: 6, Level.STREET: 9, Level.COMMUNITY: 12, Level.GRID: 15}
CHECKPOINT_CODE_LENGTH = 18


def _code_message(length: int) -> str:
    return gettext("A code at this level is exactly %(n)d digits.") % {"n": length}


def code_validator(length: int) -> RegexValidator:
    # Lazy, so the message is translated when shown, not frozen at import in whatever language
    # was active (which would also make migrations differ between machines).
    return RegexValidator(
        rf"^\d{{{length}}}$", lazy(_code_message, str)(length), code="code_format"
    )


class Unit(models.Model):
    """What every level of the hierarchy has: a code, a name, a polygon and its area."""

    level: Level
    parent_field: str | None = None

    code = models.CharField(_("code"), max_length=15, unique=True)
    name = models.CharField(_("name"), max_length=100)
    geom = models.MultiPolygonField(_("boundary"), srid=4326)
    area_m2 = models.FloatField(_("area (m²)"), editable=False, default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def parent(self) -> "Unit | None":
        return getattr(self, self.parent_field) if self.parent_field else None

    def save(self, *args, **kwargs) -> None:
        # Area is derived from the polygon, on the ellipsoid, so it never drifts from it.
        if self.geom is not None:
            self.area_m2 = geometry.geodesic_area_m2(geometry.to_shapely(self.geom))
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from gridcity import validation

        validation.raise_for_unit(self)


class District(Unit):
    """区: an administrative district, identified by its GB/T 2260 code (e.g. 440306 宝安区)."""

    level = Level.DISTRICT
    code = models.CharField(_("code"), max_length=6, unique=True, validators=[code_validator(6)])

    class Meta(Unit.Meta):
        verbose_name = _("district")
        verbose_name_plural = _("districts")


class Street(Unit):
    """街道: a sub-district, the level a supervisor usually answers for."""

    level = Level.STREET
    parent_field = "district"
    code = models.CharField(_("code"), max_length=9, unique=True, validators=[code_validator(9)])
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="streets", verbose_name=_("district")
    )

    class Meta(Unit.Meta):
        verbose_name = _("street")
        verbose_name_plural = _("streets")


class Community(Unit):
    """社区: a residents' community within a street."""

    level = Level.COMMUNITY
    parent_field = "street"
    code = models.CharField(_("code"), max_length=12, unique=True, validators=[code_validator(12)])
    street = models.ForeignKey(
        Street, on_delete=models.PROTECT, related_name="communities", verbose_name=_("street")
    )

    class Meta(Unit.Meta):
        verbose_name = _("community")
        verbose_name_plural = _("communities")


class WorkGrid(Unit):
    """工作网格: the smallest unit, walked by one grid inspector (网格员)."""

    level = Level.GRID
    parent_field = "community"
    code = models.CharField(_("code"), max_length=15, unique=True, validators=[code_validator(15)])
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="grids", verbose_name=_("community")
    )

    class Meta(Unit.Meta):
        verbose_name = _("work grid")
        verbose_name_plural = _("work grids")


class Checkpoint(models.Model):
    """巡查点: a place in a grid that the inspector must visit and stay at for a while."""

    code = models.CharField(
        _("code"),
        max_length=CHECKPOINT_CODE_LENGTH,
        unique=True,
        validators=[code_validator(CHECKPOINT_CODE_LENGTH)],
    )
    name = models.CharField(_("name"), max_length=100)
    grid = models.ForeignKey(
        WorkGrid, on_delete=models.CASCADE, related_name="checkpoints", verbose_name=_("grid")
    )
    point = models.PointField(_("location"), srid=4326)
    min_dwell_minutes = models.PositiveSmallIntegerField(
        _("minimum dwell (minutes)"),
        default=5,
        validators=[MinValueValidator(0), MaxValueValidator(24 * 60)],
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        from gridcity import validation

        validation.raise_for_checkpoint(self)


LEVEL_MODELS: dict[str, type[Unit]] = {
    Level.DISTRICT: District,
    Level.STREET: Street,
    Level.COMMUNITY: Community,
    Level.GRID: WorkGrid,
}
PARENT_LEVEL = {
    Level.STREET: Level.DISTRICT,
    Level.COMMUNITY: Level.STREET,
    Level.GRID: Level.COMMUNITY,
}
