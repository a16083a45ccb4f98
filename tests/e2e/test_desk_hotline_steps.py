"""The hotline's steps on the case page, in headless Chromium: an operator reads the public side
of a citizen's closed case (who follows it, the callback due), calls back, records 不满意 with
the reason, and the case goes back to its department for rework (不满意重办); the dispatcher
releases a held report and then files it. The page has no serious accessibility violation."""

import pytest

pytest.importorskip("selenium")

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.browser import (
    BROWSER_MARKS,
    DESKTOP,
    WAIT,
    axe_check,
    describe,
    login,
    screenshot,
    severe,
)
from tests.e2e.test_desk_case import open_case, status_shown
from tests.e2e.test_home_map import ORIGIN, SIZE
from tests.factories import make_manhole_item, make_people, make_small_city, make_user

pytestmark = BROWSER_MARKS


@pytest.fixture
def world(transactional_db):
    from accounts.models import Role

    city = make_small_city(code="440306", origin=ORIGIN, size=SIZE)
    people = make_people(city)
    return people, make_manhole_item(people), make_user("hotline-e2e", Role.HOTLINE)


def citizen_case(people, item, **extra):
    from cases import services
    from cases.models import Source

    centre = people.grid_a.geom.point_on_surface
    return services.case_report(
        by=None,
        source=Source.CITIZEN,
        item=item,
        lon=centre.x,
        lat=centre.y,
        description="井盖松动，夜间有响声",
        **extra,
    ).case


def closed(people, case):
    from cases import services

    for step, by, kw in [
        ("file", people.dispatcher, {}),
        ("dispatch", people.dispatcher, {}),
        ("accept", people.staff, {}),
        ("handle", people.staff, {"note": "已更换井盖"}),
        ("close", people.dispatcher, {}),
    ]:
        case = getattr(services, f"case_{step}")(case=case, by=by, **kw)
    return case


def submit(driver, action: str) -> None:
    form = driver.find_element(By.CSS_SELECTOR, f"#action-{action} form")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]:not([name=next])").click()


def test_the_hotline_calls_back_and_an_unsatisfied_citizen_reopens_the_case(
    world, live_server, browser_factory
):
    from cases import services
    from cases.models import Case, CaseTransition, FollowerChannel, FollowerRole, Status

    people, item, hotline = world
    case = citizen_case(people, item)
    services.case_follow(
        case=case, role=FollowerRole.REPORTER, via=FollowerChannel.PORTAL, phone="13812345678"
    )
    case = closed(people, case)
    driver = browser_factory(*DESKTOP)
    login(driver, live_server, hotline)
    open_case(driver, live_server, case)

    card = driver.find_element(By.ID, "case-public")
    assert card.find_element(By.CSS_SELECTOR, ".followers-count").text == "1"
    assert "13812345678" in card.text  # the hotline reads the contacts: it calls back
    assert card.find_elements(By.CSS_SELECTOR, ".callback time")
    violations = severe(axe_check(driver, ".case-page"))
    assert not violations, describe(violations)

    driver.find_element(By.CSS_SELECTOR, "#action-callback summary").click()
    driver.find_element(
        By.CSS_SELECTOR, "#action-callback input[name=satisfaction][value=unsatisfied]"
    ).click()
    driver.find_element(By.ID, "callback-note").send_keys("井盖夜里仍然响")
    screenshot(driver, "desk-hotline-callback")
    submit(driver, "callback")

    WebDriverWait(driver, WAIT).until(lambda d: status_shown(d) == Status.DISPATCHED)
    after = Case.objects.get(pk=case.pk)
    assert after.status == Status.DISPATCHED and after.rework_count == 1
    steps = list(
        CaseTransition.objects.filter(case=case)
        .order_by("at", "id")
        .values_list("action", flat=True)
    )
    assert steps[-2:] == ["callback", "reopen"]


def test_the_dispatcher_releases_a_held_report_then_files_it(world, live_server, browser_factory):
    from cases.models import Case, Status

    people, item, _hotline = world
    case = citizen_case(people, item, held=True)
    driver = browser_factory(*DESKTOP)
    login(driver, live_server, people.dispatcher)
    open_case(driver, live_server, case)

    assert driver.find_elements(By.CSS_SELECTOR, ".case-title .flag.held")
    assert not driver.find_elements(By.ID, "action-file")
    driver.find_element(By.CSS_SELECTOR, "#action-release summary").click()
    submit(driver, "release")

    WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.ID, "action-file"))
    assert not Case.objects.get(pk=case.pk).held
    driver.find_element(By.CSS_SELECTOR, "#action-file summary").click()
    submit(driver, "file")
    WebDriverWait(driver, WAIT).until(lambda d: status_shown(d) == Status.FILED)
