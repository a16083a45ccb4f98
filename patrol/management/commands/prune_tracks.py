"""``manage.py prune_tracks [--older-than DAYS] [--dry-run]``: retention of the patrol tracks.

Fixes are personal data of employees: those of local days older than the retention
(GRIDCITY_PATROL_RETENTION_DAYS, 180 by default) are dropped, whole daily partitions on
PostgreSQL, in chunks elsewhere, and so are the shifts that ended before that day, with their
reports. Safe to interrupt and run again. Run it daily (cron, or a systemd timer).
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from patrol.services import tracks_prune


class Command(BaseCommand):
    help = "Drop the track points and shifts older than the retention period."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=settings.GRIDCITY_PATROL_RETENTION_DAYS,
            metavar="DAYS",
            help="keep this many local days before today (default: the retention setting)",
        )
        parser.add_argument("--dry-run", action="store_true", help="say what would go, drop none")

    def handle(self, *args, older_than: int, dry_run: bool, **options):
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 day")
        result = tracks_prune(
            older_than_days=older_than, dry_run=dry_run, say=lambda m: self.stdout.write(m)
        )
        verb = "would drop" if dry_run else "dropped"
        self.stdout.write(
            f"{verb}: {len(result.partitions)} daily partitions, {result.points} track points "
            f"(other than in partitions), {result.shifts} shifts, before {result.before}"
        )
