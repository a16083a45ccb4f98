"""What the browser tests share: headless Chromium at a window size, a signed-in session,
the axe-core accessibility check and screenshots kept as artefacts.

Chromium is Debian's /usr/bin/chromium driven through /usr/bin/chromedriver (no download by
Selenium Manager). The fixtures ``browser`` and ``browser_factory`` reach the tests of
tests/e2e/ through its conftest; a module imports the helpers it uses::

    from tests.e2e.browser import BROWSER_MARKS, login, screenshot

    pytestmark = BROWSER_MARKS
"""

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("selenium")

from django.conf import settings
from django.test import Client
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT = 20
REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"

# Desktop and phone, as the workbenches are used: a 1366 px office screen and a 360 px phone.
DESKTOP = (1366, 900)
PHONE = (360, 740)

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason=f"browser tests need {CHROMIUM} and {CHROMEDRIVER} "
        "(Debian packages chromium and chromium-driver)",
    ),
]


def _make_driver(width: int, height: int, profile: str) -> webdriver.Chrome:
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile}",
        "--lang=zh-CN",
    ):
        options.add_argument(arg)
    # The interface's first language: Simplified Chinese.
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    # The console (errors of the page's modules) is read by the tests that fail on a timeout.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


@pytest.fixture
def browser_factory():
    """Start Chromium at a window size; each with a fresh profile, all closed at the end."""
    started: list[tuple[webdriver.Chrome, str]] = []

    def start(width: int = 1280, height: int = 900, *, phone: bool = False) -> webdriver.Chrome:
        profile = tempfile.mkdtemp(prefix="gridcity-chromium-")
        driver = _make_driver(max(width, 500), height, profile)
        started.append((driver, profile))
        if phone:
            # A desktop window is at least 500 px wide; a phone's viewport comes from emulation.
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
            )
            driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
        return driver

    yield start
    for driver, profile in started:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser(browser_factory) -> webdriver.Chrome:
    return browser_factory()


def login(driver, live_server, user, *, form: bool = False) -> None:
    """Give the browser the session of ``user``.

    By default the session is made on the server (the session engine, as the test client's
    ``force_login`` makes it) and set as a cookie: fast, and the log-in form has its own tests.
    ``form=True`` types the persona's password into the log-in page instead and waits to leave
    it (the landing page is the person's workbench)."""
    if form:
        driver.get(f"{live_server.url}/accounts/login/")
        driver.find_element(By.NAME, "username").send_keys(user.get_username())
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()
        WebDriverWait(driver, WAIT).until(lambda d: "/accounts/login/" not in d.current_url)
        return
    client = Client()
    client.force_login(user)
    # A cookie is set for the page's origin: open a cheap page of the live server first.
    driver.get(f"{live_server.url}/healthz")
    driver.add_cookie(
        {
            "name": settings.SESSION_COOKIE_NAME,
            "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "path": "/",
        }
    )


def skip_unless_served(path: str, user=None) -> None:
    """Skip a test whose page is not built yet: its URL still answers 404 to its own person
    (a part of the workbenches that other work fills in)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    status = client.get(path).status_code
    if status == 404:
        pytest.skip(f"{path} answers 404: the page is not built yet")
    assert status == 200, f"{path} answered {status} to the person who uses it"


def axe_check(driver, context: str | None = None) -> list[dict]:
    """Run axe-core (node_modules/axe-core, from npm at set-up) on the page as it is now and
    return its violations (each with id, impact, help and nodes with their targets)."""
    if not AXE.exists():
        pytest.skip(f"{AXE.relative_to(REPO)} is missing: run `npm ci` (make setup) first")
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const where = arguments[0] ? document.querySelector(arguments[0]) : document;"
        "axe.run(where, {resultTypes: ['violations']})"
        "  .then(r => done(JSON.stringify(r.violations)))"
        "  .catch(e => done(JSON.stringify({error: String(e)})));",
        context,
    )
    violations = json.loads(result)
    if isinstance(violations, dict):
        pytest.fail(f"axe-core failed on {driver.current_url}: {violations['error']}")
    return violations


SEVERE = ("serious", "critical")


def severe(violations: list[dict]) -> list[dict]:
    """The violations that the issue forbids on a workbench page: serious or critical."""
    return [v for v in violations if v.get("impact") in SEVERE]


def describe(violations: list[dict], nodes: int = 3) -> str:
    """One line a violation: id, impact, what it asks for, the first nodes' CSS targets."""
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n.get("target", []))) for n in v.get("nodes", [])[:nodes]]
        more = len(v.get("nodes", [])) - len(targets)
        lines.append(
            f"- {v['id']} ({v.get('impact')}): {v.get('help')} — "
            f"{'; '.join(targets)}{f' (+{more} more)' if more > 0 else ''}"
        )
    return "\n".join(lines)


def screenshot_dir() -> Path:
    """Where the screenshots go: $GRIDCITY_SCREENSHOT_DIR, or var/screenshots/ in the repo."""
    folder = Path(os.environ.get("GRIDCITY_SCREENSHOT_DIR") or REPO / "var" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(driver, name: str) -> Path:
    """Save the viewport as ``<name>.png`` in the artefact folder and return its path."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")
    path = screenshot_dir() / f"{stem.removesuffix('.png')}.png"
    assert driver.save_screenshot(str(path)), f"Chromium did not save {path}"
    return path


def console(driver) -> list[dict]:
    """The page's console messages since the last call (for a failure message)."""
    try:
        return driver.get_log("browser")
    except Exception:  # a driver without logs answers nothing, not an error
        return []
