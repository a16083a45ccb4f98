"""The patrol audit page in headless Chromium: a supervisor picks an inspector of their street,
sees the shift's track and checkpoints drawn, and plays the shift back with the slider.

Drives Chromium as tests/e2e/browser.py starts it against the live server, on the small city
of exact squares near Shenzhen that test_home_map draws.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("selenium")

from django.contrib.gis.geos import Point
from django.utils import timezone
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.browser import (
    BROWSER_MARKS,
    WAIT,
    login,
    screenshot,
)
from tests.e2e.test_home_map import ORIGIN, SIZE
from tests.factories import make_people, make_small_city, make_user
from tests.patrol.routes import route

SHANGHAI = ZoneInfo("Asia/Shanghai")
log_in = login  # the name other browser tests import from here

pytestmark = BROWSER_MARKS


@pytest.fixture
def patrolled(transactional_db):
    """Street A of a small city: inspector A walked grid A an hour ago (the centre checkpoint
    met, the market visited too briefly, the school missed); inspector C did not patrol."""
    from accounts.models import GridAssignment, Role
    from accounts.services import grid_assign
    from gridcity.models import Checkpoint
    from patrol.models import Shift
    from patrol.services import shift_end, shift_report_compute, track_points_ingest

    city = make_small_city(code="440306", origin=ORIGIN, size=SIZE)
    people = make_people(city)
    grid_c = people.grid_a.community.grids.exclude(pk=people.grid_a.pk).order_by("code").first()
    inspector_c = make_user("inspector-c", Role.INSPECTOR)
    grid_assign(grid=grid_c, inspector=inspector_c)
    GridAssignment.objects.update(valid_from=timezone.now() - timedelta(days=1))

    centre = Checkpoint.objects.get(grid=people.grid_a)
    x, y = centre.point.x, centre.point.y
    market = Checkpoint.objects.create(
        code=f"{people.grid_a.code}002",
        name="菜市场",
        grid=people.grid_a,
        point=Point(x + 0.0008, y + 0.0006, srid=4326),
        min_dwell_minutes=3,
    )
    Checkpoint.objects.create(
        code=f"{people.grid_a.code}003",
        name="小学",
        grid=people.grid_a,
        point=Point(x - 0.0009, y - 0.0009, srid=4326),
        min_dwell_minutes=5,
    )
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    fixes = route(
        start,
        [
            (x, y, 400),
            (market.point.x, market.point.y, 40),
            (x + 0.0012, y - 0.0004, 150),
            (x, y, 0),
        ],
    )
    [shift_id] = track_points_ingest(inspector=people.inspector_a, fixes=fixes).shifts
    shift = shift_end(shift=Shift.objects.get(pk=shift_id), by=people.inspector_a)
    shift_report_compute(shift=shift)
    return people, Shift.objects.get(pk=shift_id), fixes


def open_audit(driver, live_server, people, shift) -> None:
    day = timezone.localtime(shift.started_at).date().isoformat()
    driver.get(f"{live_server.url}/patrol/audit/?date={day}")
    WebDriverWait(driver, WAIT).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, ".inspector-button")
            or d.execute_script("return window.gridcityAudit && window.gridcityAudit.error")
        )
    )
    assert driver.execute_script("return window.gridcityAudit.error") is None


def wait_drawn(driver) -> None:
    state = "return window.gridcityAudit.ready || window.gridcityAudit.error"
    try:
        WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(state))
    except TimeoutException:
        logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
        pytest.fail(f"the shift was not drawn within {WAIT} s; console: {logs}")
    assert driver.execute_script("return window.gridcityAudit.error") is None


def svg_paths(driver, selector: str) -> int:
    return len(driver.find_elements(By.CSS_SELECTOR, f".leaflet-overlay-pane svg path{selector}"))


def local_time(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, SHANGHAI).strftime("%H:%M:%S")


def test_a_supervisor_sees_the_track_checkpoints_and_plays_the_shift_back(
    patrolled, live_server, browser
):
    people, shift, fixes = patrolled
    login(browser, live_server, people.supervisor)
    open_audit(browser, live_server, people, shift)

    # Every inspector of the street, the one who did not patrol marked short.
    buttons = browser.find_elements(By.CSS_SELECTOR, ".inspector-button")
    names = [b.find_element(By.CLASS_NAME, "inspector-name").text for b in buttons]
    assert sorted(names) == ["inspector-a", "inspector-c"]
    idle = buttons[names.index("inspector-c")]
    assert "is-short" in idle.get_attribute("class")
    assert "未巡查" in idle.text
    assert (
        browser.find_element(By.ID, "audit-street").get_attribute("value")
        == (people.grid_a.code[:9])
    )

    buttons[names.index("inspector-a")].click()
    wait_drawn(browser)

    # The track, the grid and the three checkpoints, coloured by what the patrol did there.
    assert svg_paths(browser, ".audit-track") == 1
    assert svg_paths(browser, ".audit-grid") == 1
    assert svg_paths(browser, ".audit-checkpoint") == 3
    assert svg_paths(browser, ".audit-checkpoint-met") == 1
    assert svg_paths(browser, ".audit-checkpoint-short") == 1
    assert svg_paths(browser, ".audit-checkpoint-missed") == 1
    stops = browser.find_elements(By.CSS_SELECTOR, ".audit-stop")
    assert stops and "分" in stops[0].text
    assert browser.find_element(By.ID, "fig-laps").text == "0"  # the school was missed
    assert "1" in browser.find_element(By.ID, "fig-checkpoints").text
    assert browser.find_element(By.ID, "fig-distance").text.endswith("公里")
    assert f"shift={shift.pk}" in browser.current_url

    # The slider places the marker and shows the time in Shanghai.
    shown = browser.find_element(By.ID, "playback-time")
    assert shown.text == local_time(fixes[0].t)
    cursor_at_start = browser.execute_script(
        "let p = null; window.gridcityAudit.map.eachLayer(l => {"
        " if (l.options && l.options.className === 'audit-cursor') p = l.getLatLng(); });"
        " return [p.lat, p.lng];"
    )
    slider = browser.find_element(By.ID, "playback-slider")
    slider.send_keys(Keys.END)
    WebDriverWait(browser, WAIT).until(lambda d: shown.text == local_time(fixes[-1].t))
    browser.execute_script(
        "const s = document.getElementById('playback-slider'); s.value = '600';"
        "s.dispatchEvent(new Event('input', {bubbles: true}));"
    )
    assert shown.text == local_time(fixes[0].t + 600)
    cursor_later = browser.execute_script(
        "let p = null; window.gridcityAudit.map.eachLayer(l => {"
        " if (l.options && l.options.className === 'audit-cursor') p = l.getLatLng(); });"
        " return [p.lat, p.lng];"
    )
    assert cursor_later != cursor_at_start

    # Play moves the time on by itself.
    browser.find_element(By.ID, "playback-play").click()
    WebDriverWait(browser, WAIT).until(lambda d: shown.text != local_time(fixes[0].t + 600))
    browser.find_element(By.ID, "playback-play").click()

    # A checkpoint's popup says how long the inspector stayed.
    browser.execute_script(
        "window.gridcityAudit.map.eachLayer(l => { if (l.options && "
        "String(l.options.className).includes('audit-checkpoint-short')) l.openPopup(); });"
    )
    popup = WebDriverWait(browser, WAIT).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".leaflet-popup-content")
    )
    WebDriverWait(browser, WAIT).until(lambda d: popup.text)  # shown once it has faded in
    # 40 s there and the fixes inside the radius on the way in and out: 1:20 of the 3:00.
    assert "菜市场" in popup.text and "停留 1:20" in popup.text and "要求 3:00" in popup.text
    screenshot(browser, "audit-desktop")


def test_the_audit_page_works_on_a_phone(patrolled, live_server, browser_factory):
    people, shift, _fixes = patrolled
    phone = browser_factory(390, 844, phone=True)
    login(phone, live_server, people.supervisor)
    day = timezone.localtime(shift.started_at).date().isoformat()
    phone.get(
        f"{live_server.url}/patrol/audit/?date={day}"
        f"&inspector={people.inspector_a.pk}&shift={shift.pk}"
    )
    wait_drawn(phone)

    assert phone.execute_script("return innerWidth") == 390
    map_rect = phone.find_element(By.ID, "audit-map").rect
    assert map_rect["width"] >= 389 and map_rect["height"] >= 300
    # Nothing wider than the screen: the page scrolls down, never sideways.
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 390
    assert svg_paths(phone, ".audit-track") == 1
    screenshot(phone, "audit-phone-top")
    phone.execute_script("document.getElementById('audit-map').scrollIntoView()")
    screenshot(phone, "audit-phone")


def test_the_command_centre_gets_the_not_allowed_page(patrolled, live_server, browser):
    people, _shift, _fixes = patrolled
    login(browser, live_server, people.dispatcher)

    browser.get(f"{live_server.url}/patrol/audit/")

    assert browser.find_elements(By.ID, "audit-map") == []
    assert "无权" in browser.find_element(By.TAG_NAME, "main").text or "不允许" in (
        browser.find_element(By.TAG_NAME, "main").text
    )


def test_the_track_is_not_drawn_across_a_recorded_break(patrolled, live_server, browser):
    """A GPX file's second segment starts with a break: the line stops there and starts again."""
    from patrol.models import TrackPoint

    people, shift, fixes = patrolled
    middle = TrackPoint.objects.filter(shift=shift).order_by("t")[len(fixes) // 2]
    TrackPoint.objects.filter(pk=middle.pk).update(segment_start=True)
    login(browser, live_server, people.supervisor)
    open_audit(browser, live_server, people, shift)

    buttons = browser.find_elements(By.CSS_SELECTOR, ".inspector-button")
    [walked] = [b for b in buttons if "inspector-a" in b.text]
    walked.click()
    wait_drawn(browser)

    [line] = browser.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane svg path.audit-track")
    assert line.get_attribute("d").count("M") == 2
