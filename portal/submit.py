"""A report or a follow from a request, the same for the page and the API: the input as the
serializers validated it, the abuse guards around the service (outside its transaction, so a
refused request stores nothing and counts nothing), and the answer's objects.

Order (portal.abuse): a retry of a report already stored (its ``client_uuid``) is answered
at once, neither guarded nor counted again; otherwise ``report_guard`` (429 rate limited, 400
captcha), the service (held for moderation when the text has spam markers), then
``report_accepted`` counts it.
"""

import hashlib

from cases import photos
from cases.models import Case, FollowerChannel, FollowerRole
from cases.services import Followed, case_follow, request_digest
from gridcity import db
from portal import abuse
from portal.selectors import report_of_client
from portal.services import CitizenReported, ReportPhotoRefused, citizen_report


def _signed_in(request):
    user = request.user
    return user if user.is_authenticated else None


def _photo_bytes(uploads) -> list[bytes]:
    datas = []
    for index, upload in enumerate(uploads):
        try:
            datas.append(photos.photo_read(upload))
        except photos.PhotoRejected as exc:
            raise ReportPhotoRefused(exc, index) from exc
    return datas


def report_submit(request, data: dict, *, via: str = FollowerChannel.PORTAL) -> CitizenReported:
    """Report what ``ReportInputSerializer`` validated, for the person making ``request``."""
    by = _signed_in(request)
    datas = _photo_bytes(data.get("photos") or [])
    digest = request_digest(
        {
            "item": data["item"].code,
            "photos": [hashlib.sha256(d).hexdigest() for d in datas],
            "email": data.get("email", ""),
            **{
                key: data[key]
                for key in (
                    "lon",
                    "lat",
                    "crs",
                    "address",
                    "description",
                    "name",
                    "phone",
                    "request_type",
                )
            },
        }
    )
    retry = report_of_client(data["client_uuid"]) is not None
    if not retry:
        abuse.report_guard(
            request,
            phone=data["phone"],
            anonymous=by is None,
            captcha_key=data["captcha_key"],
            captcha_answer=data["captcha_answer"],
        )
    text = "\n".join([data["description"], data["address"], data["name"]])
    reported = db.write_retrying(
        lambda: citizen_report(
            by=by,
            item=data["item"],
            lon=data["lon"],
            lat=data["lat"],
            crs=data["crs"],
            description=data["description"],
            address=data["address"],
            name=data["name"],
            phone=data["phone"],
            email=data.get("email", ""),
            photo_datas=datas,
            client_uuid=data["client_uuid"],
            digest=digest,
            request_type=data["request_type"],
            held=bool(abuse.spam_markers(text)),
            via=via,
        )
    )
    if reported.created:
        abuse.report_accepted(request, phone=data["phone"])
    return reported


def follow_submit(
    request, case: Case, data: dict, *, via: str = FollowerChannel.PORTAL
) -> Followed:
    """ "This is mine too": the person follows ``case`` (a public one) instead of reporting it
    again; guarded and counted as a report is, since it too is a row anyone may make."""
    by = _signed_in(request)
    abuse.report_guard(
        request,
        phone=data["phone"],
        anonymous=by is None,
        captcha_key=data["captcha_key"],
        captcha_answer=data["captcha_answer"],
    )
    followed = db.write_retrying(
        lambda: case_follow(
            case=case,
            role=FollowerRole.FOLLOWER,
            via=via,
            user=by,
            name=data["name"],
            phone=data["phone"],
            email=data.get("email", ""),
        )
    )
    if followed.created:
        abuse.report_accepted(request, phone=data["phone"])
    return followed
