"""A real GridCity web process, started as ``make run`` starts it, on a seeded SpatiaLite file.

For the tests that must see what the server process does (crash, leak, lock, trust a header),
which Django's test client cannot show. The database is migrated and seeded once per test run
(``template``) and copied for each server, so one test's writes never reach another's.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

_template: Path | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def embedded_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The embedded default (SpatiaLite, filesystem broker) in ``var_dir``, whatever the suite
    runs on: no DATABASE_URL, no REDIS_URL."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        GRIDCITY_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="gridcity.settings",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def seed() -> dict:
    """Run inside the server's environment (``python -m tests.liveserver``): the small city,
    the personas, one taxonomy item, tokens for the handhelds, and filed cases to act on."""
    from accounts.auth import token_issue
    from cases import services
    from tests.factories import PASSWORD, make_manhole_item, make_people, make_small_city

    city = make_small_city()
    people = make_people(city)
    item = make_manhole_item(people)
    centre = people.grid_a.geom.point_on_surface
    filed = []
    for n in range(25):
        case = services.case_report(
            by=people.inspector_a, item=item, lon=centre.x, lat=centre.y, description=f"井盖 {n}"
        ).case
        filed.append(services.case_file(case=case, by=people.dispatcher).number)
    tokens = {
        name: token_issue(user=user, device_id=f"seed-{name}").token
        for name, user in people.all().items()
    }
    return {
        "password": PASSWORD,
        "usernames": {name: user.username for name, user in people.all().items()},
        "tokens": tokens,
        "filed_cases": filed,
    }


def template(base: Path) -> Path:
    """A migrated, seeded var/ directory under ``base``, made once per test run."""
    global _template
    if _template is None:
        var = base / "liveserver-template"
        env = embedded_env(var)
        subprocess.run(
            [PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        seeded = subprocess.run(
            [PY, "-m", "tests.liveserver"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        (var / "seed.json").write_text(seeded.stdout.strip().splitlines()[-1])
        _template = var
    return _template


def var_copy(template_dir: Path, dest: Path) -> tuple[Path, dict]:
    """A fresh copy of the seeded var/ directory; it and what the seed made."""
    shutil.copytree(template_dir, dest, ignore=shutil.ignore_patterns("celery"))
    return dest, json.loads((dest / "seed.json").read_text())


class Server:
    """uvicorn with gridcity.asgi, exactly as ``make run``'s supervisor starts the web process."""

    def __init__(self, var_dir: Path, *, log: Path, **env: str):
        from gridcity.run import web_command

        self.port = free_port()
        self.env = embedded_env(var_dir, GRIDCITY_PORT=str(self.port), **env)
        trusted = int(self.env.get("GRIDCITY_TRUSTED_PROXIES", "0"))
        self.argv = web_command(PY, host="127.0.0.1", port=self.port, trusted_proxies=trusted)
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def healthz(self) -> int | None:
        """/healthz's status, or None when nothing answers."""
        try:
            with urllib.request.urlopen(self.url("/healthz"), timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def memory_kib(self, field: str = "VmRSS") -> int:
        """The server's resident memory now (VmRSS) or at its highest so far (VmHWM), in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        raise AssertionError(f"no {field}")

    def __enter__(self):
        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"the server did not start:\n{self.log.read_text()}")
            if self.healthz() == 200:
                return self
            time.sleep(0.3)
        self.__exit__()
        raise AssertionError(f"the server did not answer:\n{self.log.read_text()}")

    def __exit__(self, *exc):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def request(
    server: Server, method: str, path: str, *, body=None, headers=None, timeout: float = 60
) -> tuple[int, dict | str]:
    """One HTTP request; its status and its body (parsed when JSON)."""
    data = json.dumps(body).encode() if isinstance(body, dict | list) else body
    headers = dict(headers or {})
    if isinstance(body, dict | list):
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(server.url(path), data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, raw, kind = (
                response.status,
                response.read(),
                response.headers.get_content_type(),
            )
    except urllib.error.HTTPError as exc:
        status, raw, kind = exc.code, exc.read(), exc.headers.get_content_type()
    text = raw.decode("utf-8", "replace")
    return status, json.loads(text) if kind == "application/json" and text else text


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(seed()))
