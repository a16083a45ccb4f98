"""The supervisor's street page in headless Chromium: at phone width (360 px) its figures and
panels stack in one column without a sideways scroll, at desktop width they sit side by side,
and axe-core finds no serious or critical problem at either; the inspectors' table loads after
the page, and pages and finds in place."""

import uuid
from pathlib import Path

import pytest

pytest.importorskip("selenium")

from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e import test_home_map as home
from tests.e2e.test_patrol_audit import log_in
from tests.factories import make_manhole_item, make_people, make_small_city

CHROMIUM, CHROMEDRIVER, ORIGIN, SIZE = home.CHROMIUM, home.CHROMEDRIVER, home.ORIGIN, home.SIZE
browser_factory = home.browser_factory
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOT = Path("/tmp/supervise.png")
PHONE_SCREENSHOT = Path("/tmp/supervise-phone.png")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason=f"browser tests need {CHROMIUM} and {CHROMEDRIVER} "
        "(Debian packages chromium and chromium-driver)",
    ),
]


@pytest.fixture
def busy_street(transactional_db):
    """Street A with an overdue case, an escalated one and its inspector on patrol."""
    from cases import services
    from cases.models import Case
    from patrol.services import shift_start

    city = make_small_city(code="440306", origin=ORIGIN, size=SIZE)
    people = make_people(city)
    item = make_manhole_item(people)
    centre = people.grid_a.geom.point_on_surface
    for n, escalated in enumerate([False, True]):
        case = services.case_report(
            by=people.inspector_a,
            item=item,
            lon=centre.x,
            lat=centre.y,
            description=f"井盖缺失 {n}",
            address="宝安大道 100 号",
        ).case
        case = services.case_file(case=case, by=people.dispatcher)
        case = services.case_dispatch(case=case, by=people.dispatcher)
        Case.objects.filter(pk=case.pk).update(overdue=True, escalated=escalated)
    shift_start(inspector=people.inspector_a, client_uuid=uuid.uuid4())
    return people


def serious_problems(driver) -> list[str]:
    """What axe-core finds serious or critical on the page, one line each."""
    driver.execute_script(AXE.read_text())
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then((r) => done(r.violations.filter("
        "(v) => ['serious', 'critical'].includes(v.impact)).map("
        "(v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', '))));"
    )
    return found


def open_page(driver, live_server, people) -> None:
    log_in(driver, live_server, people.supervisor)
    driver.get(f"{live_server.url}{reverse('desk-supervise')}")
    assert driver.find_element(By.CSS_SELECTOR, ".sv-figures")
    # The inspectors' table is its own request, made by the page's script once it is loaded.
    WebDriverWait(driver, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#sv-inspectors tr[data-inspector]")
    )


def lefts(driver, selector: str) -> list[int]:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".map((e) => Math.round(e.getBoundingClientRect().left));",
        selector,
    )


def test_the_street_page_stacks_in_one_column_on_a_phone(busy_street, live_server, browser_factory):
    phone = browser_factory(360, 780, phone=True)
    open_page(phone, live_server, busy_street)

    # The page's own content; the site header above it is the base template's.
    wide = phone.execute_script(
        "const w = document.documentElement.clientWidth;"
        "return [...document.querySelectorAll('.desk-page *')]"
        ".filter((e) => e.getBoundingClientRect().right > w + 1)"
        ".map((e) => `${e.tagName}.${e.className}`);"
    )
    assert wide == [], f"wider than the 360 px screen: {wide}"
    assert len(set(lefts(phone, ".sv-grid > .sv-panel"))) == 1  # one column of panels
    assert len(set(lefts(phone, ".sv-figures > li"))) == 2  # figures two abreast
    form = phone.find_elements(By.CSS_SELECTOR, "form.sv-escalate")
    for f in form:  # the note and its button fit the width
        assert f.rect["x"] + f.rect["width"] <= 360
    phone.save_screenshot(str(PHONE_SCREENSHOT))
    assert serious_problems(phone) == []


def test_the_street_page_sits_side_by_side_on_a_desktop(busy_street, live_server, browser_factory):
    desktop = browser_factory(1366, 900)
    open_page(desktop, live_server, busy_street)

    assert len(set(lefts(desktop, ".sv-grid > .sv-panel:not(.sv-wide)"))) >= 2
    row = desktop.find_element(
        By.CSS_SELECTOR, f'tr[data-inspector="{busy_street.inspector_a.pk}"]'
    )
    assert row.find_elements(By.CSS_SELECTOR, "[data-on-patrol]")
    desktop.save_screenshot(str(SCREENSHOT))
    assert serious_problems(desktop) == []


def test_the_inspectors_table_loads_after_the_page_and_pages_and_finds_in_place(
    busy_street, live_server, browser_factory, monkeypatch
):
    from accounts.models import Role, User
    from accounts.services import grid_assign
    from desk.web import supervise
    from gridcity.models import WorkGrid
    from tests.factories import make_user

    people = busy_street
    street = people.grid_a.community.street.code
    grids = WorkGrid.objects.filter(code__startswith=street).exclude(pk=people.grid_a.pk)
    for n, grid in enumerate(grids.order_by("code")[:3]):
        inspector = make_user(f"street-a-inspector-{n}", Role.INSPECTOR)
        User.objects.filter(pk=inspector.pk).update(first_name=f"巡查{n}")
        grid_assign(grid=grid, inspector=inspector)
    monkeypatch.setattr(supervise, "INSPECTORS_PER_PAGE", 2)
    desktop = browser_factory(1366, 900)
    open_page(desktop, live_server, people)

    def loaded(n: int) -> list[str]:
        WebDriverWait(desktop, 20).until(
            lambda d: d.execute_script("return window.gridcitySupervise.loads") >= n
        )
        rows = desktop.find_elements(By.CSS_SELECTOR, "#sv-inspectors tr[data-inspector]")
        return [row.find_element(By.CSS_SELECTOR, "th").text for row in rows]

    # Four inspectors, two a page: the three without a shift first, the one on patrol last.
    assert len(loaded(1)) == 2
    assert desktop.find_element(By.CSS_SELECTOR, "#sv-inspectors-title .sv-count").text == "4"
    desktop.find_element(By.CSS_SELECTOR, "#sv-inspectors a[rel=next]").click()
    assert len(loaded(2)) == 2
    assert "page=2" in desktop.current_url and "partial" not in desktop.current_url
    assert desktop.find_elements(By.CSS_SELECTOR, "#sv-inspectors [data-on-patrol]")

    box = desktop.find_element(By.ID, "sv-find")
    box.send_keys("巡查2")
    assert loaded(3) == ["巡查2"]
    assert "find=" in desktop.current_url
    assert serious_problems(desktop) == []
