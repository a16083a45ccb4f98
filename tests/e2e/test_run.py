"""``make run``'s process group: web, worker and beat start, answer, and stop on Ctrl-C."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def embedded_env(tmp_path):
    """The embedded default in a fresh var/ directory: no DATABASE_URL, no REDIS_URL."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        GRIDCITY_VAR_DIR=str(tmp_path / "var"),
        GRIDCITY_PORT=str(free_port()),
        DJANGO_SETTINGS_MODULE="gridcity.settings",
        PYTHONUNBUFFERED="1",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return env


def test_run_starts_web_worker_and_beat_and_ctrl_c_stops_them(embedded_env, tmp_path):
    log = (tmp_path / "run.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridcity.run"],
        cwd=ROOT,
        env=embedded_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{embedded_env['GRIDCITY_PORT']}/healthz"
    try:
        status, body = None, None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, body = get_json(url)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert status == 200, body
        assert body["checks"]["broker"]["detail"] == "filesystem"
        # The worker and the beat start side by side; wait for whichever comes last.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = (tmp_path / "run.log").read_text()
            if "ready" in text and "beat: Starting" in text:
                break
            time.sleep(0.5)
        output = (tmp_path / "run.log").read_text()
        assert f"http://127.0.0.1:{embedded_env['GRIDCITY_PORT']}/" in output
        assert "celery@" in output and "ready" in output  # the worker
        assert "beat: Starting" in output  # the beat
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    leftover = subprocess.run(
        ["pgrep", "-s", str(proc.pid)], capture_output=True, text=True
    ).stdout.split()
    assert leftover == []
