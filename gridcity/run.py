"""``make run``: the whole system on the embedded default, kept running.

HTTP and websockets (uvicorn, ASGI), a Celery worker and Celery beat, each a child process with
its output prefixed by its name. A child that exits, for whatever reason, is started again after
a back-off (1 s, doubling to 60 s; back to 1 s once it has run for a minute), and the restart is
logged: which one, how it ended, when it comes back. Ctrl-C or SIGTERM stops them all: each gets
SIGTERM, and SIGKILL after a grace period, with everything it started (its process group).
Production runs the same pieces as separate services under systemd or the like (see
docs/deployment.md).

A supervisor of our own, some hundred lines of ``subprocess``, rather than a library: honcho
(which ran this before) stops everything when one process exits and has no restart; supervisord
and circus restart, but each is a daemon with its own configuration and control channel, much
more than three children of one terminal need.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

HOST = os.environ.get("GRIDCITY_HOST", "127.0.0.1")
PORT = int(os.environ.get("GRIDCITY_PORT", "8000"))

BACKOFF_FIRST = 1.0  # seconds before the first restart
BACKOFF_MAX = 60.0  # the longest wait between restarts
STABLE_AFTER = 60.0  # a child that ran this long is healthy again: its back-off starts over
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL when stopping
WEB_GRACE = 5  # uvicorn's graceful shutdown: open websockets must not hold the stop up


def how_it_ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


@dataclass
class Child:
    """One supervised command: its current process, and how often it failed in a row."""

    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0  # exits in a row, each after less than STABLE_AFTER
    restart_at: float | None = None  # when to start it again, after an exit
    output: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    """Start children, restart the ones that exit with back-off, stop them all on request."""

    def __init__(
        self,
        commands: dict[str, list[str]],
        *,
        env: dict[str, str] | None = None,
        backoff_first: float = BACKOFF_FIRST,
        backoff_max: float = BACKOFF_MAX,
        stable_after: float = STABLE_AFTER,
        stop_grace: float = STOP_GRACE,
        out=None,
    ):
        self.children = [Child(name, argv) for name, argv in commands.items()]
        self.env = env
        self.backoff_first = backoff_first
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.stop_grace = stop_grace
        self.stopping = False
        self.out = out if out is not None else sys.stdout.buffer  # binary: children's bytes
        self._print_lock = threading.Lock()
        self._width = max(6, *(len(child.name) for child in self.children))

    def _write(self, name: str, line: bytes) -> None:
        with self._print_lock:
            self.out.write(f"{time.strftime('%H:%M:%S')} {name:<{self._width}} | ".encode())
            self.out.write(line if line.endswith(b"\n") else line + b"\n")
            self.out.flush()

    def log(self, message: str) -> None:
        self._write("run", message.encode())

    def backoff(self, failures: int) -> float:
        """The wait before restart number ``failures`` (1, 2, 3, …) of a child failing in a row."""
        return min(self.backoff_max, self.backoff_first * 2 ** (failures - 1))

    def _start(self, child: Child) -> None:
        # A process group of its own: Ctrl-C in the terminal reaches only the supervisor, which
        # stops the children in order, and a stop reaches whatever a child started (Celery's
        # pool). The same session, so nothing leaves the terminal's session behind.
        child.started_at = time.monotonic()
        child.restart_at = None
        try:
            child.process = subprocess.Popen(
                child.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                process_group=0,
            )
        except OSError as exc:  # out of processes or memory, say: try again later like an exit
            child.failures += 1
            wait = self.backoff(child.failures)
            child.restart_at = child.started_at + wait
            self.log(f"{child.name} could not start ({exc}); trying again in {wait:g} s")
            return
        child.output = threading.Thread(
            target=self._relay, args=(child, child.process), daemon=True
        )
        child.output.start()
        self.log(f"started {child.name} (pid {child.process.pid})")

    def _relay(self, child: Child, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self._write(child.name, line)

    @staticmethod
    def _kill_group(process: subprocess.Popen, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)

    @staticmethod
    def _wait_group_gone(process: subprocess.Popen, timeout: float = 2.0) -> None:
        """A signal is delivered after ``killpg`` returns: wait (briefly) until the group is
        empty, so that nothing is left running once the supervisor has returned."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.05)

    def _reap(self, child: Child, now: float) -> None:
        process = child.process
        returncode = process.poll()
        if returncode is None:
            return
        # Whatever it left behind in its group (a worker's pool processes) goes with it.
        self._kill_group(process, signal.SIGKILL)
        child.process = None
        ran = now - child.started_at
        child.failures = 1 if ran >= self.stable_after else child.failures + 1
        wait = self.backoff(child.failures)
        child.restart_at = now + wait
        self.log(
            f"{child.name} (pid {process.pid}) ended with {how_it_ended(returncode)} after "
            f"{ran:.0f} s; starting it again in {wait:g} s"
        )

    def run(self) -> int:
        """Supervise until ``stop()`` (a signal handler calls it); 0 once everything stopped."""
        for child in self.children:
            self._start(child)
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                if self.stopping:
                    break
                if child.process is not None:
                    self._reap(child, now)
                elif child.restart_at is not None and now >= child.restart_at:
                    self._start(child)
            time.sleep(0.2)
        self._stop_all()
        return 0

    def stop(self, *_signal_args) -> None:
        if self.stopping:  # a second Ctrl-C: no more grace
            self.stop_grace = 0
        self.stopping = True

    def _stop_all(self) -> None:
        running = [c for c in self.children if c.process and c.process.poll() is None]
        self.log("stopping " + ", ".join(c.name for c in running))
        began = time.monotonic()
        for child in running:
            # The leader only: a Celery worker stops its own pool, and ends badly when the
            # pool is killed under it. The rest of the group is killed below, after the grace.
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)
        deadline = began + self.stop_grace
        waiting = list(running)
        while waiting and time.monotonic() < deadline:
            for child in [c for c in waiting if c.process.poll() is not None]:
                waiting.remove(child)
                self.log(f"{child.name} stopped in {time.monotonic() - began:.1f} s")
            time.sleep(0.1)
        for child in waiting:
            self.log(f"{child.name} did not stop in {self.stop_grace:g} s: killing it")
        for child in self.children:
            if child.process is not None:
                # SIGKILL the group even when its leader has gone: its pool may not have.
                self._kill_group(child.process, signal.SIGKILL)
                child.process.wait()
                self._wait_group_gone(child.process)
                if child.output is not None:
                    child.output.join(timeout=2)
        self.log("stopped")


def web_command(python: str, *, host: str, port: int, trusted_proxies: int) -> list[str]:
    """uvicorn as ``make run`` starts it.

    uvicorn believes ``X-Forwarded-For`` from 127.0.0.1 unless told otherwise, and rewrites the
    client address with it, which django-axes then counts failures against. With no trusted
    proxy (GRIDCITY_TRUSTED_PROXIES=0) it must not: anyone could name a new address per guess.
    With proxies, uvicorn believes it from the addresses in FORWARDED_ALLOW_IPS (uvicorn's own
    variable; 127.0.0.1 and ::1 when unset: a proxy on the same machine).
    """
    argv = [python, "-m", "uvicorn", "gridcity.asgi:application", "--host", host]
    argv += ["--port", str(port), "--lifespan", "off", "--log-level", "warning"]
    argv += ["--timeout-graceful-shutdown", str(WEB_GRACE)]
    if trusted_proxies > 0:
        argv += ["--proxy-headers"]
    else:
        argv += ["--no-proxy-headers"]
    return argv


def commands(python: str, *, trusted_proxies: int) -> dict[str, list[str]]:
    celery = [python, "-m", "celery", "-A", "gridcity"]
    worker = ["worker", "--loglevel", "INFO", "--concurrency", "2", "--without-gossip"]
    return {
        "web": web_command(python, host=HOST, port=PORT, trusted_proxies=trusted_proxies),
        "worker": [*celery, *worker, "--without-mingle"],
        "beat": [*celery, "beat", "--loglevel", "INFO"],
    }


def banner() -> str:
    from accounts.demo import demo_logins, demo_password

    base = f"http://{HOST if HOST not in ('0.0.0.0', '::') else 'localhost'}:{PORT}"
    lines = [
        "",
        "GridCity is starting (Ctrl-C stops everything):",
        f"  map of the district   {base}/",
        f"  health                {base}/healthz",
        f"  API and its docs      {base}/api/v1/   {base}/api/docs/",
        f"  patrol audit          {base}/patrol/audit/   (as a supervisor)",
        f"  admin                 {base}/admin/",
        f"  log in                {base}/accounts/login/",
        "",
        f"Demo log-ins, on the web or a handheld (password for all: {demo_password()}):",
        *(f"  {username:<27} {what}" for username, what in demo_logins()),
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcity.settings")
    import django

    django.setup()
    from django.conf import settings

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # the children's lines as they happen
    supervisor = Supervisor(
        commands(sys.executable, trusted_proxies=settings.GRIDCITY_TRUSTED_PROXIES), env=env
    )
    for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: terminal closed
        signal.signal(stop_signal, supervisor.stop)
    print(banner(), flush=True)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
