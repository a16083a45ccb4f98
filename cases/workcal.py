"""The working calendar that case time limits (处置时限) are computed on.

Pure Python: no database, no models. The administrator's calendar overrides are passed in as a
``{date: is_working_day}`` mapping by whoever loads them.

Units of a time limit
---------------------
``WORK_HOURS`` (工作时)
    Only time inside the working periods (by default 08:30–12:00 and 14:00–18:00, local wall
    clock) of working days counts. A case dispatched outside working time starts its clock at
    the beginning of the next working period; a limit ends inside or at the end of a working
    period (a limit running out exactly at 12:00 is due at 12:00, not at 14:00).
``WORK_DAYS`` (工作日)
    One working day is the total length of the working periods (7.5 h with the defaults) of
    working time, so ``n`` working days are exactly ``n × 7.5`` working hours. A case dispatched
    at 10:00 is thus due at 10:00 ``n`` working days later, and a case dispatched at 17:00 is not
    given the remaining hour of that day as a whole "day"; fractional limits (0.5 工作日) count
    fairly too.
``CLOCK_HOURS`` (紧急工作时)
    Round-the-clock hours for emergencies: nights, weekends and holidays all count.

Where working days come from
----------------------------
1. Administrator overrides (``WorkCalendar.overrides``) win over everything.
2. Otherwise the ``chinese_calendar`` package: statutory holidays (法定节假日) are days off and
   make-up working days (调休上班, e.g. a Saturday before a long holiday) are working days.
3. For years the package has no data for (it ships 2004–2026; each State Council notice arrives
   late in the previous year, so upgrade the package then), Monday–Friday are working days.
   ``calendar_known(year)`` tells whether this fallback is in use, so an admin page can warn
   "2027 holidays not loaded: add overrides" and a warning is logged once per unknown year.

All datetimes are aware; results are returned in the calendar's time zone (Asia/Shanghai).
Working time is measured on the local wall clock, which in China (no DST) is also elapsed time.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

logger = logging.getLogger(__name__)

WORK_HOURS = "work_hours"
WORK_DAYS = "work_days"
CLOCK_HOURS = "clock_hours"
UNITS = (WORK_HOURS, WORK_DAYS, CLOCK_HOURS)

SHANGHAI = ZoneInfo("Asia/Shanghai")

DEFAULT_PERIODS: tuple[tuple[time, time], ...] = (
    (time(8, 30), time(12, 0)),
    (time(14, 0), time(18, 0)),
)

_US_PER_SECOND = 1_000_000
_US_PER_HOUR = 3600 * _US_PER_SECOND
_ONE_DAY = timedelta(days=1)
# Beyond this many days a span is counted with per-year prefix sums instead of day by day.
_SHORT_SPAN_DAYS = 62


@lru_cache(maxsize=256)
def calendar_known(year: int) -> bool:
    """Whether ``chinese_calendar`` knows the holidays of ``year``.

    False means working days of that year fall back to Monday–Friday (plus any administrator
    overrides): statutory holidays and make-up working days must be entered as overrides.
    """
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        logger.warning(
            "chinese_calendar has no holiday data for %s: Monday–Friday are taken as working "
            "days; add calendar overrides for the statutory holidays of that year.",
            year,
        )
        return False
    return True


@lru_cache(maxsize=1 << 16)
def _statutory_is_workday(d: date) -> bool:
    """Working day by the State Council calendar, Monday–Friday for unknown years. Cached."""
    if calendar_known(d.year):
        return chinese_calendar.is_workday(d)
    return d.weekday() < 5


class _FrozenDict(Mapping):
    """A read-only, hashable mapping, so that ``WorkCalendar`` stays hashable."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping) -> None:
        self._data = dict(data)
        self._hash: int | None = None

    def __getitem__(self, key):
        return self._data[key]

    def get(self, key, default=None):
        return self._data.get(key, default)

    def __iter__(self) -> Iterator:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"


def _time_us(t: datetime | time) -> int:
    """Microseconds since local midnight of a wall-clock time."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US_PER_SECOND + t.microsecond


def _to_us(amount: int | float | Decimal, unit_us: int) -> int:
    """``amount`` units of ``unit_us`` microseconds, rounded to the microsecond."""
    if isinstance(amount, int):
        us = amount * unit_us
    elif isinstance(amount, Decimal):
        if not amount.is_finite():
            raise ValueError(f"time limit must be finite, got {amount}")
        us = int((amount * unit_us).to_integral_value(rounding=ROUND_HALF_EVEN))
    else:
        amount = float(amount)
        if not math.isfinite(amount):
            raise ValueError(f"time limit must be finite, got {amount}")
        us = round(amount * unit_us)
    if amount < 0:
        raise ValueError(f"time limit must not be negative, got {amount}")
    return us


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")


@dataclass(frozen=True)
class WorkCalendar:
    """Working periods, administrator overrides and time zone; computes deadlines.

    ``overrides`` maps a date to whether it is a working day and wins over the statutory
    calendar; any mapping may be passed, it is stored as a read-only copy. Instances are
    immutable and hashable; build a new one when the overrides change.
    """

    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    overrides: Mapping[date, bool] = field(default_factory=lambda: _FrozenDict({}))
    tz: ZoneInfo = SHANGHAI

    # Derived in __post_init__: periods in microseconds since midnight and their total length.
    _spans: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    _day_us: int = field(init=False, repr=False, compare=False)
    # Per-year prefix sums of working days, filled lazily by working_days_between().
    _year_prefix: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        periods = tuple((start, end) for start, end in self.periods)
        if not periods:
            raise ValueError("a working calendar needs at least one working period")
        spans = tuple((_time_us(start), _time_us(end)) for start, end in periods)
        previous_end = 0
        for (start, end), (start_us, end_us) in zip(periods, spans, strict=True):
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("working periods are local wall-clock times without tzinfo")
            if not start_us < end_us:
                raise ValueError(f"working period {start}–{end} must end after it starts")
            if start_us < previous_end:
                raise ValueError("working periods must be in order and must not overlap")
            previous_end = end_us
        overrides = {}
        for day, working in self.overrides.items():
            if isinstance(day, datetime) or not isinstance(day, date):
                raise TypeError(f"override keys must be dates, got {day!r}")
            overrides[day] = bool(working)
        tz = ZoneInfo(self.tz) if isinstance(self.tz, str) else self.tz
        object.__setattr__(self, "periods", periods)
        object.__setattr__(self, "overrides", _FrozenDict(overrides))
        object.__setattr__(self, "tz", tz)
        object.__setattr__(self, "_spans", spans)
        object.__setattr__(self, "_day_us", sum(end - start for start, end in spans))

    # -- days ------------------------------------------------------------------------------

    @property
    def day_length(self) -> timedelta:
        """Working time in one working day: the length of one ``WORK_DAYS`` unit."""
        return timedelta(microseconds=self._day_us)

    @property
    def day_length_hours(self) -> float:
        return self._day_us / _US_PER_HOUR

    def is_working_day(self, d: date) -> bool:
        """Override if any, else the statutory calendar, else Monday–Friday for unknown years."""
        if isinstance(d, datetime):
            raise TypeError("is_working_day() takes a local date, not a datetime")
        working = self.overrides.get(d)
        if working is None:
            return _statutory_is_workday(d)
        return working

    def uses_fallback(self, d: date) -> bool:
        """True when ``d`` is decided by the Monday–Friday fallback (no data, no override)."""
        return d not in self.overrides and not calendar_known(d.year)

    def working_days_between(self, first: date, stop: date) -> int:
        """Number of working days ``d`` with ``first <= d < stop``."""
        if stop <= first:
            return 0
        if (stop - first).days <= _SHORT_SPAN_DAYS:
            is_working = self.is_working_day
            count = 0
            d = first
            while d < stop:
                count += is_working(d)
                d += _ONE_DAY
            return count
        if first.year == stop.year:
            prefix = self._prefix(first.year)
            return prefix[_day_of_year(stop)] - prefix[_day_of_year(first)]
        prefix = self._prefix(first.year)
        count = prefix[-1] - prefix[_day_of_year(first)]
        for year in range(first.year + 1, stop.year):
            count += self._prefix(year)[-1]
        return count + self._prefix(stop.year)[_day_of_year(stop)]

    def _prefix(self, year: int) -> list[int]:
        """``prefix[i]`` = working days among the first ``i`` days of ``year``."""
        prefix = self._year_prefix.get(year)
        if prefix is None:
            prefix = [0]
            d = date(year, 1, 1)
            while d.year == year:
                prefix.append(prefix[-1] + self.is_working_day(d))
                d += _ONE_DAY
            self._year_prefix[year] = prefix
        return prefix

    # -- instants --------------------------------------------------------------------------

    def deadline(self, start: datetime, amount: int | float | Decimal, unit: str) -> datetime:
        """When a time limit of ``amount`` ``unit`` started at ``start`` runs out.

        ``start`` must be aware; the result is aware and in the calendar's time zone.

        - ``CLOCK_HOURS``: ``start + amount`` hours of elapsed time.
        - ``WORK_HOURS``: ``amount`` hours of working time counted from ``start`` (or from the
          next working period if ``start`` is outside working time). The result lies inside or
          at the end of a working period.
        - ``WORK_DAYS``: one working day is ``day_length`` of working time (7.5 h with the
          default periods), i.e. ``deadline(s, n, WORK_DAYS) == deadline(s, n *
          day_length_hours, WORK_HOURS)``: started at 10:00, due at 10:00 ``n`` working days
          later; partial days count for what they are, not as whole days.

        A zero limit is due at ``start`` itself. Raises ``ValueError`` for an unknown unit, a
        negative or non-finite amount or a naive ``start``.
        """
        _require_aware(start, "start")
        if unit == WORK_HOURS:
            remaining = _to_us(amount, _US_PER_HOUR)
        elif unit == WORK_DAYS:
            remaining = _to_us(amount, self._day_us)
        elif unit == CLOCK_HOURS:
            elapsed = timedelta(microseconds=_to_us(amount, _US_PER_HOUR))
            return (start.astimezone(UTC) + elapsed).astimezone(self.tz)
        else:
            raise ValueError(f"unknown time limit unit {unit!r}; expected one of {UNITS}")
        local = start.astimezone(self.tz)
        if remaining == 0:
            return local
        return self._add_working(local, remaining)

    def _add_working(self, local: datetime, remaining: int) -> datetime:
        """``local`` plus ``remaining`` (> 0) microseconds of working time."""
        spans = self._spans
        is_working = self.is_working_day
        d = local.date()
        if is_working(d):
            now = _time_us(local)
            for span_start, span_end in spans:
                if span_end <= now:
                    continue
                begin = span_start if span_start > now else now
                available = span_end - begin
                if remaining <= available:
                    return self._at(d, begin + remaining)
                remaining -= available
        day_us = self._day_us
        while True:
            d += _ONE_DAY
            if not is_working(d):
                continue
            if remaining > day_us:
                remaining -= day_us
                continue
            for span_start, span_end in spans:
                available = span_end - span_start
                if remaining <= available:
                    return self._at(d, span_start + remaining)
                remaining -= available

    def _at(self, d: date, us: int) -> datetime:
        """The local wall-clock instant ``us`` microseconds after midnight of ``d``."""
        return datetime(d.year, d.month, d.day, tzinfo=self.tz) + timedelta(microseconds=us)

    def _worked_before(self, now: int) -> int:
        """Working microseconds of a working day before wall time ``now``."""
        total = 0
        for span_start, span_end in self._spans:
            if now <= span_start:
                break
            total += (span_end if span_end < now else now) - span_start
        return total

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Working time in seconds from ``start`` to ``end`` (0 if ``end <= start``).

        The inverse of ``deadline`` for ``WORK_HOURS``:
        ``working_seconds_between(s, deadline(s, h, WORK_HOURS)) == h * 3600``.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end <= start:
            return 0.0
        tz = self.tz
        local_start = start.astimezone(tz)
        local_end = end.astimezone(tz)
        first, last = local_start.date(), local_end.date()
        is_working = self.is_working_day
        if first == last:
            if not is_working(first):
                return 0.0
            worked = self._worked_before(_time_us(local_end)) - self._worked_before(
                _time_us(local_start)
            )
            return max(worked, 0) / _US_PER_SECOND
        total = 0
        if is_working(first):
            total += self._day_us - self._worked_before(_time_us(local_start))
        if is_working(last):
            total += self._worked_before(_time_us(local_end))
        total += self._day_us * self.working_days_between(first + _ONE_DAY, last)
        return total / _US_PER_SECOND


def _day_of_year(d: date) -> int:
    """0 for 1 January."""
    return d.timetuple().tm_yday - 1
