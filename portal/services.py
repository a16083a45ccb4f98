"""Writes of the citizens' portal: a citizen's report, with its photos and its private link.

The abuse guards (``portal.abuse``: rate limits, the captcha) run in the page or the API view
around these, outside their transaction: a refused report stores nothing and counts nothing.
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
    case_follow,
    case_photo_add,
    case_report,
)
from gridcity.errors import ErrorAnswer, FieldInvalid

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
