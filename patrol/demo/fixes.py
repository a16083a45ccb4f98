"""From a walk to the fixes a handheld sends: sampled every ``interval`` seconds, with the
receiver's error wandering over about a minute, poorer indoors, a few fixes lost or poor, and
what a mock location or a jump does to them."""

from dataclasses import dataclass

import numpy as np

from patrol.demo.mix import JUMP_CLEAR_S, JUMP_M, MOCK_SPEED_MS, PatrolMix
from patrol.demo.streets import Inspector, Streets
from patrol.demo.walk import Walk
from patrol.filters import FixArrays


def _smooth(rng, n: int, tau: float) -> np.ndarray:
    """``n`` values of unit variance, correlated over ``tau`` samples (exponential kernel)."""
    length = max(1, int(np.ceil(4 * tau)))
    kernel = np.exp(-np.arange(length) / max(tau, 1e-6))
    white = rng.standard_normal(n + length - 1)
    return np.convolve(white, kernel, "valid")[:n] / np.sqrt((kernel**2).sum())


def _within(ts: np.ndarray, spans) -> np.ndarray:
    hit = np.zeros(len(ts), dtype=bool)
    for span in spans:
        hit |= (ts >= span[0]) & (ts <= span[1])
    return hit


@dataclass
class _Fixes:
    """The shift's fixes as arrays while they are made, in the grid's metres."""

    ts: np.ndarray
    x: np.ndarray
    y: np.ndarray
    accuracy: np.ndarray | None = None
    speed: np.ndarray | None = None
    heading: np.ndarray | None = None
    mock: np.ndarray | None = None


def _on_track(w: Walk, ts: np.ndarray) -> tuple[_Fixes, np.ndarray, np.ndarray]:
    """Where the walk was at each moment, and its true speed and heading."""
    kt, kx, ky = np.array(w.t), np.array(w.x), np.array(w.y)
    x, y = np.interp(ts, kt, kx), np.interp(ts, kt, ky)
    dt = np.diff(kt)
    dx, dy = np.diff(kx), np.diff(ky)
    with np.errstate(divide="ignore", invalid="ignore"):
        seg_speed = np.where(dt > 0, np.hypot(dx, dy) / dt, 0.0)
    seg = np.clip(np.searchsorted(kt, ts, side="right") - 1, 0, len(dt) - 1)
    true_heading = np.degrees(np.arctan2(dx, dy))[seg] % 360
    return _Fixes(ts=ts, x=x, y=y), seg_speed[seg], true_heading


def _errors(f: _Fixes, w: Walk, rng, interval: float, mix: PatrolMix) -> None:
    """The reported accuracy and the position's error: a quarter of it per axis, wandering."""
    n = len(f.ts)
    # Receivers smooth their solution: the error wanders over about a minute, so a
    # standing inspector drifts a metre or so between fixes, not a whole error's width.
    tau = max(60.0 / interval, 0.5)
    accuracy = np.exp(np.log(rng.uniform(6.0, 10.0)) + 0.3 * _smooth(rng, n, tau))
    indoor = _within(f.ts, w.indoor)
    accuracy[indoor] *= 2.2
    accuracy = np.clip(accuracy, 3.0, 30.0)
    accuracy[:3] = rng.uniform(20, 45, 3)[: min(3, n)]  # a cold start
    sigma = accuracy / 4
    f.x += sigma * _smooth(rng, n, tau)
    f.y += sigma * _smooth(rng, n, tau)
    poor = rng.random(n) < mix.poor
    accuracy[poor] = rng.uniform(35, 95, n)[poor]
    off, angle = rng.uniform(0.3, 0.8, n) * accuracy, rng.uniform(0, 2 * np.pi, n)
    f.x[poor] += (off * np.cos(angle))[poor]
    f.y[poor] += (off * np.sin(angle))[poor]
    f.accuracy = accuracy


def _motion(f: _Fixes, rng, true_speed: np.ndarray, true_heading: np.ndarray) -> None:
    """Speed and heading as the receiver reports them: none of a heading standing still."""
    n = len(f.ts)
    moving = true_speed > 0.3
    f.speed = np.where(
        moving,
        np.clip(true_speed * (1 + rng.normal(0, 0.08, n)) + rng.normal(0, 0.1, n), 0, None),
        np.abs(rng.normal(0, 0.06, n)),
    )
    f.heading = np.where(moving, (true_heading + rng.normal(0, 10, n)) % 360, np.nan)


def _mocked(f: _Fixes, w: Walk, rng) -> None:
    """Under a mock location: the held position, a perfect accuracy, walking speed."""
    f.mock = np.zeros(len(f.ts), dtype=bool)
    for m0, m1, mx, my in w.mock:
        hold = (f.ts >= m0) & (f.ts <= m1)
        f.mock |= hold
        f.x[hold], f.y[hold] = mx, my
        f.accuracy[hold], f.speed[hold] = 3.0, MOCK_SPEED_MS
        f.heading[hold] = float(rng.uniform(0, 360))


def _jump(f: _Fixes, keep: np.ndarray, rng, jump_at: float, until: float) -> None:
    """One fix far off, its neighbours dropped (see JUMP_CLEAR_S)."""
    ts, n = f.ts, len(f.ts)
    k = int(np.clip(np.searchsorted(ts, jump_at), 3, max(n - 4, 3)))
    if k < n and not f.mock[k]:
        keep &= ~((np.abs(ts - ts[k]) < JUMP_CLEAR_S) & (np.arange(n) != k))
        keep[k] = ts[k] <= until
        angle, far = rng.uniform(0, 2 * np.pi), rng.uniform(*JUMP_M)
        f.x[k] += far * np.cos(angle)
        f.y[k] += far * np.sin(angle)
        f.accuracy[k] = rng.uniform(20, 45)


def sample_fixes(
    w: Walk,
    streets: Streets,
    who: Inspector,
    rng,
    t0: float,
    t1: float,
    cut: float,
    interval: float,
    jump_at: float | None,
    battery: float,
    mix: PatrolMix,
) -> FixArrays:
    """The fixes the handheld sends during [t0, t1], none after ``cut``. Every random draw is
    made for the whole shift before the cut, so the part kept is the same whenever it is cut."""
    n = int((t1 - t0) / interval) + 1
    ts = t0 + rng.uniform(1, interval) + interval * np.arange(n) + rng.uniform(-0.4, 0.4, n)
    f, true_speed, true_heading = _on_track(w, ts)
    _errors(f, w, rng, interval, mix)
    _motion(f, rng, true_speed, true_heading)
    altitude = who.altitude + rng.normal(0, 2.5, n)
    drain = rng.uniform(4, 8) / 3600
    level = np.clip(np.round(battery - drain * (ts - t0)), 5, 100)
    _mocked(f, w, rng)
    keep = (ts <= min(t1, cut)) & (rng.random(n) >= mix.lost) & ~_within(ts, w.quiet)
    if jump_at is not None:
        _jump(f, keep, rng, jump_at, min(t1, cut))
    lon, lat = streets.lonlat_of(f.x[keep], f.y[keep])
    m = int(keep.sum())
    return FixArrays(
        ms=np.rint(ts[keep] * 1000).astype(np.int64),
        lon=np.round(lon, 7),
        lat=np.round(lat, 7),
        accuracy=np.round(f.accuracy[keep], 1),
        speed=np.round(f.speed[keep], 2),
        heading=np.round(f.heading[keep], 1),
        altitude=np.round(altitude[keep], 1),
        battery=level[keep],
        mock=f.mock[keep],
        client_id=np.full(m, "", dtype=object),
        unreadable=np.zeros(m, dtype=bool),
    )
