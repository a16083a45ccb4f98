"""Every workbench page, as the person who uses it, at desktop and at phone width: axe-core finds
no serious or critical violation, and a screenshot of each is kept as an artefact
(var/screenshots/<page>-desktop.png and <page>-phone.png, or $GRIDCITY_SCREENSHOT_DIR).

A page whose URL name does not resolve, or that still answers 404, is not built yet: its test
is skipped with that reason.
"""

from dataclasses import dataclass
from urllib.parse import quote

import pytest

pytest.importorskip("selenium")

from django.urls import NoReverseMatch, reverse
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.browser import (
    BROWSER_MARKS,
    DESKTOP,
    PHONE,
    WAIT,
    axe_check,
    console,
    describe,
    login,
    screenshot,
    severe,
    skip_unless_served,
)

pytestmark = BROWSER_MARKS


@dataclass(frozen=True)
class Page:
    """A workbench page: its URL name and arguments, who opens it, what shows it is ready."""

    name: str
    url_name: str
    persona: str | None  # a field of tests.factories.People; None: not signed in
    ready: str = ".desk-page h1"  # a CSS selector present once the page has drawn
    args: tuple = ()
    query: str = ""
    case_arg: str | None = None  # the page's argument is this case's number
    settle: str = ""  # a JS condition the page's module sets when it has started
    prepare: str = ""  # JS run before the check (to open what a person would open)


CASE_READY = "window.gridcityCase && window.gridcityCase.ready"
OPEN_FORMS = "document.querySelectorAll('details.case-action').forEach(d => { d.open = true; })"

PAGES = [
    Page("dispatch-queue", "desk-queue", "dispatcher", ".desk-table", args=("dispatch", "to-file")),
    Page(
        "case",
        "desk-case",
        "dispatcher",
        ".case-page",
        case_arg="reported",
        settle=CASE_READY,
        prepare=OPEN_FORMS,
    ),
    Page("search", "desk-search", "dispatcher", query="q=井盖"),
    Page(
        "map",
        "desk-map",
        "dispatcher",
        ".leaflet-container",
        settle="window.gridcityCaseMap && window.gridcityCaseMap.ready",
    ),
    Page(
        "department-queue", "desk-queue", "staff", ".desk-table", args=("department", "to-accept")
    ),
    Page(
        "department-case",
        "desk-case",
        "staff",
        ".case-page",
        case_arg="handling",
        settle=CASE_READY,
        prepare=OPEN_FORMS,
    ),
    Page("department-today", "desk-department-today", "staff"),
    Page("supervise", "desk-supervise", "supervisor"),
    Page(
        "mobile",
        "mobile-home",
        "inspector_a",
        "#m-app",
        settle="window.gridcityMobile && window.gridcityMobile.ready",
    ),
    Page("login", "login", None, "#login-form"),
]


@pytest.fixture
def desk_cases(people):
    """A few cases in grid A, at every step the pages list: three reports to file, one with the
    department to accept, one being handled, one handled and waiting for inspector A's
    verification."""
    from cases import services
    from tests.factories import make_manhole_item

    item = make_manhole_item(people)
    centre = people.grid_a.geom.point_on_surface

    def report(description):
        return services.case_report(
            by=people.inspector_a,
            item=item,
            lon=centre.x,
            lat=centre.y,
            description=description,
            address="测试路 1 号",
        ).case

    reported = [report(f"井盖缺失 {n}") for n in range(3)]
    dispatched = report("井盖破损")
    services.case_file(case=dispatched, by=people.dispatcher)
    services.case_dispatch(case=dispatched, by=people.dispatcher)
    handling = report("井盖下沉")
    services.case_file(case=handling, by=people.dispatcher)
    services.case_dispatch(case=handling, by=people.dispatcher)
    services.case_accept(case=handling, by=people.staff)
    verifying = report("井盖松动")
    services.case_file(case=verifying, by=people.dispatcher)
    services.case_dispatch(case=verifying, by=people.dispatcher)
    services.case_accept(case=verifying, by=people.staff)
    services.case_handle(case=verifying, by=people.staff, note="已更换井盖")
    services.case_request_verify(case=verifying, by=people.dispatcher)
    return {
        "reported": reported[0],
        "dispatched": dispatched,
        "handling": handling,
        "verifying": verifying,
    }


def not_routed(page: Page) -> str:
    """Why the page cannot be tested on this branch: its URL name does not resolve."""
    try:
        reverse(page.url_name, args=("0",) if page.case_arg else page.args)
    except NoReverseMatch:
        return f"{page.url_name!r} does not resolve: the {page.name} page is not built yet"
    return ""


def page_params():
    """The pages as parameters; one whose part is not on this branch is skipped before any
    set-up (the city and the live server cost seconds)."""
    for page in PAGES:
        reason = not_routed(page)
        yield pytest.param(
            page, id=page.name, marks=[pytest.mark.skipif(bool(reason), reason=reason)]
        )


def page_url(page: Page, cases) -> str:
    args = (cases[page.case_arg].number,) if page.case_arg else page.args
    path = reverse(page.url_name, args=args)
    return f"{path}?{page.query}" if page.query else path


def wait_ready(driver, page: Page) -> None:
    def ready(d):
        if d.execute_script("return document.readyState") != "complete":
            return False
        if not d.find_elements(By.CSS_SELECTOR, page.ready):
            return False
        return not page.settle or d.execute_script(f"return !!({page.settle})")

    try:
        WebDriverWait(driver, WAIT).until(ready)
    except TimeoutException:
        pytest.fail(
            f"{page.name}: {page.ready!r} did not appear within {WAIT} s at {driver.current_url}; "
            f"console: {console(driver)}"
        )


@pytest.mark.parametrize("page", list(page_params()))
def test_workbench_page_has_no_serious_accessibility_violation(
    page, people, desk_cases, live_server, browser_factory
):
    path = page_url(page, desk_cases)
    user = getattr(people, page.persona) if page.persona else None
    skip_unless_served(path, user)

    failures = []
    for size, (width, height), phone in (("desktop", DESKTOP, False), ("phone", PHONE, True)):
        driver = browser_factory(width, height, phone=phone)
        if user is not None:
            login(driver, live_server, user)
        driver.get(f"{live_server.url}{path}")
        wait_ready(driver, page)
        shot = screenshot(driver, f"{page.name}-{size}")
        if page.prepare:
            driver.execute_script(page.prepare)
        found = severe(axe_check(driver))
        if found:
            failures.append(
                f"{page.name} at {size} width has serious or critical axe-core violations "
                f"(screenshot {shot}):\n{describe(found)}"
            )
        # Nothing wider than the screen: the page scrolls down, never sideways.
        scroll = driver.execute_script("return document.documentElement.scrollWidth")
        if scroll > width + 1:
            failures.append(f"{page.name} is {scroll} px wide in a {width} px {size} viewport")

    assert not failures, "\n".join(failures)


BAD_PAGE = """<!DOCTYPE html><html lang="en"><head><title>bad</title></head><body><main>
<p style="color:#bbb;background:#fff">Grey on white, too faint to read.</p>
<input type="text"></main></body></html>"""


def test_the_check_reports_what_it_forbids(browser):
    """A field with no label and faint text: the check above would fail on such a page."""
    browser.get("data:text/html;charset=utf-8," + quote(BAD_PAGE))

    found = severe(axe_check(browser))

    assert {"label", "color-contrast"} <= {v["id"] for v in found}, describe(found)
    assert "input" in describe(found)


def test_the_first_tab_stop_skips_past_the_header_and_the_queues(
    people, desk_cases, live_server, browser
):
    login(browser, live_server, people.dispatcher)
    browser.get(f"{live_server.url}{reverse('desk-queue', args=['dispatch', 'to-file'])}")
    wait_ready(browser, PAGES[0])

    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    link = browser.switch_to.active_element
    assert "skip-link" in link.get_attribute("class")
    assert link.is_displayed() and link.rect["y"] >= 0, "the focused skip link is not in view"
    link.send_keys(Keys.ENTER)

    # Focus is on the page beside the queue column; the next Tab reaches the page's own links.
    assert browser.switch_to.active_element.get_attribute("id") == "desk-page"
    browser.switch_to.active_element.send_keys(Keys.TAB)
    inside = browser.execute_script(
        "return document.getElementById('desk-page').contains(document.activeElement)"
    )
    assert inside, browser.switch_to.active_element.get_attribute("outerHTML")
