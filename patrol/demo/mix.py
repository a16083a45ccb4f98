"""The demo patrols' settings: how often each thing happens, and what a beat is."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from shapely.geometry.base import BaseGeometry

from patrol.analysis import CheckpointSpec

DEMO_DISTRICT = "440306"
SHANGHAI = ZoneInfo("Asia/Shanghai")
BATCH_SIZE = 25  # inspector-days per transaction: about 65,000 fixes at 10 s
# Today's patrol is seeded up to the present; before this time of day there would be too
# little of it to show, so the days end yesterday.
TODAY_FROM = time(9, 30)
MIN_SHIFT_FIXES = 30

STREET_NODES = 160  # crossings of the street lattice in a grid, about
STREET_CLEARANCE_M = 2.5  # the lattice keeps this far inside the grid's edge
CLOSED_BLOCKS = 0.12  # share of the lattice's street sections left out
CHECKPOINT_REACH_M = 3.0  # where the inspector stands: within this of the checkpoint

# The jump: one fix this far off, its neighbours within JUMP_CLEAR_S dropped, so that the
# implied speed stays under ingestion's 120 km/h filter and over the analysis' 45 km/h.
JUMP_M = (560.0, 600.0)
JUMP_CLEAR_S = 24.0
MOCK_SPEED_MS = 1.1  # what a fake-GPS app reports while it holds the position
RIDE_SPEED_MS = (13.5, 16.0)  # an e-bike or car: over 45 km/h, well under 120

Progress = Callable[..., None]


@dataclass(frozen=True)
class PatrolMix:
    """How often each thing happens. Ranges are drawn per inspector, uniformly."""

    absent: tuple[float, float] = (0.02, 0.08)  # share of days missed
    half_day: float = 0.08  # only one of the two shifts
    leave_early: float = 0.07  # a shift ended 30–100 minutes early
    forget_end: float = 0.05  # a shift never ended on the handheld: closed for idleness
    # Checkpoints hurried through in a shift (every stay there under the minimum), per
    # inspector; and a stay cut short now and then anywhere.
    short_stay: tuple[float, float] = (0.05, 0.35)
    short_now_and_then: float = 0.05
    skip: tuple[float, float] = (0.0, 0.06)  # checkpoints left out of a round
    shuffle: float = 0.25  # a round in another order than the habitual one
    detours: tuple[float, float] = (1.0, 2.0)  # crossings gone by per leg, on average ...
    inspect: float = 0.6  # ... the chance of a look at a shop front or entrance there ...
    visit: float = 0.12  # ... or of a visit to a shop or household (入户走访, 5–15 min)
    issue_stops: float = 1.5  # stops to report a problem per shift, on average
    shop: float = 0.35  # a shop or tea per shift
    lunch: float = 0.25  # lunch at the end of a morning shift
    excursion: float = 0.3  # a short walk over the grid's edge per shift
    anomalous: float = 0.06  # share of inspectors with anomalies ...
    anomaly: float = 0.7  # ... and the chance of one in each of their shifts ...
    anomaly_kinds: tuple[float, float, float] = (0.4, 0.35, 0.25)  # ... jump, mock, ride
    lost: float = 0.01  # fixes never sent
    poor: float = 0.004  # fixes of 35–95 m accuracy


@dataclass(frozen=True)
class Beat:
    """An inspector and the grid they walk (their open primary assignment)."""

    inspector_id: int
    assignment_id: int
    grid_id: int
    grid_code: str
    shape: BaseGeometry  # WGS-84
    checkpoints: tuple[CheckpointSpec, ...]


DEFAULT_MIX = PatrolMix()
