#!/usr/bin/env python3
"""Run the benchmarks: ``make bench`` or ``.venv/bin/python bench/run.py [name …]``.

Each benchmark prints ``name: figure (baseline: figure, ratio)``, the baseline measured in the
same run on the same data, because on a shared machine a ratio holds where a time does not.
The benchmarks use their own SpatiaLite database under ``var/bench/`` (or ``DATABASE_URL`` if
set), built with the demo city on first use.
"""

import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_VAR = ROOT / "var" / "bench"
BENCH_VAR.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("DATABASE_URL", f"spatialite:///{BENCH_VAR / 'bench.sqlite3'}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcity.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

BENCHMARKS = [
    "locate",
    "import",
    "visibility",
    "me",
    "cases",
    "desk",
    "portal",
    "ingest",
    "analysis",
]


def ensure_demo_city() -> None:
    from gridcity.models import WorkGrid

    call_command("migrate", verbosity=0)
    if not WorkGrid.objects.filter(code__startswith="440306").exists():
        print("building the demo city for the benchmarks…", file=sys.stderr)
        call_command("seed_demo_city", verbosity=0)


def main(names: list[str]) -> int:
    ensure_demo_city()
    for name in names or BENCHMARKS:
        module = importlib.import_module(f"bench.bench_{name}")
        for line in module.run():
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
