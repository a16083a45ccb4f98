"""The dispatcher's queue in headless Chromium: the keyboard moves through the table and opens a
case, the filters and the headers reload the table in place, and a live message about a new case
brings its row and the new count without a reload.

Drives Debian's /usr/bin/chromium through /usr/bin/chromedriver (as test_home_map does) against
the live server. The live server speaks HTTP only, so the socket's message is handed to the
page's own hook (``window.gridcityDesk.onCase``), as the socket would hand it.
"""

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("selenium")

from django.conf import settings
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e import test_home_map as home
from tests.e2e.test_patrol_audit import log_in
from tests.factories import make_manhole_item, make_people, make_small_city

CHROMIUM, CHROMEDRIVER, ORIGIN, SIZE = home.CHROMIUM, home.CHROMEDRIVER, home.ORIGIN, home.SIZE
browser_factory = home.browser_factory
browser = home.browser

SCREENSHOT = Path("/tmp/desk-queue.png")
PHONE_SCREENSHOT = Path("/tmp/desk-queue-phone.png")
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
WAIT = 15

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason=f"browser tests need {CHROMIUM} and {CHROMEDRIVER} "
        "(Debian packages chromium and chromium-driver)",
    ),
]


@pytest.fixture
def desk(transactional_db):
    """A small city near Shenzhen, its people, and two reports waiting to be filed."""
    city = make_small_city(code="440306", origin=ORIGIN, size=SIZE)
    people = make_people(city)
    item = make_manhole_item(people)

    def report(description="井盖缺失"):
        from cases import services

        centre = people.grid_a.geom.point_on_surface
        return services.case_report(
            by=people.inspector_a, item=item, lon=centre.x, lat=centre.y, description=description
        ).case

    return people, report, [report("第一件").number, report("第二件").number]


def numbers(driver, selector: str) -> list[str]:
    # Read in one script: the table is swapped under a reader that walks it element by element.
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(r => r.dataset.number);",
        selector,
    )


def rows(driver) -> list[str]:
    return numbers(driver, "#desk-table tbody tr[data-number]")


def selected(driver) -> list[str]:
    return numbers(driver, "tr.selected[aria-selected='true']")


def press(driver, keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(keys).perform()


def count_of(driver, queue: str) -> str:
    return driver.execute_script(
        "return document.querySelector(`[data-count='${arguments[0]}']`).textContent;", queue
    )


def axe_violations(driver) -> list[dict]:
    driver.execute_script(AXE.read_text())
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(JSON.stringify(r.violations))).catch(e => done(String(e)));"
    )
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in json.loads(found)
        if v["impact"] in ("serious", "critical")
    ]


def test_the_dispatcher_works_the_queue_by_keyboard_and_sees_a_new_case_arrive(
    desk, live_server, browser
):
    people, report, (first, second) = desk
    log_in(browser, live_server, people.dispatcher)
    browser.get(f"{live_server.url}/desk/dispatch/q/to-file/")
    assert rows(browser) == [first, second]
    assert count_of(browser, "to-file") == "2"
    browser.save_screenshot(str(SCREENSHOT))
    assert axe_violations(browser) == []

    # "?" shows the shortcuts in a modal dialog; Escape closes it.
    press(browser, "?")
    assert browser.execute_script("return document.getElementById('desk-help').open")
    press(browser, "\ue00c")  # Escape
    assert not browser.execute_script("return document.getElementById('desk-help').open")
    # "/" goes to the search box, Escape leaves it.
    press(browser, "/")
    assert browser.switch_to.active_element.get_attribute("id") == "desk-q"
    press(browser, "\ue00c")

    # The live hook: a case reported now appears, counted, without a reload.
    browser.execute_script("window.notReloaded = true;")
    third = report("第三件").number
    browser.execute_script(
        "window.gridcityDesk.onCase(arguments[0]);",
        {"type": "case", "case": {"number": third, "status": "reported", "action": "report"}},
    )
    WebDriverWait(browser, WAIT).until(lambda d: third in rows(d))
    WebDriverWait(browser, WAIT).until(lambda d: count_of(d, "to-file") == "3")
    assert browser.execute_script("return window.notReloaded") is True
    assert "fresh" in browser.find_element(
        By.CSS_SELECTOR, f'tr[data-number="{third}"]'
    ).get_attribute("class")
    said = browser.find_element(By.ID, "desk-live").text
    assert "1" in said and "{n}" not in said  # "1 new", "新增 1 件"

    # One of the person's own notifications is said in the same live region.
    browser.execute_script(
        "window.gridcityDesk.onNotification(arguments[0]);",
        {"type": "notification", "notification": {"id": 1, "message": "案件已退回"}},
    )
    assert browser.find_element(By.ID, "desk-live").text == "案件已退回"

    # The Waiting header sorts newest first, in place, and the address says so.
    browser.find_element(By.CSS_SELECTOR, 'a.sort[data-sort="age"]').click()
    WebDriverWait(browser, WAIT).until(lambda d: rows(d) == [third, second, first])
    assert parse_qs(urlsplit(browser.current_url).query)["sort"] == ["newest"]
    assert browser.execute_script("return window.notReloaded") is True

    # j selects the first row, j j move down, k back up: the second row; Enter opens it with
    # where it came from.
    press(browser, "jjjk")
    assert selected(browser) == [second]
    press(browser, "jk")
    assert selected(browser) == [second]
    press(browser, "\ue007")  # Enter
    WebDriverWait(browser, WAIT).until(lambda d: f"/desk/cases/{second}/" in d.current_url)
    opened = parse_qs(urlsplit(browser.current_url).query)
    assert opened["from"] == ["dispatch:to-file"] and opened["sort"] == ["newest"]


def test_a_filter_reloads_the_table_in_place_and_keeps_the_address_shareable(
    desk, live_server, browser
):
    people, _report, (first, second) = desk
    log_in(browser, live_server, people.dispatcher)
    browser.get(f"{live_server.url}/desk/dispatch/q/to-file/")
    browser.execute_script("window.notReloaded = true;")
    source = browser.find_element(By.CSS_SELECTOR, "select[name=source]")
    source.find_element(By.CSS_SELECTOR, "option[value=citizen]").click()
    WebDriverWait(browser, WAIT).until(lambda d: rows(d) == [])
    assert parse_qs(urlsplit(browser.current_url).query)["source"] == ["citizen"]
    assert browser.execute_script("return window.notReloaded") is True
    browser.back()
    WebDriverWait(browser, WAIT).until(lambda d: rows(d) == [first, second])
    # An item nobody has: the field is marked, the reason said, the table left as it was.
    browser.find_element(By.CSS_SELECTOR, "input[name=item]").send_keys("没有这个小类")
    WebDriverWait(browser, WAIT).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "input[name=item]").get_attribute("aria-invalid")
    )
    assert "item" in browser.find_element(By.ID, "desk-live").text
    assert rows(browser) == [first, second]
    # Out of the filter (keys typed into a field are the field's), g then 2: the second queue.
    browser.execute_script("document.activeElement.blur();")
    press(browser, "g2")
    WebDriverWait(browser, WAIT).until(lambda d: "/desk/dispatch/q/to-dispatch/" in d.current_url)


def test_the_queue_and_the_search_read_at_phone_width(desk, live_server, browser_factory):
    people, _report, (first, _second) = desk
    phone = browser_factory(360, 740, phone=True)
    log_in(phone, live_server, people.dispatcher)
    phone.get(f"{live_server.url}/desk/dispatch/q/to-file/")
    phone.save_screenshot(str(PHONE_SCREENSHOT))
    width = phone.execute_script("return document.documentElement.scrollWidth")
    assert width <= 360
    phone.get(f"{live_server.url}/desk/search/?q=0101")
    assert first in phone.page_source
    assert axe_violations(phone) == []
