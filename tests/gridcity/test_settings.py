"""Settings come from the environment; production values pass ``check --deploy``."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, env_extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_check_deploy_reports_nothing_with_production_values(tmp_path):
    done = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_extra={
            "DEBUG": "0",
            "SECRET_KEY": "x" * 20 + "-production-secret-key-from-the-environment-7Hq",
            "ALLOWED_HOSTS": "grid.example.org",
            "GRIDCITY_VAR_DIR": str(tmp_path),
        },
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    done = run_manage("check", env_extra={"DEBUG": "0", "GRIDCITY_VAR_DIR": str(tmp_path)})

    assert done.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in done.stderr


def test_embedded_default_generates_one_secret_key_and_keeps_it(tmp_path):
    env = {"DEBUG": "1", "GRIDCITY_VAR_DIR": str(tmp_path)}
    run_manage("check", env_extra=env)
    first = (tmp_path / "secret_key").read_text()
    run_manage("check", env_extra=env)

    assert len(first) >= 50
    assert (tmp_path / "secret_key").read_text() == first
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_zh_hans_and_shanghai_are_the_defaults():
    from gridcity import settings

    assert settings.LANGUAGE_CODE == "zh-hans"
    assert ("en", "English") in settings.LANGUAGES
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True


def test_api_speaks_zh_hans_by_default_and_english_on_request(client, db, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    from django.utils import translation

    translation.deactivate()

    chinese = client.get("/api/v1/locate/", {"lon": 1.0, "lat": 1.0})
    english = client.get("/api/v1/locate/", {"lon": 1.0, "lat": 1.0}, HTTP_ACCEPT_LANGUAGE="en")

    assert chinese.json()["error"]["message"] == "该点不在任何网格内。"
    assert english.json()["error"]["message"] == "The point lies in no work grid."


def test_home_page_is_in_zh_hans_by_default(client, db, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    from django.utils import translation

    translation.deactivate()

    html = client.get("/").content.decode()

    assert 'lang="zh-hans"' in html
    assert "网格" in html


# --- the README's configuration table is the list of what is read -----------------------------

ENV_NAME = re.compile(r"`([A-Z][A-Z0-9_]+)`")
# Code that reads the environment outside settings: `make run` and the demo's password. Tests,
# benchmarks and the virtualenv are not the application.
APP_DIRS = ("gridcity", "accounts", "cases", "patrol", "desk", "portal", "sensors", "stats")


def _readme_variables() -> set[str]:
    """The variables named in the first column of the README's configuration table."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    names = set()
    for row in rows[2:]:  # after the header and its rule
        names.update(ENV_NAME.findall(row.split("|")[1]))
    return names


def _env_reads(tree: ast.AST, *, env_object: str | None) -> set[str]:
    """Names read from the environment in a module: ``env.<kind>("NAME", …)`` calls on the
    settings' ``environ.Env`` (``env_object``), and ``os.environ.get("NAME")``,
    ``os.getenv("NAME")`` and ``os.environ["NAME"]`` anywhere."""

    def first_string(call: ast.Call) -> str | None:
        if call.args and isinstance(call.args[0], ast.Constant):
            value = call.args[0].value
            return value if isinstance(value, str) else None
        return None

    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = ast.unparse(node.func.value)
            if (
                (env_object and owner == env_object)
                or (owner in ("os.environ", "environ") and node.func.attr == "get")
                or (owner == "os" and node.func.attr == "getenv")
            ):
                name = first_string(node)
            else:
                name = None
            if name:
                names.add(name)
        elif (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value) == "os.environ"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
            and not isinstance(node.ctx, ast.Store)
        ):
            names.add(node.slice.value)
    return names


def _variables_read() -> dict[str, set[str]]:
    """Each variable the application reads from the environment, with the files that read it."""
    read: dict[str, set[str]] = {}
    settings_file = ROOT / "gridcity" / "settings.py"
    for name in _env_reads(ast.parse(settings_file.read_text()), env_object="env"):
        read.setdefault(name, set()).add("gridcity/settings.py")
    for folder in APP_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == settings_file or "migrations" in path.parts:
                continue
            for name in _env_reads(ast.parse(path.read_text()), env_object=None):
                read.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return read


def test_the_settings_parser_finds_what_settings_read():
    read = _variables_read()

    # Reads of every kind the parser knows: env.str, env.bool, env.int, env.db_url, os.environ.
    for name in ("SECRET_KEY", "DEBUG", "GRIDCITY_DB_POOL_SIZE", "DATABASE_URL", "GRIDCITY_PORT"):
        assert name in read, name
    assert "GRIDCITY_PHOTO_MAX_BYTES" in read and "GRIDCITY_PHOTO_MAX_PIXELS" in read


def test_every_variable_read_is_in_the_readme_and_every_one_listed_is_read():
    read = _variables_read()
    listed = _readme_variables()

    undocumented = {name: sorted(files) for name, files in read.items() if name not in listed}
    never_read = sorted(listed - set(read))

    assert undocumented == {}, "read but missing from the README's configuration table"
    assert never_read == [], "in the README's configuration table but read nowhere"


def test_the_photo_limits_come_from_the_environment(tmp_path):
    script = (
        "from django.conf import settings; from cases.photos import photo_limits; "
        "from PIL import Image; "
        "print(settings.GRIDCITY_PHOTO_MAX_BYTES, settings.GRIDCITY_PHOTO_MAX_PIXELS, "
        "photo_limits()[:2], Image.MAX_IMAGE_PIXELS)"
    )
    done = run_manage(
        "shell",
        "-c",
        script,
        env_extra={
            "GRIDCITY_VAR_DIR": str(tmp_path),
            "GRIDCITY_PHOTO_MAX_BYTES": "123456",
            "GRIDCITY_PHOTO_MAX_PIXELS": "2000000",
        },
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "123456 2000000 (123456, 2000000) 2000000"


def test_a_client_calls_a_request_secure_only_through_a_trusted_proxy(tmp_path):
    """X-Forwarded-Proto is a header anyone can send: believed only as GRIDCITY_TRUSTED_PROXIES
    says, like X-Forwarded-For."""
    script = (
        "from django.test import RequestFactory; "
        "r = RequestFactory().get('/', HTTP_X_FORWARDED_PROTO='https'); print(r.is_secure())"
    )

    def secure(trusted: str) -> str:
        done = run_manage(
            "shell",
            "-c",
            script,
            env_extra={"GRIDCITY_VAR_DIR": str(tmp_path), "GRIDCITY_TRUSTED_PROXIES": trusted},
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split("\n")[-2]

    assert secure("0") == "False"
    assert secure("1") == "True"
