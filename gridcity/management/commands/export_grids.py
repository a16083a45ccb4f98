"""manage.py export_grids FILE [--format geojson|gpkg] [--level …] [--street CODE]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gridcity.models import Level
from gridcity.selectors import units_for_export
from gridcity.vector_io import VectorFileError, write_geojson, write_geopackage


class Command(BaseCommand):
    help = (
        "Export the hierarchy as GeoJSON (one level) or GeoPackage (a layer per level), with "
        "the fields code, name, parent_code and area_m2, so import_grids reads it back as it was."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--format", choices=["geojson", "gpkg"], help="default: from the file's extension"
        )
        parser.add_argument(
            "--level",
            choices=[*Level.values, "all"],
            help="default: grid for GeoJSON, all for GeoPackage",
        )
        parser.add_argument(
            "--within", metavar="CODE", help="only units under (or equal to) this code"
        )

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        fmt = opts["format"] or ("gpkg" if path.suffix.lower() == ".gpkg" else "geojson")
        level = opts["level"] or ("grid" if fmt == "geojson" else "all")
        if fmt == "geojson" and level == "all":
            raise CommandError("GeoJSON holds one level: choose --level, or write a .gpkg")
        levels = Level.values if level == "all" else [level]
        try:
            if fmt == "geojson":
                count = write_geojson(path, units_for_export(level, opts["within"]), name=level)
                counts = {level: count}
            else:
                counts = write_geopackage(
                    path, {lv: list(units_for_export(lv, opts["within"])) for lv in levels}
                )
        except VectorFileError as exc:
            raise CommandError(str(exc)) from exc
        summary = ", ".join(f"{n} {lv}" for lv, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"wrote {summary} to {path}"))
