"""The citizen's report page at phone width (360 px), in headless Chromium:

- an anonymous citizen taps the pin on the map, finds the category by typing plain words
  (井盖), describes the problem, adds a camera-sized photo (made smaller on the phone) and
  sends it: they land on their private link with the tracking number, and the server has one
  citizen's case with one photo and the reporter's link;
- once the command centre has filed it, a second citizen at nearly the same spot ("use my
  location") is offered that problem before sending and follows it ("this is mine too")
  instead of reporting it again: still one case, and a follower with a private link of their own.
"""

import io

import pytest

pytest.importorskip("selenium")

from django.urls import reverse
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.browser import (
    BROWSER_MARKS,
    PHONE,
    WAIT,
    axe_check,
    console,
    describe,
    screenshot,
    severe,
)

pytestmark = BROWSER_MARKS


@pytest.fixture
def world(people, settings, tmp_path):
    """The small city's personas and the manhole cover item, offered to citizens as 井盖坏了;
    photos are kept under a temporary folder. The live server runs in another thread: the
    test is transactional."""
    from tests.factories import make_manhole_item

    settings.MEDIA_ROOT = tmp_path / "media"

    item = make_manhole_item(people, public_name="井盖坏了", public_name_en="Broken manhole cover")
    return people, item


@pytest.fixture
def photo(tmp_path):
    """A JPEG as a phone's camera gives it: larger than the page sends (it makes it smaller)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (3000, 2000), (96, 120, 140)).save(out, "JPEG", quality=85)
    path = tmp_path / "manhole.jpg"
    path.write_bytes(out.getvalue())
    return path


def spot(people, east_m: float = 0.0) -> tuple[float, float]:
    centre = people.grid_a.geom.point_on_surface
    return centre.x + east_m * 1.04e-5, centre.y


def phone(browser_factory, live_server, lon: float, lat: float):
    driver = browser_factory(*PHONE, phone=True)
    driver.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": live_server.url, "permissions": ["geolocation"]}
    )
    driver.execute_cdp_cmd(
        "Emulation.setGeolocationOverride", {"latitude": lat, "longitude": lon, "accuracy": 8}
    )
    return driver


def open_report(driver, live_server) -> None:
    driver.get(f"{live_server.url}{reverse('portal-report')}")
    ready = "const r = window.gridcityReport; return r && (r.ready || r.error)"
    try:
        WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(ready))
    except TimeoutException:
        pytest.fail(f"the report page did not start within {WAIT} s; console: {console(driver)}")
    assert driver.execute_script("return window.gridcityReport.error") is None


def tap_map(driver, lon: float, lat: float) -> None:
    """Zoom the map to the spot as a person would, then tap it there."""
    map_el = driver.find_element(By.ID, "report-map")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", map_el)
    x, y = driver.execute_script(
        "const m = window.gridcityReport.map; m.setView([arguments[1], arguments[0]], 17, "
        "{animate: false}); const p = m.latLngToContainerPoint([arguments[1], arguments[0]]);"
        "return [p.x, p.y];",
        lon,
        lat,
    )
    width, height = map_el.size["width"], map_el.size["height"]
    ActionChains(driver).move_to_element_with_offset(
        map_el, round(x - width / 2), round(y - height / 2)
    ).click().perform()


def wait_inside(driver) -> None:
    WebDriverWait(driver, WAIT).until(
        lambda d: d.find_element(By.ID, "report-where").get_attribute("data-state") == "inside"
    )


def choose_item(driver, item, words: str) -> None:
    search = driver.find_element(By.ID, "report-item-search")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", search)
    search.send_keys(words)
    WebDriverWait(driver, WAIT).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f'#report-items [data-code="{item.code}"]')
    )[0].click()
    assert driver.find_element(By.ID, "report-item").get_attribute("value") == item.code


def fits_the_phone(driver) -> None:
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"the page is {width} px wide on a {PHONE[0]} px phone"


def wait_track(driver) -> str:
    try:
        WebDriverWait(driver, WAIT).until(lambda d: "/portal/t/" in d.current_url)
    except TimeoutException:
        error = driver.find_element(By.ID, "report-error").text
        pytest.fail(f"not sent: {error!r}; console: {console(driver)}")
    return driver.find_element(By.ID, "track-number").text.strip()


def test_a_citizen_reports_with_a_photo_and_another_follows_it_instead(
    world, live_server, browser_factory, photo
):
    from cases import services
    from cases.models import Case, CaseFollower, CasePhoto

    people, item = world

    # The first citizen, anonymous: tap, category in plain words, description, photo, send.
    lon, lat = spot(people)
    first = phone(browser_factory, live_server, lon, lat)
    open_report(first, live_server)
    tap_map(first, lon, lat)
    wait_inside(first)
    choose_item(first, item, "井盖")
    first.find_element(By.ID, "report-description").send_keys("井盖缺失，行人有坠落危险")
    first.find_element(By.ID, "report-address").send_keys("新安路 8 号门前")
    first.find_element(By.ID, "report-photos").send_keys(str(photo))
    WebDriverWait(first, WAIT).until(
        lambda d: d.find_element(By.ID, "report-photo-list").get_attribute("data-count") == "1"
    )
    fits_the_phone(first)
    first.execute_script("window.scrollTo(0, 0)")
    screenshot(first, "portal-report-phone")
    send = first.find_element(By.ID, "report-send")
    first.execute_script("arguments[0].scrollIntoView({block: 'center'})", send)
    send.click()
    number = wait_track(first)

    case = Case.objects.get()
    assert case.number == number
    assert (case.source, case.reporter_id, case.address) == ("citizen", None, "新安路 8 号门前")
    reporter = CaseFollower.objects.get(case=case)
    assert first.current_url.endswith(f"/portal/t/{reporter.token}/")
    stored = CasePhoto.objects.get(case=case)
    assert max(stored.width, stored.height) == 2048  # made smaller on the phone
    assert stored.uploaded_by is None
    screenshot(first, "portal-report-sent-phone")

    # The command centre files it: now it is public, and offered to the next citizen nearby.
    services.case_file(case=case, by=people.dispatcher)

    lon2, lat2 = spot(people, east_m=12)
    second = phone(browser_factory, live_server, lon2, lat2)
    open_report(second, live_server)
    locate = second.find_element(By.ID, "report-locate")
    second.execute_script("arguments[0].scrollIntoView({block: 'center'})", locate)
    locate.click()
    wait_inside(second)
    choose_item(second, item, "井盖")
    offered = WebDriverWait(second, WAIT).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f'#similar-list [data-number="{number}"]')
    )[0]
    second.execute_script("arguments[0].scrollIntoView({block: 'center'})", offered)
    fits_the_phone(second)
    screenshot(second, "portal-report-similar-phone")
    violations = severe(axe_check(second))
    assert not violations, "the report page at 360 px:\n" + describe(violations)
    offered.find_element(By.CSS_SELECTOR, f'[data-follow="{number}"]').click()
    assert wait_track(second) == number

    assert Case.objects.count() == 1
    follower = CaseFollower.objects.get(case=case, role="follower")
    assert second.current_url.endswith(f"/portal/t/{follower.token}/")
    assert follower.token != reporter.token
    assert case.timeline.filter(action="follow").count() == 1
