"""Cursor pagination whose parameters cannot reach the database unchecked.

DRF's ``CursorPagination`` takes the cursor's position as the client sent it: a made-up cursor
whose position is not a date (``p=garbage`` on a list ordered by time) raised Django's
``ValidationError`` inside the query (a 500), and one holding a NUL reached PostgreSQL (a 500).
A ``page_size`` that is not a whole number was silently ignored. Here a cursor that does not
decode, or whose position is not a value of the ordering field, and a ``page_size`` below 1 or
not a number, are 400s naming the parameter; a ``page_size`` above the maximum is clamped to
it, as DRF does.
"""

import datetime as dt

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework import pagination as drf
from rest_framework.response import Response

from gridcity.api.fields import YEARS

_ID_MAX = 2**63 - 1


def _invalid(param: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({param: [message]})


class CursorPagination(drf.CursorPagination):
    """DRF's cursor pagination, with its ``cursor`` and ``page_size`` checked (400 naming
    the parameter) before they shape a query."""

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        param = self.page_size_query_param
        if not param or param not in request.query_params:
            return self.page_size
        text = request.query_params[param]
        try:
            size = int(text) if len(text) <= 100 else 0
        except ValueError:
            size = 0
        if size < 1:
            raise _invalid(
                param,
                _("A whole number from 1 to %(max)d is required.")
                % {"max": self.max_page_size or self.page_size},
            )
        return min(size, self.max_page_size) if self.max_page_size else size

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            raise _invalid(self.cursor_query_param, _("Invalid cursor.")) from None
        if cursor is not None and cursor.position is not None:
            self._position_check(cursor.position)
        return cursor

    def _position_check(self, position: str) -> None:
        """The position must be a value of the first ordering field, as this class wrote it."""
        invalid = _invalid(self.cursor_query_param, _("Invalid cursor."))
        if "\x00" in position or len(position) > 200:
            raise invalid
        name = self.ordering[0].lstrip("-")
        try:
            field = self._model._meta.get_field(name)
        except (AttributeError, FieldDoesNotExist):
            return  # an annotation: the text is compared as it is
        if isinstance(field, models.ForeignKey):
            field = field.target_field
        try:
            value = field.to_python(position)
        except (ValidationError, ValueError, TypeError, OverflowError):
            raise invalid from None
        if isinstance(value, int) and not -_ID_MAX <= value <= _ID_MAX:
            raise invalid
        if isinstance(value, dt.date) and not YEARS[0] <= value.year <= YEARS[1]:
            raise invalid  # year 1 at +14:00 overflows on its way to UTC


class FeatureCursorPagination(CursorPagination):
    """Cursor pagination whose pages are GeoJSON FeatureCollections with next/previous links.

    A map can ask for a whole district's grids in one page (``page_size`` up to 5,000).
    """

    ordering = "code"
    page_size = 1000
    page_size_query_param = "page_size"
    max_page_size = 5000

    def get_paginated_response(self, data):
        return Response(
            {
                "type": "FeatureCollection",
                "features": data["features"],
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
            }
        )

    def get_paginated_response_schema(self, schema):
        # drf-spectacular's rest_framework_gis contrib hands over its FeatureCollection
        # component (``<Feature>List``); a page's features are that component's features.
        items = schema.get("items", schema)
        ref = items.get("$ref", "")
        if ref.endswith("List"):
            items = {"$ref": ref.removesuffix("List")}
        return {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": items},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
            },
        }
