"""Settings come from the environment; production values pass ``check --deploy``."""

import os
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
