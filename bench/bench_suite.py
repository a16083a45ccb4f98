#!/usr/bin/env python3
"""The test suite's wall time now and at a baseline revision, one after the other, same machine.

    .venv/bin/python bench/bench_suite.py                      # the whole suite, as make test
    .venv/bin/python bench/bench_suite.py tests/cases tests/accounts
    .venv/bin/python bench/bench_suite.py --baseline 6cd9403 --database postgis://… tests/cases
    .venv/bin/python bench/bench_suite.py tests/cases -- -x -k dispatch   # more pytest options

The baseline is checked out into a temporary ``git worktree`` (removed afterwards) with its
translations compiled, and both trees run ``python -m pytest`` with this interpreter, the same
paths and options, each with its own empty var/ directory; ``--database`` sets DATABASE_URL for
both (without it, the one in the environment passes through, or SpatiaLite); the current tree
runs with ``-n auto`` (pytest-xdist) as ``make test`` does, unless ``--workers 0``. It prints
both wall times and their ratio (now / baseline: below 1 is faster). Not part of
``bench/run.py``'s list: it runs the suite twice, which takes many minutes.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import line  # noqa: E402

BASELINE = "6cd9403"


def compile_translations(tree: Path) -> None:
    """The .mo files are not in git; compile them as scripts/setup.sh does."""
    for po in tree.glob("locale/*/LC_MESSAGES/*.po"):
        subprocess.run(["msgfmt", "-o", str(po.with_suffix(".mo")), str(po)], check=True)


def timed_pytest(tree: Path, args: list[str], env: dict[str, str], log: Path) -> tuple[float, int]:
    """Wall time (s) and exit status of the suite in ``tree``; its output goes to ``log``."""
    started = time.perf_counter()
    with log.open("w") as out:
        status = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
            cwd=tree,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        ).returncode
    return time.perf_counter() - started, status


def summary(log: Path) -> str:
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    return lines[-1].strip("= ") if lines else "(no output)"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help=f"git revision (default {BASELINE})")
    parser.add_argument("--database", help="DATABASE_URL for both runs (default: environment)")
    parser.add_argument("--keep-logs", type=Path, help="directory to keep both pytest outputs")
    parser.add_argument(
        "--workers",
        default="auto",
        help="test processes for the current tree, as `make test` runs it (default auto: one "
        "per core; 0: one process). The baseline runs as its own `make test` did: one process.",
    )
    parser.add_argument("paths", nargs="*", help="test paths (default: the whole suite)")
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    else:
        extra = []
    options = parser.parse_args(argv)
    env = dict(os.environ, PYTHONUNBUFFERED="1", DJANGO_SETTINGS_MODULE="gridcity.settings")
    if options.database:
        env["DATABASE_URL"] = options.database
    database = env.get("DATABASE_URL", "spatialite").split(":", 1)[0]
    args = ["-q", *extra, *options.paths]

    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        base, logs = Path(tmp) / "baseline", options.keep_logs or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(base), options.baseline],
            cwd=ROOT,
            check=True,
        )
        try:
            compile_translations(base)
            results = {}
            parallel = ["-n", options.workers] if options.workers != "0" else []
            for name, tree, own in (("baseline", base, []), ("now", ROOT, parallel)):
                var = Path(tmp) / f"var-{name}"
                var.mkdir()
                log = logs / f"suite-{name}.log"
                print(f"running the suite at {name} ({tree}) …", file=sys.stderr, flush=True)
                results[name] = (
                    *timed_pytest(tree, own + args, {**env, "GRIDCITY_VAR_DIR": str(var)}, log),
                    log,
                )
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT)

    (base_s, base_rc, base_log), (now_s, now_rc, now_log) = results["baseline"], results["now"]
    scope = " ".join(options.paths) or "whole suite"
    print(f"baseline {options.baseline}: {summary(base_log)}")
    print(f"now: {summary(now_log)}")
    verdict = "" if base_rc == now_rc == 0 else f"(pytest exit: baseline {base_rc}, now {now_rc})"
    print(
        line(
            f"test suite wall time ({scope}, {database})",
            f"{now_s:.1f} s",
            f"{options.baseline} {base_s:.1f} s",
            now_s / base_s,
            verdict,
        )
    )
    return 0 if base_rc == now_rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
