"""Numbers and coordinates from outside, checked before any geometry is built from them.

GEOS aborts the whole process (not an exception: SIGABRT) when it writes a polygon whose
coordinates are near the limits of a double, and raises on NaN; a point at longitude 1e200 is
no place on Earth anyway. Every coordinate the API takes — ``bbox`` (``bbox``, through
``gridcity.api.filters.bbox_geometry``), ``lon``/``lat`` of locate, duplicates and a case's
location (``LongitudeField``, ``LatitudeField``) — is checked here first, and a bad one is a 400
naming the parameter. The track upload reads its thousand fixes in a loop of its own
(``patrol.api.serializers.points_batch_parse``) with the same rule: finite, or a 400 naming
``points[i].field``.
"""

from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

LON = (-180.0, 180.0)
LAT = (-90.0, 90.0)

# Dates and times a filter or cursor may name. Outside them the conversions around a query (to
# UTC, to the next day) overflow Python's datetime at year 1 or 9999, a 500; no row of GridCity
# is that old or that far ahead.
YEARS = (1900, 2999)

# A bbox is four numbers; anything longer than this is not one (and is not worth splitting).
_BBOX_MAX_CHARS = 200


def _invalid(field: str, message: str) -> serializers.ValidationError:
    return serializers.ValidationError({field: [message]})


def number(
    value, *, field: str, minimum: float | None = None, maximum: float | None = None
) -> float:
    """``value`` (a number or its text) as a finite float within [minimum, maximum].

    Raises DRF's ``ValidationError`` ``{field: [why]}``: a 400 naming the field.
    """
    if isinstance(value, bool):
        raise _invalid(field, _("A number is required."))
    if isinstance(value, str):
        if "\x00" in value or len(value) > 64:
            raise _invalid(field, _("A number is required."))
        try:
            value = float(value)
        except ValueError:
            raise _invalid(field, _("A number is required.")) from None
    elif isinstance(value, int | float):
        try:
            value = float(value)
        except OverflowError:  # an integer beyond any float
            raise _invalid(field, _("A finite number is required.")) from None
    else:
        raise _invalid(field, _("A number is required."))
    if not math.isfinite(value):
        raise _invalid(field, _("A finite number is required."))
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _invalid(
            field,
            _("A number from %(min)s to %(max)s is required.")
            % {"min": _g(minimum), "max": _g(maximum)},
        )
    return value


def _g(bound: float | None) -> str:
    return "…" if bound is None else f"{bound:g}"


def longitude(value, *, field: str = "lon") -> float:
    return number(value, field=field, minimum=LON[0], maximum=LON[1])


def latitude(value, *, field: str = "lat") -> float:
    return number(value, field=field, minimum=LAT[0], maximum=LAT[1])


def bbox(text: str, *, field: str = "bbox") -> tuple[float, float, float, float]:
    """``min_lon,min_lat,max_lon,max_lat`` → four numbers in range, min ≤ max, each side at most
    GRIDCITY_API_MAX_BBOX_DEGREES long; a ``ValidationError`` naming ``field`` otherwise."""
    parts = text.split(",") if isinstance(text, str) and len(text) <= _BBOX_MAX_CHARS else []
    if len(parts) != 4:
        raise _invalid(field, _("Give min_lon,min_lat,max_lon,max_lat."))
    min_lon, max_lon = (longitude(parts[i].strip(), field=field) for i in (0, 2))
    min_lat, max_lat = (latitude(parts[i].strip(), field=field) for i in (1, 3))
    if min_lon > max_lon or min_lat > max_lat:
        raise _invalid(field, _("The minimum must not be greater than the maximum."))
    span = settings.GRIDCITY_API_MAX_BBOX_DEGREES
    if max_lon - min_lon > span or max_lat - min_lat > span:
        raise _invalid(
            field, _("The box may span at most %(n)s degrees each way.") % {"n": f"{span:g}"}
        )
    return min_lon, min_lat, max_lon, max_lat


def within_years(value: dt.date) -> None:
    """Validator of a date or date-time (Django's and DRF's fields alike): within ``YEARS``."""
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise DjangoValidationError(
            _("A date from %(first)d to %(last)d is required.")
            % {"first": YEARS[0], "last": YEARS[1]},
            code="out_of_range",
        )


class _DegreesField(serializers.FloatField):
    bounds: tuple[float, float]

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", self.bounds[0])
        kwargs.setdefault("max_value", self.bounds[1])
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        # DRF refuses NaN and ±Infinity since 3.15; said again here, since NaN passes every
        # comparison with min_value and max_value.
        if not math.isfinite(value):
            self.fail("invalid")
        return value


class LongitudeField(_DegreesField):
    """A longitude in degrees: finite, from -180 to 180."""

    bounds = LON

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", gettext_lazy("longitude"))
        super().__init__(**kwargs)


class LatitudeField(_DegreesField):
    """A latitude in degrees: finite, from -90 to 90."""

    bounds = LAT

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", gettext_lazy("latitude"))
        super().__init__(**kwargs)
