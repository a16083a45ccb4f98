"""Every write of patrol: shifts, the ingestion of fixes, reports, retention, trackers.

Everything that changes an inspector's shifts or fixes first takes that inspector's lock
(``_inspector_lock``: a transaction-scoped advisory lock on PostgreSQL, the write lock on
SQLite), so two uploads of one handheld at once (a retry racing the original, a buffer flushed
while the live upload runs), an idle sweep and a shift end are serialised, while uploads of
different inspectors never wait for each other.

Ingestion is the hot path (500–1,000 fixes a second for the district, in bursts when handhelds
come back online): numpy over the batch, a fixed number of statements whatever its size, and
the fixes written by one hand-written statement (``_points_insert``), measured by
bench/bench_ingest.py.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import numpy as np
import shapely
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import policy
from accounts.models import Device, GridAssignment, User
from gridcity import coords
from gridcity.errors import Conflict, FieldInvalid
from gridcity.geometry import to_shapely
from gridcity.models import Checkpoint, WorkGrid
from patrol import filters, partitions
from patrol.analysis import CheckpointSpec, analyse_track
from patrol.filters import FilterParams, FixArrays, StoredFixes
from patrol.fixes import Fix
from patrol.models import Shift, ShiftEnd, ShiftStatus, Tracker, TrackPoint
from patrol.selectors import (
    MS,
    db_time,
    epoch_ms_sql,
    from_ms,
    shift_grids,
    shift_track,
    shifts_idle,
    to_ms,
)

log = logging.getLogger(__name__)


class ShiftConflict(Conflict):
    """A request that contradicts what is stored (409)."""

    def __init__(self, message: str, code: str = "conflict"):
        super().__init__(message, code=code)


class PatrolForbidden(PermissionDenied):
    """The caller may not do this (403)."""


class PatrolInvalid(FieldInvalid):
    """Input the service refuses (400), naming the field."""


def _idle() -> timedelta:
    return timedelta(minutes=settings.GRIDCITY_PATROL_IDLE_MINUTES)


def _silence() -> timedelta:
    return timedelta(minutes=settings.GRIDCITY_PATROL_SHIFT_SILENCE_MINUTES)


def _longest() -> timedelta:
    return timedelta(hours=settings.GRIDCITY_PATROL_SHIFT_MAX_HOURS)


def _link(shift: Shift) -> timedelta:
    """The longest silence that does not end this shift: the idle time for a shift its fixes
    opened by themselves, GRIDCITY_PATROL_SHIFT_SILENCE_MINUTES for one the inspector started
    (a lunch indoors without a fix is still the shift the inspector started)."""
    return _idle() if shift.opened_auto else max(_idle(), _silence())


def _limit(shift: Shift) -> datetime | None:
    """The latest time a shift the inspector started may hold (None for one its fixes opened:
    those end by the idle rule alone)."""
    return None if shift.opened_auto else shift.started_at + _longest()


def _require_inspector(user: User) -> None:
    if not policy.may_patrol(user):
        raise PatrolForbidden(_("Only grid inspectors record patrols."))


_LOCK_CLASS = 0x50415452  # "PATR": the advisory locks of patrol, one per inspector


def _inspector_lock(inspector_id: int) -> None:
    """Serialise the writers of one inspector's shifts and fixes until the transaction ends."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, inspector_id & 0x7FFFFFFF]
            )
        else:
            # SQLite has one writer at a time. A write first (one that changes nothing) takes
            # that lock now, so a second upload waits for it (the busy timeout) instead of
            # failing when its reads turn into a write behind the first one's back.
            cursor.execute(f"UPDATE {Shift._meta.db_table} SET id = id WHERE 0")


def _close(shift: Shift, *, at: datetime, reason: str) -> None:
    shift.status = ShiftStatus.CLOSED
    shift.ended_at = at
    shift.end_reason = reason
    shift.save(update_fields=["status", "ended_at", "end_reason", "updated_at"])
    _report_later(shift.pk)


def _report_later(shift_id: int) -> None:
    """Compute the shift's report in the background once this commits. Robust: a broker that
    is down must not fail what was committed (the nightly run catches up)."""
    transaction.on_commit(lambda: _report_schedule(shift_id), robust=True)


def _report_schedule(shift_id: int) -> None:
    from patrol.tasks import shift_report_task

    shift_report_task.delay(shift_id)


def _last_seen(shift: Shift) -> datetime:
    return shift.last_point_at or shift.started_at


# --- shifts --------------------------------------------------------------------------------


@transaction.atomic
def shift_start(
    *,
    inspector: User,
    client_uuid,
    started_at: datetime | None = None,
    device: Device | None = None,
) -> Shift:
    """上岗: the inspector starts a shift on the handheld. Idempotent by ``client_uuid``.

    The same ``client_uuid`` again returns the same shift (its ``created`` attribute is False);
    another person's is a ``ShiftConflict`` that says nothing about it. A shift still open is
    closed (``next``) at its last fix, and the new one never begins before the end of the one
    before it. A shift that the inspector's fixes opened by themselves (``opened_auto``) and
    that already holds fixes after ``started_at`` is taken over instead: the handheld started
    offline and its fixes arrived first.
    """
    _require_inspector(inspector)
    _inspector_lock(inspector.pk)
    existing = Shift.objects.filter(client_uuid=client_uuid).defer("report").first()
    if existing is not None:
        if existing.inspector_id != inspector.pk:
            raise _client_uuid_reused()
        existing.created = False
        return existing
    started_at = _start_checked(started_at)

    shifts = Shift.objects.filter(inspector=inspector).defer("report")
    current = shifts.filter(status=ShiftStatus.OPEN).first()
    if (
        current is not None
        and current.opened_auto
        and current.client_uuid is None
        and started_at <= _last_seen(current)
    ):
        return _shift_take_over(
            current, client_uuid=client_uuid, started_at=started_at, device=device
        )
    if current is not None:
        _close(current, at=_last_seen(current), reason=ShiftEnd.NEXT)
    latest = shifts.order_by("-started_at", "-id").first()
    if latest is not None:
        started_at = max(started_at, latest.ended_at or _last_seen(latest))
    try:
        with transaction.atomic():
            shift = Shift.objects.create(
                inspector=inspector, device=device, client_uuid=client_uuid, started_at=started_at
            )
    except IntegrityError:
        # The same client_uuid, from another person, committed meanwhile.
        raise _client_uuid_reused() from None
    shift.created = True
    return shift


def _client_uuid_reused() -> ShiftConflict:
    return ShiftConflict(
        _("This client_uuid was already used for another shift."), "client_uuid_reused"
    )


def _start_checked(started_at: datetime | None) -> datetime:
    """When a shift starts: now unless given; a time in the future or too long ago is refused."""
    now = timezone.now()
    started_at = started_at or now
    if started_at > now + timedelta(seconds=settings.GRIDCITY_PATROL_FUTURE_SECONDS):
        raise PatrolInvalid("started_at", _("This time is in the future."))
    if started_at < now - timedelta(days=settings.GRIDCITY_PATROL_MAX_AGE_DAYS):
        raise PatrolInvalid("started_at", _("This time is too long ago."))
    return started_at


def _shift_take_over(
    shift: Shift, *, client_uuid, started_at: datetime, device: Device | None
) -> Shift:
    """The shift the inspector's fixes opened by themselves becomes the one they start."""
    shift.client_uuid = client_uuid
    shift.opened_auto = False
    shift.started_at = min(shift.started_at, started_at)
    shift.device = shift.device or device
    shift.save(update_fields=["client_uuid", "opened_auto", "started_at", "device", "updated_at"])
    shift.created = True
    return shift


@transaction.atomic
def shift_end(*, shift: Shift, by: User, ended_at: datetime | None = None) -> Shift:
    """下岗: the inspector ends their shift. Idempotent: an ended shift is returned unchanged.

    The end is never before the shift's last fix. The shift's report is computed in the
    background once this commits.
    """
    if by.pk != shift.inspector_id or not by.is_active:
        raise PatrolForbidden(_("Only the inspector ends their shift."))
    _inspector_lock(shift.inspector_id)
    shift = Shift.objects.get(pk=shift.pk)
    if shift.status == ShiftStatus.CLOSED:
        return shift
    now = timezone.now()
    ended_at = ended_at or now
    if ended_at > now + timedelta(seconds=settings.GRIDCITY_PATROL_FUTURE_SECONDS):
        raise PatrolInvalid("ended_at", _("This time is in the future."))
    _close(shift, at=max(ended_at, _last_seen(shift)), reason=ShiftEnd.ENDED)
    return shift


def _end_due(shift: Shift, now: datetime) -> str | None:
    """Why an open shift ends by itself at ``now``, if it does: ``idle`` after a silence
    longer than its link (``_link``), ``limit`` once a shift the inspector started has lasted
    GRIDCITY_PATROL_SHIFT_MAX_HOURS (a handheld left on patrol overnight)."""
    if _last_seen(shift) < now - _link(shift):
        return ShiftEnd.IDLE
    limit = _limit(shift)
    if limit is not None and now >= limit:
        return ShiftEnd.LIMIT
    return None


def shifts_close_idle(*, now: datetime | None = None) -> int:
    """Close the open shifts that end by themselves (``_end_due``), at their last fix; how
    many. A shift its fixes opened ends after GRIDCITY_PATROL_IDLE_MINUTES without a fix; one
    the inspector started after GRIDCITY_PATROL_SHIFT_SILENCE_MINUTES without one, or
    GRIDCITY_PATROL_SHIFT_MAX_HOURS after its start. Idempotent; each shift in its own short
    transaction, under its inspector's lock, so an upload arriving meanwhile is either in
    before or extends it after."""
    now = now or timezone.now()
    due = shifts_idle(
        idle_before=now - _idle(),
        silent_before=now - max(_idle(), _silence()),
        started_by=now - _longest(),
    )
    closed = 0
    for pk, inspector_id in due.values_list("pk", "inspector_id"):
        with transaction.atomic():
            _inspector_lock(inspector_id)
            shift = Shift.objects.filter(pk=pk, status=ShiftStatus.OPEN).defer("report").first()
            reason = None if shift is None else _end_due(shift, now)
            if reason is None:
                continue
            _close(shift, at=_last_seen(shift), reason=reason)
            closed += 1
    return closed


# --- ingestion -------------------------------------------------------------------------------


@dataclass
class IngestResult:
    accepted: int = 0
    duplicate: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    rejected_points: list[tuple[int, str]] = field(default_factory=list)
    shifts: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "rejected_points": [{"index": i, "reason": r} for i, r in self.rejected_points],
            "shifts": self.shifts,
        }


_NO_LIMIT = np.iinfo(np.int64).max


@dataclass
class _Span:
    """An existing shift as the assignment of fixes sees it (times in ms)."""

    shift: Shift
    start: int
    reach: int  # the last time it holds: its end, or for one that may go on, its last fix
    goes_on: bool  # open, or closed for idleness only: later fixes continue it
    link: int  # the longest gap after it that later fixes may continue it across
    limit: int  # the latest time it may hold (a shift the inspector started lasts so long)

    @classmethod
    def of(cls, shift: Shift) -> "_Span":
        goes_on = shift.status == ShiftStatus.OPEN or shift.end_reason == ShiftEnd.IDLE
        if goes_on:
            reach = max(to_ms(_last_seen(shift)), to_ms(shift.ended_at or shift.started_at))
        else:
            reach = to_ms(shift.ended_at)
        limit = _limit(shift)
        return cls(
            shift,
            to_ms(shift.started_at),
            reach,
            goes_on,
            _link(shift) // MS,
            _NO_LIMIT if limit is None else to_ms(limit),
        )


def _shifts_plan(ms: np.ndarray, spans: list[_Span], idle_ms: int) -> tuple[np.ndarray, list]:
    """Which shift each fix (times in ms, ascending) belongs to.

    A fix belongs to the shift whose span holds it; a fix after a shift that may go on (open,
    or closed only for idleness) continues it while each gap is at most that shift's link (the
    idle time, or the silence a shift the inspector started bears) and its length stays within
    its limit; a fix at most the idle time before a shift's start (and the chain of fixes
    before it) moves that start back. The rest open new shifts, split wherever a gap exceeds
    the idle time.

    Returns (index into ``spans`` per fix, or -1; the new shifts as arrays of fix positions).
    """
    n, k = len(ms), len(spans)
    slot = np.full(n, -1, np.int64)
    segments: list[np.ndarray] = []
    if n == 0:
        return slot, segments
    starts = np.array([s.start for s in spans], np.int64)
    reach = np.array([s.reach for s in spans], np.int64)
    before = np.searchsorted(starts, ms, side="right") - 1  # the last shift begun by then
    held = np.zeros(n, bool)
    if k:
        held = (before >= 0) & (ms <= reach[np.clip(before, 0, None)])
    slot[held] = before[held]
    loose = np.flatnonzero(~held)
    if not len(loose):
        return slot, segments
    # Loose fixes lie in the gaps between shifts; those of one gap are consecutive.
    cuts = np.flatnonzero(np.diff(before[loose])) + 1
    for gap in np.split(loose, cuts):
        j = int(before[gap[0]])
        times = ms[gap]
        lo, hi = 0, len(gap)
        if j >= 0 and spans[j].goes_on:
            steps = np.diff(np.concatenate([[reach[j]], times]))
            breaks = np.flatnonzero((steps > spans[j].link) | (times > spans[j].limit))
            lo = int(breaks[0]) if len(breaks) else hi
            slot[gap[:lo]] = j
        if j + 1 < k and lo < hi:
            steps = np.diff(np.concatenate([times[lo:], [starts[j + 1]]]))
            breaks = np.flatnonzero(steps > idle_ms)
            first = lo + (int(breaks[-1]) + 1 if len(breaks) else 0)
            slot[gap[first:hi]] = j + 1
            hi = first
        if lo < hi:
            middle = gap[lo:hi]
            segments.extend(np.split(middle, np.flatnonzero(np.diff(ms[middle]) > idle_ms) + 1))
    return slot, segments


def _convert(arrays: FixArrays, which: np.ndarray, crs: str) -> None:
    if crs != "wgs84" and which.any():
        arrays.lon[which], arrays.lat[which] = coords.convert(
            arrays.lon[which], arrays.lat[which], crs, "wgs84"
        )


def _local_days(ms: np.ndarray) -> set[date]:
    # Every time zone's offset is a multiple of 15 minutes: a quarter of an hour lies in one
    # local day, so a batch needs as many conversions as quarters it spans, not fixes.
    tz = timezone.get_default_timezone()
    return {datetime.fromtimestamp(q * 900, tz).date() for q in np.unique(ms // 900_000).tolist()}


def _partitions_ensure(days: set[date]) -> None:
    """The daily partitions of these days, made if missing. CREATE TABLE … IF NOT EXISTS is
    not safe against a second process making the same table at the same moment (the loser
    fails on the catalog's unique index): the loser tries again, and then finds it."""
    try:
        partitions.track_partitions_ensure(days)
    except (IntegrityError, ProgrammingError):
        if connection.in_atomic_block:  # the caller's transaction is lost anyway
            raise
        partitions.track_partitions_ensure(days)


def track_points_ingest(
    *, inspector: User, fixes: list[Fix], device: Device | None = None, crs: str = "wgs84"
) -> IngestResult:
    """Store an inspector's fixes: convert to WGS-84, filter, assign shifts, write once.

    Idempotent whatever the order of batches: a fix is stored once per (inspector, time);
    the same fix again counts as ``duplicate``, another fix at the same time is rejected
    (``duplicate_time``). Every rejected fix gets one reason (patrol.filters). Fixes join the
    shift whose time span holds them, extend one they continue, or open one by themselves
    (``_shifts_plan``); the shifts' first and last fix and counts move with them, and a shift
    closed by them or given late fixes gets its report recomputed after commit. The newest fix,
    if newer than any stored, goes to the live map after commit.

    On PostgreSQL the daily partitions the fixes need are made first, outside the write
    transaction when the caller has none open: a partition made in a transaction that then
    rolls back would be remembered as made.
    """
    if crs not in coords.CRS_CHOICES:
        raise PatrolInvalid("crs", _("Unknown coordinate system."))
    _require_inspector(inspector)
    result = IngestResult()
    if not fixes:
        return result
    arrays = FixArrays.of(fixes)
    arrays.battery = _whole_percent(arrays.battery)
    marks = _Marks.of(fixes)
    params = FilterParams.from_settings()
    now = timezone.now()
    outcome = filters.fixes_screen(arrays, now=now.timestamp(), params=params)
    passed = outcome == filters.KEPT
    _convert(arrays, passed, crs)
    if passed.any():
        _partitions_ensure(_local_days(arrays.ms[passed]))
        with transaction.atomic():
            _ingest_locked(
                inspector=inspector,
                arrays=arrays,
                marks=marks,
                outcome=outcome,
                passed=passed,
                device=device,
                params=params,
                now=now,
                result=result,
            )
    reasons = Counter()
    for i in np.flatnonzero(outcome >= filters.INVALID).tolist():
        reason = filters.REASON_OF[int(outcome[i])]
        reasons[reason] += 1
        result.rejected_points.append((i, reason))
    result.rejected = dict(reasons)
    return result


def _whole_percent(battery: np.ndarray) -> np.ndarray:
    """Battery levels as the whole percent stored (an OwnTracks fraction times 100 reads
    56.99999999999999): rounded half up, and absent outside 0..100 (Android's -1 for
    "unknown", a broken 255, an infinity)."""
    with np.errstate(invalid="ignore"):
        whole = np.floor(battery + 0.5)
        return np.where((whole >= 0) & (whole <= 100), whole, np.nan)


@dataclass
class _Marks:
    """The flags of a batch's fixes that the filters do not look at, in batch order."""

    segment_start: np.ndarray  # bool: the recording breaks before the fix
    time_from_server: np.ndarray  # bool: the time is when the fix was received

    @classmethod
    def of(cls, fixes: list[Fix]) -> "_Marks":
        n = len(fixes)
        return cls(
            np.fromiter((bool(f.segment_start) for f in fixes), bool, n),
            np.fromiter((bool(f.time_from_server) for f in fixes), bool, n),
        )


def _breaks_kept(ms: np.ndarray, outcome: np.ndarray, breaks: np.ndarray, new: np.ndarray):
    """``segment_start`` of the fixes to store (``new``, batch positions in time order): their
    own, or that of a fix rejected between the one before them and them. The first fix of a
    GPX segment may be refused (a jump, too inaccurate): the break before it still lies before
    the next fix kept. A fix whose time cannot be read carries nothing; a duplicate neither
    (its break was stored with it)."""
    own = breaks[new]
    lost = breaks & (outcome > filters.INVALID)
    if not lost.any():
        return own
    order = np.lexsort((np.arange(len(ms)), ms))
    kept = np.zeros(len(ms), bool)
    kept[new] = True
    kept = kept[order]
    to = np.cumsum(kept) - kept  # in time order: the index, among ``new``, of the next kept fix
    carried = np.zeros(len(new) + 1, bool)
    np.logical_or.at(carried, to, lost[order])
    return own | carried[:-1]


IMPORT_CHUNK = 1000  # fixes per transaction of an import: GRIDCITY_PATROL_MAX_BATCH's default


def track_points_import(
    *,
    inspector: User,
    segments: list[list[Fix]],
    crs: str = "wgs84",
    device: Device | None = None,
    chunk: int = IMPORT_CHUNK,
    progress=None,
) -> IngestResult:
    """Store a recorded track (a GPX file's segments) for an inspector, as uploads would.

    Each segment goes to ``track_points_ingest`` in chunks of at most ``chunk`` fixes, each
    chunk its own transaction: an import interrupted halfway leaves whole chunks, and running
    it again stores only what is missing (a fix is stored once per inspector and time). The
    counts are summed; ``rejected_points`` index the fixes in file order, across segments.
    ``progress(done, total)`` is called after each chunk. A segment after the first starts
    with a break (``Fix.segment_start``): no distance, moving or online time is counted
    between two segments, however close in time.
    """
    if crs not in coords.CRS_CHOICES:
        raise PatrolInvalid("crs", _("Unknown coordinate system."))
    _require_inspector(inspector)
    total = sum(len(segment) for segment in segments)
    result = IngestResult()
    reasons: Counter = Counter()
    shifts: set[int] = set()
    done = 0
    for n, segment in enumerate(segments):
        if n and segment and not segment[0].segment_start:
            segment = [replace(segment[0], segment_start=True), *segment[1:]]
        for at in range(0, len(segment), chunk):
            part = track_points_ingest(
                inspector=inspector, fixes=segment[at : at + chunk], device=device, crs=crs
            )
            result.accepted += part.accepted
            result.duplicate += part.duplicate
            reasons.update(part.rejected)
            result.rejected_points += [(done + i, reason) for i, reason in part.rejected_points]
            shifts.update(part.shifts)
            done += len(segment[at : at + chunk])
            if progress is not None:
                progress(done, total)
    result.rejected = dict(reasons)
    result.shifts = sorted(shifts)
    return result


def _ingest_locked(
    *,
    inspector: User,
    arrays: FixArrays,
    marks: _Marks,
    outcome: np.ndarray,
    passed: np.ndarray,
    device: Device | None,
    params: FilterParams,
    now: datetime,
    result: IngestResult,
) -> None:
    """The write of a screened batch, under the inspector's lock: judge the fixes against the
    stored track, place them in shifts (opening and closing shifts as they require), store them,
    move the shifts' counts and times, and send the newest fix to the live map."""
    _inspector_lock(inspector.pk)
    new = _fixes_new(
        inspector_id=inspector.pk, arrays=arrays, outcome=outcome, passed=passed, params=params
    )
    result.duplicate = int((outcome == filters.DUPLICATE).sum())
    if not len(new):
        return
    ms = arrays.ms[new]
    shifts = _shifts_reachable(inspector=inspector, first_ms=int(ms[0]))
    plan = _Placement.of(ms=ms, shifts=shifts)
    plan.open_new(inspector=inspector, device=device, now=now)
    inserted = _points_insert(
        inspector_id=inspector.pk,
        shift_ids=np.array([s.pk for s in plan.targets], np.int64)[plan.slot],
        fixes=arrays.take(new),
        received_at=now,
        segment_start=_breaks_kept(arrays.ms, outcome, marks.segment_start, new),
        time_from_server=marks.time_from_server[new],
    )
    plan.shifts_update(inserted=inserted, now=now)
    total = sum(inserted.values())
    result.accepted = total
    result.duplicate += len(new) - total  # stored by someone else meanwhile
    result.shifts = sorted(pk for pk, count in inserted.items() if count)
    if total and (plan.newest_stored is None or int(ms[-1]) > plan.newest_stored):
        latest = _latest(inspector=inspector, arrays=arrays, i=int(new[-1]))
        transaction.on_commit(lambda: _publish_latest([latest]), robust=True)


def _fixes_new(
    *,
    inspector_id: int,
    arrays: FixArrays,
    outcome: np.ndarray,
    passed: np.ndarray,
    params: FilterParams,
) -> np.ndarray:
    """The screened fixes judged against the stored track around them (``outcome`` updated):
    the positions of those to store, in time order."""
    idle_ms = settings.GRIDCITY_PATROL_IDLE_MINUTES * 60_000
    first, last = int(arrays.ms[passed].min()), int(arrays.ms[passed].max())
    stored = _points_stored_near(inspector_id, first, last, idle_ms)
    which = np.flatnonzero(passed)
    outcome[which] = filters.fixes_against_track(arrays.take(which), stored=stored, params=params)
    new = np.flatnonzero(outcome == filters.KEPT)
    return new[np.argsort(arrays.ms[new], kind="stable")]


def _shifts_reachable(*, inspector: User, first_ms: int) -> list[Shift]:
    """The inspector's shifts that a fix at ``first_ms`` or later may join or continue: the open
    one, and those ended within the longest link of any shift before it."""
    idle_ms = settings.GRIDCITY_PATROL_IDLE_MINUTES * 60_000
    reach_ms = max(idle_ms, settings.GRIDCITY_PATROL_SHIFT_SILENCE_MINUTES * 60_000)
    return list(
        Shift.objects.filter(inspector=inspector)
        .filter(Q(status=ShiftStatus.OPEN) | Q(ended_at__gte=from_ms(first_ms - reach_ms)))
        .defer("report")
        .order_by("started_at", "id")
    )


@dataclass
class _Placement:
    """Where a batch's new fixes (times ``ms``, ascending) go: ``slot`` indexes ``targets``, the
    existing shifts (``spans``, in order) followed by the shifts the batch opens."""

    ms: np.ndarray
    shifts: list[Shift]
    spans: list[_Span]
    slot: np.ndarray
    segments: list[np.ndarray]  # the fixes of each new shift
    targets: list[Shift]
    newest_stored: int | None  # the time of the newest stored fix of these shifts
    after_all: list[bool] = field(default_factory=list)  # per new shift: after every existing
    reported: set[int] = field(default_factory=set)  # shifts whose report is already scheduled

    @classmethod
    def of(cls, *, ms: np.ndarray, shifts: list[Shift]) -> "_Placement":
        spans = [_Span.of(s) for s in shifts]
        newest = max((to_ms(_last_seen(s)) for s in shifts if s.last_point_at), default=None)
        slot, segments = _shifts_plan(ms, spans, settings.GRIDCITY_PATROL_IDLE_MINUTES * 60_000)
        after_all = [not spans or int(ms[seg[0]]) > spans[-1].start for seg in segments]
        return cls(ms, shifts, spans, slot, segments, [s.shift for s in spans], newest, after_all)

    def open_new(self, *, inspector: User, device: Device | None, now: datetime) -> None:
        """The new shifts, in time order. One after every existing shift leaves the open shift
        behind (its fixes stopped longer than the idle time before): that one closes for
        idleness. Only the last new shift, if after every other and recent enough to be going
        on, stays open."""
        ms, segments = self.ms, self.segments
        if any(self.after_all):
            first_after = from_ms(int(ms[segments[self.after_all.index(True)][0]]))
            for shift in self.shifts:
                if shift.status == ShiftStatus.OPEN:
                    _close(
                        shift,
                        at=min(_last_seen(shift), first_after),
                        reason=_end_by(shift, first_after),
                    )
                    self.reported.add(shift.pk)
        for n, segment in enumerate(segments):
            seg_first, seg_last = from_ms(int(ms[segment[0]])), from_ms(int(ms[segment[-1]]))
            going_on = n == len(segments) - 1 and self.after_all[n] and seg_last >= now - _idle()
            shift = Shift.objects.create(
                inspector=inspector,
                device=device,
                opened_auto=True,
                started_at=seg_first,
                first_point_at=seg_first,
                last_point_at=seg_last,
                points_count=len(segment),
                status=ShiftStatus.OPEN if going_on else ShiftStatus.CLOSED,
                ended_at=None if going_on else seg_last,
                end_reason="" if going_on else ShiftEnd.IDLE,
            )
            if not going_on:
                _report_later(shift.pk)
                self.reported.add(shift.pk)
            self.slot[segment] = len(self.targets)
            self.targets.append(shift)

    def shifts_update(self, *, inserted: dict[int, int], now: datetime) -> None:
        """Every shift given fixes: its count, first and last fix, start; a shift closed for
        want of fixes reopens when they continue it now, or its report is made again."""
        for j, target in enumerate(self.targets):
            mine = self.ms[self.slot == j]
            if not len(mine) or not inserted.get(target.pk):
                continue
            count = inserted[target.pk]
            if j >= len(self.spans):  # made above with every planned fix counted
                if count != len(mine):
                    Shift.objects.filter(pk=target.pk).update(points_count=count)
                continue
            lo, hi = from_ms(int(mine[0])), from_ms(int(mine[-1]))
            changes = {
                "points_count": F("points_count") + count,
                "first_point_at": min(target.first_point_at or lo, lo),
                "last_point_at": max(target.last_point_at or hi, hi),
                "started_at": min(target.started_at, lo),
                "updated_at": now,
            }
            if target.status == ShiftStatus.CLOSED:
                changes.update(self._closed_changes(j=j, target=target, hi=hi, now=now))
            Shift.objects.filter(pk=target.pk).update(**changes)

    def _closed_changes(self, *, j: int, target: Shift, hi: datetime, now: datetime) -> dict:
        if (
            target.end_reason == ShiftEnd.IDLE
            and j == len(self.spans) - 1
            and not any(self.after_all)
            and hi >= now - _link(target)
            and (_limit(target) is None or now < _limit(target))
            and not any(s.status == ShiftStatus.OPEN for s in self.shifts)
        ):
            # Closed for want of fixes, which came after all (a handheld back online with its
            # buffer): the patrol goes on.
            return {"status": ShiftStatus.OPEN, "ended_at": None, "end_reason": ""}
        # Late fixes of an ended shift: its report is out of date.
        if target.pk not in self.reported:
            _report_later(target.pk)
        return {"ended_at": max(target.ended_at, hi)}


def _latest(*, inspector: User, arrays: FixArrays, i: int) -> dict:
    """Fix ``i`` of the batch as the live map shows it."""
    return {
        "inspector_id": inspector.pk,
        "username": inspector.get_username(),
        "name": inspector.get_full_name() or inspector.get_username(),
        "lon": float(arrays.lon[i]),
        "lat": float(arrays.lat[i]),
        "t": from_ms(int(arrays.ms[i])).isoformat().replace("+00:00", "Z"),
        "speed": _number(arrays.speed[i]),
        "battery": _number(arrays.battery[i]),
        "accuracy": _number(arrays.accuracy[i]),
    }


def _end_by(shift: Shift, later: datetime) -> str:
    """Why an open shift ends when a fix at ``later`` opens another: its length, when the
    silence alone would not have ended it; otherwise the silence."""
    limit = _limit(shift)
    if limit is not None and later > limit and later - _last_seen(shift) <= _link(shift):
        return ShiftEnd.LIMIT
    return ShiftEnd.IDLE


def _number(value) -> float | None:
    return None if np.isnan(value) else float(value)


def _publish_latest(latest: list[dict]) -> None:
    """The newest fix of each inspector to the live map, with the grids and streets whose
    watchers should see it (the inspector's current grids)."""
    from patrol.live import positions_publish

    ids = [row["inspector_id"] for row in latest]
    areas: dict[int, tuple[set, set]] = {pk: (set(), set()) for pk in ids}
    for inspector_id, grid_id, street_id in GridAssignment.objects.filter(
        inspector_id__in=ids, valid_to__isnull=True
    ).values_list("inspector_id", "grid_id", "grid__community__street_id"):
        areas[inspector_id][0].add(grid_id)
        areas[inspector_id][1].add(street_id)
    positions_publish(
        [
            {
                **row,
                "grid_ids": sorted(areas[row["inspector_id"]][0]),
                "street_ids": sorted(areas[row["inspector_id"]][1]),
            }
            for row in latest
        ]
    )


# --- storage: the hot path's two statements -----------------------------------------------------


def _points_stored_near(inspector_id: int, first: int, last: int, before_ms: int) -> StoredFixes:
    """The inspector's stored fixes from ``first`` to ``last`` (ms), and the last one before
    ``first`` if it is at most ``before_ms`` older: what a batch is judged against. One query;
    on PostgreSQL it reads only the partitions of those days."""
    table = TrackPoint._meta.db_table
    epoch = epoch_ms_sql("t")
    columns = f"{epoch}, client_id, ST_X(point), ST_Y(point)"
    sql = (
        f"SELECT {columns} FROM {table} WHERE inspector_id = %s AND t >= %s AND t <= %s "
        f"UNION ALL SELECT * FROM (SELECT {columns} FROM {table} "
        "WHERE inspector_id = %s AND t < %s AND t >= %s ORDER BY t DESC LIMIT 1) AS previous"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                inspector_id,
                db_time(first),
                db_time(last),
                inspector_id,
                db_time(first),
                db_time(first - before_ms),
            ],
        )
        return StoredFixes.of_rows(cursor.fetchall())


_COLUMNS = (
    "shift_id, inspector_id, t, received_at, point, accuracy, speed, heading, altitude, "
    "battery, mock, client_id, segment_start, time_from_server"
)

# One statement per batch: the columns travel as arrays and unnest into rows; the unique
# (inspector_id, t) index drops what is already stored. Measured against COPY into a temporary
# table followed by INSERT … SELECT … ON CONFLICT (bench/bench_ingest.py, 500-fix batches):
# unnest is faster at this size, since COPY needs three round trips and a temporary table.
_POSTGRES_INSERT = f"""
WITH stored AS (
    INSERT INTO patrol_trackpoint ({_COLUMNS})
    SELECT u.shift_id, %s, to_timestamp(u.ms::float8 / 1000), %s,
           ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326),
           NULLIF(u.accuracy, 'NaN'), NULLIF(u.speed, 'NaN'), NULLIF(u.heading, 'NaN'),
           NULLIF(u.altitude, 'NaN'), NULLIF(u.battery, 'NaN')::int2, u.mock, u.client_id,
           u.segment_start, u.time_from_server
    FROM unnest(%s::int8[], %s::int8[], %s::float8[], %s::float8[], %s::float8[],
                %s::float8[], %s::float8[], %s::float8[], %s::float8[], %s::bool[], %s::text[],
                %s::bool[], %s::bool[])
         AS u(shift_id, ms, lon, lat, accuracy, speed, heading, altitude, battery, mock,
              client_id, segment_start, time_from_server)
    ON CONFLICT (inspector_id, t) DO NOTHING
    RETURNING shift_id
)
SELECT shift_id, count(*) FROM stored GROUP BY shift_id
"""
_OPTIONAL = ("accuracy", "speed", "heading", "altitude")


def _points_insert(
    *,
    inspector_id: int,
    shift_ids: np.ndarray,
    fixes: FixArrays,
    received_at: datetime,
    segment_start: np.ndarray | None = None,
    time_from_server: np.ndarray | None = None,
) -> dict[int, int]:
    """Write fixes (WGS-84, battery a whole percent, none stored yet) in one statement,
    skipping any (inspector, time) already stored; how many were written per shift. The two
    flags are per fix, false where not given."""
    n = len(shift_ids)
    battery = _whole_percent(fixes.battery)  # already so from ingestion; the demo writes here too
    segment_start = np.zeros(n, bool) if segment_start is None else segment_start
    time_from_server = np.zeros(n, bool) if time_from_server is None else time_from_server
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                _POSTGRES_INSERT,
                [
                    inspector_id,
                    received_at,
                    _pg_array(shift_ids.tolist()),
                    _pg_array(fixes.ms.tolist()),
                    _pg_array(fixes.lon.tolist()),
                    _pg_array(fixes.lat.tolist()),
                    *(_pg_array(getattr(fixes, name).tolist()) for name in _OPTIONAL),
                    _pg_array(battery.tolist()),
                    _pg_bool_array(fixes.mock),
                    _pg_text_array(fixes.client_id.tolist()),
                    _pg_bool_array(segment_start),
                    _pg_bool_array(time_from_server),
                ],
            )
            return dict(cursor.fetchall())
        extra = (battery, segment_start, time_from_server)
        return _points_insert_sqlite(cursor, inspector_id, shift_ids, fixes, received_at, extra)


# The arrays go as array literals, written here: handed lists, psycopg would quote them element
# by element in Python, which costs more than the INSERT itself (bench_ingest). str() of a
# float is its shortest exact form, and PostgreSQL reads "nan" as NaN.
def _pg_array(values: list) -> str:
    return "{" + ",".join(map(str, values)) + "}"


def _pg_bool_array(values: np.ndarray) -> str:
    return "{" + ",".join(np.where(values, "t", "f").tolist()) + "}"


def _pg_text_array(values: list[str]) -> str:
    return (
        "{"
        + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        + "}"
    )


def _sqlite_times(ms: np.ndarray) -> list[str]:
    """Times as Django writes them to SQLite (``str()`` of the naive UTC datetime: no
    fraction when it is zero), so that raw rows compare and collide with the ORM's."""
    text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="us")
    return [s.replace("T", " ").removesuffix(".000000") for s in text.tolist()]


def _sqlite_values(values: np.ndarray) -> list:
    return [None if v != v else v for v in values.tolist()]  # NaN → NULL


def _points_insert_sqlite(
    cursor, inspector_id, shift_ids, fixes, received_at, extra
) -> dict[int, int]:
    battery, *flags = extra
    row = "(%s, %s, %s, %s, MakePoint(%s, %s, 4326), %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    per_statement = 2000  # 14 parameters a row, under SQLite's 32,766
    columns = [
        shift_ids.tolist(),
        [inspector_id] * len(shift_ids),
        _sqlite_times(fixes.ms),
        [connection.ops.adapt_datetimefield_value(received_at)] * len(shift_ids),
        fixes.lon.tolist(),
        fixes.lat.tolist(),
        *(_sqlite_values(getattr(fixes, name)) for name in _OPTIONAL),
        [None if v != v else int(v) for v in battery.tolist()],
        fixes.mock.tolist(),
        fixes.client_id.tolist(),
        *(flag.tolist() for flag in flags),
    ]
    rows = list(zip(*columns, strict=True))
    written = Counter()
    for at in range(0, len(rows), per_statement):
        chunk = rows[at : at + per_statement]
        cursor.execute(
            f"INSERT INTO {TrackPoint._meta.db_table} ({_COLUMNS}) VALUES "
            f"{', '.join([row] * len(chunk))} "
            "ON CONFLICT (inspector_id, t) DO NOTHING RETURNING shift_id",
            [value for r in chunk for value in r],
        )
        written.update(shift_id for (shift_id,) in cursor.fetchall())
    return dict(written)


# --- reports ---------------------------------------------------------------------------------


def shift_report_compute(*, shift: Shift) -> Shift:
    """The shift's analysis (distance, stops, checkpoint visits, laps, coverage, anomalies),
    stored on the shift. Checkpoints and the area are those of the grids the inspector held
    at any time during the shift. A computation over fewer fixes than the stored report's
    (one that started before a late upload and ended after the next) does not overwrite it.
    """
    grids = list(shift_grids(shift))
    report, points = _report_analyse(shift, grids, _report_checkpoints(grids))
    _report_store(shift, report, points)
    shift.refresh_from_db()
    return shift


def _report_checkpoints(grids: list[WorkGrid]) -> list[CheckpointSpec]:
    return [
        CheckpointSpec.of(c) for c in Checkpoint.objects.filter(grid__in=grids).order_by("code")
    ]


def _report_analyse(
    shift: Shift, grids: list[WorkGrid], checkpoints: list[CheckpointSpec]
) -> tuple[dict, int]:
    """The report of the shift's fixes as stored now, and how many fixes it was made from."""
    track = shift_track(shift)
    area = shapely.union_all([to_shapely(g.geom) for g in grids]) if grids else None
    report = analyse_track(
        track.t,
        track.lon,
        track.lat,
        speed=track.speed,
        mock=track.mock,
        segment_start=track.segment_start,
        checkpoints=checkpoints,
        grids=area,
    )
    return report.to_dict(), len(track.ms)


def _report_store(shift: Shift, report: dict, points: int) -> None:
    Shift.objects.filter(pk=shift.pk, report_points__lte=points).update(
        report=report, report_at=timezone.now(), report_points=points
    )


@dataclass
class ShiftReportView:
    """A shift's report as a supervisor reads it, with what it was made against."""

    shift: Shift
    grids: list[WorkGrid]
    checkpoints: list[CheckpointSpec]
    report: dict | None
    computed_at: datetime | None
    fresh: bool  # made from every fix the shift holds
    live: bool  # computed for this answer, not stored (a shift still on patrol)


def shift_report_current(*, shift: Shift) -> ShiftReportView:
    """The shift's report, served from storage where it is up to date.

    An ended shift without a report, or whose report was made from another number of fixes
    than it holds, gets it computed and stored now (``shift_report_compute``'s work, which the
    background task or the nightly run would do; idempotent). A shift still on patrol gets it
    computed from its fixes so far and not stored: it changes with every upload, and the one
    kept is made when the shift ends.
    """
    grids = list(shift_grids(shift))
    checkpoints = _report_checkpoints(grids)
    if shift.status == ShiftStatus.OPEN:
        report, points = _report_analyse(shift, grids, checkpoints)
        return ShiftReportView(
            shift=shift,
            grids=grids,
            checkpoints=checkpoints,
            report=report,
            computed_at=timezone.now(),
            fresh=points == shift.points_count,
            live=True,
        )
    if shift.report is None or shift.report_at is None or shift.report_points != shift.points_count:
        report, points = _report_analyse(shift, grids, checkpoints)
        _report_store(shift, report, points)
        stored = Shift.objects.filter(pk=shift.pk).values("report", "report_at", "report_points")
        for name, value in stored.get().items():
            setattr(shift, name, value)
    return ShiftReportView(
        shift=shift,
        grids=grids,
        checkpoints=checkpoints,
        report=shift.report,
        computed_at=shift.report_at,
        fresh=shift.report_points == shift.points_count,
        live=False,
    )


# --- retention -------------------------------------------------------------------------------


@dataclass
class PruneResult:
    before: date
    partitions: list[date] = field(default_factory=list)
    points: int = 0
    shifts: int = 0


def tracks_prune(
    *, older_than_days: int | None = None, dry_run: bool = False, chunk: int = 10_000, say=None
) -> PruneResult:
    """Drop the fixes of local days older than the retention, and the shifts (with their
    reports) that ended before that day.

    On PostgreSQL whole daily partitions go (detached concurrently first when not inside a
    transaction, so uploads go on meanwhile); elsewhere rows are deleted in chunks. Each
    partition and chunk is its own transaction: interrupted, it leaves whole days and whole
    chunks, and the next run goes on from there.
    """
    say = say or (lambda message: None)
    days = settings.GRIDCITY_PATROL_RETENTION_DAYS if older_than_days is None else older_than_days
    before = timezone.localdate() - timedelta(days=days)
    cutoff = partitions.day_bounds(before)[0]
    result = PruneResult(before=before)
    if partitions.partitioned():
        for day in partitions.track_partitions():
            if day >= before:
                break
            say(f"{'would drop' if dry_run else 'dropping'} {partitions.partition_name(day)}")
            if not dry_run:
                _partition_drop(day)
            result.partitions.append(day)
        partitions.forget()
    else:
        old = TrackPoint.objects.filter(t__lt=cutoff)
        if dry_run:
            result.points = old.count()
            say(f"would delete {result.points} track points before {cutoff:%Y-%m-%d %H:%M %Z}")
        else:
            while True:
                with transaction.atomic():
                    deleted, _by_model = TrackPoint.objects.filter(
                        pk__in=list(old.values_list("pk", flat=True)[:chunk])
                    ).delete()
                if not deleted:
                    break
                result.points += deleted
                say(f"deleted {result.points} track points")
    ended = Shift.objects.filter(started_at__lt=cutoff, ended_at__lt=cutoff)
    if dry_run:
        result.shifts = ended.count()
        say(f"would delete {result.shifts} shifts ended before {before}")
        return result
    while True:
        with transaction.atomic():
            pks = list(ended.values_list("pk", flat=True)[:chunk])
            if not pks:
                break
            Shift.objects.filter(pk__in=pks).delete()
        result.shifts += len(pks)
        say(f"deleted {result.shifts} shifts")
    return result


def _partition_drop(day: date) -> None:
    name = partitions.partition_name(day)
    table = partitions.TABLE
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            # Within a transaction (tests, a caller's own): rows written earlier in it have
            # foreign-key checks pending at commit, which a DROP may not leave behind.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
            return
        cursor.execute(
            "SELECT i.inhdetachpending FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE c.relname = %s",
            [name],
        )
        row = cursor.fetchone()
        if row is not None:
            # An earlier run interrupted between detaching and dropping left it pending.
            how = "FINALIZE" if row[0] else "CONCURRENTLY"
            cursor.execute(f'ALTER TABLE "{table}" DETACH PARTITION "{name}" {how}')
        cursor.execute(f'DROP TABLE IF EXISTS "{name}"')


# --- trackers ----------------------------------------------------------------------------------


@transaction.atomic
def tracker_revoke(*, tracker: Tracker) -> Tracker:
    """Stop accepting a positioning app's fixes (idempotent)."""
    Tracker.objects.filter(pk=tracker.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    tracker.refresh_from_db()
    return tracker


# A phone sends a fix every 5–10 s: its tracker's row is written at most once a minute, or
# when the battery level it reports changes, rather than with every fix.
TRACKER_CONTACT_EVERY_S = 60


def tracker_contact(*, tracker: Tracker, at: datetime, battery: int | None = None) -> Tracker:
    """Record that a registered positioning app was heard from at ``at`` — a fix, or a
    heartbeat without one (Traccar Client's stationary heartbeat carries only its battery) —
    and the battery level it reported (a whole percent; None, or outside 0..100, keeps the
    last one). A supervisor then tells a phone that stands still from one that went silent.

    Nothing is written when the stored contact is less than ``TRACKER_CONTACT_EVERY_S`` old
    and the battery unchanged, and the contact never moves back (a delayed request that
    arrives after a newer one). One UPDATE, atomic by itself.
    """
    if battery is not None and not 0 <= battery <= 100:
        battery = None
    last = tracker.last_contact_at
    recent = last is not None and at - last < timedelta(seconds=TRACKER_CONTACT_EVERY_S)
    if recent and (battery is None or battery == tracker.last_battery):
        return tracker
    changes: dict = {"last_contact_at": at}
    if battery is not None:
        changes["last_battery"] = battery
    moved = Tracker.objects.filter(
        Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=at), pk=tracker.pk
    ).update(**changes)
    if moved:
        for name, value in changes.items():
            setattr(tracker, name, value)
    return tracker
