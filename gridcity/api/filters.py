import django_filters
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework_gis.filters import InBBoxFilter

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


class BBoxFilter(InBBoxFilter):
    """``bbox=min_lon,min_lat,max_lon,max_lat``: units that meet the box.

    An exact ``intersects`` rather than drf-gis' ``bboverlaps``: on SpatiaLite MbrOverlaps is
    false when one box holds the other, which would drop a grid seen from close up.
    """

    bbox_param = "bbox"

    def filter_queryset(self, request, queryset, view):
        bbox = self.get_filter_bbox(request)
        if bbox is None:
            return queryset
        bbox.srid = 4326
        return queryset.filter(**{f"{view.bbox_filter_field}__intersects": bbox})


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


class UnitFilter(django_filters.FilterSet):
    updated_since = django_filters.IsoDateTimeFilter(
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
