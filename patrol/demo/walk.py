"""A shift's walk: rounds of the grid's checkpoints along its streets, with what happens on the
way (a problem reported, a shop, an excursion over the edge, lunch) and, for a few inspectors,
an anomaly (a jump, a mock location, a ride)."""

import numpy as np

from patrol.demo.mix import CHECKPOINT_REACH_M, RIDE_SPEED_MS, PatrolMix
from patrol.demo.streets import Inspector, Streets


class Walk:
    """A walk as knots of a piecewise-linear track (time, x, y) in the grid's metres, and the
    time spans that were indoors, under a mock location, or without fixes."""

    def __init__(self, streets: Streets, rng, t: float, node: int, pace: float):
        self.s, self.rng, self.pace = streets, rng, pace
        x, y = streets.xy[node]
        self.t, self.x, self.y = [t], [float(x)], [float(y)]
        self.node = node  # the crossing the walker is at, or last left
        self.off_street = False
        self.indoor: list[tuple[float, float]] = []
        self.mock: list[tuple[float, float, float, float]] = []  # t0, t1, x, y
        self.quiet: list[tuple[float, float]] = []

    @property
    def now(self) -> float:
        return self.t[-1]

    def _step(self, x: float, y: float, speed: float) -> None:
        d = float(np.hypot(x - self.x[-1], y - self.y[-1]))
        if d > 0.01:
            self.t.append(self.t[-1] + d / speed)
            self.x.append(float(x))
            self.y.append(float(y))

    def _speed(self) -> float:
        return self.pace * float(self.rng.uniform(0.9, 1.1))

    def to_node(self, j: int, speed: float | None = None) -> None:
        speed = speed or self._speed()
        if self.off_street:
            self._step(*self.s.xy[self.node], speed)
            self.off_street = False
        for k in self.s.path(self.node, j)[1:]:
            self._step(*self.s.xy[k], speed)
        self.node = j

    def to_point(self, x: float, y: float, speed: float | None = None) -> None:
        """Off the street lattice, from the current crossing (or place)."""
        self._step(x, y, speed or self._speed())
        self.off_street = True

    def stay(self, seconds: float) -> None:
        seconds = max(float(seconds), 1.0)
        self.t.append(self.t[-1] + seconds)
        self.x.append(self.x[-1])
        self.y.append(self.y[-1])

    def outward(self, node: int, metres: float) -> tuple[float, float] | None:
        """A place ``metres`` out of the grid beyond this crossing, if that is outside."""
        p = self.s.xy[node]
        away = p - self.s.centre
        norm = float(np.hypot(*away))
        if norm < 1e-6:
            return None
        away /= norm
        for extra in (0.0, 60.0, 150.0):
            x, y = p + away * (metres + extra)
            if not self.s.inside(x, y):
                return float(x), float(y)
        return None


def _shift_events(who: Inspector, rng, t0: float, t1: float, mix: PatrolMix):
    """What interrupts the rounds, as (time, kind) in order, and the time of a jump (or None)."""
    span = t1 - t0
    events = [
        (t0 + rng.uniform(0.05, 0.95) * span, "issue") for _ in range(rng.poisson(mix.issue_stops))
    ]
    if rng.random() < mix.shop:
        events.append((t0 + rng.uniform(0.1, 0.9) * span, "shop"))
    if rng.random() < mix.excursion:
        events.append((t0 + rng.uniform(0.1, 0.9) * span, "excursion"))
    jump_at = None
    if who.anomalous and rng.random() < mix.anomaly:
        weights = np.asarray(mix.anomaly_kinds, dtype=float)
        kind = str(rng.choice(["jump", "mock", "ride"], p=weights / weights.sum()))
        at = t0 + rng.uniform(0.15, 0.8) * span
        if kind == "jump":
            jump_at = at
        else:
            events.append((at, kind))
    events.sort()
    return events, jump_at


def patrol_walk(
    streets: Streets, who: Inspector, rng, t0: float, t1: float, morning: bool, mix: PatrolMix
):
    """The walk of one shift from ``t0`` to past ``t1``, and the time of a jump (or None)."""
    w = Walk(streets, rng, t0, who.home, who.pace)
    events, jump_at = _shift_events(who, rng, t0, t1, mix)
    lunch_at = t1 - rng.uniform(15, 35) * 60 if morning and rng.random() < mix.lunch else None
    n_checkpoints = len(streets.checkpoint_node)
    start = int(rng.integers(max(n_checkpoints, 1)))
    # Hurried through all shift long: a checkpoint the day's figures show as not met, not
    # only a short visit among good ones.
    hurried = rng.random(n_checkpoints) < who.short_stay
    rounds = _Rounds(w, who, mix, events, hurried)
    while w.now < t1:
        lap_began = w.now
        if lunch_at is not None and w.now >= lunch_at:
            begin = _go_in(w, streets, rng, 40)
            w.stay(t1 - w.now + 120)
            w.indoor.append((begin, w.now))
            break
        if n_checkpoints:
            lap = list(who.order[start:] + who.order[:start])
            start = 0
            if rng.random() < mix.shuffle:
                lap = [int(k) for k in rng.permutation(lap)]
        else:
            lap = [None] * 3
        rounds.lap(lap, t1)
        if w.now == lap_began:  # every checkpoint skipped: a pause, then another round
            w.stay(60)
    return w, jump_at


class _Rounds:
    """The rounds of one shift: legs from checkpoint to checkpoint and the stays at them."""

    def __init__(self, w: Walk, who: Inspector, mix: PatrolMix, events, hurried):
        self.w, self.s, self.rng, self.who, self.mix = w, w.s, w.rng, who, mix
        self.events, self.hurried = events, hurried

    def pending(self) -> None:
        """The events whose time has come, in order."""
        w, events = self.w, self.events
        while events and events[0][0] <= w.now:
            EVENTS[events.pop(0)[1]](w, self.s, self.rng)

    def lap(self, lap: list, t1: float) -> None:
        """One round of the checkpoints (``None``: a crossing anywhere, for a grid without)."""
        w, rng, streets = self.w, self.rng, self.s
        for k in lap:
            if w.now >= t1:
                break
            if k is not None and rng.random() < self.who.skip:
                continue
            if k is None:  # a grid without checkpoints: the streets
                target = int(rng.integers(len(streets.xy)))
            else:
                target = int(streets.checkpoint_node[k])
            self.leg(target, len(lap))
            if k is None:
                w.stay(rng.uniform(30, 120))
                continue
            self.dwell(k)

    def leg(self, target: int, lap_length: int) -> None:
        """To the next checkpoint's crossing, by a crossing or two off the shortest way."""
        w, rng, mix = self.w, self.rng, self.mix
        # About as many crossings gone by in a round whatever the number of checkpoints:
        # a round walks the grid's streets, not only from checkpoint to checkpoint.
        for _ in range(min(int(rng.poisson(self.who.detours * 4.5 / lap_length)), 8)):
            self.pending()
            via = _detour(self.s, rng, w.node, target)
            if via is not None:
                w.to_node(via)
                look = rng.random()
                if look < mix.visit:
                    w.stay(rng.uniform(300, 900))
                elif look < mix.visit + mix.inspect:
                    w.stay(rng.uniform(60, 300))
        self.pending()
        w.to_node(target)

    def dwell(self, k: int) -> None:
        """Up to the checkpoint and a stay there: over its minimum, or hurried under it."""
        w, rng = self.w, self.rng
        cx, cy = self.s.checkpoint_xy[k]
        angle, reach = rng.uniform(0, 2 * np.pi), rng.uniform(0, CHECKPOINT_REACH_M)
        w.to_point(cx + reach * np.cos(angle), cy + reach * np.sin(angle))
        need = self.s.min_dwell[k]
        if need <= 0:
            w.stay(rng.uniform(20, 90))
        elif self.hurried[k] or rng.random() < self.mix.short_now_and_then:
            # Walking in and out of the 30 m radius adds about 50 s to the dwell the
            # analysis measures: at most 60 % of the minimum stays under it.
            w.stay(need * rng.uniform(0.1, 0.6))
        else:
            w.stay(need * rng.uniform(1.0, 1.4) + rng.uniform(20, 60))


def _detour(streets: Streets, rng, here: int, target: int) -> int | None:
    """A crossing to go by on the way: round a block or two, not across the grid and back."""
    slack = rng.uniform(100, 450)
    d = streets.dist
    candidates = np.flatnonzero(d[here] + d[:, target] <= d[here, target] + slack)
    candidates = candidates[(candidates != here) & (candidates != target)]
    return int(rng.choice(candidates)) if len(candidates) else None


# --- what interrupts the rounds ---------------------------------------------------------------


def _go_in(w: Walk, streets: Streets, rng, reach_m: float) -> float:
    """To a crossing at the grid's edge and, half the time, into a place up to ``reach_m``
    beyond it; when they got there."""
    node = int(rng.choice(streets.edge_nodes))
    w.to_node(node)
    place = w.outward(node, rng.uniform(10, reach_m)) if rng.random() < 0.5 else None
    if place:
        w.to_point(*place)
    return w.now


def _issue(w: Walk, streets: Streets, rng) -> None:
    """A problem seen on the way: stop, photograph it, report it (上报)."""
    near = np.flatnonzero(streets.dist[w.node] <= 150)
    w.to_node(int(rng.choice(near)))
    w.stay(rng.uniform(90, 360))


def _shop(w: Walk, streets: Streets, rng) -> None:
    """A shop or tea, indoors: poorer fixes, and for some a while with none at all."""
    begin = _go_in(w, streets, rng, 35)
    length = rng.uniform(240, 720)
    w.stay(length)
    w.indoor.append((begin, w.now))
    if rng.random() < 0.4:  # deep inside, no fix at all for a while
        quiet = min(length - 60, rng.uniform(60, 240))
        w.quiet.append((begin + 30, begin + 30 + quiet))


def _excursion(w: Walk, streets: Streets, rng) -> None:
    """A short walk over the grid's edge and back."""
    node = int(rng.choice(streets.edge_nodes))
    place = w.outward(node, rng.uniform(40, 160))
    if place:
        w.to_node(node)
        w.to_point(*place)
        w.stay(rng.uniform(60, 300))
        w.to_node(node)


def _mock(w: Walk, streets: Streets, rng) -> None:
    """A fake-GPS app holds the handheld on a checkpoint while the inspector is elsewhere."""
    if len(streets.checkpoint_node):
        k = int(rng.integers(len(streets.checkpoint_node)))
        w.to_node(int(streets.checkpoint_node[k]))
        x, y = streets.checkpoint_xy[k]
        w.to_point(x, y)
        begin = w.now
        w.stay(rng.uniform(480, 1200))
        w.mock.append((begin, w.now, float(x), float(y)))


def _ride(w: Walk, streets: Streets, rng) -> None:
    """A ride faster than on foot, out of the grid and back."""
    node = int(rng.choice(streets.edge_nodes))
    place = w.outward(node, rng.uniform(1200, 2000))
    if place:
        speed = rng.uniform(*RIDE_SPEED_MS)
        w.to_node(node)
        w.to_point(*place, speed=speed)
        w.stay(rng.uniform(240, 600))
        w.to_node(node, speed=speed)


EVENTS = {"issue": _issue, "shop": _shop, "excursion": _excursion, "mock": _mock, "ride": _ride}
