"""manage.py seed_demo_patrols [--days D] [--grids N | --street CODE] [--interval S] [--if-empty]
[--seed N]: the demo city's patrols, with their reports."""

import time
from argparse import ArgumentTypeError
from datetime import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from django.utils import timezone

from gridcity.models import District, Street, WorkGrid
from gridcity.progress import command_progress, seed_skipped
from patrol.demo import BATCH_SIZE, DEMO_DISTRICT, SHANGHAI, demo_beats, demo_patrols_seed
from patrol.models import Shift


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 1.0 <= value <= 120.0:
        raise ArgumentTypeError(f"{text!r}: between 1 and 120 seconds")
    return value


def _moment(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not a time like 2026-11-24T19:00") from None
    return at if at.tzinfo else at.replace(tzinfo=SHANGHAI)


class Command(BaseCommand):
    help = (
        "Write realistic patrols for the demo city: for each grid's inspector and each of the "
        "D days ending today (Asia/Shanghai; before 09:30, ending yesterday), one or two "
        "shifts of rounds of the grid's checkpoints with GPS noise, stops, excursions and a few "
        "anomalies, a fix every S seconds, up to the present; then each shift's report. "
        "Default: the grids of the district's first street, one day, a fix every 10 s. Needs "
        "the demo city (seed_demo_city). Deterministic for a seed. One transaction per batch "
        "of inspector-days: after Ctrl-C, run the same command again and it continues."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=_positive, default=1, help="how many days (1)")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--grids", type=_positive, help="the district's first N grids (by code)")
        scope.add_argument(
            "--street", help="the grids of this street (code; default: the first street)"
        )
        parser.add_argument(
            "--interval", type=_seconds, default=10.0, help="seconds between fixes (10)"
        )
        parser.add_argument("--seed", type=int, default=2026, help="same seed, same patrols")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing if any shift exists (what `make run` uses)",
        )
        parser.add_argument(
            "--district", default=DEMO_DISTRICT, help="district code (default: the demo city)"
        )
        parser.add_argument(
            "--now",
            type=_moment,
            default=None,
            help="the moment the patrols end at (ISO, Asia/Shanghai unless given; default now)",
        )
        parser.add_argument("--batch-size", type=_positive, default=BATCH_SIZE)

    def handle(self, *args, **opts):
        present = Shift.objects.exists
        if seed_skipped(self, opts, present, "There are shifts already; demo patrols not written."):
            return
        retention = settings.GRIDCITY_PATROL_RETENTION_DAYS
        if opts["days"] > retention:
            raise CommandError(
                f"--days {opts['days']} is beyond the retention of {retention} days "
                "(GRIDCITY_PATROL_RETENTION_DAYS): prune_tracks would delete them."
            )
        district = District.objects.filter(code=opts["district"]).first()
        if district is None:
            raise CommandError(
                f"There is no district {opts['district']}. Build the demo city first: "
                "`manage.py seed_demo_city` (its grids, checkpoints and inspectors come with it)."
            )
        grids = self._grids(district, opts)
        beats = demo_beats(grids)
        if not beats:
            raise CommandError(
                "None of these grids has an inspector: the demo patrols need the demo city's "
                "people (`manage.py seed_demo_city`)."
            )
        if opts["now"] and opts["now"] > timezone.now():
            raise CommandError(f"--now {opts['now'].isoformat()} is in the future.")
        started = time.monotonic()
        interrupted = (
            "Interrupted: the inspector-days being written were rolled back, those before "
            "are stored with their reports. Run the same command again to continue."
        )
        # With DEBUG on (the development default) Django logs every query with its
        # parameters quoted: a fifth of the run, for the 24,000 parameters of each INSERT.
        with (
            command_progress(opts, interrupted=interrupted) as progress,
            override_settings(DEBUG=False),
        ):
            counts = demo_patrols_seed(
                beats=beats,
                days=opts["days"],
                interval_s=opts["interval"],
                seed=opts["seed"],
                now=opts["now"],
                batch_size=opts["batch_size"],
                progress=progress,
            )
        if opts["verbosity"] > 0:
            elapsed = time.monotonic() - started
            rate = counts["fixes"] / elapsed if elapsed > 0 else 0
            self.stdout.write(
                self.style.SUCCESS(
                    f"{counts['shifts']:,} shifts with {counts['fixes']:,} fixes and their "
                    f"reports for {counts['inspector-days']:,} inspector-days of {len(beats):,} "
                    f"inspectors ({counts['off']:,} days off) in {elapsed:.1f} s "
                    f"({rate:,.0f} fixes/s); {counts['skipped']:,} inspector-days already "
                    "there, skipped."
                )
            )

    def _grids(self, district: District, opts) -> list[WorkGrid]:
        grids = WorkGrid.objects.filter(community__street__district=district).order_by("code")
        if opts["grids"]:
            return list(grids[: opts["grids"]])
        streets = Street.objects.filter(district=district).order_by("code")
        if opts["street"]:
            street = streets.filter(code=opts["street"]).first()
            if street is None:
                known = ", ".join(f"{s.code} {s.name}" for s in streets)
                raise CommandError(
                    f"There is no street {opts['street']} in district {district.code}. "
                    f"Its streets: {known or 'none'}."
                )
        else:
            street = streets.first()
            if street is None:
                raise CommandError(f"District {district.code} has no streets.")
        return list(grids.filter(community__street=street))
