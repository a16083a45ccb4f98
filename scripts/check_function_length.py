"""List every function longer than a limit (60 lines) outside migrations, tests and benchmarks.

``python scripts/check_function_length.py [--max 60] [paths…]`` prints one offender a line
(``path:line name length``) and exits 1 when there is any; ``tests/test_code_shape.py`` runs it.
A function's length runs from its ``def`` (decorators excluded) to its last line, docstring
included; a nested function counts towards its parent's length and is checked on its own too.
"""

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 60
SKIPPED_PARTS = {"migrations", "tests", "bench", "node_modules", "var", "scripts"}


def python_files(paths: list[Path]):
    for path in paths:
        candidates = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for file in candidates:
            parts = set(file.relative_to(ROOT).parts) if file.is_relative_to(ROOT) else set()
            if not (parts & SKIPPED_PARTS or any(p.startswith(".") for p in parts)):
                yield file


def long_functions(file: Path, limit: int = MAX_LINES):
    """``(line, qualified name, length)`` of each function in ``file`` over ``limit`` lines."""
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                length = child.end_lineno - child.lineno + 1
                if length > limit:
                    yield child.lineno, name, length
                yield from visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.")
            else:
                yield from visit(child, prefix)

    yield from visit(tree, "")


def offenders(paths: list[Path] | None = None, limit: int = MAX_LINES) -> list[str]:
    found = []
    for file in python_files(paths or [ROOT]):
        for line, name, length in long_functions(file, limit):
            found.append(f"{file.relative_to(ROOT)}:{line} {name} {length} lines")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=MAX_LINES, help="longest allowed function")
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: all)")
    args = parser.parse_args(argv)
    found = offenders([p.resolve() for p in args.paths], args.max)
    print("\n".join(found) or f"no function over {args.max} lines")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
