"""The cases admin: every page opens; cases are only read there; the calendar warns."""

import io
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from PIL import Image

from accounts.models import User
from cases.models import (
    CalendarDay,
    Case,
    CaseExtension,
    CasePhoto,
    CaseTransition,
    Notification,
    TimeUnit,
)
from cases.services import (
    case_accept,
    case_dispatch,
    case_extend,
    case_file,
    case_photo_add,
    case_report,
)
from tests.cases.conftest import centre
from tests.factories import PASSWORD

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("root", "root@example.com", PASSWORD)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(out, "JPEG")
    return out.getvalue()


@dataclass
class Rows:
    case: Case
    photo: CasePhoto


@pytest.fixture
def rows(people, taxonomy, django_capture_on_commit_callbacks) -> Rows:
    """A case with a report photo (and its thumbnail), dispatched, accepted, an extension asked."""
    lon, lat = centre(people.grid_a)
    case = case_report(by=people.inspector_a, item=taxonomy.component, lon=lon, lat=lat).case
    with django_capture_on_commit_callbacks(execute=True):
        photo = case_photo_add(case=case, by=people.inspector_a, data=jpeg(), stage="report").photo
        case = case_file(case=case, by=people.dispatcher)
        case = case_dispatch(case=case, by=people.dispatcher)
        case = case_accept(case=case, by=people.staff)
        case = case_extend(
            case=case, by=people.staff, amount=2, unit=TimeUnit.WORK_DAYS, note="管道破损"
        )
    CalendarDay.objects.create(date=date(2026, 10, 10), working=True, note="调休上班")
    photo.refresh_from_db()
    assert photo.thumbnail
    return Rows(case=case, photo=photo)


def admin_url(model, page: str, *args) -> str:
    return reverse(f"admin:cases_{model._meta.model_name}_{page}", args=args)


def test_every_changelist_and_change_page_opens(admin_client, rows, taxonomy):
    objects = {
        taxonomy.component.category: True,
        taxonomy.component: True,
        CalendarDay.objects.get(): True,
        rows.case: False,
        CaseTransition.objects.filter(case=rows.case).first(): False,
        Notification.objects.filter(case=rows.case).first(): False,
        CaseExtension.objects.get(case=rows.case): False,
    }
    for obj, editable in objects.items():
        model = type(obj)
        changelist = admin_client.get(admin_url(model, "changelist"))
        assert changelist.status_code == 200, model
        change = admin_client.get(admin_url(model, "change", obj.pk))
        assert change.status_code == 200, model
        assert (b'name="_save"' in change.content) is editable, model


def test_the_changelists_search_and_filter(admin_client, rows):
    response = admin_client.get(
        admin_url(Case, "changelist"), {"q": rows.case.number[-6:], "status": "handling"}
    )
    assert response.status_code == 200
    assert rows.case.number in response.content.decode()
    response = admin_client.get(admin_url(Case, "changelist"), {"status": "closed"})
    assert rows.case.number not in response.content.decode()


def test_the_case_page_is_read_only(admin_client, rows):
    page = admin_client.get(admin_url(Case, "change", rows.case.pk)).content.decode()
    assert rows.case.number in page
    for field in ("status", "item", "department", "handle_due", "description"):
        assert f'name="{field}"' not in page
    assert 'name="timeline-0-note"' not in page  # the timeline inline is read-only too
    assert "管道破损" in page  # …and shown: the note of the extension request


def test_the_case_page_shows_thumbnails_but_never_links_the_original(admin_client, rows):
    page = admin_client.get(admin_url(Case, "change", rows.case.pk)).content.decode()
    thumbnail = reverse(
        "case-photo-file",
        kwargs={"number": rows.case.number, "pk": rows.photo.pk, "kind": "thumbnail"},
    )
    assert thumbnail in page
    assert rows.photo.original.name not in page


def test_a_case_cannot_be_added_changed_or_deleted_through_the_admin(admin_client, rows):
    assert admin_client.get(admin_url(Case, "add")).status_code == 403
    assert admin_client.get(admin_url(Case, "delete", rows.case.pk)).status_code == 403
    before = Case.objects.get(pk=rows.case.pk)
    response = admin_client.post(
        admin_url(Case, "change", rows.case.pk), {"status": "closed", "description": "x"}
    )
    assert response.status_code == 403
    after = Case.objects.get(pk=rows.case.pk)
    assert (after.status, after.description) == (before.status, before.description)
    # No bulk action either, delete_selected included.
    changelist = admin_client.get(admin_url(Case, "changelist")).content.decode()
    assert 'name="action"' not in changelist


@pytest.mark.parametrize("model", [CaseTransition, Notification, CaseExtension])
def test_the_cases_records_are_read_only(admin_client, rows, model):
    obj = model.objects.filter(case=rows.case).first()
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.get(admin_url(model, "delete", obj.pk)).status_code == 403
    assert admin_client.post(admin_url(model, "change", obj.pk), {}).status_code == 403


def test_the_case_changelist_costs_the_same_for_many_cases(
    admin_client, rows, people, taxonomy, django_assert_max_num_queries
):
    lon, lat = centre(people.grid_b)
    url = admin_url(Case, "changelist")
    admin_client.get(url)  # warm up: session, content types
    with django_assert_max_num_queries(12) as few:
        admin_client.get(url)
    for _ in range(5):
        case_report(by=people.inspector_b, item=taxonomy.event, lon=lon, lat=lat)
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(url)


def test_the_calendar_warns_about_a_year_the_holiday_package_does_not_know(admin_client, superuser):
    CalendarDay.objects.create(date=date(2027, 10, 1), working=False, note="国庆节")
    with time_machine.travel(datetime(2027, 3, 1, 10, tzinfo=SHANGHAI), tick=False):
        admin_client.force_login(superuser)  # a session of today would have expired by then
        page = admin_client.get(admin_url(CalendarDay, "changelist")).content.decode()
    assert "does not know 2027" in page
    assert "(1 entered so far)" in page
    assert "does not know 2028" in page


def test_the_calendar_does_not_warn_when_this_year_and_next_are_known(admin_client):
    with time_machine.travel(datetime(2024, 6, 1, 10, tzinfo=SHANGHAI), tick=False):
        page = admin_client.get(admin_url(CalendarDay, "changelist")).content.decode()
    assert "does not know" not in page
