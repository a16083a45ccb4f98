"""Filters of the shift list: inspector, local day, street, status, sync."""

import django_filters
from django.utils.translation import gettext_lazy as _

from gridcity.api.filters import DateFilter, IdFilter, TimeFilter
from patrol.models import Shift, ShiftStatus
from patrol.selectors import shifts_in_area, shifts_started_on


class ShiftFilter(django_filters.FilterSet):
    inspector = IdFilter(field_name="inspector_id", help_text=_("the inspector's user id"))
    date = DateFilter(method="on_day", help_text=_("shifts begun on this local day (YYYY-MM-DD)"))
    street = django_filters.CharFilter(
        method="in_street",
        help_text=_("shifts of inspectors who held a grid of this street (code) meanwhile"),
    )
    status = django_filters.ChoiceFilter(choices=ShiftStatus.choices)
    updated_since = TimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text=_("changed at or after this time: for a handheld's sync"),
    )

    class Meta:
        model = Shift
        fields = []

    def on_day(self, queryset, name, value):
        return shifts_started_on(queryset, value)

    def in_street(self, queryset, name, value):
        return shifts_in_area(queryset, value)
