"""The district's working calendar: statutory holidays plus the administrator's overrides.

Deadlines are computed thousands of times a second (dispatch, the overdue sweep, the demo
history), so the calendar is built once per process and rebuilt only when an override changes
(a cheap fingerprint query at most every ``GRIDCITY_CALENDAR_CHECK_SECONDS``).
"""

import threading
import time
from datetime import datetime
from datetime import time as clock

from django.conf import settings
from django.db.models import Count, Max

from cases import workcal


def _periods() -> tuple[tuple[clock, clock], ...]:
    """Working periods from ``GRIDCITY_WORKING_HOURS`` ("08:30-12:00,14:00-18:00")."""
    spec = getattr(settings, "GRIDCITY_WORKING_HOURS", "08:30-12:00,14:00-18:00")
    periods = []
    for part in spec.split(","):
        start, end = (clock.fromisoformat(t.strip()) for t in part.split("-"))
        periods.append((start, end))
    return tuple(periods)


class _Holder:
    def __init__(self):
        self._lock = threading.Lock()
        self._calendar: workcal.WorkCalendar | None = None
        self._fingerprint = None
        self._checked = 0.0

    def get(self) -> workcal.WorkCalendar:
        from cases.models import CalendarDay

        interval = getattr(settings, "GRIDCITY_CALENDAR_CHECK_SECONDS", 5)
        now = time.monotonic()
        if self._calendar is not None and now - self._checked < interval:
            return self._calendar
        with self._lock:
            fingerprint = tuple(
                CalendarDay.objects.aggregate(
                    n=Count("id"), top=Max("id"), at=Max("updated_at")
                ).values()
            )
            if self._calendar is None or fingerprint != self._fingerprint:
                overrides = dict(CalendarDay.objects.values_list("date", "working"))
                self._calendar = workcal.WorkCalendar(periods=_periods(), overrides=overrides)
                self._fingerprint = fingerprint
            self._checked = now
            return self._calendar

    def reset(self) -> None:
        with self._lock:
            self._calendar = None


calendar_holder = _Holder()


def calendar_current() -> workcal.WorkCalendar:
    return calendar_holder.get()


def deadline(start: datetime, amount: int, unit: str) -> datetime:
    """``start`` plus a time limit on the district's working calendar."""
    return calendar_current().deadline(start, amount, unit)
