"""The hotline console in headless Chromium, as the operator works it:

- logs in and lands on the console (受理台);
- takes a call about a problem already open nearby and merges it into that case (并单);
- answers a consultation from the knowledge base at once (直接办结);
- calls a citizen back whose case closed, hears 不满意 and reopens it (不满意重办);

with screenshots at desktop width and at 360 px. After each step the case is read on the
server.
"""

import pytest

pytest.importorskip("selenium")

from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

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
)

pytestmark = BROWSER_MARKS


@pytest.fixture
def world(people):
    """The operator, the manhole item, an open case of it in grid A (taken by phone earlier),
    a knowledge entry, and a closed case due for its callback."""
    from accounts.models import Role
    from cases import services
    from portal.models import KnowledgeEntry
    from portal.services import call_take
    from tests.factories import make_manhole_item, make_user

    operator = make_user("hotline-operator", Role.HOTLINE)
    item = make_manhole_item(people)
    centre = people.grid_a.geom.point_on_surface
    fields = {"by": operator, "item": item, "lon": centre.x, "lat": centre.y}
    open_case = call_take(
        phone="13800000001",
        request_type="complaint",
        description="井盖松动",
        **fields,
    ).case
    closed = call_take(
        phone="13900000009",
        name="林女士",
        request_type="complaint",
        description="井盖缺失",
        **fields,
    ).case
    for step in ("file", "dispatch", "accept", "handle", "close"):
        by = people.staff if step in ("accept", "handle") else people.dispatcher
        kwargs = {"note": "已更换"} if step == "handle" else {}
        closed = getattr(services, f"case_{step}")(case=closed, by=by, **kwargs)
    KnowledgeEntry.objects.create(
        question="路边井盖缺失或松动找谁？", answer="由产权单位或水务部门处置。", keywords="井盖"
    )
    return {
        "operator": operator,
        "item": item,
        "centre": centre,
        "open": open_case,
        "closed": closed,
    }


def wait_for(driver, css: str):
    try:
        return WebDriverWait(driver, WAIT).until(lambda d: d.find_element(By.CSS_SELECTOR, css))
    except Exception:
        pytest.fail(f"{css} never appeared on {driver.current_url}: {console(driver)}")


def fill_call(driver, world, *, phone: str, request_type: str, description: str) -> None:
    driver.find_element(By.ID, "call-phone").send_keys(phone)
    driver.find_element(By.ID, "call-name").send_keys("赵先生")
    driver.find_element(By.CSS_SELECTOR, f"input[name=request_type][value={request_type}]").click()
    Select(driver.find_element(By.ID, "call-item")).select_by_value(world["item"].code)
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return window.gridcityHotline && window.gridcityHotline.ready")
    )
    centre = world["centre"]
    driver.execute_script(
        "window.gridcityHotline.place(arguments[0], arguments[1])", centre.y, centre.x
    )
    driver.find_element(By.ID, "call-description").send_keys(description)


def case_of(pk: int):
    from cases.models import Case

    return Case.objects.get(pk=pk)


def test_the_hotline_merges_a_repeat_answers_a_consultation_and_reopens_on_a_callback(
    world, live_server, browser_factory
):
    from cases.models import Case

    driver = browser_factory(*DESKTOP)
    login(driver, live_server, world["operator"], form=True)
    assert driver.current_url.endswith(reverse("hotline-console"))

    # 并单: a new caller about the same loose cover; the open case is offered nearby.
    number = world["open"].number
    fill_call(driver, world, phone="13800000002", request_type="complaint", description="又松了")
    merge = wait_for(driver, f'[data-merge="{number}"]')
    driver.execute_script("window.scrollTo(0, 0)")
    screenshot(driver, "hotline-console-desktop")
    merge.click()
    message = wait_for(driver, ".hotline-messages")
    assert number in message.text
    merged = case_of(world["open"].pk)
    assert merged.repeat_count == 1
    assert merged.followers.filter(role="caller", phone="13800000002").exists()
    assert Case.objects.count() == 2

    # 直接办结: a consultation answered from the knowledge base.
    fill_call(
        driver, world, phone="13700000003", request_type="consultation", description="问井盖归谁管"
    )
    driver.find_element(By.ID, "call-q").send_keys("井盖")
    answer = wait_for(driver, "[data-answer]")
    driver.execute_script("document.getElementById('panel-knowledge').scrollIntoView()")
    screenshot(driver, "hotline-knowledge-desktop")
    answer.click()
    wait_for(driver, ".hotline-messages")
    answered = Case.objects.get(followers__phone="13700000003")
    assert (answered.status, answered.resolution) == ("closed", "answered")

    # 回访: the citizen is unsatisfied; the case goes back for rework.
    closed = world["closed"]
    driver.get(f"{live_server.url}{reverse('hotline-callbacks')}")
    row = wait_for(driver, f'li[data-number="{closed.number}"]')
    screenshot(driver, "hotline-callbacks-desktop")
    row.find_element(By.CSS_SELECTOR, "input[name=satisfaction][value=unsatisfied]").click()
    row.find_element(By.CSS_SELECTOR, "input[name=note]").send_keys("井盖还是缺的")
    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, ".hotline-messages")
    reopened = case_of(closed.pk)
    assert reopened.status == "dispatched"
    assert reopened.rework_count == 1
    assert reopened.satisfaction == "unsatisfied"

    driver.get(f"{live_server.url}{reverse('hotline-day')}")
    figures = wait_for(driver, "[data-figure=merged] dd")
    assert figures.text == "1"
    screenshot(driver, "hotline-day-desktop")


def test_the_console_and_the_callbacks_fit_a_phone_and_pass_axe(
    world, live_server, browser_factory
):
    driver = browser_factory(*PHONE, phone=True)
    login(driver, live_server, world["operator"])
    for name in ("hotline-console", "hotline-callbacks", "hotline-day"):
        driver.get(f"{live_server.url}{reverse(name)}")
        wait_for(driver, "#hotline-page")
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= PHONE[0] + 1, f"{name} is {width} px wide at {PHONE[0]} px"
        violations = severe(axe_check(driver))
        assert violations == [], describe(violations)
        screenshot(driver, f"{name}-phone")
