"""The map of open cases in headless Chromium: the seeded cases appear as markers or clusters,
a popup links to the case, and a case change (the "desk:case" DOM event) reloads the view
once no popup is open.

The same Chromium as tests/e2e/test_home_map.py, on its small city near Shenzhen.
"""

import time
from pathlib import Path

import pytest

pytest.importorskip("selenium")

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e import test_home_map as home
from tests.e2e.test_patrol_audit import log_in
from tests.factories import make_manhole_item, make_people, make_small_city

CHROMIUM, CHROMEDRIVER, ORIGIN, SIZE = home.CHROMIUM, home.CHROMEDRIVER, home.ORIGIN, home.SIZE
browser_factory = home.browser_factory
browser = home.browser

SCREENSHOT = Path("/tmp/desk-map.png")
PHONE_SCREENSHOT = Path("/tmp/desk-map-phone.png")
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
def seeded(transactional_db):
    """Five open cases in grid A (one of them overdue) and one in grid B."""
    from cases.models import Case
    from cases.services import case_file, case_report

    city = make_small_city(code="440306", origin=ORIGIN, size=SIZE)
    people = make_people(city)
    item = make_manhole_item(people)
    made = []
    for i, grid in enumerate([people.grid_a] * 5 + [people.grid_b]):
        centre = grid.geom.point_on_surface
        by = people.inspector_a if grid == people.grid_a else people.inspector_b
        lon, lat = centre.x + (i % 3) * 0.0004, centre.y + (i // 3) * 0.0004
        made.append(case_report(by=by, item=item, lon=lon, lat=lat, description=f"案{i}").case)
    case_file(case=made[1], by=people.dispatcher)
    Case.objects.filter(pk=made[0].pk).update(overdue=True)
    return people, made


def wait_loaded(driver, loads: int = 1) -> None:
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script(
            "const m = window.gridcityCaseMap; return m && (m.error || m.loads >= arguments[0]);",
            loads,
        )
    )
    assert driver.execute_script("return window.gridcityCaseMap.error") is None


def drawn(driver) -> dict:
    """How many single pins and clusters are drawn, and how many cases the clusters hold."""
    return driver.execute_script(
        "const pins = document.querySelectorAll('#case-map .case-pin').length;"
        "const clusters = [...document.querySelectorAll('#case-map .case-cluster')];"
        "return {pins, clusters: clusters.length,"
        " inClusters: clusters.reduce("
        "  (n, c) => n + Number(c.querySelector('[aria-hidden]').textContent), 0),"
        " red: document.querySelectorAll('#case-map .pin.overdue, #case-map .has-overdue').length};"
    )


def test_the_dispatcher_sees_the_open_cases_clustered_and_a_change_reloads_them(
    seeded, live_server, browser
):
    people, made = seeded
    log_in(browser, live_server, people.dispatcher)
    browser.get(f"{live_server.url}/desk/map/")
    wait_loaded(browser)
    assert browser.execute_script("return window.gridcityCaseMap.shown") == 6
    WebDriverWait(browser, WAIT).until(lambda d: drawn(d)["pins"] + drawn(d)["inClusters"] == 6)
    assert drawn(browser)["red"] >= 1  # the overdue case, alone or in its cluster
    status = browser.find_element(By.ID, "case-map-status").text
    assert "6" in status
    browser.save_screenshot(str(SCREENSHOT))

    # Zoomed onto the overdue case: its own pin, and its popup links to the case page.
    browser.execute_script(
        "window.gridcityCaseMap.map.setView([arguments[1], arguments[0]], 19);",
        made[0].point.x,
        made[0].point.y,
    )
    wait_loaded(browser, 2)
    pin = WebDriverWait(browser, WAIT).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "#case-map .case-pin .pin.overdue")
    )
    pin.click()
    link = WebDriverWait(browser, WAIT).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".case-popup a")
    )
    assert link.get_attribute("textContent") == made[0].number
    assert link.get_attribute("href").endswith(f"/desk/cases/{made[0].number}/")

    # A case changes elsewhere while the popup is read: the view is reloaded once it closes
    # (a reload would close it), within the page's throttle of changes.
    loads = browser.execute_script("return window.gridcityCaseMap.loads")
    browser.execute_script(
        "document.dispatchEvent(new CustomEvent('desk:case', {detail: arguments[0]}));",
        {"number": made[1].number, "status": "dispatched", "action": "dispatch"},
    )
    time.sleep(3.5)
    assert browser.execute_script("return window.gridcityCaseMap.loads") == loads
    assert browser.find_elements(By.CSS_SELECTOR, ".case-popup")
    browser.execute_script("window.gridcityCaseMap.map.closePopup();")
    wait_loaded(browser, loads + 1)


def test_the_map_on_a_phone_and_a_cut_answer_asks_to_zoom_in(
    seeded, live_server, browser_factory, monkeypatch
):
    from desk.web import map as case_map

    people, _ = seeded
    monkeypatch.setattr(case_map, "MAP_LIMIT", 2)
    phone = browser_factory(360, 740, phone=True)
    log_in(phone, live_server, people.supervisor)
    phone.get(f"{live_server.url}/desk/map/")
    wait_loaded(phone)
    assert phone.execute_script("return window.gridcityCaseMap.truncated") is True
    status = phone.find_element(By.ID, "case-map-status")
    assert "5" in status.text and "2" in status.text  # the newest 2 of street A's 5
    # The map, its filters and legend fit the phone's width (the site header is base.html's).
    rights = phone.execute_script(
        "return ['#case-map', '#case-map-filters', '.case-map-legend']"
        ".map(s => document.querySelector(s).getBoundingClientRect().right);"
    )
    assert max(rights) <= 360, rights
    phone.save_screenshot(str(PHONE_SCREENSHOT))


def test_a_view_with_more_cases_than_the_cap_shows_a_bubble_per_grid_that_zooms_in(
    seeded, live_server, browser, monkeypatch
):
    from desk.web import map as case_map

    people, _made = seeded
    monkeypatch.setattr(case_map, "MAP_LIMIT", 5)  # six open cases: counted per grid
    log_in(browser, live_server, people.dispatcher)
    browser.get(f"{live_server.url}/desk/map/")
    wait_loaded(browser)
    state = browser.execute_script(
        "const m = window.gridcityCaseMap; return [m.grouped, m.groups, m.total, m.shown];"
    )
    assert state == ["grid", 2, 6, 0]
    assert "6" in browser.find_element(By.ID, "case-map-status").text
    # Every case is counted in a bubble or a cluster of bubbles, the overdue one in red.
    WebDriverWait(browser, WAIT).until(lambda d: drawn(d)["inClusters"] == 6)
    assert drawn(browser)["red"] >= 1

    # Seen so that the two grids' bubbles stand apart, grid A's leads onto its five cases.
    a, b = people.grid_a.geom.point_on_surface, people.grid_b.geom.point_on_surface
    browser.execute_script(
        "window.gridcityCaseMap.map.fitBounds(arguments[0], {padding: [80, 80]});",
        [[min(a.y, b.y), min(a.x, b.x)], [max(a.y, b.y), max(a.x, b.x)]],
    )
    wait_loaded(browser, 2)
    assert browser.execute_script("return window.gridcityCaseMap.grouped") == "grid"
    bubble = WebDriverWait(browser, WAIT).until(
        lambda d: next(
            (
                g
                for g in d.find_elements(By.CSS_SELECTOR, "#case-map .case-group")
                if g.find_element(By.CSS_SELECTOR, "[aria-hidden]").text == "5"
            ),
            None,
        )
    )
    bubble.click()
    WebDriverWait(browser, WAIT).until(
        lambda d: d.execute_script("return window.gridcityCaseMap.grouped") is None
    )
    assert browser.execute_script("return window.gridcityCaseMap.shown") == 5
    WebDriverWait(browser, WAIT).until(lambda d: drawn(d)["pins"] + drawn(d)["inClusters"] == 5)
