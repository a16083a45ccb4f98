"""Writes of the citizens' portal: a citizen's report, with its photos and its private link.

The abuse guards (``portal.abuse``: rate limits, the captcha) run in the page or the API view
around these, outside their transaction: a refused report stores nothing and counts nothing.

The hotline's writes (12345 热线受理台): a call taken, merged into an open ticket (并单),
answered at once from the knowledge base (直接办结), a ticket from the city's 12345 platform.

Each is a thin composition of the case services (``cases.services.case_report``,
``case_follow``, ``case_answer``), in one transaction: a call either leaves its case and its
caller together, or nothing at all.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from accounts import policy
from accounts.models import User
from cases import photos
from cases.models import (
    Case,
    CaseFollower,
    FollowerChannel,
    FollowerRole,
    Item,
    RequestType,
    Source,
)
from cases.services import (
    CaseForbidden,
    CaseInvalid,
    case_answer,
    case_follow,
    case_photo_add,
    case_report,
    phone_normalised,
    request_digest,
)
from gridcity.errors import ErrorAnswer, FieldInvalid
from gridcity.models import WorkGrid
from portal.models import KnowledgeEntry

# The most photos one report carries (made smaller in the browser before they are sent).
REPORT_PHOTOS_MAX = 5
# What a citizen's report asks for, unless they say otherwise: a problem to be dealt with (投诉),
# which sets the time to answer it (GRIDCITY_REPLY_LIMITS).
REPORT_REQUEST_TYPES = (
    RequestType.COMPLAINT,
    RequestType.HELP,
    RequestType.REPORT,
    RequestType.SUGGESTION,
)
REPORT_REQUEST_TYPE_CHOICES = [(t.value, t.label) for t in REPORT_REQUEST_TYPES]


class ReportPhotoRefused(FieldInvalid):
    """One of a report's photos is not an acceptable case photo (``cases.photos``' rules):
    400 naming ``photos`` with the photo's own code, 413 when it is too large."""

    def __init__(self, refused: photos.PhotoRejected, index: int):
        super().__init__("photos", str(refused.message))
        self.code = refused.code
        self.index = index

    def answer(self) -> ErrorAnswer:
        message = str(self.message)
        status = 413 if self.code == "too_large" else 400
        return ErrorAnswer(
            status, self.code, f"photos: {message}", {"photos": [message]}, {"index": self.index}
        )


@dataclass(frozen=True)
class CitizenReported:
    case: Case
    follower: CaseFollower  # the reporter's row: the private link (``token``)
    created: bool


def photos_checked(datas: Sequence[bytes]) -> None:
    """Every photo of a report passes the case photos' rules, or none is stored: checked
    before the report is, so a refused photo leaves nothing behind (no case, no file)."""
    if len(datas) > REPORT_PHOTOS_MAX:
        raise CaseInvalid(
            "photos", _("At most %(n)d photos go with a report.") % {"n": REPORT_PHOTOS_MAX}
        )
    for index, data in enumerate(datas):
        try:
            photos.photo_inspect(data)
        except photos.PhotoRejected as exc:
            raise ReportPhotoRefused(exc, index) from exc


@transaction.atomic
def citizen_report(
    *,
    by: User | None,
    item: Item,
    lon: float,
    lat: float,
    crs: str = "wgs84",
    description: str,
    address: str = "",
    name: str = "",
    phone: str = "",
    email: str = "",
    photo_datas: Sequence[bytes] = (),
    client_uuid=None,
    digest: str = "",
    request_type: str = RequestType.COMPLAINT,
    held: bool = False,
    via: str = FollowerChannel.PORTAL,
) -> CitizenReported:
    """信息收集 from the portal: a citizen reports a problem, anonymously (``by`` None) or
    signed in, with up to ``REPORT_PHOTOS_MAX`` photos and, if they like, a name, a phone and
    an e-mail address (seen by the hotline and the administrators only).

    One transaction: the case (source ``citizen``; ``held`` when its text has spam markers),
    the reporter's follower row that holds the private link and receives the updates, and
    the photos. Idempotent by ``client_uuid`` (``case_report``): a retry returns the first
    case and its reporter's row, and stores no photo again.
    """
    _report_checked(by, item, request_type, description)
    photos_checked(photo_datas)
    reported = case_report(
        by=by,
        item=item,
        lon=lon,
        lat=lat,
        crs=crs,
        description=description.strip(),
        address=address.strip(),
        client_uuid=client_uuid,
        source=Source.CITIZEN,
        contact_name=name.strip(),
        contact_phone=phone.strip(),
        digest=digest,
        request_type=request_type,
        held=held,
    )
    case = reported.case
    # On a retry, the reporter's row the first request made (case_follow is idempotent).
    reporter = _reporter_follows(case, by, name, phone, email, via)
    for data in photo_datas if reported.created else ():
        follower = reporter if by is None else None
        case_photo_add(case=case, by=by, follower=follower, data=data, stage="report")
    return CitizenReported(case, reporter, reported.created)


def _report_checked(by: User | None, item: Item, request_type: str, description: str) -> None:
    if by is not None and not policy.may_report(by):
        raise CaseForbidden(_("Your role may not report problems."))
    if not item.citizen_reportable:
        raise CaseInvalid("item", _("This category is not offered to citizens."))
    if request_type not in REPORT_REQUEST_TYPES:
        raise CaseInvalid("request_type", _("Not a request type of a report."))
    if not description.strip():
        raise CaseInvalid("description", _("Say what the problem is."))


def _reporter_follows(case, by, name, phone, email, via) -> CaseFollower:
    return case_follow(
        case=case,
        role=FollowerRole.REPORTER,
        via=via,
        user=by,
        name=name,
        phone=phone,
        email=email,
    ).follower


# --- the hotline ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """What a call left: its case, the caller's row on it, and whether the case is new."""

    case: Case
    follower: CaseFollower | None
    created: bool


def _operator(by: User) -> None:
    if not policy.may_take_calls(by):
        raise CaseForbidden(_("Only the hotline takes calls."))


def _phone(phone: str, *, required: bool = True) -> str:
    digits = phone_normalised(phone or "")
    if required and not digits:
        raise CaseInvalid("phone", _("The caller's number is required."))
    if digits and not 5 <= len(digits) <= 20:
        raise CaseInvalid("phone", _("Not a phone number."))
    return digits


def call_place(
    *, lon: float | None = None, lat: float | None = None, grid_code: str = ""
) -> tuple[float, float, str]:
    """Where a call is about, as (lon, lat, crs): a map point if one was given, else a point
    inside the work grid named by its code (the operator knows the grid, not the spot). An
    address alone cannot be placed: the operator clicks the map or names the grid."""
    if lon is not None and lat is not None:
        return lon, lat, "wgs84"
    grid_code = (grid_code or "").strip()
    if grid_code:
        grid = WorkGrid.objects.filter(code=grid_code).only("geom").first()
        if grid is None:
            raise CaseInvalid("grid", _("No work grid has this code."))
        inside = grid.geom.point_on_surface
        return inside.x, inside.y, "wgs84"
    raise CaseInvalid("lon", _("Click the map or give the work grid's code."))


@transaction.atomic
def call_take(
    *,
    by: User,
    phone: str,
    name: str = "",
    request_type: str,
    item: Item,
    description: str,
    address: str = "",
    lon: float | None = None,
    lat: float | None = None,
    crs: str = "wgs84",
    grid_code: str = "",
    external_number: str | None = None,
    digest: str = "",
    via: str = FollowerChannel.HOTLINE,
) -> Call:
    """受理: a call becomes a case (source hotline, its request type setting the time to
    answer) and the caller its reporter (a follower by phone, told of its progress).

    The place is a map point (``lon``/``lat`` in ``crs``) or a work grid's code; the address
    is kept as the caller said it. A ticket of the city's 12345 platform carries its
    ``external_number`` (工单号) and the ``digest`` of its body: the same ticket again returns
    the first case (``created`` False), another body under the same number is a 409."""
    _operator(by)
    if request_type not in RequestType.values:
        raise CaseInvalid("request_type", _("Not a request type."))
    if not description.strip():
        raise CaseInvalid("description", _("Say what the caller wants."))
    phone = _phone(phone, required=via != FollowerChannel.PLATFORM)
    if lon is None or lat is None:
        lon, lat, crs = call_place(grid_code=grid_code)
    reported = case_report(
        by=by,
        item=item,
        lon=lon,
        lat=lat,
        crs=crs,
        description=description.strip(),
        address=address.strip(),
        source="hotline",
        contact_name=name.strip()[:50],
        contact_phone=phone,
        request_type=request_type,
        external_number=external_number,
        digest=digest,
    )
    if not reported.created:
        reporter = reported.case.followers.filter(role=FollowerRole.REPORTER).first()
        return Call(reported.case, reporter, False)
    followed = case_follow(
        case=reported.case, role=FollowerRole.REPORTER, via=via, name=name, phone=phone
    )
    return Call(reported.case, followed.follower, True)


@transaction.atomic
def call_merge(*, case: Case, by: User, phone: str, name: str = "", note: str = "") -> Call:
    """并单: the caller reports a problem already open; instead of a second case they follow
    this one (role caller), and the case counts one more repeat request (``repeat_count``),
    which the timeline records. A caller already following it adds a repeat, not a row."""
    _operator(by)
    phone = _phone(phone)
    followed = case_follow(
        case=case,
        role=FollowerRole.CALLER,
        via=FollowerChannel.HOTLINE,
        by=by,
        name=name,
        phone=phone,
    )
    return Call(Case.objects.get(pk=case.pk), followed.follower, False)


@transaction.atomic
def call_answer(
    *,
    by: User,
    phone: str,
    name: str = "",
    request_type: str = RequestType.CONSULTATION,
    item: Item,
    description: str,
    answer: str = "",
    entry: KnowledgeEntry | None = None,
    address: str = "",
    lon: float | None = None,
    lat: float | None = None,
    grid_code: str = "",
) -> Call:
    """直接办结: a consultation answered on the phone, from the knowledge base (``entry``) or
    in the operator's words (``answer``), is taken and closed at once, never dispatched; the
    answer is the closing note, and the caller is its reporter (the callback is not asked:
    the call itself was the answer)."""
    text = (answer or "").strip() or (entry.answer if entry is not None else "")
    if not text:
        raise CaseInvalid("answer", _("Give the answer read to the caller."))
    call = call_take(
        by=by,
        phone=phone,
        name=name,
        request_type=request_type,
        item=item,
        description=description,
        address=address,
        lon=lon,
        lat=lat,
        grid_code=grid_code,
    )
    note = text if entry is None else f"{text}\n[{_('knowledge base')} #{entry.pk}]"
    case = case_answer(case=call.case, by=by, note=note)
    return Call(case, call.follower, True)


def platform_ticket_digest(body: dict) -> str:
    """The hash of a platform ticket's body that tells a retry from another ticket."""
    return request_digest(body)


PLATFORM_DEVICE = "12345-platform"


@transaction.atomic
def platform_token_issue(*, username: str, name: str = "") -> tuple[User, str]:
    """The city's 12345 platform's account (a hotline account without a password: it never
    logs in to a page) and a new device token for it; the previous token stops working. The
    token is shown once, to be given to the platform (``Authorization: Token …``)."""
    from accounts.auth import token_issue
    from accounts.models import Role

    user, created = User.objects.get_or_create(
        username=username, defaults={"role": Role.HOTLINE, "first_name": name[:150]}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if not policy.may_send_platform_tickets(user):
        raise CaseForbidden(_("This account may not send 12345 tickets."))
    issued = token_issue(user=user, device_id=PLATFORM_DEVICE, device_name=name or username)
    return user, issued.token
