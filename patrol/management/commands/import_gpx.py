"""``manage.py import_gpx FILE --inspector USERNAME [--crs wgs84|gcj02|bd09] [--dry-run]``.

A recorded track (a handheld's export, a GPS logger's file) stored as that inspector's fixes,
through the same filters and shift rules as uploads. Each segment goes in chunks of at most
1,000 fixes, each its own transaction: interrupted, the import leaves whole chunks, and running
it again stores only what is missing (a fix is stored once per inspector and time).
"""

import time
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.models import User
from gridcity.coords import CRS_CHOICES
from gridcity.progress import StageProgress
from patrol import partitions, services
from patrol.fixes import FixFormatError
from patrol.protocols import gpx_read


class _DryRun(Exception):
    """Raised inside the dry run's transaction to roll it back."""


class Command(BaseCommand):
    help = (
        "Import a GPX file's tracks as an inspector's fixes (filtered and assigned to shifts "
        "as uploads are). Idempotent: a second run stores nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the GPX 1.0 or 1.1 file; every track point needs a time")
        parser.add_argument("--inspector", required=True, metavar="USERNAME")
        parser.add_argument(
            "--crs",
            choices=CRS_CHOICES,
            default="wgs84",
            help="coordinate system of the file (default wgs84; gcj02 for AMap/Tencent, bd09 "
            "for Baidu exports)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="import inside a transaction that is rolled back: the counts an import would "
            "give now, nothing stored",
        )

    def handle(self, *args, file: str, inspector: str, crs: str, dry_run: bool, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        user = User.objects.filter(username=inspector).first()
        if user is None:
            raise CommandError(f"No user named {inspector!r}.")
        if not policy.may_patrol(user):
            raise CommandError(f"{inspector!r} is not an active grid inspector.")
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}") from None
        try:
            segments = gpx_read(data)
        except FixFormatError as error:
            raise CommandError(f"{path}: not imported: {error.field}: {error.message}") from None

        total = sum(len(segment) for segment in segments)
        verbose = options["verbosity"] > 0
        if verbose:
            self.stdout.write(f"{path.name}: {self._describe(segments, total)}")
        if not total:
            return
        started = time.monotonic()
        progress = StageProgress(enabled=verbose)
        try:
            result = self._import(user, segments, crs, dry_run, progress)
        finally:
            progress.close()
        if verbose:
            self._summary(result, total, dry_run, time.monotonic() - started)

    def _import(self, user, segments, crs, dry_run, progress) -> services.IngestResult:
        def step(done, total):
            progress("would import" if dry_run else "importing", done, total)

        step(0, sum(len(segment) for segment in segments))  # the bar's clock starts here
        if not dry_run:
            return services.track_points_import(
                inspector=user, segments=segments, crs=crs, progress=step
            )
        result = None
        try:
            with transaction.atomic():
                result = services.track_points_import(
                    inspector=user, segments=segments, crs=crs, progress=step
                )
                raise _DryRun()
        except _DryRun:
            pass
        finally:
            # Partitions made inside the rolled-back transaction are gone with it.
            partitions.forget()
        return result

    def _describe(self, segments, total: int) -> str:
        if not total:
            return "no timed track points: nothing to import"
        times = [fix.t for segment in segments for fix in (segment[0], segment[-1])]
        tz = timezone.get_default_timezone()
        first = datetime.fromtimestamp(min(times), tz)
        last = datetime.fromtimestamp(max(times), tz)
        return (
            f"{len(segments)} segment{'s' if len(segments) != 1 else ''}, {total:,} track points, "
            f"{first:%Y-%m-%d %H:%M:%S} to {last:%Y-%m-%d %H:%M:%S} ({tz.key})"
        )

    def _summary(self, result, total: int, dry_run: bool, seconds: float) -> None:
        rejected = sum(result.rejected.values())
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(result.rejected.items()))
        verb = "would accept" if dry_run else "accepted"
        line = (
            f"{verb} {result.accepted:,}, duplicate {result.duplicate:,}, rejected {rejected:,}"
            + (f" ({reasons})" if reasons else "")
            + f" of {total:,} in {seconds:.1f} s"
        )
        self.stdout.write(self.style.SUCCESS(line) if not rejected else line)
        if result.shifts and not dry_run:
            self.stdout.write("shifts: " + ", ".join(map(str, result.shifts)))
        if "too_old" in result.rejected:
            self.stdout.write(
                f"too_old: fixes more than GRIDCITY_PATROL_MAX_AGE_DAYS "
                f"({settings.GRIDCITY_PATROL_MAX_AGE_DAYS}) days old are not accepted."
            )
        if dry_run:
            self.stdout.write("dry run: nothing stored.")
