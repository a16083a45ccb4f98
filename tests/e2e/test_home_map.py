"""The home page in headless Chromium: the layers load, a click locates, the search selects.

Drives Chromium as tests/e2e/browser.py starts it against the live server, on a small city of
exact squares near Shenzhen.
"""

import re

import pytest

pytest.importorskip("selenium")

from django.contrib.gis.geos import Point
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e import browser as chromium
from tests.e2e.browser import BROWSER_MARKS, WAIT, screenshot
from tests.factories import SmallCity, make_small_city

# Other browser tests took these from this module before tests/e2e/browser.py held them.
CHROMIUM, CHROMEDRIVER = chromium.CHROMIUM, chromium.CHROMEDRIVER
browser_factory, browser = chromium.browser_factory, chromium.browser

ORIGIN = (113.80, 22.60)
SIZE = 0.04

pytestmark = BROWSER_MARKS


@pytest.fixture
def city(transactional_db) -> SmallCity:
    """4 streets, 16 communities, 144 square grids; the live server runs in another thread."""
    return make_small_city(code="440306", origin=ORIGIN, size=SIZE)


def open_home(driver: webdriver.Chrome, live_server) -> None:
    """Load / and wait until every layer is loaded and drawn (or fail with the page's error)."""
    driver.get(f"{live_server.url}/")
    state = (
        "return window.gridcityMap ? (window.gridcityMap.ready || window.gridcityMap.error) : null"
    )
    try:
        WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(state))
    except TimeoutException:
        logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
        pytest.fail(f"the map did not become ready within {WAIT} s; console: {logs}")
    error = driver.execute_script("return window.gridcityMap.error")
    assert error is None, f"the page reported: {error}"
    assert driver.execute_script("return window.gridcityMap.ready") is True


def container_point(driver, lon: float, lat: float) -> tuple[float, float]:
    x, y = driver.execute_script(
        "const p = window.gridcityMap.map.latLngToContainerPoint([arguments[1], arguments[0]]);"
        "return [p.x, p.y];",
        lon,
        lat,
    )
    return x, y


def click_map_at(driver, lon: float, lat: float) -> None:
    """Click the map where the WGS-84 point (lon, lat) is drawn."""
    map_el = driver.find_element(By.ID, "map")
    x, y = container_point(driver, lon, lat)
    width, height = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", map_el
    )
    assert 0 < x < width and 0 < y < height, f"({lon}, {lat}) is not in view: {x}, {y}"
    # Selenium 4 offsets are from the element's centre.
    ActionChains(driver).move_to_element_with_offset(
        map_el, round(x - width / 2), round(y - height / 2)
    ).click().perform()


def degrees_per_pixel(driver) -> tuple[float, float]:
    return tuple(
        driver.execute_script(
            "const m = window.gridcityMap.map;"
            "const a = m.containerPointToLatLng([100, 100]);"
            "const b = m.containerPointToLatLng([101, 101]);"
            "return [Math.abs(b.lng - a.lng), Math.abs(b.lat - a.lat)];"
        )
    )


def wait_for_grid_code(driver) -> str:
    def code(d):
        # textContent: on a phone the details may be folded away, and .text sees only what shows.
        element = d.find_element(By.ID, "locate-grid-code")
        text = (element.get_attribute("textContent") or "").strip()
        return text if re.fullmatch(r"\d{15}", text) else False

    return WebDriverWait(driver, WAIT).until(code)


def test_home_loads_every_layer(city, live_server, browser):
    open_home(browser, live_server)

    status = browser.find_element(By.ID, "map-status")
    assert status.get_attribute("data-streets") == "4"
    assert status.get_attribute("data-communities") == "16"
    assert status.get_attribute("data-grids") == "144"
    text = browser.find_element(By.ID, "map-status-text").text
    assert re.search(r"\b4\b", text) and re.search(r"\b16\b", text) and "144" in text, text
    assert browser.execute_script("return window.gridcityMap.counts") == {
        "streets": 4,
        "communities": 16,
        "grids": 144,
    }
    # zh-Hans is the page's language; the district fits the map, grids are drawn.
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-hans"
    assert "测试区" in browser.find_element(By.CLASS_NAME, "panel-title").text
    assert browser.find_element(By.ID, "map-loading").is_displayed() is False
    assert browser.find_element(By.ID, "map-zoom-hint").is_displayed() is False
    assert browser.find_element(By.ID, "grid-search").is_enabled()
    labels = browser.find_elements(By.CSS_SELECTOR, ".gc-label-street")
    assert sorted(label.text for label in labels) == [f"测试{i}街道" for i in range(1, 5)]
    screenshot(browser, "home-desktop")


def test_click_locates_the_grid_under_the_pointer(city, live_server, browser):
    open_home(browser, live_server)
    # A grid left of the middle, clear of the layer control (top right) and the scale (bottom
    # left): the squares are exact, so the grid holding this point is the one under the click.
    lon, lat = ORIGIN[0] + SIZE * 0.30, ORIGIN[1] + SIZE * 0.55
    target = next(g for g in city.grids if g.geom.contains(Point(lon, lat, srid=4326)))
    centre = target.geom.centroid
    click_map_at(browser, centre.x, centre.y)

    assert wait_for_grid_code(browser) == target.code
    community, street = target.community, target.community.street
    assert browser.find_element(By.ID, "locate-grid-name").text == target.name
    assert browser.find_element(By.ID, "locate-community-name").text == community.name
    assert browser.find_element(By.ID, "locate-community-code").text == community.code
    assert browser.find_element(By.ID, "locate-street-name").text == street.name
    assert browser.find_element(By.ID, "locate-street-code").text == street.code

    result = browser.find_element(By.ID, "locate-result")
    assert result.get_attribute("data-state") == "found"
    dlon, dlat = degrees_per_pixel(browser)
    assert abs(float(result.get_attribute("data-lon")) - centre.x) <= 1.5 * dlon
    assert abs(float(result.get_attribute("data-lat")) - centre.y) <= 1.5 * dlat
    # The popup on the map says the same, and the grid's checkpoint is shown.
    popup = WebDriverWait(browser, WAIT).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".leaflet-popup-content")
    )
    assert target.code in popup.text and target.name in popup.text
    WebDriverWait(browser, WAIT).until(
        lambda d: "1" in d.find_element(By.ID, "locate-checkpoints").text
    )
    screenshot(browser, "home-locate")


def test_search_by_code_selects_the_grid(city, live_server, browser):
    open_home(browser, live_server)
    target = city.grids[100]
    box = browser.find_element(By.ID, "grid-search")
    box.send_keys(target.code)
    option = WebDriverWait(browser, WAIT).until(
        lambda d: d.find_element(
            By.CSS_SELECTOR, f'#grid-search-results [role="option"][data-code="{target.code}"]'
        )
    )
    options = browser.find_elements(By.CSS_SELECTOR, '#grid-search-results [role="option"]')
    assert len(options) == 1
    option.click()

    assert wait_for_grid_code(browser) == target.code
    assert browser.find_element(By.ID, "locate-grid-name").text == target.name
    assert browser.find_element(By.ID, "locate-community-name").text == target.community.name
    assert browser.find_element(By.ID, "locate-street-name").text == target.community.street.name
    # Anonymous visitors learn how many checkpoints the grid has, not where they are.
    WebDriverWait(browser, WAIT).until(
        lambda d: d.find_element(By.ID, "locate-checkpoints").text == "1"
    )
    markers = browser.execute_script(
        "let n = 0; window.gridcityMap.map.eachLayer(l => {"
        " if (l instanceof L.CircleMarker) n++; }); return n;"
    )
    assert markers == 0
    # The map moved to the grid: its centre is in view, near the middle.
    centre = target.geom.centroid
    x, y = container_point(browser, centre.x, centre.y)
    width, height = browser.execute_script(
        "const s = window.gridcityMap.map.getSize(); return [s.x, s.y];"
    )
    assert abs(x - width / 2) < width / 4 and abs(y - height / 2) < height / 4


def test_search_by_name_lists_matches_and_enter_picks(city, live_server, browser):
    open_home(browser, live_server)
    box = browser.find_element(By.ID, "grid-search")
    box.send_keys("测试2-3第00")
    WebDriverWait(browser, WAIT).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, '#grid-search-results [role="option"]')) == 9
    )
    box.send_keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN, Keys.ENTER)
    code = wait_for_grid_code(browser)
    assert code == "440306002003002"
    assert browser.find_element(By.ID, "locate-grid-name").text == "测试2-3第002网格"


def test_click_outside_the_district_says_so(city, live_server, browser):
    open_home(browser, live_server)
    # West of the district, beside the middle of its west edge; bring it to the map's middle.
    lon, lat = ORIGIN[0] - 0.004, ORIGIN[1] + SIZE / 2
    browser.execute_script(
        "window.gridcityMap.map.setView([arguments[1], arguments[0]], "
        "window.gridcityMap.map.getZoom(), {animate: false});",
        lon,
        lat,
    )
    click_map_at(browser, lon, lat)

    result = browser.find_element(By.ID, "locate-result")
    WebDriverWait(browser, WAIT).until(lambda d: result.get_attribute("data-state") == "outside")
    message = browser.find_element(By.ID, "locate-message").text
    expected = browser.find_element(By.ID, "home-strings").get_attribute("data-not-in-grid")
    assert expected and expected in message
    assert browser.find_element(By.ID, "locate-grid-code").text == ""
    dlon, dlat = degrees_per_pixel(browser)
    assert abs(float(result.get_attribute("data-lon")) - lon) <= 1.5 * dlon
    assert abs(float(result.get_attribute("data-lat")) - lat) <= 1.5 * dlat
    popup = browser.find_element(By.CSS_SELECTOR, ".leaflet-popup-content")
    assert expected in popup.text


def test_phone_layout_map_on_top_panel_below(city, live_server, browser_factory):
    phone = browser_factory(390, 844, phone=True)
    open_home(phone, live_server)
    map_rect = phone.find_element(By.ID, "map").rect
    panel_rect = phone.find_element(By.ID, "panel").rect
    viewport_w, viewport_h = phone.execute_script("return [innerWidth, innerHeight]")
    assert viewport_w == 390
    # The map spans the width and most of the height; the panel sits below it.
    assert map_rect["width"] >= viewport_w - 1
    assert map_rect["height"] >= 0.55 * viewport_h
    assert panel_rect["y"] >= map_rect["y"] + map_rect["height"] - 20
    assert panel_rect["y"] + panel_rect["height"] <= viewport_h + 1
    # Details are folded away until asked for, the search box is at hand.
    assert phone.find_element(By.ID, "grid-search").is_displayed()
    assert not phone.find_element(By.ID, "locate-result").is_displayed()
    phone.find_element(By.ID, "panel-toggle").click()
    WebDriverWait(phone, WAIT).until(
        lambda d: d.find_element(By.ID, "locate-result").is_displayed()
    )
    phone.find_element(By.ID, "panel-toggle").click()
    screenshot(phone, "home-phone")


def test_a_layer_that_fails_to_load_says_so_and_retry_recovers(city, live_server, browser):
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/v1/grids/*"]})
    browser.get(f"{live_server.url}/")
    error = WebDriverWait(browser, WAIT).until(
        lambda d: d.execute_script("return window.gridcityMap && window.gridcityMap.error")
    )
    box = browser.find_element(By.ID, "map-error")
    assert box.is_displayed()
    grids_label = browser.find_element(By.ID, "home-strings").get_attribute("data-grids")
    assert grids_label in box.text and grids_label in error
    assert browser.execute_script("return window.gridcityMap.ready") is False
    assert not browser.find_element(By.ID, "map-loading").is_displayed()

    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    browser.find_element(By.ID, "map-retry").click()
    ready = "return window.gridcityMap.ready"
    WebDriverWait(browser, WAIT).until(lambda d: d.execute_script(ready))
    assert not box.is_displayed()
    assert browser.execute_script("return window.gridcityMap.counts.grids") == 144


def test_empty_database_tells_how_to_load_the_demo_city(transactional_db, live_server, browser):
    browser.get(f"{live_server.url}/")
    assert "manage.py seed_demo_city" in browser.find_element(By.TAG_NAME, "main").text
    assert browser.find_elements(By.ID, "map") == []
