"""Readers of the values a fix is made of, shared by every way fixes come in: the batch API,
the tracker plug-ins (``patrol.trackers``) and GPX files.

Each reads one value of a request or a file and returns it in the unit stored (seconds since
the epoch, degrees, metres, m/s, whole percent), or refuses the whole request with a
``FixFormatError`` naming the field. Every number is finite (no NaN, no infinity, no integer
beyond a float) and every latitude and longitude in range. Pure functions: no database, no
request objects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

from patrol.fixes import Fix, FixFormatError

IDENTIFIER_MAX = 128  # Tracker.identifier
CLIENT_ID_MAX = 64  # TrackPoint.client_id

# Traccar's rule for a numeric ``timestamp``: below 2^31 - 1 it is seconds, else milliseconds
# (OsmAndProtocolDecoder: ``if (timestamp < Integer.MAX_VALUE) timestamp *= 1000``).
_EPOCH_MS_FROM = 2**31 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUMERIC = re.compile(r"\s*-?\d+(?:\.\d*)?\s*")


# -- numbers -----------------------------------------------------------------------------------


def number(value: Any, field: str, *, text: bool = True) -> float:
    """A finite number from JSON, a query string (``text``: a string of digits is a number) or
    a file; booleans are not numbers."""
    if value is None or (text and value == ""):
        raise FixFormatError(field, _("This field is required."))
    kinds = (int, float, str) if text else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise FixFormatError(field, _("A number is required."))
    try:
        result = float(value)
    except ValueError:
        raise FixFormatError(field, _("A number is required.")) from None
    except OverflowError:  # an integer beyond any float
        result = math.inf
    if not math.isfinite(result):
        raise FixFormatError(field, _("A finite number is required."))
    return result


def optional(value: Any, field: str) -> float | None:
    """A finite number, or None for an absent or empty value."""
    if value is None or value == "":
        return None
    return number(value, field)


def percent(value: Any, field: str) -> int | None:
    """A battery level as the whole percent it is stored as: iOS's ``batteryLevel * 100`` reads
    56.99999999999999 for 57 %. Rounded half up; outside 0..100 (iOS's -1, a broken 255) is
    unknown."""
    level = optional(value, field)
    if level is None:
        return None
    whole = math.floor(level + 0.5)
    return whole if 0 <= whole <= 100 else None


def fraction_percent(value: Any, field: str) -> int | None:
    """A battery level given as a fraction 0..1 (iOS, transistorsoft) as a whole percent; a
    negative one (iOS's -1) is unknown, one above 1 refused."""
    level = non_negative(value, field)
    if level is None:
        return None
    if level > 1:
        raise FixFormatError(field, "expected a fraction from 0 to 1")
    return percent(level * 100, field)


def non_negative(value: Any, field: str) -> float | None:
    """Speeds, headings and battery levels where a negative value is the device's "unknown"
    (iOS reports -1 for speed, course and battery it does not have)."""
    result = optional(value, field)
    return None if result is None or result < 0 else result


def accuracy(value: Any, field: str) -> float | None:
    """Horizontal accuracy in metres; zero or less means unknown: the Android Traccar Client
    sends ``accuracy=0.0`` for every GPS-provider fix, and iOS -1 for an invalid one."""
    result = optional(value, field)
    return None if result is None or result <= 0 else result


def lat(value: Any, field: str) -> float:
    result = number(value, field)
    if not -90 <= result <= 90:
        raise FixFormatError(field, f"latitude out of range: {result}")
    return result


def lon(value: Any, field: str) -> float:
    result = number(value, field)
    if not -180 <= result <= 180:
        raise FixFormatError(field, f"longitude out of range: {result}")
    return result


def true(value: str) -> bool:
    # Traccar: Boolean.parseBoolean(value) || "1".equals(value)
    return value.strip().lower() in ("true", "1")


# -- times -------------------------------------------------------------------------------------


def iso_seconds(text: str, field: str, *, naive_utc: bool = True) -> float:
    """Seconds since the epoch of an ISO 8601 time (``T`` or space between date and time,
    ``Z`` or an offset). A time without an offset is taken as UTC when ``naive_utc`` (a
    device's zone is unknown; Traccar would use the server's), refused otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FixFormatError(field, _("Not an ISO 8601 time.")) from None
    if moment.tzinfo is None:
        if not naive_utc:
            raise FixFormatError(field, _("The time needs a UTC offset (or Z)."))
        moment = moment.replace(tzinfo=UTC)
    return moment_seconds(moment, field)


def moment_seconds(moment: datetime, field: str) -> float:
    """An aware datetime as seconds since the epoch; one out of range is refused."""
    try:
        return moment.timestamp()
    except (OverflowError, ValueError):
        raise FixFormatError(field, _("Not an ISO 8601 time.")) from None


def epoch_or_iso(value: Any, field: str) -> float:
    """Epoch seconds, epoch milliseconds or ISO 8601, told apart as Traccar does."""
    if isinstance(value, bool):
        raise FixFormatError(field, _("A number is required."))
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMERIC.fullmatch(value)):
        seconds = number(value, field)
        return seconds / 1000 if abs(seconds) >= _EPOCH_MS_FROM else seconds
    if isinstance(value, str) and value.strip():
        return iso_seconds(value.strip(), field)
    raise FixFormatError(field, _("This field is required."))


def epoch_ms_or_iso(value: Any, field: str) -> float:
    """Seconds since the epoch from JSON epoch milliseconds or ISO 8601 with a UTC offset: the
    batch API's ``t``."""
    if type(value) in (int, float):
        return number(value, field, text=False) / 1000.0
    if isinstance(value, str):
        return iso_seconds(value, field, naive_utc=False)
    raise FixFormatError(field, _("Epoch milliseconds or an ISO 8601 time are required."))


def utc(value: Any) -> datetime:
    """A stored point's time as an aware UTC datetime (an aware datetime, or epoch seconds as
    in ``Fix.t``)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: points must carry aware times")
        return value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    raise TypeError(f"not a time: {value!r}")


# -- identifiers -------------------------------------------------------------------------------


def identifier(value: Any, field: str) -> str:
    """A device's identifier as registered (``Tracker.identifier``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise FixFormatError(field, _("This field is required."))
    value = value.strip()
    if len(value) > IDENTIFIER_MAX:
        raise FixFormatError(field, f"longer than {IDENTIFIER_MAX} characters")
    if _CONTROL.search(value):
        # A NUL cannot even be looked up in PostgreSQL; no app puts a control character here.
        raise FixFormatError(field, "holds a control character")
    return value


def newest_battery(fixes: Iterable[Fix]) -> int | None:
    """The battery level of the newest fix that has one: what a tracker's last contact shows."""
    newest = max((f for f in fixes if f.battery is not None), key=lambda f: f.t, default=None)
    return None if newest is None else newest.battery
