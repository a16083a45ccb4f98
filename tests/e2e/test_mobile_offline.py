"""The inspector's phone page in headless Chromium: a report made without a network waits on
the phone, goes to the server once the network returns, and stays one case when sent again.

Drives Debian's /usr/bin/chromium through /usr/bin/chromedriver (as test_home_map does) at a
phone's size, with the position and the network set through the DevTools protocol.
"""

import io
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

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path("/tmp")
REPORT_SCREENSHOT = SCREENSHOTS / "mobile-report-offline-phone.png"
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
def inspector_city(transactional_db):
    city = make_small_city(code="440306", origin=ORIGIN, size=SIZE)
    people = make_people(city)
    return people, make_manhole_item(people)


@pytest.fixture
def photo_file(tmp_path) -> Path:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 140, 90)).save(out, "JPEG", quality=80)
    path = tmp_path / "manhole.jpg"
    path.write_bytes(out.getvalue())
    return path


def set_network(driver, *, online: bool) -> None:
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": not online, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return navigator.onLine") is online
    )


def open_mobile(driver, live_server, people, lon: float, lat: float) -> None:
    driver.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": live_server.url, "permissions": ["geolocation"]}
    )
    driver.execute_cdp_cmd(
        "Emulation.setGeolocationOverride", {"latitude": lat, "longitude": lon, "accuracy": 8}
    )
    log_in(driver, live_server, people.inspector_a)
    driver.get(f"{live_server.url}/m/")
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script(
            "const m = window.gridcityMobile; return m && (m.ready || m.error)"
        )
    )
    assert driver.execute_script("return window.gridcityMobile.error") is None


def outbox_count(driver) -> str:
    return driver.find_element(By.ID, "m-outbox-status").get_attribute("data-count")


def run_async(driver, script: str):
    """Run ``script`` (a promise expression) in the page and return what it resolves to."""
    return driver.execute_async_script(
        f"const done = arguments[arguments.length - 1];"
        f"Promise.resolve().then(() => {script}).then(done, (e) => done('error: ' + e));"
    )


def shell_kept(driver) -> bool:
    return run_async(
        driver,
        "navigator.serviceWorker.ready"
        ".then(() => caches.keys())"
        ".then((names) => Promise.all(names.map((n) => caches.open(n)"
        "  .then((c) => c.match('/m/')))))"
        ".then((found) => found.some(Boolean))",
    )


def test_a_report_made_offline_is_sent_once_when_the_network_returns(
    inspector_city, live_server, browser_factory, photo_file
):
    from cases.models import Case, CasePhoto

    people, item = inspector_city
    centre = people.grid_a.geom.point_on_surface
    driver = browser_factory(360, 740, phone=True)
    open_mobile(driver, live_server, people, centre.x, centre.y)
    # The service worker has kept the page for offline use.
    WebDriverWait(driver, WAIT).until(shell_kept)

    set_network(driver, online=False)
    driver.find_element(By.CSS_SELECTOR, '.m-tabs a[data-tab="report"]').click()
    # The phone's position, with its accuracy; offline, the grid is found later.
    WebDriverWait(driver, WAIT).until(
        lambda d: "8" in d.find_element(By.ID, "report-accuracy").text
    )
    assert driver.execute_script("return window.gridcityMobile.position.lon") == pytest.approx(
        centre.x, abs=1e-6
    )
    driver.find_element(By.ID, "report-photo").send_keys(str(photo_file))
    WebDriverWait(driver, WAIT).until(
        lambda d: d.find_element(By.ID, "report-photos").get_attribute("data-count") == "1"
    )
    driver.find_element(By.ID, "report-item-search").send_keys("井盖")
    WebDriverWait(driver, WAIT).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f'#report-items [data-code="{item.code}"]')
    ).click()
    assert item.code in driver.find_element(By.ID, "report-item-chosen").text
    driver.find_element(By.ID, "report-description").send_keys("井盖缺失，离线上报")
    driver.find_element(By.ID, "report-send").click()

    # It waits on the phone, and says so; nothing reached the server.
    WebDriverWait(driver, WAIT).until(lambda d: outbox_count(d) == "1")
    status = driver.find_element(By.ID, "m-outbox-status")
    assert status.is_displayed() and "1" in status.text
    WebDriverWait(driver, WAIT).until(
        lambda d: (
            d.execute_script("return document.querySelector('#m-outbox .m-entry').dataset.state")
            == "waiting"
        )
    )
    assert not Case.objects.exists()
    driver.save_screenshot(str(REPORT_SCREENSHOT))
    # Keep a copy of the stored entry (its client uuid and photo) to send again later.
    assert (
        run_async(
            driver,
            "gridcityMobile.outbox().then((es) => { window.kept = es[0]; return es.length; })",
        )
        == 1
    )

    set_network(driver, online=True)
    WebDriverWait(driver, WAIT).until(lambda d: outbox_count(d) == "0")
    assert not driver.find_element(By.ID, "m-outbox-status").is_displayed()
    case = Case.objects.get()
    assert str(case.client_uuid) == driver.execute_script("return window.kept.id")
    assert driver.execute_script("return window.kept.user") == str(people.inspector_a.pk)
    assert (case.item_id, case.reporter_id, case.grid_id) == (
        item.pk,
        people.inspector_a.pk,
        people.grid_a.pk,
    )
    assert case.description == "井盖缺失，离线上报"
    assert list(CasePhoto.objects.values_list("case_id", "stage")) == [(case.pk, "report")]
    assert case.number in driver.find_element(By.ID, "m-news").text

    # The same entry sent again (a lost answer, a second tab): still one case, one photo.
    left = run_async(
        driver,
        "gridcityMobile.store({...window.kept, state: 'waiting', nextTry: 0})"
        ".then(() => gridcityMobile.flush({force: true}))"
        ".then(() => gridcityMobile.outbox()).then((es) => es.length)",
    )
    assert left == 0
    assert Case.objects.count() == 1 and CasePhoto.objects.count() == 1


def test_the_phone_page_has_no_serious_accessibility_violation(
    two_tasks, live_server, browser_factory
):
    people, (case, _other) = two_tasks
    centre = people.grid_a.geom.point_on_surface
    driver = browser_factory(360, 740, phone=True)
    open_mobile(driver, live_server, people, centre.x, centre.y)
    driver.execute_script(AXE.read_text())
    for view, name in [
        ("tasks", "tasks"),
        (f"task/{case.number}", f"task-{case.number}"),
        ("report", "report"),
        ("outbox", "outbox"),
    ]:
        driver.execute_script("location.hash = arguments[0]", f"#{view}")
        WebDriverWait(driver, WAIT).until(
            lambda d, name=name: d.find_element(By.ID, f"view-{name}").is_displayed()
        )
        found = run_async(
            driver,
            "axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations"
            ".filter((v) => ['serious', 'critical'].includes(v.impact))"
            ".map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))",
        )
        assert found == [], f"#{view}: {found}"
        driver.save_screenshot(str(SCREENSHOTS / f"mobile-{view.split('/')[0]}-phone.png"))


@pytest.fixture
def two_tasks(inspector_city):
    """Two handled cases in grid A, both waiting for inspector A's check on site."""
    from tests.desk.test_mobile import verifying_case

    people, item = inspector_city
    return people, [verifying_case(people, item, people.inspector_a, people.grid_a) for _ in "ab"]


def verify_on_phone(driver, number: str, *, passed: bool, note: str = "", photo=None) -> None:
    driver.execute_script("location.hash = arguments[0]", f"#task/{number}")
    form = WebDriverWait(driver, WAIT).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f'.verify-form[data-number="{number}"]')
    )
    assert form.is_displayed()
    form.find_element(
        By.CSS_SELECTOR, f'input[name="passed"][value="{str(passed).lower()}"]'
    ).click()
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


def test_verifications_made_offline_are_sent_and_one_verified_meanwhile_counts_as_done(
    two_tasks, live_server, browser_factory, photo_file
):
    from cases import services
    from cases.models import Case, CasePhoto, Status

    people, (mine, taken) = two_tasks
    centre = people.grid_a.geom.point_on_surface
    driver = browser_factory(360, 740, phone=True)
    open_mobile(driver, live_server, people, centre.x, centre.y)
    for case in (mine, taken):
        assert driver.find_element(By.CSS_SELECTOR, f'.m-task[data-number="{case.number}"]')

    set_network(driver, online=False)
    # A failed check needs a note: the form says so and keeps nothing.
    verify_on_phone(driver, mine.number, passed=False)
    error = driver.find_element(
        By.CSS_SELECTOR, f'.verify-form[data-number="{mine.number}"] .m-error'
    )
    assert error.is_displayed() and error.text
    assert outbox_count(driver) == "0"
    driver.execute_script("location.hash = '#tasks'")
    verify_on_phone(driver, mine.number, passed=True, photo=photo_file)
    verify_on_phone(driver, taken.number, passed=True)
    WebDriverWait(driver, WAIT).until(lambda d: outbox_count(d) == "2")
    # Meanwhile the street's supervisor checks the second case himself.
    services.case_verify(case=taken, by=people.supervisor, passed=True, note="已核查")

    set_network(driver, online=True)
    WebDriverWait(driver, WAIT).until(lambda d: outbox_count(d) == "0")
    assert Case.objects.get(pk=mine.pk).status == Status.CLOSED
    assert CasePhoto.objects.filter(case=mine, stage="verify").count() == 1
    assert Case.objects.get(pk=taken.pk).timeline.filter(action="verify").count() == 1
    # Both tasks are done on the phone.
    assert not driver.find_elements(By.CSS_SELECTOR, ".m-task")


@pytest.mark.parametrize("expired", ["session", "csrf"])
def test_an_ended_session_asks_to_log_in_again_instead_of_retrying(
    two_tasks, live_server, browser_factory, expired
):
    from django.conf import settings

    from cases.models import Case, Status

    people, (case, _other) = two_tasks
    centre = people.grid_a.geom.point_on_surface
    driver = browser_factory(360, 740, phone=True)
    open_mobile(driver, live_server, people, centre.x, centre.y)
    if expired == "session":
        driver.delete_cookie(settings.SESSION_COOKIE_NAME)
    else:  # the CSRF cookie is gone: the page's own token no longer matches anything
        driver.delete_cookie(settings.CSRF_COOKIE_NAME)
    verify_on_phone(driver, case.number, passed=True)

    WebDriverWait(driver, WAIT).until(lambda d: d.find_element(By.ID, "m-login").is_displayed())
    entry = driver.find_element(By.CSS_SELECTOR, "#m-outbox .m-entry")
    assert entry.get_attribute("data-state") == "login"
    sent = (
        "return performance.getEntriesByType('resource')"
        ".filter((e) => e.name.includes('/verify/')).length"
    )
    assert driver.execute_script(sent) == 1
    run_async(driver, "gridcityMobile.flush().then(() => gridcityMobile.flush())")
    assert driver.execute_script(sent) == 1  # no loop: it waits for the log-in
    assert outbox_count(driver) == "1"
    assert Case.objects.get(pk=case.pk).status == Status.VERIFYING


def test_the_page_opens_offline_from_what_the_service_worker_kept(
    two_tasks, live_server, browser_factory, inspector_city
):
    from tests.desk.test_mobile import verifying_case

    people, (case, _other) = two_tasks
    _people, item = inspector_city
    centre = people.grid_a.geom.point_on_surface
    driver = browser_factory(360, 740, phone=True)
    open_mobile(driver, live_server, people, centre.x, centre.y)
    WebDriverWait(driver, WAIT).until(shell_kept)
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return Boolean(navigator.serviceWorker.controller)")
    )
    later = verifying_case(people, item, people.inspector_a, people.grid_a)

    set_network(driver, online=False)
    driver.get(f"{live_server.url}/m/#report")
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script(
            "const m = window.gridcityMobile; return m && (m.ready || m.error)"
        )
    )
    # The kept page: the tasks as they were, not the one added since; the items still there.
    assert driver.find_element(By.CSS_SELECTOR, f'.m-task[data-number="{case.number}"]')
    assert not driver.find_elements(By.CSS_SELECTOR, f'.m-task[data-number="{later.number}"]')
    assert driver.find_element(By.ID, "view-report").is_displayed()
    driver.find_element(By.ID, "report-item-search").send_keys(item.code)
    WebDriverWait(driver, WAIT).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f'#report-items [data-code="{item.code}"]')
    )
    assert driver.find_element(By.ID, "m-offline").is_displayed()


# --- 核实: confirming a report on site, offline first -------------------------------------------


def confirm_on_phone(driver, number: str, *, found: bool, note: str = "", photo=None) -> None:
    driver.execute_script("location.hash = arguments[0]", f"#task/{number}")
    form = WebDriverWait(driver, WAIT).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f'.confirm-form[data-number="{number}"]')
    )
    assert form.is_displayed()
    form.find_element(By.CSS_SELECTOR, f'input[name="found"][value="{str(found).lower()}"]').click()
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


def test_confirmations_made_offline_are_sent_and_one_filed_meanwhile_counts_as_done(
    inspector_city, live_server, browser_factory, photo_file
):
    from cases import services
    from cases.models import Case, CasePhoto, Confirmation, Status
    from tests.desk.test_mobile import confirming_case

    people, item = inspector_city
    mine, taken = (confirming_case(people, item, people.grid_a) for _ in "ab")
    centre = people.grid_a.geom.point_on_surface
    driver = browser_factory(360, 740, phone=True)
    open_mobile(driver, live_server, people, centre.x, centre.y)
    task = driver.find_element(By.CSS_SELECTOR, f'.m-task[data-number="{mine.number}"]')
    assert task.get_attribute("data-kind") == "confirm"

    set_network(driver, online=False)
    # Not found needs a note: the form says so and keeps nothing.
    confirm_on_phone(driver, mine.number, found=False)
    error = driver.find_element(
        By.CSS_SELECTOR, f'.confirm-form[data-number="{mine.number}"] .m-error'
    )
    assert error.is_displayed() and error.text
    assert outbox_count(driver) == "0"
    driver.execute_script(AXE.read_text())
    serious = run_async(
        driver,
        "axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations"
        ".filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => v.id))",
    )
    assert serious == []
    driver.save_screenshot(str(SCREENSHOTS / "mobile-confirm-phone.png"))
    driver.execute_script("location.hash = '#tasks'")
    confirm_on_phone(driver, mine.number, found=True, note="现场属实", photo=photo_file)
    confirm_on_phone(driver, taken.number, found=True, photo=photo_file)
    WebDriverWait(driver, WAIT).until(lambda d: outbox_count(d) == "2")
    # Meanwhile the dispatcher files the second report without waiting for the answer: its
    # photo is no longer the inspector's to add, and the answer comes too late; both are done.
    services.case_file(case=taken, by=people.dispatcher)

    set_network(driver, online=True)
    WebDriverWait(driver, WAIT).until(lambda d: outbox_count(d) == "0")
    confirmed = Case.objects.get(pk=mine.pk)
    assert (confirmed.status, confirmed.confirmation) == (Status.REPORTED, Confirmation.FOUND)
    assert list(CasePhoto.objects.filter(case=mine).values_list("stage", "uploaded_by_id")) == [
        ("report", people.inspector_a.pk)
    ]
    assert not Case.objects.get(pk=taken.pk).timeline.filter(action="confirm").exists()
    assert not CasePhoto.objects.filter(case=taken).exists()
    assert not driver.find_elements(By.CSS_SELECTOR, ".m-task")


def test_logging_out_removes_what_the_phone_kept_for_offline(
    two_tasks, live_server, browser_factory, inspector_city
):
    people, _cases = two_tasks
    centre = people.grid_a.geom.point_on_surface
    driver = browser_factory(360, 740, phone=True)
    open_mobile(driver, live_server, people, centre.x, centre.y)
    WebDriverWait(driver, WAIT).until(shell_kept)

    driver.find_element(By.CSS_SELECTOR, "form[action$='/logout/'] button").click()
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return document.documentElement.dataset.offlineKept")
    )

    kept = run_async(
        driver, "caches.keys().then((n) => n.filter((k) => k.startsWith('gridcity-m-')))"
    )
    assert kept == []
