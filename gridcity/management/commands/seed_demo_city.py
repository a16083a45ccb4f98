"""manage.py seed_demo_city [--seed N] [--if-empty]: Bao'an with 4,833 work grids."""

import time

from django.core.management.base import BaseCommand, CommandError

from gridcity.demo.seed import demo_city_seed
from gridcity.models import District
from gridcity.progress import command_progress, seed_skipped


class Command(BaseCommand):
    help = (
        "Build the demo city: Bao'an district (440306) from its real outline, its 10 streets, "
        "126 communities and 4,833 work grids tiling it, about 3 checkpoints per grid, and the "
        "demo log-ins. Deterministic for a seed. One transaction: Ctrl-C leaves nothing behind."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing if the database already holds a district",
        )
        parser.add_argument(
            "--replace", action="store_true", help="delete an existing demo district first"
        )

    def handle(self, *args, **opts):
        present = District.objects.exists
        if seed_skipped(
            self, opts, present, "The database already holds a district; demo city not loaded."
        ):
            return
        started = time.monotonic()
        try:
            with command_progress(opts) as progress:
                counts = demo_city_seed(
                    seed=opts["seed"], replace=opts["replace"], progress=progress
                )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if opts["verbosity"] > 0:
            summary = ", ".join(f"{n:,} {what}" for what, n in counts.items())
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo city built in {time.monotonic() - started:.1f} s: {summary}"
                )
            )
