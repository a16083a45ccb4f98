"""The case page in headless Chromium: a dispatcher dispatches with the keyboard (d, Enter),
and of two dispatchers filing one case at once the second is told who filed it first.

Drives Debian's /usr/bin/chromium through /usr/bin/chromedriver (as test_home_map does)
against the live server, on a small city of exact squares near Shenzhen.
"""

import io
from pathlib import Path

import pytest

pytest.importorskip("selenium")

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e import test_home_map as home
from tests.e2e.test_patrol_audit import log_in
from tests.factories import make_manhole_item, make_people, make_small_city, make_user

CHROMIUM, CHROMEDRIVER, ORIGIN, SIZE = home.CHROMIUM, home.CHROMEDRIVER, home.ORIGIN, home.SIZE
browser_factory = home.browser_factory
browser = home.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOT = Path("/tmp/desk-case.png")
PHONE_SCREENSHOT = Path("/tmp/desk-case-phone.png")
CONFLICT_SCREENSHOT = Path("/tmp/desk-case-conflict.png")
WAIT = 20

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason=f"browser tests need {CHROMIUM} and {CHROMEDRIVER} "
        "(Debian packages chromium and chromium-driver)",
    ),
]


@pytest.fixture
def world(transactional_db):
    """The small city near Shenzhen, its personas, and a second dispatcher of the district."""
    from accounts.models import Role

    city = make_small_city(code="440306", origin=ORIGIN, size=SIZE)
    people = make_people(city)
    item = make_manhole_item(people)
    other = make_user("dispatcher-2", Role.DISPATCHER, district=city.district)
    return people, item, other


def reported(people, item, *steps):
    from cases import services

    centre = people.grid_a.geom.point_on_surface
    case = services.case_report(
        by=people.inspector_a, item=item, lon=centre.x, lat=centre.y, description="井盖缺失"
    ).case
    for step in steps:
        case = getattr(services, f"case_{step}")(case=case, by=people.dispatcher)
    return case


def open_case(driver, live_server, case) -> None:
    driver.get(f"{live_server.url}/desk/cases/{case.number}/")
    state = "return window.gridcityCase && (window.gridcityCase.ready || window.gridcityCase.error)"
    try:
        WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(state))
    except TimeoutException:
        logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
        pytest.fail(f"the case page did not start within {WAIT} s; console: {logs}")
    assert driver.execute_script("return window.gridcityCase.error") is None


def press(driver, *keys) -> None:
    driver.switch_to.active_element.send_keys(*keys)


def status_shown(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, ".case-page").get_attribute("data-status")


def serious_violations(driver) -> list[str]:
    driver.execute_script(AXE.read_text())
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))));"
    )
    return found


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 80, 40)).save(out, "JPEG")
    return out.getvalue()


def test_the_dispatcher_dispatches_with_d_and_enter(
    world, live_server, browser_factory, settings, tmp_path
):
    from cases import services
    from cases.models import Case, Status

    settings.MEDIA_ROOT = str(tmp_path)
    people, item, _other = world
    case = reported(people, item)
    services.case_photo_add(case=case, by=people.inspector_a, data=jpeg(), stage="report")
    case = services.case_file(case=case, by=people.dispatcher)
    driver = browser_factory()
    log_in(driver, live_server, people.dispatcher)
    open_case(driver, live_server, case)
    assert driver.find_elements(By.CSS_SELECTOR, "#case-map .leaflet-interactive")
    assert serious_violations(driver) == []
    driver.save_screenshot(str(SCREENSHOT))

    # The photo enlarges in a dialog, as its display copy; Esc gives the focus back.
    thumb = driver.find_element(By.CSS_SELECTOR, ".photo-thumb")
    thumb.click()
    shown = (
        "const i = document.getElementById('photo-viewer-image');"
        "return i.complete && i.naturalWidth"
    )
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(shown))
    assert "/display/" in driver.find_element(By.ID, "photo-viewer-image").get_attribute("src")
    press(driver, Keys.ESCAPE)
    assert not driver.find_element(By.ID, "photo-viewer").get_attribute("open")
    assert driver.switch_to.active_element == thumb

    driver.find_element(By.TAG_NAME, "body").click()
    press(driver, "d")
    form = driver.find_element(By.ID, "action-dispatch")
    assert form.get_attribute("open") is not None
    selected = driver.find_element(By.CSS_SELECTOR, "#dispatch-department option:checked")
    assert selected.get_attribute("value") == people.department.code
    assert driver.switch_to.active_element.get_attribute("id") == "dispatch-note"
    press(driver, Keys.ENTER)
    WebDriverWait(driver, WAIT).until(lambda d: status_shown(d) == "dispatched")
    assert Case.objects.get(pk=case.pk).status == Status.DISPATCHED
    assert driver.find_element(By.CSS_SELECTOR, ".case-messages").text

    phone = browser_factory(360, 780, phone=True)
    log_in(phone, live_server, people.dispatcher)
    open_case(phone, live_server, case)
    width = phone.execute_script("return document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways at phone width: {width} px"
    phone.save_screenshot(str(PHONE_SCREENSHOT))


def test_the_second_of_two_dispatchers_sees_who_acted_first(world, live_server, browser_factory):
    from cases.models import CaseTransition

    people, item, other = world
    case = reported(people, item)
    first, second = browser_factory(), browser_factory()
    log_in(first, live_server, people.dispatcher)
    log_in(second, live_server, other)
    open_case(first, live_server, case)
    open_case(second, live_server, case)  # both see a report to file

    for driver in (first, second):
        driver.find_element(By.TAG_NAME, "body").click()
        press(driver, "f")
        assert driver.switch_to.active_element.get_attribute("id") == "file-note"
        press(driver, Keys.ENTER)
    WebDriverWait(first, WAIT).until(lambda d: status_shown(d) == "filed")
    WebDriverWait(second, WAIT).until(lambda d: d.find_elements(By.ID, "case-conflict"))

    banner = second.find_element(By.ID, "case-conflict").text
    assert people.dispatcher.username in banner
    assert status_shown(second) == "filed"
    offered = [
        e.get_attribute("data-action")
        for e in second.find_elements(By.CSS_SELECTOR, "details.case-action")
    ]
    assert "dispatch" in offered and "file" not in offered
    assert list(
        CaseTransition.objects.filter(case=case).order_by("id").values_list("action", "actor")
    ) == [("report", people.inspector_a.pk), ("file", people.dispatcher.pk)]
    second.save_screenshot(str(CONFLICT_SCREENSHOT))
