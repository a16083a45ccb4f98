"""A citizen follows their report on a phone (360 px), in headless Chromium:

- an anonymous citizen's report (made through the services: the report page has its own
  test) gives them a private link; they open it and see it waiting to be accepted;
- the case is filed and sent to the department: the page shows the new state and the step, and
  the outside channel was asked to tell them (a follower's notification row);
- it is handled and closed; they rate it 不满意 and, within the window, reopen it with the
  reason: it goes back to the department, visibly;
- near me lists it, now public, with its state.

Screenshots at 360 px go to the artefact folder (tests/e2e/browser.py)."""

import pytest

pytest.importorskip("selenium")

from django.urls import reverse
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
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
from tests.portal.publicside import report
from tests.portal.publicside import world as public_world

pytestmark = BROWSER_MARKS
# What a page being left or loaded raises while a wait polls it.
LOADING = (NoSuchElementException, StaleElementReferenceException)
world = public_world  # the fixture, under its name


def state_shown(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, ".portal-case-head .portal-state").get_attribute(
        "data-state"
    )


def steps_shown(driver) -> list[str]:
    return [
        li.get_attribute("data-action")
        for li in driver.find_elements(By.CSS_SELECTOR, "#timeline li")
    ]


def fits_the_phone(driver) -> None:
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"the page is {width} px wide on a {PHONE[0]} px phone"


def reload_until(driver, state: str) -> None:
    def shown(d):
        d.refresh()
        return state_shown(d) == state

    WebDriverWait(driver, WAIT, poll_frequency=0.5, ignored_exceptions=LOADING).until(
        shown, console(driver)
    )


def test_a_citizen_follows_rates_unsatisfied_and_reopens(browser_factory, live_server, world):
    from cases import services
    from cases.models import Case, Notification

    people = world.people
    case, reporter = report(world)
    driver = browser_factory(*PHONE, phone=True)
    track = f"{live_server.url}{reverse('portal-track', args=[reporter.token])}"

    driver.get(track)
    assert state_shown(driver) == "reported"
    assert steps_shown(driver) == ["report"]
    fits_the_phone(driver)
    screenshot(driver, "portal-track-1-reported-360")

    case = services.case_file(case=case, by=people.dispatcher)
    case = services.case_dispatch(case=case, by=people.dispatcher)
    reload_until(driver, "dispatched")
    assert steps_shown(driver) == ["report", "file", "dispatch"]
    assert Notification.objects.filter(follower=reporter, kind="update").count() == 2
    screenshot(driver, "portal-track-2-dispatched-360")

    case = services.case_accept(case=case, by=people.staff)
    case = services.case_handle(case=case, by=people.staff, note="已更换井盖")
    services.case_close(case=case, by=people.dispatcher)
    reload_until(driver, "closed")
    form = driver.find_element(By.ID, "rate-form")
    form.find_element(By.CSS_SELECTOR, "input[value=unsatisfied]").click()
    fits_the_phone(driver)
    violations = severe(axe_check(driver))
    assert not violations, describe(violations)
    screenshot(driver, "portal-track-3-rate-360")
    form.find_element(By.CSS_SELECTOR, "[type=submit]").click()

    reason = WebDriverWait(driver, WAIT, ignored_exceptions=LOADING).until(
        lambda d: d.find_element(By.ID, "reopen-reason")
    )
    assert not driver.find_elements(By.ID, "rate-form")
    reason.send_keys("井盖还是松的，踩上去会晃")
    screenshot(driver, "portal-track-4-reopen-360")
    driver.find_element(By.CSS_SELECTOR, "#reopen-form [type=submit]").click()

    WebDriverWait(driver, WAIT, ignored_exceptions=LOADING).until(
        lambda d: state_shown(d) == "dispatched" and "reopen" in steps_shown(d), console(driver)
    )
    assert steps_shown(driver)[-2:] == ["rate", "reopen"]
    assert "井盖还是松的" in driver.find_element(By.ID, "timeline").text
    fits_the_phone(driver)
    screenshot(driver, "portal-track-5-reopened-360")
    stored = Case.objects.get(pk=case.pk)
    assert stored.status == "dispatched" and stored.rework_count == 1
    assert stored.satisfaction == "unsatisfied"

    # Near me: the case is public now, in the list with its state.
    driver.get(f"{live_server.url}{reverse('portal-home')}")
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return window.gridcityNear && window.gridcityNear.ready"),
        console(driver),
    )
    assert driver.execute_script("return window.gridcityNear.error") is None
    row = driver.find_element(By.CSS_SELECTOR, f"#near-list li[data-number='{case.number}']")
    assert "state-dispatched" in row.find_element(By.CSS_SELECTOR, ".portal-state").get_attribute(
        "class"
    )
    fits_the_phone(driver)
    violations = severe(axe_check(driver))
    assert not violations, describe(violations)
    screenshot(driver, "portal-near-360")
