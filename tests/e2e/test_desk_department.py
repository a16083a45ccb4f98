"""The department's warning list (今日到期) in headless Chromium, at desktop and phone width:
the groups are drawn, axe-core finds nothing serious, and the print view leaves the list alone."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("selenium")

from django.utils import timezone
from selenium.webdriver.common.by import By

from cases import services
from cases.models import Case
from tests.e2e import test_home_map as home
from tests.e2e.test_desk_photos import serious_violations
from tests.e2e.test_patrol_audit import log_in
from tests.factories import make_manhole_item, make_people, make_small_city

CHROMIUM, CHROMEDRIVER, ORIGIN, SIZE = home.CHROMIUM, home.CHROMEDRIVER, home.ORIGIN, home.SIZE
browser_factory = home.browser_factory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason=f"browser tests need {CHROMIUM} and {CHROMEDRIVER} "
        "(Debian packages chromium and chromium-driver)",
    ),
]


# A Wednesday at work in Asia/Shanghai, the clock running: "today" must not end mid-test.
AT_WORK = datetime(2026, 3, 4, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def due_today(transactional_db, time_machine):
    """Three cases of the department: one overdue, one due within the hour, one sent back."""
    time_machine.move_to(AT_WORK, tick=True)
    city = make_small_city(code="440306", origin=ORIGIN, size=SIZE)
    people = make_people(city)
    item = make_manhole_item(people)
    centre = people.grid_a.geom.point_on_surface

    def dispatched(description):
        case = services.case_report(
            by=people.inspector_a, item=item, lon=centre.x, lat=centre.y, description=description
        ).case
        case = services.case_file(case=case, by=people.dispatcher)
        return services.case_dispatch(case=case, by=people.dispatcher)

    now = timezone.now()
    late = dispatched("井盖破损")
    soon = dispatched("井盖缺失")
    back = services.case_accept(case=dispatched("井盖松动"), by=people.staff)
    back = services.case_handle(case=back, by=people.staff, note="已固定")
    back = services.case_request_verify(case=back, by=people.dispatcher)
    back = services.case_verify(case=back, by=people.inspector_a, passed=False, note="仍然松动")
    Case.objects.filter(pk=late.pk).update(handle_due=now - timedelta(minutes=30))
    Case.objects.filter(pk__in=[soon.pk, back.pk]).update(handle_due=now + timedelta(minutes=40))
    return people, [late, soon, back]


@pytest.mark.parametrize(("width", "phone"), [(1280, False), (360, True)])
def test_the_warning_list_reads_at_desktop_and_phone_width(
    live_server, due_today, browser_factory, width, phone
):
    people, cases = due_today
    driver = browser_factory(width, 800, phone=phone)
    log_in(driver, live_server, people.staff)

    driver.get(f"{live_server.url}/desk/department/today/")

    numbers = [
        r.get_attribute("data-number")
        for r in driver.find_elements(By.CSS_SELECTOR, "tr[data-number]")
    ]
    assert sorted(numbers) == sorted(c.number for c in cases)
    overdue = driver.find_element(By.CSS_SELECTOR, "table[data-group=overdue]")
    assert cases[0].number in overdue.text
    assert "仍然松动" in driver.find_element(By.CSS_SELECTOR, ".rework-reason").text
    assert serious_violations(driver) == []
    driver.save_screenshot(f"/tmp/gridcity-department-today-{width}.png")
    # Printed, the list stands alone: no navigation, no header, no print button.
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not driver.find_element(By.CSS_SELECTOR, ".desk-nav").is_displayed()
    assert not driver.find_element(By.CSS_SELECTOR, "[data-print]").is_displayed()
    assert driver.find_element(By.CSS_SELECTOR, "table[data-group=overdue]").is_displayed()
