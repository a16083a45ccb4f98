"""The shape of the code: no function over 60 lines outside migrations, tests and benchmarks."""

import importlib.util
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _checker():
    spec = importlib.util.spec_from_file_location(
        "check_function_length", ROOT / "scripts" / "check_function_length.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_function_is_longer_than_sixty_lines():
    offenders = _checker().offenders()

    assert not offenders, "functions over 60 lines:\n" + "\n".join(offenders)


def test_the_check_finds_a_long_method_and_skips_a_short_one(tmp_path):
    body = "\n".join(f"        x{i} = {i}" for i in range(60))
    source = tmp_path / "shapes.py"
    source.write_text(
        textwrap.dedent(
            """\
            class Shape:
                def short(self):
                    return 1

                def long(self):
            """
        )
        + body
        + "\n"
    )

    found = list(_checker().long_functions(source))

    assert found == [(5, "Shape.long", 61)]
