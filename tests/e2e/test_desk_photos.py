"""Evidence photos from the browser (desk/_photo_upload.html + desk/photos.js) in headless
Chromium: a large photo is made smaller in the browser and sent once, with its progress; a
photo whose upload failed is sent again by its retry button and is still one photo.

The partial is rendered alone inside a form on a page of this module's own (its URLconf wraps
the project's), so it is shown to work without the case page.
"""

import io
import os
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("selenium")

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template import engines
from django.urls import path
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from cases import services
from cases.models import Case, CasePhoto
from gridcity.urls import urlpatterns as project_urls
from tests.e2e import test_home_map as home
from tests.e2e.test_patrol_audit import log_in
from tests.factories import make_manhole_item, make_people, make_small_city

CHROMIUM, CHROMEDRIVER, ORIGIN, SIZE = home.CHROMIUM, home.CHROMEDRIVER, home.ORIGIN, home.SIZE
browser_factory = home.browser_factory
WAIT = 20
SHANGHAI = ZoneInfo("Asia/Shanghai")
SCREENSHOT = Path("/tmp/gridcity-desk-photos.png")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason=f"browser tests need {CHROMIUM} and {CHROMEDRIVER} "
        "(Debian packages chromium and chromium-driver)",
    ),
]

PAGE = """{% extends "desk/base.html" %}
{% block desk_content %}
<form method="post" action="#" id="handle-form">
  <label for="note">说明</label> <textarea id="note" name="note"></textarea>
  {% include "desk/_photo_upload.html" with case=case stage="handle" %}
  <button type="submit" id="submit">处置完毕</button>
</form>
{% endblock %}"""


def photo_page(request, number: str):
    case = get_object_or_404(Case, number=number)
    template = engines["django"].from_string(PAGE)
    return HttpResponse(template.render({"case": case}, request))


urlpatterns = [path("test/photos/<str:number>/", photo_page), *project_urls]


@pytest.fixture
def handling(transactional_db, settings):
    """A case of grid A being handled by the department; the page of this module is served."""
    settings.ROOT_URLCONF = __name__
    city = make_small_city(code="440306", origin=ORIGIN, size=SIZE)
    people = make_people(city)
    item = make_manhole_item(people)
    centre = people.grid_a.geom.point_on_surface
    case = services.case_report(by=people.inspector_a, item=item, lon=centre.x, lat=centre.y).case
    case = services.case_file(case=case, by=people.dispatcher)
    case = services.case_dispatch(case=case, by=people.dispatcher)
    case = services.case_accept(case=case, by=people.staff)
    return people, case


def jpeg_file(width: int, height: int, *, noisy: bool, orientation: int = 1) -> str:
    """A JPEG in a temporary file, with a capture time and an orientation in its EXIF."""
    if noisy:  # a camera's detail: it does not compress away
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (40, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x0132] = "2026:12:01 09:30:00"  # DateTime (Asia/Shanghai, no offset)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    handle, name = tempfile.mkstemp(suffix=".jpg", prefix="gridcity-photo-")
    with os.fdopen(handle, "wb") as f:
        f.write(out.getvalue())
    return name


def row_state(driver, index: int = 0) -> dict | None:
    return driver.execute_script(
        """const row = document.querySelectorAll('.photo-item')[arguments[0]];
        if (!row) return null;
        return {state: row.dataset.state, progress: row.dataset.progress || null,
                resized: row.dataset.resized || null,
                status: row.querySelector('.photo-status').textContent,
                submitDisabled: document.getElementById('submit').disabled,
                retryShown: row.querySelector('.photo-retry').offsetParent !== null,
                thumb: (row.querySelector('img.photo-thumb') || {}).naturalWidth || 0};""",
        index,
    )


def wait_state(driver, *states: str, seen: list | None = None, index: int = 0) -> dict:
    def check(d):
        state = row_state(d, index)
        if seen is not None and state:
            seen.append(state)
        return state if state and state["state"] in states else False

    return WebDriverWait(driver, WAIT, poll_frequency=0.05).until(check)


def serious_violations(driver) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands."""
    driver.execute_script(AXE.read_text())
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then(r => done(r.violations.map("
        "v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))));"
    )
    return [f"{v['id']}: {v['nodes']}" for v in found if v["impact"] in ("serious", "critical")]


def open_page(driver, live_server, people, case) -> None:
    log_in(driver, live_server, people.staff)
    driver.get(f"{live_server.url}/test/photos/{case.number}/")
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script(
            "const r = document.querySelector('[data-photo-upload]');return !!(r && r.photoUpload);"
        )
    )


def choose(driver, filename: str) -> None:
    driver.find_element(By.CSS_SELECTOR, "input[type=file][data-photo-input]").send_keys(filename)


def test_a_large_photo_is_made_smaller_in_the_browser_and_sent_once(
    live_server, handling, browser_factory
):
    people, case = handling
    big = jpeg_file(4000, 3000, noisy=True, orientation=6)  # taken with the phone upright
    driver = browser_factory(1280, 900)
    open_page(driver, live_server, people, case)
    # A slow uplink, so the upload takes long enough to be watched.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 20,
            "downloadThroughput": -1,
            "uploadThroughput": 1_500_000,
        },
    )
    try:
        choose(driver, big)
        seen: list = []
        done = wait_state(driver, "done", "failed", seen=seen)
    finally:
        os.unlink(big)

    assert done["state"] == "done", done
    assert done["progress"] == "100"
    assert done["thumb"] > 0
    assert done["retryShown"] is False
    assert done["resized"] == "1536x2048"
    assert any(s["state"] == "uploading" and s["submitDisabled"] for s in seen)
    assert done["submitDisabled"] is False
    photos = list(CasePhoto.objects.filter(case=case))
    assert len(photos) == 1
    photo = photos[0]
    assert photo.stage == "handle"
    # Upright, at most 2048 px on its long side, and far below the 10 MB the server takes.
    assert (photo.width, photo.height) == (1536, 2048)
    assert photo.size < 4 * 2**20
    # The capture time travelled with the smaller copy.
    assert photo.taken_at == datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)
    driver.save_screenshot(str(SCREENSHOT))


def test_a_failed_upload_is_sent_again_by_its_retry_as_the_same_photo(
    live_server, handling, browser_factory
):
    people, case = handling
    small = jpeg_file(800, 600, noisy=False)
    driver = browser_factory(360, 740, phone=True)
    open_page(driver, live_server, people, case)
    driver.execute_cdp_cmd("Network.enable", {})
    offline = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", offline)
    try:
        choose(driver, small)
        failed = wait_state(driver, "failed", "done")
        assert failed["state"] == "failed"
        assert failed["submitDisabled"] is False
        retry = driver.find_element(By.CSS_SELECTOR, ".photo-item .photo-retry")
        assert retry.is_displayed()
        assert CasePhoto.objects.filter(case=case).count() == 0

        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {**offline, "offline": False})
        retry.click()
        done = wait_state(driver, "done", "failed")
    finally:
        os.unlink(small)

    assert done["state"] == "done", done
    assert done["resized"] is None  # small already: sent as it was
    photos = list(CasePhoto.objects.filter(case=case))
    assert len(photos) == 1
    assert (photos[0].width, photos[0].height) == (800, 600)
    assert serious_violations(driver) == []


def test_a_file_the_server_refuses_shows_its_reason_on_its_own_row(
    live_server, handling, browser_factory
):
    people, case = handling
    handle, not_a_photo = tempfile.mkstemp(suffix=".jpg", prefix="gridcity-not-a-photo-")
    with os.fdopen(handle, "wb") as f:
        f.write(b"this is not a photo" * 100)
    driver = browser_factory(1280, 900)
    open_page(driver, live_server, people, case)
    try:
        choose(driver, not_a_photo)
        failed = wait_state(driver, "failed", "done")
    finally:
        os.unlink(not_a_photo)

    assert failed["state"] == "failed"
    assert failed["status"] and not failed["status"].startswith("HTTP")  # the server's words
    assert failed["retryShown"] is True
    assert failed["submitDisabled"] is False
    assert CasePhoto.objects.filter(case=case).count() == 0
