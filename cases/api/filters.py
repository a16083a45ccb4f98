"""Filters of the case list: status, item, grid, street, department, overdue, source, dates."""

import django_filters
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Source, Status
from gridcity.api.filters import TimeFilter, bbox_geometry


class CaseFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    source = django_filters.MultipleChoiceFilter(choices=Source.choices)
    item = django_filters.CharFilter(field_name="item__code")
    grid = django_filters.CharFilter(field_name="grid__code")
    street = django_filters.CharFilter(field_name="street__code")
    department = django_filters.CharFilter(field_name="department__code")
    overdue = django_filters.BooleanFilter()
    created_after = TimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = TimeFilter(field_name="created_at", lookup_expr="lt")
    updated_since = TimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text=_("changed at or after this time: for a handheld's sync"),
    )
    bbox = django_filters.CharFilter(
        method="in_bbox",
        help_text=_(
            "min_lon,min_lat,max_lon,max_lat in WGS-84 degrees (min ≤ max, each side at most "
            "GRIDCITY_API_MAX_BBOX_DEGREES)"
        ),
    )

    class Meta:
        model = Case
        fields = []

    def in_bbox(self, queryset, name, value):
        # The numbers are checked before GEOS sees them: huge ones abort the process in GEOS.
        return queryset.filter(point__intersects=bbox_geometry(value, field=name))
