"""``make run``: the whole system in one process group on the embedded default.

HTTP and websockets (uvicorn, ASGI), a Celery worker and Celery beat, each a child process
managed by honcho: their output is interleaved with a prefix, and Ctrl-C stops them all.
Production runs the same pieces as separate services (see docs/deployment.md).
"""

import os
import sys

from honcho.manager import Manager

HOST = os.environ.get("GRIDCITY_HOST", "127.0.0.1")
PORT = int(os.environ.get("GRIDCITY_PORT", "8000"))


def banner() -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcity.settings")
    import django

    django.setup()
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
    python = sys.executable
    manager = Manager()
    env = dict(os.environ)
    manager.add_process(
        "web",
        f"{python} -m uvicorn gridcity.asgi:application --host {HOST} --port {PORT} "
        "--lifespan off --log-level warning",
        env=env,
    )
    manager.add_process(
        "worker",
        f"{python} -m celery -A gridcity worker --loglevel INFO --concurrency 2 "
        "--without-gossip --without-mingle",
        env=env,
    )
    manager.add_process("beat", f"{python} -m celery -A gridcity beat --loglevel INFO", env=env)
    print(banner(), flush=True)
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
