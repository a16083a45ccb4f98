"""What the tests of the public pages share: a citizen's report with its reporter's private
link, moved through the workflow by the people who do each step (through the services).

The names, phones and notes are distinctive, so that a test can look for them in every
answer: none of them may reach a public page or a public API answer."""

import io
from dataclasses import dataclass

import pytest

# What nobody outside the hotline and the case's staff may read.
CONTACT_NAME = "王秘密"
CONTACT_PHONE = "13812345678"
FOLLOWER_NAME = "李隐私"
FOLLOWER_PHONE = "13987654321"
FOLLOWER_EMAIL = "li.private@example.com"
STAFF_NOTE = "内部备注-staffnote-4417"
STAFF_NAMES = {"dispatcher": "钱调度员", "staff": "赵处置员", "inspector_a": "孙网格员"}
STAFF_USERNAMES = {
    "dispatcher": "qian-dispatch-9031",
    "staff": "zhao-handler-5120",
    "inspector_a": "sun-grid-7788",
}
DESCRIPTION = "人行道井盖松动，晚上很危险"


@dataclass
class World:
    people: object
    item: object


@pytest.fixture
def world(people, settings, tmp_path):
    """The personas with distinctive names, and the manhole cover item (上水井盖); photos go
    to a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    from accounts.models import User
    from tests.factories import make_manhole_item

    for persona, name in STAFF_NAMES.items():
        user = getattr(people, persona)
        User.objects.filter(pk=user.pk).update(first_name=name, username=STAFF_USERNAMES[persona])
        user.refresh_from_db()
    return World(people, make_manhole_item(people, public_name="井盖松动或缺失"))


def report(world, *, item=None, held: bool = False, grid=None, request_type="complaint"):
    """An anonymous citizen's report from the portal, with its reporter's private link."""
    from cases import services
    from cases.models import FollowerChannel, FollowerRole, Source

    where = (grid or world.people.grid_a).geom.point_on_surface
    case = services.case_report(
        by=None,
        source=Source.CITIZEN,
        item=item or world.item,
        lon=where.x,
        lat=where.y,
        description=DESCRIPTION,
        address="宝安大道 1 号",
        contact_name=CONTACT_NAME,
        contact_phone=CONTACT_PHONE,
        request_type=request_type,
        held=held,
    ).case
    follower = services.case_follow(
        case=case,
        role=FollowerRole.REPORTER,
        via=FollowerChannel.PORTAL,
        name=CONTACT_NAME,
        phone=CONTACT_PHONE,
    ).follower
    return case, follower


def follow(case, *, name=FOLLOWER_NAME, phone=FOLLOWER_PHONE, email=FOLLOWER_EMAIL):
    """Someone with the same problem ("this is mine too")."""
    from cases import services
    from cases.models import FollowerChannel, FollowerRole

    return services.case_follow(
        case=case,
        role=FollowerRole.FOLLOWER,
        via=FollowerChannel.PORTAL,
        name=name,
        phone=phone,
        email=email,
    ).follower


STEPS = ("file", "dispatch", "accept", "handle", "close")


def move(case, people, *, until: str = "close"):
    """Take a case through the workflow up to ``until``, each step with a staff note."""
    from cases import services

    calls = {
        "file": lambda c: services.case_file(case=c, by=people.dispatcher, note=STAFF_NOTE),
        "dispatch": lambda c: services.case_dispatch(case=c, by=people.dispatcher, note=STAFF_NOTE),
        "accept": lambda c: services.case_accept(case=c, by=people.staff, note=STAFF_NOTE),
        "handle": lambda c: services.case_handle(case=c, by=people.staff, note=STAFF_NOTE),
        "close": lambda c: services.case_close(case=c, by=people.dispatcher, note=STAFF_NOTE),
    }
    for step in STEPS[: STEPS.index(until) + 1]:
        case = calls[step](case)
    return case


def jpeg(size=(1600, 1200)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (96, 120, 140)).save(out, "JPEG", quality=85)
    return out.getvalue()


def add_photo(case, by, *, stage="report"):
    """A photo with its copies made (the derivatives task runs after commit)."""
    from cases import services

    photo = services.case_photo_add(case=case, by=by, data=jpeg(), stage=stage).photo
    services.case_photo_derivatives(photo_id=photo.pk)
    photo.refresh_from_db()
    return photo
