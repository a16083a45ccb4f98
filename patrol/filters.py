"""Filters of incoming GPS fixes, in the manner of Traccar's (``FilterHandler``).

A handheld's fixes are not all true: a cold receiver reports (0, 0) or a position kilometres
away, a clock jumps to 2036, a buffered upload brings a fix of last month, one fix per second
arrives with two different positions. Each fix of a batch gets one outcome: kept, a duplicate
of one already stored (the same fix uploaded again: not an error, not stored twice), or
rejected for exactly one reason, the first of these that applies:

``invalid``         latitude or longitude not a finite number in range, time not a number,
                    accuracy or speed negative or infinite
``zero``            exactly (0, 0): a receiver with no fix yet
``future``          later than now + GRIDCITY_PATROL_FUTURE_SECONDS
``too_old``         older than GRIDCITY_PATROL_MAX_AGE_DAYS (never older than the retention)
``accuracy``        accuracy worse than GRIDCITY_PATROL_MAX_ACCURACY_M
``duplicate_time``  the same time as a fix already stored or earlier in the batch, with another
                    client id or position
``speed``           faster than GRIDCITY_PATROL_MAX_SPEED_KMH from the previous kept fix
                    (stored or in the batch): a jump of the position, not a journey

The first five need only the fix (``fixes_screen``); the last two need the inspector's stored
fixes around the batch (``fixes_against_track``). Everything is numpy over the whole batch;
only a batch that holds a jump walks its fixes one by one, since whether a fix is the "previous
kept one" depends on the verdict on the fix before it.

Times are compared in whole milliseconds: two fixes in the same millisecond are the same time.
"""

from dataclasses import dataclass

import numpy as np
from django.conf import settings

from gridcity.geometry import haversine_m
from patrol.fixes import Fix

KEPT = 0
DUPLICATE = 1
REASONS = ("invalid", "zero", "future", "too_old", "accuracy", "duplicate_time", "speed")
INVALID, ZERO, FUTURE, TOO_OLD, ACCURACY, DUPLICATE_TIME, SPEED = range(2, 2 + len(REASONS))
REASON_OF = dict(enumerate(REASONS, start=2))

SAME_PLACE_DEG = 1e-7  # about a centimetre: the same position, after storage and conversion


@dataclass(frozen=True)
class FilterParams:
    future_s: float = 300.0
    max_age_s: float = 7 * 86400.0
    max_accuracy_m: float = 100.0
    max_speed_ms: float = 120 / 3.6

    @classmethod
    def from_settings(cls) -> "FilterParams":
        days = min(settings.GRIDCITY_PATROL_MAX_AGE_DAYS, settings.GRIDCITY_PATROL_RETENTION_DAYS)
        return cls(
            future_s=float(settings.GRIDCITY_PATROL_FUTURE_SECONDS),
            max_age_s=days * 86400.0,
            max_accuracy_m=float(settings.GRIDCITY_PATROL_MAX_ACCURACY_M),
            max_speed_ms=settings.GRIDCITY_PATROL_MAX_SPEED_KMH / 3.6,
        )


_NUMBERS = (int, float, np.integer, np.floating)


def _floats(values: list, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(values as float64 with None → NaN, mask of those that are not numbers at all).

    numpy would read "12" as 12.0 and True as 1.0: a fix whose time is a string is not a fix.
    """
    kinds = set(map(type, values))
    if all(k is type(None) or (issubclass(k, _NUMBERS) and k is not bool) for k in kinds):
        return np.fromiter(values, np.float64, n), np.zeros(n, bool)
    out, bad = np.full(n, np.nan), np.zeros(n, bool)
    for i, v in enumerate(values):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, _NUMBERS):
            bad[i] = True
            continue
        try:
            out[i] = float(v)
        except OverflowError:
            bad[i] = True
    return out, bad


@dataclass
class FixArrays:
    """A batch of fixes as columns. Absent optional values are NaN; ``ms`` is the time in whole
    milliseconds (the unit of equality), ``t`` the same in seconds."""

    ms: np.ndarray  # int64
    lon: np.ndarray
    lat: np.ndarray
    accuracy: np.ndarray
    speed: np.ndarray
    heading: np.ndarray
    altitude: np.ndarray
    battery: np.ndarray
    mock: np.ndarray  # bool
    client_id: np.ndarray  # object (str)
    unreadable: np.ndarray  # bool: a field that is not a number at all

    @property
    def t(self) -> np.ndarray:
        return self.ms / 1000.0

    def __len__(self) -> int:
        return len(self.ms)

    @classmethod
    def of(cls, fixes: list[Fix]) -> "FixArrays":
        n = len(fixes)
        columns, unreadable = {}, np.zeros(n, bool)
        for name in ("t", "lon", "lat", "accuracy", "speed", "heading", "altitude", "battery"):
            values, bad = _floats([getattr(f, name) for f in fixes], n)
            columns[name] = values
            unreadable |= bad
        t = columns.pop("t")
        finite = np.isfinite(t)
        unreadable |= ~finite
        ms = np.zeros(n, np.int64)
        # Beyond ±1e14 ms (year 5138) a time is nonsense, and would overflow int64 below.
        sane = finite & (np.abs(t) < 1e11)
        unreadable |= finite & ~sane
        ms[sane] = np.rint(t[sane] * 1000.0).astype(np.int64)
        return cls(
            ms=ms,
            mock=np.fromiter((bool(f.mock) for f in fixes), bool, n),
            # No NUL: PostgreSQL's text cannot hold one.
            client_id=np.array(
                [str(f.client_id or "").replace("\x00", "")[:64] for f in fixes], dtype=object
            ),
            unreadable=unreadable,
            **columns,
        )

    def take(self, which) -> "FixArrays":
        return FixArrays(**{name: getattr(self, name)[which] for name in self.__dataclass_fields__})


@dataclass
class StoredFixes:
    """An inspector's stored fixes around a batch (time order): those within the batch's time
    span, and the last one before it. What duplicates and jumps are judged against."""

    ms: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    client_id: np.ndarray

    @classmethod
    def empty(cls) -> "StoredFixes":
        return cls(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, dtype=object))

    @classmethod
    def of_rows(cls, rows) -> "StoredFixes":
        """From (ms, client_id, lon, lat) rows, in any order."""
        if not rows:
            return cls.empty()
        rows = sorted(rows)
        return cls(
            ms=np.array([r[0] for r in rows], np.int64),
            client_id=np.array([r[1] or "" for r in rows], dtype=object),
            lon=np.array([r[2] for r in rows], np.float64),
            lat=np.array([r[3] for r in rows], np.float64),
        )


def fixes_screen(fixes: FixArrays, *, now: float, params: FilterParams) -> np.ndarray:
    """The verdicts that need only the fix itself: KEPT or a reason code, per fix."""
    lon, lat, acc, speed = fixes.lon, fixes.lat, fixes.accuracy, fixes.speed
    t = fixes.t
    with np.errstate(invalid="ignore"):
        invalid = (
            fixes.unreadable
            | ~np.isfinite(lon)
            | ~np.isfinite(lat)
            | (np.abs(lon) > 180)
            | (np.abs(lat) > 90)
            | (acc < 0)
            | np.isinf(acc)
            | (speed < 0)
            | np.isinf(speed)
        )
        return np.select(
            [
                invalid,
                (lon == 0) & (lat == 0),
                t > now + params.future_s,
                t < now - params.max_age_s,
                acc > params.max_accuracy_m,
            ],
            [INVALID, ZERO, FUTURE, TOO_OLD, ACCURACY],
            default=KEPT,
        ).astype(np.int8)


def _same(cid_a, lon_a, lat_a, cid_b, lon_b, lat_b) -> np.ndarray:
    return (
        (cid_a == cid_b)
        & (np.abs(lon_a - lon_b) <= SAME_PLACE_DEG)
        & (np.abs(lat_a - lat_b) <= SAME_PLACE_DEG)
    )


def fixes_against_track(
    fixes: FixArrays, *, stored: StoredFixes, params: FilterParams
) -> np.ndarray:
    """Verdicts of fixes that passed ``fixes_screen``, against each other and the stored track:
    KEPT, DUPLICATE, DUPLICATE_TIME or SPEED per fix (in the order given)."""
    n = len(fixes)
    out = np.full(n, KEPT, np.int8)
    if n == 0:
        return out
    order = np.lexsort((np.arange(n), fixes.ms))  # by time, then as sent
    ms = fixes.ms[order]
    cid, lon, lat = fixes.client_id[order], fixes.lon[order], fixes.lat[order]

    # The reference of each time: the stored fix of that time if there is one, else the first
    # fix of the batch with that time. A fix equal to its reference is a duplicate (the
    # reference itself, when it is in the batch, is kept); one that differs is rejected.
    head = np.ones(n, bool)
    head[1:] = ms[1:] != ms[:-1]
    head_at = np.maximum.accumulate(np.where(head, np.arange(n), 0))
    verdict = np.where(
        _same(cid, lon, lat, cid[head_at], lon[head_at], lat[head_at]), DUPLICATE, DUPLICATE_TIME
    ).astype(np.int8)
    verdict[head] = KEPT
    if len(stored.ms):
        at = np.searchsorted(stored.ms, ms)
        hit = at < len(stored.ms)
        hit[hit] = stored.ms[at[hit]] == ms[hit]
        s = at[hit]
        verdict[hit] = np.where(
            _same(cid[hit], lon[hit], lat[hit], stored.client_id[s], stored.lon[s], stored.lat[s]),
            DUPLICATE,
            DUPLICATE_TIME,
        )

    new = verdict == KEPT
    if new.any():
        verdict[np.flatnonzero(new)[_speeding(ms[new], lon[new], lat[new], stored, params)]] = SPEED
    out[order] = verdict
    return out


def _speeding(ms, lon, lat, stored: StoredFixes, params: FilterParams) -> np.ndarray:
    """Which of these new fixes (time order, none at a stored time) come faster than the limit
    from the fix before them: the previous new fix that was kept, or a stored one."""
    all_ms = np.concatenate([stored.ms, ms])
    all_lon = np.concatenate([stored.lon, lon])
    all_lat = np.concatenate([stored.lat, lat])
    is_new = np.concatenate([np.zeros(len(stored.ms), bool), np.ones(len(ms), bool)])
    order = np.argsort(all_ms, kind="stable")
    all_ms, all_lon, all_lat, is_new = all_ms[order], all_lon[order], all_lat[order], is_new[order]

    # First as if every new fix were kept: in the usual batch nothing is too fast, and then
    # that is the answer.
    dt = np.diff(all_ms) / 1000.0
    metres = haversine_m(all_lon[:-1], all_lat[:-1], all_lon[1:], all_lat[1:])
    fast = np.zeros(len(all_ms), bool)
    fast[1:] = metres > params.max_speed_ms * dt
    if not (fast & is_new).any():
        return np.zeros(len(ms), bool)

    # A jump: judge each new fix against the last fix kept before it.
    rejected = np.zeros(len(all_ms), bool)
    last = None
    for i in range(len(all_ms)):
        if is_new[i] and last is not None:
            seconds = (all_ms[i] - all_ms[last]) / 1000.0
            metres = haversine_m(all_lon[last], all_lat[last], all_lon[i], all_lat[i])
            if metres > params.max_speed_ms * seconds:
                rejected[i] = True
                continue
        last = i
    return rejected[is_new]
