"""The demo patrols' days and their writing: each inspector-day's shifts planned in memory,
then written in batches with their fixes (ingestion's own statement) and their reports."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import AssignmentKind, GridAssignment, Role
from gridcity.geometry import to_shapely
from gridcity.models import Checkpoint, WorkGrid
from patrol import partitions
from patrol.analysis import CheckpointSpec
from patrol.demo.fixes import sample_fixes
from patrol.demo.mix import (
    BATCH_SIZE,
    DEFAULT_MIX,
    MIN_SHIFT_FIXES,
    SHANGHAI,
    TODAY_FROM,
    Beat,
    PatrolMix,
    Progress,
)
from patrol.demo.streets import Inspector, Streets, inspector_draw, rng_for
from patrol.demo.walk import patrol_walk
from patrol.filters import FixArrays
from patrol.models import Shift, ShiftEnd, ShiftStatus, TrackPoint
from patrol.services import _points_insert, shift_report_compute


def demo_beats(grids: Iterable[WorkGrid]) -> list[Beat]:
    """The beats of these grids, in their order: each grid with its current primary inspector
    (grids without one are left out, and an inspector holding several grids walks the first).
    Two queries besides the grids'."""
    grids = list(grids)
    ids = [g.pk for g in grids]
    held = {
        grid_id: (assignment_id, inspector_id)
        for grid_id, assignment_id, inspector_id in GridAssignment.objects.filter(
            grid_id__in=ids,
            kind=AssignmentKind.PRIMARY,
            valid_to__isnull=True,
            inspector__is_active=True,
            inspector__role=Role.INSPECTOR,
        ).values_list("grid_id", "id", "inspector_id")
    }
    checkpoints: dict[int, list[CheckpointSpec]] = {}
    for c in Checkpoint.objects.filter(grid_id__in=ids).order_by("code"):
        checkpoints.setdefault(c.grid_id, []).append(CheckpointSpec.of(c))
    beats, walking = [], set()
    for g in grids:
        if g.pk not in held or held[g.pk][1] in walking:
            continue
        assignment_id, inspector_id = held[g.pk]
        walking.add(inspector_id)
        beats.append(
            Beat(
                inspector_id=inspector_id,
                assignment_id=assignment_id,
                grid_id=g.pk,
                grid_code=g.code,
                shape=to_shapely(g.geom),
                checkpoints=tuple(checkpoints.get(g.pk, ())),
            )
        )
    return beats


def patrol_days(days: int, now: datetime) -> list[date]:
    """The ``days`` local days ending today (yesterday before TODAY_FROM), oldest first."""
    local = timezone.localtime(now, SHANGHAI)
    last = local.date() if local.time() >= TODAY_FROM else local.date() - timedelta(days=1)
    return [last - timedelta(days=back) for back in range(days - 1, -1, -1)]


# --- a day -------------------------------------------------------------------------------------


@dataclass
class _ShiftPlan:
    started_at: datetime
    ended_at: datetime
    end_reason: str
    client_uuid: uuid.UUID
    fixes: FixArrays
    received_at: datetime


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=SHANGHAI)


def _day_spans(rng, day: date, mix: PatrolMix) -> list[tuple[float, float, bool, str]]:
    """(start, planned end, morning, why it ends) of the day's shifts, epoch seconds."""
    midnight = datetime.combine(day, time.min, tzinfo=SHANGHAI).timestamp()
    minute = 60.0

    def around(hours: float, sd_min: float, lo_min: float, hi_min: float) -> float:
        return (
            midnight + hours * 3600 + float(np.clip(rng.normal(0, sd_min), lo_min, hi_min)) * minute
        )

    spans = [
        [around(8.5, 7, -20, 30), around(12.0, 8, -15, 20), True],
        [around(14.0, 8, -20, 30), around(18.0, 10, -20, 25), False],
    ]
    half, which = rng.random() < mix.half_day, int(rng.integers(2))
    early = rng.random(2) < mix.leave_early
    early_by = rng.uniform(30, 100, 2) * minute
    forget = rng.random(2) < mix.forget_end
    out = []
    for i, (t0, t1, morning) in enumerate(spans):
        if half and i == which:
            continue
        if early[i]:
            t1 -= early_by[i]
        out.append((t0, t1, morning, ShiftEnd.IDLE if forget[i] else ShiftEnd.ENDED))
    return out


def _day_plan(
    beat: Beat,
    streets: Streets,
    who: Inspector,
    day: date,
    *,
    seed: int,
    cut: float,
    interval: float,
    mix: PatrolMix,
) -> list[_ShiftPlan] | None:
    """The day's shifts of the beat's inspector; None for a day they did not work."""
    rng = rng_for(seed, beat.grid_code, 2, day.toordinal())
    absent = rng.random() < who.absent
    spans = _day_spans(rng, day, mix)
    battery = float(rng.uniform(55, 100))
    if absent:
        return None
    plans = []
    for i, (t0, t1, morning, reason) in enumerate(spans):
        shift_rng = rng_for(seed, beat.grid_code, 3, day.toordinal(), i)
        walk, jump_at = patrol_walk(streets, who, shift_rng, t0, t1, morning, mix)
        fixes = sample_fixes(
            walk, streets, who, shift_rng, t0, t1, cut, interval, jump_at, battery, mix
        )
        started = shift_rng.uniform(3, 40)
        ended = shift_rng.uniform(5, 90)
        received = shift_rng.uniform(1, 30)
        client = uuid.UUID(bytes=shift_rng.bytes(16), version=4)
        # Charged over lunch, or not.
        battery = float(shift_rng.uniform(80, 100)) if shift_rng.random() < 0.5 else battery - 20
        if len(fixes) < MIN_SHIFT_FIXES:
            continue
        first, last = int(fixes.ms[0]), int(fixes.ms[-1])
        idle = reason == ShiftEnd.IDLE
        plans.append(
            _ShiftPlan(
                started_at=_moment(first - round(started * 1000)),
                ended_at=_moment(last if idle else min(last + round(ended * 1000), cut * 1000)),
                end_reason=reason,
                client_uuid=client,
                fixes=fixes,
                received_at=_moment(min(last + round(received * 1000), cut * 1000)),
            )
        )
    return plans


# --- writing -----------------------------------------------------------------------------------


def _assignments_backdate(beats: list[Beat], since: datetime) -> int:
    """Let the beats' assignments hold during the seeded days; how many were moved.

    The demo city's assignments begin when it was seeded, the patrols before: a shift that
    began before its inspector held the grid has no grid in its report (no checkpoints, no
    coverage) and no supervisor who may see it. An assignment with nothing before it, of its
    grid or of its inspector, is moved back to ``since``; one with a history before it is
    left alone, and so are the shifts before it.
    """
    ids = [b.assignment_id for b in beats]
    late = list(
        GridAssignment.objects.filter(pk__in=ids, valid_from__gt=since).values_list(
            "pk", "grid_id", "inspector_id", "valid_from"
        )
    )
    if not late:
        return 0
    grids = {grid_id for _pk, grid_id, _who, _at in late}
    people = {who for _pk, _grid_id, who, _at in late}
    first_of: dict[tuple[str, int], datetime] = {}
    for grid_id, who, valid_from in GridAssignment.objects.filter(
        Q(grid_id__in=grids) | Q(inspector_id__in=people)
    ).values_list("grid_id", "inspector_id", "valid_from"):
        for key in (("grid", grid_id), ("inspector", who)):
            first_of[key] = min(first_of.get(key, valid_from), valid_from)
    moved = [
        pk
        for pk, grid_id, who, valid_from in late
        if first_of[("grid", grid_id)] >= valid_from and first_of[("inspector", who)] >= valid_from
    ]
    with transaction.atomic():
        GridAssignment.objects.filter(pk__in=moved).update(valid_from=since)
    return len(moved)


def _batch_write(planned: list[tuple[Beat, date, list[_ShiftPlan]]]) -> tuple[list[Shift], int]:
    """The shifts of these inspector-days and their fixes; the shifts written and the fixes."""
    rows, plans = [], []
    for beat, _day, day_plans in planned:
        for plan in day_plans:
            rows.append(
                Shift(
                    inspector_id=beat.inspector_id,
                    client_uuid=plan.client_uuid,
                    status=ShiftStatus.CLOSED,
                    started_at=plan.started_at,
                    ended_at=plan.ended_at,
                    end_reason=plan.end_reason,
                    first_point_at=_moment(int(plan.fixes.ms[0])),
                    last_point_at=_moment(int(plan.fixes.ms[-1])),
                    points_count=len(plan.fixes),
                )
            )
            plans.append(plan)
    written_shifts, fixes = [], 0
    for shift, plan in zip(Shift.objects.bulk_create(rows), plans, strict=True):
        written = _points_insert(
            inspector_id=shift.inspector_id,
            shift_ids=np.full(len(plan.fixes), shift.pk, dtype=np.int64),
            fixes=plan.fixes,
            received_at=plan.received_at,
        ).get(shift.pk, 0)
        # Fixes of that inspector and time stored already (another shift that reaches into the
        # day): the shift keeps what it got, and one that got nothing goes.
        if not written:
            shift.delete()
            continue
        if written != len(plan.fixes):
            Shift.objects.filter(pk=shift.pk).update(points_count=written)
            shift.points_count = written
        written_shifts.append(shift)
        fixes += written
    return written_shifts, fixes


def _analyze() -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Shift._meta.db_table}, {TrackPoint._meta.db_table}")


def demo_patrols_seed(
    *,
    beats: list[Beat],
    days: int = 1,
    interval_s: float = 10.0,
    seed: int = 2026,
    now: datetime | None = None,
    mix: PatrolMix = DEFAULT_MIX,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the patrols of these beats for the ``days`` days ending today (``now``, default
    the present; before TODAY_FROM, ending yesterday), none after ``now``; each shift with its
    fixes and its report (``shift_report_compute``).

    One transaction per ``batch_size`` inspector-days; an inspector-day on which a shift of
    the inspector already begins is skipped. The beats' assignments are moved back to the
    first day where they are the first of their grid and inspector
    (``_assignments_backdate``). ``progress(stage, done, total, shifts=…, fixes=…)`` is called
    after each batch. Returns the counts: inspector-days written, skipped (already there) and
    off (not worked), shifts, fixes.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if not 1.0 <= interval_s <= 120.0:
        raise ValueError("the interval must be between 1 and 120 seconds")
    now = now or timezone.now()
    wanted = patrol_days(days, now)
    # Before any transaction: a partition made in one that rolls back would be remembered.
    partitions.track_partitions_ensure(wanted)
    _assignments_backdate(beats, partitions.day_bounds(wanted[0])[0])
    run = _Run(beats, seed=seed, cut=now.timestamp() - 60, interval=interval_s, mix=mix)
    todo = run.todo(wanted)
    total = len(todo)
    if progress:
        progress("patrols", 0, total, shifts=0, fixes=0)
    counts = run.counts
    for at in range(0, total, batch_size):
        batch = todo[at : at + batch_size]
        run.batch(batch)
        if progress:
            progress(
                "patrols", at + len(batch), total, shifts=counts["shifts"], fixes=counts["fixes"]
            )
    if counts["fixes"]:
        _analyze()
    return counts


class _Run:
    """The inspector-days of one run, planned and written a batch at a time, with the counts.
    ``cut``: no fix after it (the last minute's fixes are still on their way)."""

    def __init__(self, beats: list[Beat], *, seed: int, cut: float, interval: float, mix):
        self.beats, self.seed, self.cut, self.interval, self.mix = beats, seed, cut, interval, mix
        self.counts = {"inspector-days": 0, "skipped": 0, "off": 0, "shifts": 0, "fixes": 0}
        self.streets: dict[int, tuple[Streets, Inspector]] = {}

    def todo(self, wanted: list[date]) -> list[tuple[Beat, date]]:
        """The inspector-days not seeded yet, day by day."""
        todo = []
        for day in wanted:
            there = _seeded(self.beats, day)
            self.counts["skipped"] += len(there)
            todo += [(beat, day) for beat in self.beats if beat.inspector_id not in there]
        return todo

    def grid(self, beat: Beat) -> tuple[Streets, Inspector]:
        """The beat's streets and inspector, drawn once per run."""
        if beat.grid_id not in self.streets:
            seed, mix = self.seed, self.mix
            s = Streets(beat.shape, beat.checkpoints, rng_for(seed, beat.grid_code, 0))
            self.streets[beat.grid_id] = (
                s,
                inspector_draw(s, rng_for(seed, beat.grid_code, 1), mix),
            )
        return self.streets[beat.grid_id]

    def batch(self, batch: list[tuple[Beat, date]]) -> None:
        """Plan these inspector-days, then write them with their reports in one transaction."""
        counts, planned = self.counts, []
        for beat, day in batch:
            s, who = self.grid(beat)
            plans = _day_plan(
                beat,
                s,
                who,
                day,
                seed=self.seed,
                cut=self.cut,
                interval=self.interval,
                mix=self.mix,
            )
            planned.append((beat, day, plans))
        with transaction.atomic():
            # Checked again in the transaction: another run may have written some meanwhile.
            there = {d: _seeded(self.beats, d) for d in {day for _beat, day in batch}}
            fresh = [(b, d, p) for b, d, p in planned if b.inspector_id not in there[d]]
            counts["skipped"] += len(planned) - len(fresh)
            counts["off"] += sum(1 for _b, _d, p in fresh if not p)
            counts["inspector-days"] += sum(1 for _b, _d, p in fresh if p)
            shifts, fixes = _batch_write([(b, d, p) for b, d, p in fresh if p])
            for shift in shifts:
                shift_report_compute(shift=shift)
        counts["shifts"] += len(shifts)
        counts["fixes"] += fixes


def _seeded(beats: list[Beat], day: date) -> set[int]:
    """The beats' inspectors with a shift begun on that local day."""
    if not beats:
        return set()
    start, end = partitions.day_bounds(day)
    return set(
        Shift.objects.filter(
            inspector_id__in=[b.inspector_id for b in beats],
            started_at__gte=start,
            started_at__lt=end,
        ).values_list("inspector_id", flat=True)
    )
