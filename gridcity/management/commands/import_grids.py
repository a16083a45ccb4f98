"""manage.py import_grids FILE --level … --code-field … --name-field …"""

import time

from django.core.management.base import BaseCommand, CommandError

from gridcity import coords
from gridcity.models import Level
from gridcity.progress import StageProgress
from gridcity.services import ImportRejected, units_import
from gridcity.vector_io import VectorFileError, read_features


class Command(BaseCommand):
    help = (
        "Import one level of the hierarchy from any vector file GDAL reads (GeoJSON, Shapefile, "
        "GeoPackage…). All or nothing: a single bad feature writes nothing, and every bad "
        "feature is listed. Units are matched by code, so importing again only updates."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--level", required=True, choices=Level.values)
        parser.add_argument("--code-field", required=True)
        parser.add_argument("--name-field", required=True)
        parser.add_argument(
            "--parent-field",
            help="field holding the parent's code (default: the code's leading digits)",
        )
        parser.add_argument(
            "--crs",
            default="wgs84",
            choices=coords.CRS_CHOICES,
            help="the coordinates' datum offset (default wgs84)",
        )
        parser.add_argument("--layer", help="layer name (default: the first layer)")

    def handle(self, *args, **opts):
        started = time.monotonic()
        try:
            features = read_features(
                opts["file"],
                code_field=opts["code_field"],
                name_field=opts["name_field"],
                parent_field=opts["parent_field"],
                crs=opts["crs"],
                layer=opts["layer"],
            )
        except VectorFileError as exc:
            raise CommandError(str(exc)) from exc
        progress = StageProgress(enabled=opts["verbosity"] > 0)
        try:
            result = units_import(level=opts["level"], features=features, progress=progress)
        except ImportRejected as exc:
            progress.close()
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                f"{len(exc.problems)} problem(s) in {opts['file']}; nothing was imported."
            ) from exc
        finally:
            progress.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"{opts['level']}: {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged in {time.monotonic() - started:.1f} s"
            )
        )
