"""The district's working calendar: statutory holidays plus the administrator's overrides.

Deadlines are computed thousands of times a second (dispatch, the overdue sweep, the demo
history), so the calendar is built once per process and rebuilt only when an override changes
(a cheap fingerprint query at most every ``GRIDCITY_CALENDAR_CHECK_SECONDS``).
"""

from datetime import datetime
from datetime import time as clock

from django.conf import settings

from cases import workcal
from gridcity.fingerprint import FingerprintCache, tables_fingerprint


def _periods() -> tuple[tuple[clock, clock], ...]:
    """Working periods from ``GRIDCITY_WORKING_HOURS`` ("08:30-12:00,14:00-18:00")."""
    spec = getattr(settings, "GRIDCITY_WORKING_HOURS", "08:30-12:00,14:00-18:00")
    periods = []
    for part in spec.split(","):
        start, end = (clock.fromisoformat(t.strip()) for t in part.split("-"))
        periods.append((start, end))
    return tuple(periods)


def _calendar_build(fingerprint: tuple) -> workcal.WorkCalendar:
    from cases.models import CalendarDay

    overrides = dict(CalendarDay.objects.values_list("date", "working"))
    return workcal.WorkCalendar(periods=_periods(), overrides=overrides)


def _calendar_fingerprint() -> tuple:
    from cases.models import CalendarDay

    return tables_fingerprint(CalendarDay)


class _Holder:
    """The process's calendar; ``reset()`` makes the next deadline read the overrides again."""

    def __init__(self):
        self._cache = FingerprintCache(
            fingerprint=_calendar_fingerprint,
            build=_calendar_build,
            interval=lambda: getattr(settings, "GRIDCITY_CALENDAR_CHECK_SECONDS", 5),
        )

    def get(self) -> workcal.WorkCalendar:
        return self._cache.get()

    def reset(self) -> None:
        self._cache.clear()


calendar_holder = _Holder()


def calendar_current() -> workcal.WorkCalendar:
    return calendar_holder.get()


def deadline(start: datetime, amount: int, unit: str) -> datetime:
    """``start`` plus a time limit on the district's working calendar."""
    return calendar_current().deadline(start, amount, unit)
