"""``make run``'s process group: web, worker and beat start, answer, come back when one dies,
and all stop on Ctrl-C."""

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gridcity.run import Supervisor, web_command

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


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


def wait_for(predicate, *, seconds: float, what: str):
    """Poll ``predicate`` until it returns something true; that value. Fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it only waits for its parent to read its exit code.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def group_members(pgid: int) -> list[str]:
    found = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True)
    return found.stdout.split()


# --- The supervisor on its own, with small stand-in commands -------------------------------


class Supervised:
    """A Supervisor running in a thread, its output in memory."""

    def __init__(self, commands, **options):
        self.out = io.BytesIO()
        self.supervisor = Supervisor(commands, out=self.out, **options)
        self.thread = threading.Thread(target=self.supervisor.run, daemon=True)

    @property
    def text(self) -> str:
        return self.out.getvalue().decode()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.supervisor.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the supervisor did not stop"


def restart_waits(text: str, name: str) -> list[float]:
    return [
        float(w)
        for w in re.findall(rf"{name} \(pid \d+\) ended with .*? again in ([\d.]+) s", text)
    ]


def test_a_child_that_keeps_failing_is_restarted_with_a_doubling_wait():
    crash = [PY, "-c", "import sys; print('giving up'); sys.exit(3)"]
    steady = [PY, "-c", "import time; time.sleep(60)"]
    with Supervised(
        {"crashy": crash, "steady": steady}, backoff_first=0.05, backoff_max=0.4
    ) as run:
        wait_for(lambda: len(restart_waits(run.text, "crashy")) >= 6, seconds=30, what="6 exits")
        steady_pid = run.supervisor.children[1].process.pid

    assert restart_waits(run.text, "crashy")[:6] == [0.05, 0.1, 0.2, 0.4, 0.4, 0.4]
    assert "crashy (pid" in run.text and "ended with exit code 3" in run.text
    assert "crashy | giving up" in run.text  # its own output, under its name
    # The other one was never disturbed, and the stop ended it.
    assert run.text.count("started steady") == 1
    assert not alive(steady_pid)


def test_a_command_that_cannot_start_is_tried_again_with_a_doubling_wait(tmp_path):
    missing = [str(tmp_path / "no-such-program")]
    with Supervised({"ghost": missing}, backoff_first=0.05, backoff_max=0.2) as run:
        wait_for(lambda: run.text.count("could not start") >= 4, seconds=30, what="4 tries")

    waits = re.findall(r"ghost could not start .*?; trying again in ([\d.]+) s", run.text)
    assert [float(w) for w in waits[:4]] == [0.05, 0.1, 0.2, 0.2]


def test_a_child_that_ran_a_while_starts_its_back_off_over():
    crash = [PY, "-c", "import sys; sys.exit(1)"]
    # stable_after=0: every run counts as long enough, so every wait is the first one.
    with Supervised({"flaky": crash}, backoff_first=0.05, stable_after=0) as run:
        wait_for(lambda: len(restart_waits(run.text, "flaky")) >= 4, seconds=30, what="4 exits")

    assert restart_waits(run.text, "flaky")[:4] == [0.05] * 4


def test_stopping_ends_children_that_ignore_sigterm_and_what_they_started():
    stubborn = [
        PY,
        "-c",
        "import signal, subprocess, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        "print('grandchild', child.pid, flush=True)\n"
        "time.sleep(300)\n",
    ]
    with Supervised({"stubborn": stubborn}, stop_grace=0.5) as run:
        grandchild = int(
            wait_for(
                lambda: re.search(r"grandchild (\d+)", run.text), seconds=30, what="grandchild"
            ).group(1)
        )
        child = run.supervisor.children[0].process.pid

    assert "stopped" in run.text
    assert not alive(child)
    # Killed with its group; a zombie at most, waiting for init to read its exit code.
    wait_for(lambda: not alive(grandchild), seconds=10, what="the grandchild gone")


def test_make_run_trusts_no_proxy_header_unless_told_to():
    direct = web_command(PY, host="127.0.0.1", port=8000, trusted_proxies=0)
    behind_nginx = web_command(PY, host="127.0.0.1", port=8000, trusted_proxies=1)

    assert "--no-proxy-headers" in direct and "--proxy-headers" not in direct
    # From the proxy's address only: uvicorn's FORWARDED_ALLOW_IPS, 127.0.0.1 and ::1 unset.
    assert "--proxy-headers" in behind_nginx and "--forwarded-allow-ips" not in behind_nginx


# --- The real thing: python -m gridcity.run on a fresh embedded default --------------------


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
        [PY, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return env


class RunLog:
    def __init__(self, path: Path):
        self.path = path

    @property
    def text(self) -> str:
        return self.path.read_text()

    def pid(self, name: str) -> int:
        """The pid of ``name``'s latest start."""
        return int(re.findall(rf"started {name} \(pid (\d+)\)", self.text)[-1])

    def starts(self, name: str) -> int:
        return len(re.findall(rf"started {name} \(pid \d+\)", self.text))


def test_run_starts_web_worker_and_beat_restarts_them_and_ctrl_c_stops_them(embedded_env, tmp_path):
    log = RunLog(tmp_path / "run.log")
    proc = subprocess.Popen(
        [PY, "-m", "gridcity.run"],
        cwd=ROOT,
        env=embedded_env,
        stdout=log.path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{embedded_env['GRIDCITY_PORT']}/healthz"

    def healthz():
        try:
            return get_json(url)
        except (urllib.error.URLError, ConnectionError):
            return None

    try:
        status, body = wait_for(healthz, seconds=60, what="/healthz answering")
        assert status == 200, body
        assert body["checks"]["broker"]["detail"] == "filesystem"
        # The worker and the beat start side by side; wait for whichever comes last.
        wait_for(
            lambda: "ready" in log.text and "beat: Starting" in log.text,
            seconds=60,
            what="worker and beat started",
        )
        output = log.text
        assert f"http://127.0.0.1:{embedded_env['GRIDCITY_PORT']}/" in output
        assert "celery@" in output and "ready" in output  # the worker
        assert "beat: Starting" in output  # the beat

        # The web process dies: it is started again and /healthz answers again.
        web = log.pid("web")
        os.kill(web, signal.SIGKILL)
        wait_for(lambda: log.starts("web") == 2, seconds=30, what="web started again")
        assert f"web (pid {web}) ended with signal SIGKILL" in log.text
        assert re.search(r"starting it again in \d+ s", log.text)
        assert log.pid("web") != web
        status, _ = wait_for(healthz, seconds=60, what="/healthz answering again")
        assert status == 200
        # The worker and the beat were not touched.
        assert log.starts("worker") == 1 and log.starts("beat") == 1

        # The worker dies: it is started again, its pool does not linger, the rest stays.
        worker = log.pid("worker")
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: log.starts("worker") == 2, seconds=30, what="worker started again")
        wait_for(lambda: log.text.count(" ready") >= 2, seconds=60, what="worker ready again")
        assert group_members(worker) == []  # the old worker's pool processes are gone
        assert log.starts("web") == 2 and log.starts("beat") == 1
        assert healthz()[0] == 200
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert proc.returncode == 0
    leftover = subprocess.run(
        ["pgrep", "-s", str(proc.pid)], capture_output=True, text=True
    ).stdout.split()
    assert leftover == []
