import django_filters
from django import forms
from django.contrib.gis.geos import GEOSGeometry, LineString, Point, Polygon
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework_gis.filters import InBBoxFilter

from gridcity.api import fields
from gridcity.models import Checkpoint, Community, Street, WorkGrid


class FilterWhenAskedBackend(DjangoFilterBackend):
    """django-filter's backend, skipped when the request names no filter at all.

    Every FilterSet deep-copies its declared filters and binds a form, which costs more than
    the query on the list a handheld polls most (its first page, unfiltered). With no query
    parameter but the paginator's, no filter could apply anyway.
    """

    not_filters = frozenset({"cursor", "page_size", "format"})

    def filter_queryset(self, request, queryset, view):
        if self.not_filters.issuperset(request.query_params):
            return queryset
        return super().filter_queryset(request, queryset, view)


def bbox_geometry(text: str, *, field: str = "bbox") -> GEOSGeometry:
    """The geometry of ``min_lon,min_lat,max_lon,max_lat`` (SRID 4326), its numbers checked
    first (``gridcity.api.fields.bbox``): GEOS aborts the process on coordinates near the
    limits of a double. A box of no width or height is the point or line it is: as a polygon
    it would be invalid, and meet nothing."""
    x0, y0, x1, y1 = fields.bbox(text, field=field)
    if x0 == x1 and y0 == y1:
        return Point(x0, y0, srid=4326)
    if x0 == x1 or y0 == y1:
        return LineString((x0, y0), (x1, y1), srid=4326)
    box = Polygon.from_bbox((x0, y0, x1, y1))
    box.srid = 4326
    return box


class BBoxFilter(InBBoxFilter):
    """``bbox=min_lon,min_lat,max_lon,max_lat``: units that meet the box.

    An exact ``intersects`` rather than drf-gis' ``bboverlaps``: on SpatiaLite MbrOverlaps is
    false when one box holds the other, which would drop a grid seen from close up.
    """

    bbox_param = "bbox"

    def get_filter_bbox(self, request) -> GEOSGeometry | None:
        """The box (``bbox_geometry``): a 400 naming ``bbox`` for anything but four finite
        degrees in range, min ≤ max, within GRIDCITY_API_MAX_BBOX_DEGREES."""
        text = request.query_params.get(self.bbox_param)
        if not text:
            return None
        return bbox_geometry(text, field=self.bbox_param)

    def get_schema_operation_parameters(self, view):
        (parameter,) = super().get_schema_operation_parameters(view)
        parameter["description"] = gettext(
            "min_lon,min_lat,max_lon,max_lat in WGS-84 degrees (lon -180…180, lat -90…90, "
            "min ≤ max, each side at most GRIDCITY_API_MAX_BBOX_DEGREES)"
        )
        parameter["schema"]["example"] = [113.8, 22.6, 113.9, 22.7]
        return [parameter]

    def filter_queryset(self, request, queryset, view):
        bbox = self.get_filter_bbox(request)
        if bbox is None:
            return queryset
        return queryset.filter(**{f"{view.bbox_filter_field}__intersects": bbox})


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1})
class IdFilter(django_filters.NumberFilter):
    """A database id: a whole number from 1 to 2⁶³ − 1, else a 400 naming the parameter.

    django-filter's NumberFilter reads a Decimal, so ``1e20`` or a 25-digit number reached the
    query and overflowed the database's integer (a 500).
    """

    field_class = forms.IntegerField

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(**kwargs)

    def get_max_validator(self):
        return None  # max_value says it


def _ancestor_help(length: int) -> str:
    return gettext("code of the %(n)d-digit ancestor") % {"n": length}


class _CodePrefixFilter(django_filters.CharFilter):
    """Filter by an ancestor's code: a code prefixes all its descendants' codes."""

    def __init__(self, length: int, **kwargs):
        self.length = length
        kwargs.setdefault("help_text", lazy(_ancestor_help, str)(length))
        super().__init__(field_name="code", lookup_expr="startswith", **kwargs)

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if len(value) != self.length or not value.isdigit():
            # A malformed code matches nothing rather than everything under a shorter prefix.
            return qs.none()
        return super().filter(qs, value)


class TimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time within ``gridcity.api.fields.YEARS``, else a 400 naming it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", [fields.within_years])
        super().__init__(**kwargs)


class DateFilter(django_filters.DateFilter):
    """A date (YYYY-MM-DD) within ``gridcity.api.fields.YEARS``, else a 400 naming it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", [fields.within_years])
        super().__init__(**kwargs)


class UnitFilter(django_filters.FilterSet):
    updated_since = TimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text=_("ISO 8601 date-time")
    )


class StreetFilter(UnitFilter):
    district = _CodePrefixFilter(6)

    class Meta:
        model = Street
        fields = ["district", "updated_since"]


class CommunityFilter(UnitFilter):
    district = _CodePrefixFilter(6)
    street = _CodePrefixFilter(9)

    class Meta:
        model = Community
        fields = ["district", "street", "updated_since"]


class WorkGridFilter(UnitFilter):
    district = _CodePrefixFilter(6)
    street = _CodePrefixFilter(9)
    community = _CodePrefixFilter(12)

    class Meta:
        model = WorkGrid
        fields = ["district", "street", "community", "updated_since"]


class CheckpointFilter(UnitFilter):
    district = _CodePrefixFilter(6)
    street = _CodePrefixFilter(9)
    community = _CodePrefixFilter(12)
    grid = _CodePrefixFilter(15)

    class Meta:
        model = Checkpoint
        fields = ["district", "street", "community", "grid", "updated_since"]
