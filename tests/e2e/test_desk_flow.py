"""One case entirely through the web pages, in headless Chromium, as the four people who move it:

- the inspector reports it on the phone page /m/, offline first (it waits in the browser), then
  online (it is sent, once);
- the dispatcher files it and dispatches it on the case page, with the keyboard;
- the department returns it (not theirs), the dispatcher redispatches it, the department
  accepts it and reports it handled with an after-photo;
- the dispatcher asks for the check, the inspector verifies it on the phone (passed, with a
  photo) and the case is closed;

and a rework: the check fails, the case goes back to the department, is handled again and
passes. After each step the case's state and timeline are read on the server.
"""

import io

import pytest

pytest.importorskip("selenium")

from django.urls import NoReverseMatch, reverse
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.browser import (
    BROWSER_MARKS,
    DESKTOP,
    PHONE,
    WAIT,
    console,
    login,
    screenshot,
    skip_unless_served,
)

pytestmark = BROWSER_MARKS


# --- the world ---------------------------------------------------------------------------------


@pytest.fixture
def world(people):
    """The small city's personas and the manhole cover item (上水井盖), handled by their
    department. The live server runs in another thread: the test is transactional."""
    from tests.factories import make_manhole_item

    return people, make_manhole_item(people)


@pytest.fixture
def photo(tmp_path):
    """A JPEG as a phone's camera gives it: larger than the pages send (they make it smaller)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (3000, 2000), (96, 120, 140)).save(out, "JPEG", quality=85)
    path = tmp_path / "manhole.jpg"
    path.write_bytes(out.getvalue())
    return path


def needs_page(user, url_name: str, *args) -> None:
    """Skip the rest of the flow, saying which page is missing, when it is not built yet."""
    try:
        path = reverse(url_name, args=args)
    except NoReverseMatch:
        pytest.skip(f"{url_name!r} does not resolve: that step of the flow cannot be taken yet")
    skip_unless_served(path, user)


# --- on the server -----------------------------------------------------------------------------


def on_server(number: str, status: str, steps: list[str]):
    """The case as the database has it: its state and the actions of its timeline, in order."""
    from cases.models import Case

    case = Case.objects.get(number=number)
    actions = list(case.timeline.order_by("id").values_list("action", flat=True))
    assert (case.status, actions) == (status, steps), f"{number}: {case.status}, {actions}"
    return case


def wait_server(number: str, status: str) -> None:
    from cases.models import Case

    try:
        WebDriverWait(None, WAIT, poll_frequency=0.2).until(
            lambda _: Case.objects.filter(number=number, status=status).exists()
        )
    except TimeoutException:
        now = Case.objects.get(number=number).status
        pytest.fail(f"{number} is {now!r} on the server, not {status!r}")


# --- the inspector's phone page ----------------------------------------------------------------


def set_network(driver, *, online: bool) -> None:
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": not online, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return navigator.onLine") is online
    )


def open_phone(driver, live_server, hash_: str = "") -> None:
    driver.get(f"{live_server.url}{reverse('mobile-home')}{hash_}")
    ready = "const m = window.gridcityMobile; return m && (m.ready || m.error)"
    try:
        WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(ready))
    except TimeoutException:
        pytest.fail(f"the phone page did not start within {WAIT} s; console: {console(driver)}")
    assert driver.execute_script("return window.gridcityMobile.error") is None


def inspector_phone(browser_factory, live_server, inspector, lon: float, lat: float):
    driver = browser_factory(*PHONE, phone=True)
    driver.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": live_server.url, "permissions": ["geolocation"]}
    )
    driver.execute_cdp_cmd(
        "Emulation.setGeolocationOverride", {"latitude": lat, "longitude": lon, "accuracy": 8}
    )
    login(driver, live_server, inspector)
    open_phone(driver, live_server)
    return driver


def outbox_count(driver) -> str:
    return driver.find_element(By.ID, "m-outbox-status").get_attribute("data-count")


def report_on_phone(driver, item, photo, description: str) -> None:
    driver.find_element(By.CSS_SELECTOR, '.m-tabs a[data-tab="report"]').click()
    WebDriverWait(driver, WAIT).until(lambda d: d.find_element(By.ID, "report-accuracy").text)
    driver.find_element(By.ID, "report-photo").send_keys(str(photo))
    WebDriverWait(driver, WAIT).until(
        lambda d: d.find_element(By.ID, "report-photos").get_attribute("data-count") == "1"
    )
    driver.find_element(By.ID, "report-item-search").send_keys("井盖")
    WebDriverWait(driver, WAIT).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f'#report-items [data-code="{item.code}"]')
    ).click()
    driver.find_element(By.ID, "report-description").send_keys(description)
    driver.find_element(By.ID, "report-send").click()


def verify_on_phone(
    driver, number: str, *, passed: bool, then: str, note: str = "", photo=None
) -> None:
    """Check the task on the phone and send the result; wait until the server has it (the case
    is ``then``) and the phone's outbox is empty."""
    driver.execute_script("location.hash = arguments[0]", f"#task/{number}")
    form = WebDriverWait(driver, WAIT).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f'.verify-form[data-number="{number}"]')
    )
    WebDriverWait(driver, WAIT).until(lambda d: form.is_displayed())
    choice = "true" if passed else "false"
    form.find_element(By.CSS_SELECTOR, f'input[name="passed"][value="{choice}"]').click()
    if note:
        form.find_element(By.NAME, "note").send_keys(note)
    if photo:
        form.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(photo))
        WebDriverWait(driver, WAIT).until(
            lambda d: (
                form.find_element(By.CSS_SELECTOR, ".m-photos").get_attribute("data-count") == "1"
            )
        )
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_server(number, then)
    WebDriverWait(driver, WAIT).until(lambda d: outbox_count(d) == "0")


# --- the case page (dispatcher and department) -------------------------------------------------


def desk_browser(browser_factory, live_server, user):
    driver = browser_factory(*DESKTOP)
    login(driver, live_server, user)
    return driver


def open_case(driver, live_server, number: str) -> None:
    driver.get(f"{live_server.url}{reverse('desk-case', args=[number])}")
    wait_case_page(driver)


def wait_case_page(driver) -> None:
    ready = "return window.gridcityCase && (window.gridcityCase.ready || window.gridcityCase.error)"
    try:
        WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(ready))
    except TimeoutException:
        pytest.fail(f"the case page did not start within {WAIT} s; console: {console(driver)}")
    assert driver.execute_script("return window.gridcityCase.error") is None


def status_shown(driver) -> str | None:
    try:
        return driver.find_element(By.CSS_SELECTOR, ".case-page").get_attribute("data-status")
    except StaleElementReferenceException:
        return None


def wait_status(driver, status: str) -> None:
    try:
        WebDriverWait(driver, WAIT).until(lambda d: status_shown(d) == status)
    except TimeoutException:
        pytest.fail(f"the case page shows {status_shown(driver)!r}, not {status!r}")
    wait_case_page(driver)


def offered(driver) -> list[str]:
    return [
        e.get_attribute("data-action")
        for e in driver.find_elements(By.CSS_SELECTOR, "details.case-action")
    ]


def by_key(driver, key: str, then: str) -> None:
    """Press the step's key on the page: its form opens with the focus in it; Enter sends it."""
    driver.execute_script("document.activeElement && document.activeElement.blur()")
    ActionChains(driver).send_keys(key).perform()
    assert driver.switch_to.active_element.get_attribute("id") == f"{then}-note"
    driver.switch_to.active_element.send_keys(Keys.ENTER)


def by_button(driver, action: str, note: str = "") -> None:
    """Open the step's form with its button, write the note, send it with its button."""
    details = driver.find_element(By.ID, f"action-{action}")
    if details.get_attribute("open") is None:
        details.find_element(By.TAG_NAME, "summary").click()
    if note:
        box = details.find_element(By.ID, f"{action}-note")
        box.clear()
        box.send_keys(note)
    details.find_element(By.CSS_SELECTOR, "form button[type=submit]:not([name=next])").click()


def attach_after_photo(driver, photo) -> None:
    """The handling form's photo upload (desk/_photo_upload.html): the photo is made smaller in
    the browser and uploaded before the form is sent."""
    details = driver.find_element(By.ID, "action-handle")
    if details.get_attribute("open") is None:
        details.find_element(By.TAG_NAME, "summary").click()
    inputs = details.find_elements(By.CSS_SELECTOR, "input[type=file]")
    if not inputs:
        pytest.skip("the handling form has no photo upload yet (desk/_photo_upload.html)")
    inputs[0].send_keys(str(photo))
    try:
        WebDriverWait(driver, WAIT).until(
            lambda d: details.find_elements(By.CSS_SELECTOR, "[data-photo-list] [data-state=done]")
        )
    except TimeoutException:
        pytest.fail(f"the after-photo was not sent within {WAIT} s; console: {console(driver)}")
    [row] = details.find_elements(By.CSS_SELECTOR, "[data-photo-list] [data-state=done]")
    # Made smaller in the browser before it was sent: the longest side is at most 2048 px.
    assert row.get_attribute("data-resized"), "the photo was sent as the camera made it"
    width, height = map(int, row.get_attribute("data-resized").split("x"))
    assert max(width, height) <= 2048


def handle_with_photo(driver, live_server, number: str, photo, note: str) -> None:
    open_case(driver, live_server, number)
    attach_after_photo(driver, photo)
    by_button(driver, "handle", note)
    wait_status(driver, "handled")


# --- the flows ---------------------------------------------------------------------------------


def test_one_case_from_an_offline_report_to_closed_through_the_pages(
    world, live_server, browser_factory, photo
):
    from cases.models import Case, CasePhoto

    people, item = world
    needs_page(people.inspector_a, "mobile-home")
    centre = people.grid_a.geom.point_on_surface

    # 网格员: reported on the phone without a network; it waits there, nothing reaches the server.
    phone = inspector_phone(browser_factory, live_server, people.inspector_a, centre.x, centre.y)
    set_network(phone, online=False)
    report_on_phone(phone, item, photo, "井盖缺失，离线上报")
    WebDriverWait(phone, WAIT).until(lambda d: outbox_count(d) == "1")
    assert "1" in phone.find_element(By.ID, "m-outbox-status").text
    assert not Case.objects.exists()
    screenshot(phone, "flow-1-report-offline-phone")

    # Online again: sent once.
    set_network(phone, online=True)
    WebDriverWait(phone, WAIT).until(lambda d: outbox_count(d) == "0")
    case = Case.objects.get()
    number = case.number
    on_server(number, "reported", ["report"])
    assert (case.reporter_id, case.grid_id) == (people.inspector_a.pk, people.grid_a.pk)
    assert list(CasePhoto.objects.filter(case=case).values_list("stage", flat=True)) == ["report"]

    # 受理/派遣员: files (f) and dispatches (d) on the case page, with the keyboard.
    needs_page(people.dispatcher, "desk-case", number)
    desk = desk_browser(browser_factory, live_server, people.dispatcher)
    open_case(desk, live_server, number)
    assert offered(desk)[:2] == ["file", "reject"]
    by_key(desk, "f", "file")
    wait_status(desk, "filed")
    on_server(number, "filed", ["report", "file"])
    chosen = desk.find_element(By.CSS_SELECTOR, "#dispatch-department option:checked")
    assert chosen.get_attribute("value") == people.department.code  # the routing proposal
    by_key(desk, "d", "dispatch")
    wait_status(desk, "dispatched")
    on_server(number, "dispatched", ["report", "file", "dispatch"])

    # 处置部门: returns it with a reason; the dispatcher redispatches it.
    staff = desk_browser(browser_factory, live_server, people.staff)
    open_case(staff, live_server, number)
    assert {"accept", "return"} <= set(offered(staff))
    by_button(staff, "return", "不属于本部门")
    wait_server(number, "returned")  # the department may no longer see it
    on_server(number, "returned", ["report", "file", "dispatch", "return"])
    open_case(desk, live_server, number)
    by_key(desk, "d", "redispatch")
    wait_status(desk, "dispatched")
    steps = ["report", "file", "dispatch", "return", "redispatch"]
    on_server(number, "dispatched", steps)

    # 处置部门: accepts it, handles it with an after-photo.
    open_case(staff, live_server, number)
    by_button(staff, "accept")
    wait_status(staff, "handling")
    on_server(number, "handling", steps := [*steps, "accept"])
    handle_with_photo(staff, live_server, number, photo, "已更换井盖")
    case = on_server(number, "handled", steps := [*steps, "handle"])
    assert CasePhoto.objects.filter(case=case, stage="handle").count() == 1
    screenshot(staff, "flow-2-handled-desktop")

    # 受理/派遣员: asks the grid's inspector to check it.
    open_case(desk, live_server, number)
    by_button(desk, "request-verify")
    wait_status(desk, "verifying")
    on_server(number, "verifying", steps := [*steps, "request-verify"])

    # 网格员: the task is on the phone; passed, with a photo: closed.
    open_phone(phone, live_server)
    assert phone.find_element(By.CSS_SELECTOR, f'.m-task[data-number="{number}"]')
    verify_on_phone(phone, number, passed=True, then="closed", photo=photo)
    case = on_server(number, "closed", [*steps, "verify"])
    assert case.resolution == "resolved"
    assert CasePhoto.objects.filter(case=case, stage="verify").count() == 1
    open_case(desk, live_server, number)
    assert status_shown(desk) == "closed"
    screenshot(desk, "flow-3-closed-desktop")


def test_a_failed_check_sends_the_case_back_to_the_department_until_it_passes(
    world, live_server, browser_factory, photo
):
    from cases import services

    people, item = world
    needs_page(people.inspector_a, "mobile-home")
    centre = people.grid_a.geom.point_on_surface
    # Up to the check through the services: the first test takes these steps on the pages.
    case = services.case_report(
        by=people.inspector_a, item=item, lon=centre.x, lat=centre.y, description="井盖松动"
    ).case
    for step, by, extra in [
        ("file", people.dispatcher, {}),
        ("dispatch", people.dispatcher, {}),
        ("accept", people.staff, {}),
        ("handle", people.staff, {"note": "已加固"}),
        ("request_verify", people.dispatcher, {}),
    ]:
        case = getattr(services, f"case_{step}")(case=case, by=by, **extra)
    number = case.number
    steps = ["report", "file", "dispatch", "accept", "handle", "request-verify"]
    needs_page(people.dispatcher, "desk-case", number)

    # 网格员: the check fails, with the reason: back to the department (返工).
    phone = inspector_phone(browser_factory, live_server, people.inspector_a, centre.x, centre.y)
    verify_on_phone(phone, number, passed=False, then="dispatched", note="井盖仍然松动")
    case = on_server(number, "dispatched", steps := [*steps, "verify"])
    assert case.rework_count == 1

    # 处置部门: the case is in the rework queue, with the reason; accepted and handled again.
    staff = desk_browser(browser_factory, live_server, people.staff)
    staff.get(f"{live_server.url}{reverse('desk-queue', args=['department', 'rework'])}")
    WebDriverWait(staff, WAIT).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-number="{number}"]')
    )
    open_case(staff, live_server, number)
    assert "井盖仍然松动" in staff.find_element(By.CSS_SELECTOR, ".case-page").text
    by_button(staff, "accept")
    wait_status(staff, "handling")
    handle_with_photo(staff, live_server, number, photo, "已更换新井盖")
    on_server(number, "handled", steps := [*steps, "accept", "handle"])

    # 受理/派遣员 asks for the check again; 网格员: passed this time.
    desk = desk_browser(browser_factory, live_server, people.dispatcher)
    open_case(desk, live_server, number)
    by_button(desk, "request-verify")
    wait_status(desk, "verifying")
    open_phone(phone, live_server)
    verify_on_phone(phone, number, passed=True, then="closed", photo=photo)
    case = on_server(number, "closed", [*steps, "request-verify", "verify"])
    assert case.rework_count == 1
