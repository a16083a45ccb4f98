"""manage.py seed_demo_hotline [--if-empty]: the hotline's knowledge base and a few calls."""

from django.core.management.base import BaseCommand, CommandError

from cases.demo import DEMO_DISTRICT
from gridcity.models import District
from gridcity.progress import seed_skipped
from portal.demo import hotline_demo_present, hotline_demo_seed


class Command(BaseCommand):
    help = (
        "Give the demo city's hotline a knowledge base and four calls of the demo operator "
        "(an open complaint, a consultation answered at once, two closed cases due for their "
        "callback). Needs the demo city and its people (seed_demo_city)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--district", default=DEMO_DISTRICT)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing if the knowledge base has entries (what `make run` uses)",
        )

    def handle(self, *args, **opts):
        district = District.objects.filter(code=opts["district"]).first()
        if district is None:
            raise CommandError(f"There is no district {opts['district']}: seed_demo_city first.")
        if seed_skipped(
            self, opts, hotline_demo_present, "The hotline has its demo already; not written."
        ):
            return
        counts = hotline_demo_seed(district)
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items()))
