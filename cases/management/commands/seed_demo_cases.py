"""manage.py seed_demo_cases --days D --per-day N [--seed S] [--end YYYY-MM-DD]: case history."""

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from cases.demo import BATCH_SIZE, DEMO_DISTRICT, DemoCasesMissing, demo_cases_seed
from cases.models import Case
from gridcity.models import District
from gridcity.progress import command_progress, seed_skipped


def _days(n: int) -> str:
    return f"{n:,} day" if n == 1 else f"{n:,} days"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Write a realistic case history for the demo city: N cases a day for the D days before "
        "--end (default today, Asia/Shanghai), each with its timeline, deadlines on the working "
        "calendar and a status that fits its age. Needs the demo city (seed_demo_city). "
        "Deterministic for a seed. One transaction per day: after Ctrl-C, run the same command "
        "again and it continues with the days not yet written."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=_positive, required=True, help="how many days")
        parser.add_argument("--per-day", type=_positive, required=True, help="cases a day")
        parser.add_argument("--seed", type=int, default=2026, help="same seed, same history")
        parser.add_argument(
            "--end",
            type=date.fromisoformat,
            default=None,
            help="the day after the last day written (YYYY-MM-DD; default today)",
        )
        parser.add_argument(
            "--district", default=DEMO_DISTRICT, help="district code (default: the demo city)"
        )
        parser.add_argument("--batch-size", type=_positive, default=BATCH_SIZE)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing if the district already has cases (what `make run` uses)",
        )

    def handle(self, *args, **opts):
        district = District.objects.filter(code=opts["district"]).first()
        if district is None:
            raise CommandError(
                f"There is no district {opts['district']}. Build the demo city first: "
                "`manage.py seed_demo_city` (its people and case taxonomy come with it)."
            )
        present = Case.objects.filter(district=district).exists
        if seed_skipped(
            self, opts, present, "The district already has cases; demo cases not written."
        ):
            return
        started = time.monotonic()
        interrupted = (
            "Interrupted: the day being written was rolled back, the days before it are "
            "stored. Run the same command again to continue."
        )
        try:
            with command_progress(opts, interrupted=interrupted) as progress:
                counts = demo_cases_seed(
                    days=opts["days"],
                    per_day=opts["per_day"],
                    seed=opts["seed"],
                    end=opts["end"],
                    district=district,
                    batch_size=opts["batch_size"],
                    progress=progress,
                )
        except ValueError as exc:  # DemoCasesMissing says what to run first
            if opts["if_empty"] and isinstance(exc, DemoCasesMissing):
                # `make run` on a database built before the taxonomy existed: start anyway.
                self.stderr.write(f"Demo cases not written: {exc}")
                return
            raise CommandError(str(exc)) from exc
        if opts["verbosity"] > 0:
            elapsed = time.monotonic() - started
            rate = counts["cases"] / elapsed if elapsed else 0
            self.stdout.write(
                self.style.SUCCESS(
                    f"{counts['cases']:,} cases with {counts['steps']:,} timeline steps over "
                    f"{_days(counts['days written'])} in {elapsed:.1f} s ({rate:,.0f} cases/s); "
                    f"{_days(counts['days skipped'])} already there, skipped."
                )
            )
