"""manage.py check_hierarchy [CODE]: verify the stored hierarchy, as the importer would."""

from django.core.management.base import BaseCommand, CommandError

from gridcity.progress import StageProgress
from gridcity.selectors import hierarchy_problems


class Command(BaseCommand):
    help = (
        "Check every unit under CODE (default: all): children inside their parents, no sibling "
        "overlaps beyond the tolerance, each parent tiled by its children. Exits non-zero and "
        "lists every problem found."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", nargs="?", help="a district, street or community code")

    def handle(self, *args, **opts):
        progress = StageProgress(enabled=opts["verbosity"] > 0)
        try:
            problems = hierarchy_problems(opts["code"], progress=progress)
        finally:
            progress.close()
        for problem in problems:
            self.stderr.write(str(problem))
        if problems:
            raise CommandError(f"{len(problems)} problem(s) in the hierarchy.")
        self.stdout.write(self.style.SUCCESS("The hierarchy is consistent."))
