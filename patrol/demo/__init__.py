"""Demo patrols (演示巡查轨迹) of the demo city, written in bulk (``manage.py seed_demo_patrols``).

For each chosen grid's inspector and each day, one or two shifts (about 08:30–12:00 and
14:00–18:00, with jitter; some days missed, some half days, some shifts left early, a few never
ended on the handheld) in which the inspector walks rounds of the grid the way the audit page
expects to see them:

- **streets**: a lattice of streets aligned with the grid's long side, about 160 crossings
  inside the polygon, a share of the blocks closed, main streets preferred; the inspector walks
  along shortest paths on it (all pairs by Floyd–Warshall over the crossings: a few milliseconds
  per grid, once per run), so the track stays inside the grid between checkpoints.
- **rounds**: the inspector's habitual order of the checkpoints (a nearest-neighbour tour from
  where they come in), now and then shuffled or with one skipped, legs that go round a block
  or two; at each checkpoint a stay a little over its minimum dwell, or for some inspectors
  more often than others well under it (a missed checkpoint).
- **elsewhere**: stops to report a problem (2–6 min), a shop or tea (5–12 min, indoors: poorer
  fixes, sometimes none), lunch at the end of some mornings, short excursions over the grid's
  edge.
- **fixes**: one every ``interval_s`` (±0.4 s, about 1 % lost), reported accuracy around 8 m
  (3–30 m, worse indoors, a cold start's first fixes poor, a few poor fixes of 35–95 m), the
  error a quarter of the reported accuracy per axis (a few metres), wandering over a minute.
- **anomalies**, for a small share of inspectors: a jump (one fix 560–600 m off), a
  mock-location run (a fake-GPS app holding the position on a checkpoint while it reports
  walking speed: ``mock`` and ``frozen``), a ride faster than on foot (``speed``). Each is what
  ingestion would have stored: the fixes pass patrol.filters as they stand.

Everything is deterministic for a seed: a grid's streets and inspector from (seed, grid code), a
day from (seed, grid code, day), independent of database ids and of what else is seeded.

Writing: the Shift rows by ``bulk_create`` (closed, with first and last fix and count), the
fixes through ingestion's own statement (``patrol.services._points_insert``: ``INSERT … SELECT
unnest`` on PostgreSQL, multi-row ``INSERT`` with ``MakePoint`` on SpatiaLite, both ``ON CONFLICT
DO NOTHING``), then each shift's report by ``shift_report_compute``, all in one transaction per
batch of inspector-days: Ctrl-C leaves whole inspector-days, reports included. An inspector-day
with a shift already begun on it is skipped, so a second run continues where the first stopped.

``mix`` holds the settings and what a beat is, ``streets`` a grid's street lattice and its
inspector, ``walk`` a shift's walk, ``fixes`` the fixes sampled from it, ``seed`` the days and
their writing.
"""

from patrol.demo.mix import BATCH_SIZE, DEMO_DISTRICT, SHANGHAI, Beat, PatrolMix
from patrol.demo.seed import demo_beats, demo_patrols_seed, patrol_days

__all__ = [
    "BATCH_SIZE",
    "DEMO_DISTRICT",
    "SHANGHAI",
    "Beat",
    "PatrolMix",
    "demo_beats",
    "demo_patrols_seed",
    "patrol_days",
]
