"""Copy the workbench screenshots the browser tests saved into docs/img/, made small.

The browser tests (tests/e2e/test_desk_a11y.py, test_desk_flow.py, the portal's and the
hotline's) save every workbench and portal page
at desktop and phone width to var/screenshots/ (or $GRIDCITY_SCREENSHOT_DIR). The docs show a
few of them; this keeps each under 200 KB (a palette of 256 colours suits flat interface
pictures) so the repository stays light:

    .venv/bin/python -m pytest -n 0 tests/e2e/test_desk_a11y.py
    .venv/bin/python scripts/docs_screenshots.py
"""

import argparse
import os
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
# The pictures the docs (docs/roles/*.md, the README) refer to.
SHOWN = [
    "dispatch-queue-desktop",
    "case-desktop",
    "department-queue-desktop",
    "department-today-desktop",
    "supervise-desktop",
    "map-desktop",
    "mobile-phone",
    "dispatch-queue-phone",
    "portal-report-phone",
    "portal-report-similar-phone",
    "hotline-console-desktop",
    "hotline-console-phone",
    "hotline-callbacks-desktop",
    "hotline-callbacks-phone",
    "hotline-day-desktop",
    "hotline-knowledge-desktop",
]
# Pictures the docs name otherwise than the test that takes them (docs name: saved name).
RENAMED = {
    "portal-near-phone": "portal-near-360",
    "portal-track-phone": "portal-track-2-dispatched-360",
    "portal-rate-phone": "portal-track-3-rate-360",
    "portal-reopen-phone": "portal-track-4-reopen-360",
    "portal-reopened-phone": "portal-track-5-reopened-360",
}
LIMIT = 200 * 1024


def small_png(source: Path, target: Path, colours: int = 256) -> int:
    """Write ``source`` to ``target`` as a palette PNG; halve the colours until it fits."""
    image = Image.open(source).convert("RGB")
    while True:
        image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(
            target, "PNG", optimize=True
        )
        size = target.stat().st_size
        if size <= LIMIT or colours <= 16:
            return size
        colours //= 2


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("GRIDCITY_SCREENSHOT_DIR") or REPO / "var" / "screenshots"
    parser.add_argument("--from", dest="source", type=Path, default=Path(default))
    parser.add_argument("--to", dest="target", type=Path, default=REPO / "docs" / "img")
    args = parser.parse_args(argv)
    args.target.mkdir(parents=True, exist_ok=True)
    missing = []
    for name in [*SHOWN, *RENAMED]:
        source = args.source / f"{RENAMED.get(name, name)}.png"
        if not source.exists():
            missing.append(name)
            continue
        size = small_png(source, args.target / f"{name}.png")
        print(f"{name}.png  {size / 1024:.0f} KB")
    if missing:
        print(f"not in {args.source}: {', '.join(missing)}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
