"""The inspector's phone page (/m/): who may open it, what it lists, and what makes it an app
that works offline (the manifest and the service worker)."""

import json
import re

import pytest
from django.db import connection, reset_queries
from django.templatetags.static import static
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from desk.web.mobile import shell_urls

HOME = "/m/"


def verifying_case(people, item, inspector, grid):
    """A case in ``grid``, handled and waiting for the check on site by ``inspector``."""
    from cases import services

    centre = grid.geom.point_on_surface
    case = services.case_report(by=inspector, item=item, lon=centre.x, lat=centre.y).case
    case = services.case_file(case=case, by=people.dispatcher)
    case = services.case_dispatch(case=case, by=people.dispatcher)
    case = services.case_accept(case=case, by=people.staff)
    case = services.case_handle(case=case, by=people.staff, note="已更换井盖")
    case = services.case_request_verify(case=case, by=people.dispatcher)
    assert case.verifier_id == inspector.pk
    return case


def test_the_home_page_is_named_mobile_home():
    assert reverse("mobile-home") == HOME


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("inspector_a", 200),
        ("inspector_b", 200),
        ("admin", 200),
        ("dispatcher", 403),
        ("staff", 403),
        ("supervisor", 403),
        ("citizen", 403),
    ],
)
def test_only_inspectors_and_administrators_open_the_phone_page(client, people, persona, status):
    client.force_login(getattr(people, persona))
    assert client.get(HOME).status_code == status


def test_an_anonymous_visitor_is_sent_to_log_in_and_back(client, db):
    answer = client.get(HOME)
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/login/?next=/m/"


def test_the_tasks_are_my_verifications_and_not_another_inspectors(client, people, item):
    mine = verifying_case(people, item, people.inspector_a, people.grid_a)
    theirs = verifying_case(people, item, people.inspector_b, people.grid_b)
    client.force_login(people.inspector_a)
    page = client.get(HOME).content.decode()
    assert f'href="#task/{mine.number}"' in page
    assert f'id="view-task-{mine.number}"' in page
    assert theirs.number not in page
    # The task holds what the check needs: the department's note and the verify form.
    assert "已更换井盖" in page
    assert f'class="verify-form" data-number="{mine.number}"' in page


def test_a_case_not_yet_handled_is_no_task(client, people, report):
    case = report(steps=["file", "dispatch"])
    client.force_login(people.inspector_a)
    page = client.get(HOME).content.decode()
    assert case.number not in page
    assert 'id="m-tasks-empty"' in page


def test_the_task_list_takes_a_fixed_number_of_queries(
    client, people, item, django_assert_num_queries
):
    client.force_login(people.inspector_a)
    verifying_case(people, item, people.inspector_a, people.grid_a)
    client.get(HOME)  # the code books, read once per process
    # Each request empties the query log (DEBUG): start the count from an empty one.
    reset_queries()
    with CaptureQueriesContext(connection) as one:
        client.get(HOME)
    queries = len(one)  # now: the context reads the log when asked
    assert queries <= 12
    for _ in range(3):
        verifying_case(people, item, people.inspector_a, people.grid_a)
    client.get(HOME)
    reset_queries()
    with django_assert_num_queries(queries):
        page = client.get(HOME).content.decode()
    assert page.count('class="verify-form"') == 4


def test_the_page_has_what_it_needs_to_report_offline(client, people):
    client.force_login(people.inspector_a)
    page = client.get(HOME).content.decode()
    assert f'<link rel="manifest" href="{reverse("mobile-manifest")}">' in page
    assert f'data-sw="{reverse("mobile-sw")}"' in page
    assert static("desk/mobile/mobile.js") in page
    assert static("leaflet/leaflet.js") in page
    # The camera, the position, the item picker fed by the categories API, the grid by locate.
    assert re.search(r'<input type="file" id="report-photo"[^>]*capture="environment"', page)
    assert 'id="report-map"' in page and 'id="report-locate"' in page
    assert 'id="report-item-search"' in page
    assert f'data-categories="{reverse("categories")}"' in page
    assert f'data-locate="{reverse("locate")}"' in page
    assert f'data-cases="{reverse("case-list")}"' in page
    # The inspector's own grid is drawn under the pin.
    grids = json.loads(re.search(r'id="m-grids"[^>]*>(.*?)</script>', page).group(1))
    assert [f["properties"]["code"] for f in grids["features"]] == [people.grid_a.code]
    assert 'id="m-outbox-status"' in page and 'role="status"' in page


def test_the_page_speaks_chinese_first(client, people):
    client.force_login(people.inspector_a)
    page = client.get(HOME, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'lang="zh-hans"' in page


def test_the_manifest_makes_the_page_installable(client, db):
    answer = client.get(reverse("mobile-manifest"))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/manifest+json"
    manifest = json.loads(answer.content)
    assert manifest["start_url"] == HOME and manifest["scope"] == HOME
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#1f4e79"
    sizes = {icon["sizes"]: icon["src"] for icon in manifest["icons"]}
    assert set(sizes) == {"192x192", "512x512"}
    assert manifest["name"] == "网格员 GridCity"


def test_the_icons_are_pngs_of_their_size(client, db):
    from django.contrib.staticfiles import finders
    from PIL import Image

    for size in (192, 512):
        with Image.open(finders.find(f"desk/mobile/icon-{size}.png")) as image:
            assert image.format == "PNG" and image.size == (size, size)


def test_the_service_worker_may_control_m_and_is_never_cached(client, db):
    answer = client.get(reverse("mobile-sw"))
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/javascript")
    assert answer["Service-Worker-Allowed"] == HOME
    assert answer["Cache-Control"] == "no-cache"
    assert reverse("mobile-sw") == "/m/sw.js"


def test_the_service_worker_keeps_the_shell(client, db):
    body = client.get(reverse("mobile-sw")).content.decode()
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", body).group(1))
    assert shell == shell_urls()
    assert HOME in shell
    assert static("desk/mobile/mobile.js") in shell and static("desk/mobile/mobile.css") in shell
    assert reverse("categories") in shell
    # Writes pass through untouched: only GETs are answered from the cache.
    assert "request.method !== 'GET'" in body
    assert "&quot;" not in body  # not HTML-escaped


def test_a_new_shell_is_a_new_cache(client, db, monkeypatch):
    from desk.web import mobile

    first = client.get(reverse("mobile-sw")).content.decode()
    monkeypatch.setattr(mobile, "shell_urls", lambda: [*shell_urls(), "/static/new.js"])
    second = client.get(reverse("mobile-sw")).content.decode()
    version = re.compile(r"const VERSION = \"(\w+)\";")
    assert version.search(first).group(1) != version.search(second).group(1)


# --- 核实: reports to confirm on site ----------------------------------------------------------


def confirming_case(people, item, grid, description="路边井盖缺失"):
    """A citizen's report in ``grid`` that the command centre asked its inspector to confirm."""
    from cases import services

    centre = grid.geom.point_on_surface
    case = services.case_report(
        by=people.citizen, item=item, lon=centre.x, lat=centre.y, description=description
    ).case
    return services.case_confirm_request(case=case, by=people.dispatcher, note="请核实井盖")


def test_a_report_to_confirm_is_a_task_of_the_grids_inspector_not_another(client, people, item):
    mine = confirming_case(people, item, people.grid_a)
    theirs = confirming_case(people, item, people.grid_b)
    client.force_login(people.inspector_a)

    page = client.get(HOME).content.decode()

    assert f'href="#task/{mine.number}" data-number="{mine.number}" data-kind="confirm"' in page
    assert f'class="confirm-form" data-number="{mine.number}"' in page
    assert "请核实井盖" in page  # the command centre's request
    assert theirs.number not in page
    client.force_login(people.inspector_b)
    assert (
        f'class="confirm-form" data-number="{theirs.number}"' in client.get(HOME).content.decode()
    )


def test_confirmations_and_verifications_are_listed_together_each_labelled(client, people, item):
    to_confirm = confirming_case(people, item, people.grid_a)
    to_verify = verifying_case(people, item, people.inspector_a, people.grid_a)
    client.force_login(people.inspector_a)

    page = client.get(HOME).content.decode()

    kinds = dict(re.findall(r'class="m-task" href="#task/([\d-]+)"[^>]*data-kind="(\w+)"', page))
    assert kinds == {to_confirm.number: "confirm", to_verify.number: "verify"}
    assert page.count('class="m-kind m-kind-confirm"') == 2  # in the list and on the task
    assert f'class="verify-form" data-number="{to_verify.number}"' in page
    assert f'class="confirm-form" data-number="{to_verify.number}"' not in page


def test_a_report_not_asked_about_or_already_answered_is_no_task(client, people, item):
    from cases import services

    centre = people.grid_a.geom.point_on_surface
    unasked = services.case_report(by=people.citizen, item=item, lon=centre.x, lat=centre.y).case
    answered = confirming_case(people, item, people.grid_a)
    services.case_confirm(case=answered, by=people.inspector_a, found=True)
    client.force_login(people.inspector_a)

    page = client.get(HOME).content.decode()

    assert unasked.number not in page and answered.number not in page
    assert 'id="m-tasks-empty"' in page


def test_both_kinds_of_task_take_a_fixed_number_of_queries(
    client, people, item, django_assert_num_queries
):
    client.force_login(people.inspector_a)
    confirming_case(people, item, people.grid_a)
    verifying_case(people, item, people.inspector_a, people.grid_a)
    client.get(HOME)
    reset_queries()
    with CaptureQueriesContext(connection) as one:
        client.get(HOME)
    queries = len(one)
    for _ in range(2):
        confirming_case(people, item, people.grid_a)
        verifying_case(people, item, people.inspector_a, people.grid_a)
    client.get(HOME)
    reset_queries()
    with django_assert_num_queries(queries):
        page = client.get(HOME).content.decode()
    assert page.count('class="confirm-form"') == 3 and page.count('class="verify-form"') == 3
