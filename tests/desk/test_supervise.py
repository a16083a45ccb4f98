"""The supervisor's workbench (督察): the street's day, its overdue and escalated cases, what
its inspectors are to verify, and their patrol today."""

import re
import uuid
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, path, reverse

from cases import services
from cases.models import Case, Status

PAGE = "/desk/supervise/"
TODAY = "2026-11-24"
MORNING = "2026-11-24 09:00 +08:00"


def figures(page) -> dict[str, int]:
    """The day's figures as the page shows them: {name: number}."""
    html = page.content.decode()
    found = re.findall(r'data-figure="(\w+)"><span class="n">(\d+)</span>', html)
    return {name: int(n) for name, n in found}


def figure_link(page, name: str) -> str:
    html = page.content.decode()
    return unescape(re.search(rf'<a href="([^"]*)" data-figure="{name}"', html).group(1))


def inspector_row(page, inspector) -> str:
    html = page.content.decode()
    match = re.search(rf'<tr data-inspector="{inspector.pk}".*?</tr>', html, re.S)
    assert match, f"no row for {inspector}"
    return match.group(0)


def list_numbers(page, key: str) -> list[str]:
    html = page.content.decode()
    block = re.search(rf'<ol class="sv-cases" data-list="{key}">(.*?)</ol>', html, re.S).group(1)
    return re.findall(r'<li data-number="([^"]+)"', block)


def mark(case, **flags) -> Case:
    """Set what the overdue sweep would have set (it marks and escalates at once)."""
    Case.objects.filter(pk=case.pk).update(**flags)
    case.refresh_from_db()
    return case


def start_shift(inspector):
    from patrol.services import shift_start

    return shift_start(inspector=inspector, client_uuid=uuid.uuid4())


# --- who may open it --------------------------------------------------------------------------


def test_the_supervisors_workbench_opens_on_their_street(client, people):
    client.force_login(people.supervisor)
    page = client.get(reverse("desk-workbench", args=["supervise"]), follow=True)
    assert page.status_code == 200
    assert page.request["PATH_INFO"] == reverse("desk-supervise") == PAGE
    street_a = people.grid_a.community.street
    assert street_a.name in page.content.decode()


@pytest.mark.parametrize("persona", ["dispatcher", "staff", "inspector_a", "citizen"])
def test_other_roles_may_not_open_the_supervisors_workbench(client, people, persona):
    client.force_login(getattr(people, persona))
    assert client.get(PAGE).status_code == 403


def test_anonymous_is_sent_to_log_in(client):
    answer = client.get(PAGE)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")


def test_a_street_outside_the_supervisors_charge_is_refused(client, people):
    client.force_login(people.supervisor)
    street_b = people.grid_b.community.street
    answer = client.get(PAGE, {"street": street_b.code})
    assert answer.status_code == 400
    assert "street" in answer.json()["error"]["fields"]
