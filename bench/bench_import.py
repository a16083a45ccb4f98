"""import_grids: 4,833 work grids into an empty database, and the same file again.

Baseline, same run, same file: GDAL alone copying it (ogr2ogr GeoJSON → GeoPackage), which is
reading and writing with no validation at all. Target: the import under 30 s.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


def _manage(env: dict, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args, "-v", "1"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def run():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = {}
        for level in ("district", "street", "community", "grid"):
            files[level] = tmp / f"{level}.geojson"
            call_command("export_grids", str(files[level]), level=level, verbosity=0)
        env = {**os.environ, "DATABASE_URL": f"spatialite:///{tmp / 'import.sqlite3'}"}
        _manage(env, "migrate", "--noinput")
        fields = ["--code-field", "code", "--name-field", "name", "--parent-field", "parent_code"]
        for level in ("district", "street", "community"):
            _manage(env, "import_grids", str(files[level]), "--level", level, *fields)
        first = _manage(env, "import_grids", str(files["grid"]), "--level", "grid", *fields)
        again = _manage(env, "import_grids", str(files["grid"]), "--level", "grid", *fields)
        started = time.perf_counter()
        subprocess.run(
            ["ogr2ogr", "-f", "GPKG", str(tmp / "copy.gpkg"), str(files["grid"])],
            check=True,
            capture_output=True,
        )
        gdal = time.perf_counter() - started
        verdict = "OK" if first < 30 else "ABOVE TARGET (< 30 s)"
        from bench.common import line

        yield line(
            "import_grids 4,833 grids (new)",
            f"{first:.1f} s",
            f"ogr2ogr copy {gdal:.1f} s",
            first / gdal,
            verdict,
        )
        yield line(
            "import_grids 4,833 grids (same file again, nothing changes)",
            f"{again:.1f} s",
            f"ogr2ogr copy {gdal:.1f} s",
            again / gdal,
        )
