"""manage.py load_taxonomy [FILE]: the case taxonomy with its time limits."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cases.taxonomy import DEMO_TAXONOMY, TaxonomyInvalid, taxonomy_load_file


class Command(BaseCommand):
    help = (
        "Load case categories and items (部件/事件 → 大类 → 小类) with departments and time "
        "limits from a JSON file (default: the demo taxonomy). Idempotent; all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", type=Path, default=DEMO_TAXONOMY)

    def handle(self, *args, **opts):
        try:
            counts = taxonomy_load_file(opts["file"])
        except TaxonomyInvalid as exc:
            raise CommandError(f"nothing loaded: {exc}") from exc
        if opts["verbosity"] > 0:
            self.stdout.write(
                self.style.SUCCESS(", ".join(f"{n} {what}" for what, n in counts.items()))
            )
