"""The public pages (市民门户): near me, a case's public page, a follower's private page.

- ``/portal/``: near me (附近的问题), a map and a list of the recent public problems with their
  state; the map reloads ``/api/v1/public/near/?bbox=`` as it moves (portal/near.js).
- ``/portal/cases/<number>/``: a public case's page, a sanitised timeline of states; a case
  that is not public (not filed yet, held, of a private item, rejected) is a 404.
- ``/portal/t/<token>/``: the private link a reporter or a follower got; their case whatever
  its state, with what they may do now: rate it (the reporter, once closed), reopen it after
  rating it 不满意 (within ``GRIDCITY_REOPEN_DAYS``), add a comment, stop the updates.

The pages read through the public selectors (``cases.selectors``, "the public side"), which
never carry a person, a contact, a staff note or an original photo; they write through the
services, which decide; a refusal is shown as a message on the private page.
"""

from django.contrib import messages
from django.contrib.gis.db.models import Extent
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path, re_path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import services
from cases.models import Satisfaction
from cases.selectors import (
    PUBLIC_STATES,
    case_public,
    case_public_view,
    case_tracked,
    cases_public_near,
    follower_by_token,
    public_photo,
    track_options,
)
from gridcity.errors import DomainError
from gridcity.models import District

# The newest public problems the home page lists before its map loads (and without script).
HOME_LIST = 30
# A private page is the follower's alone: not cached, not indexed, and its address (which is
# the secret) never sent on as a referrer to a tile server or a link elsewhere. "same-origin",
# not "no-referrer": with no referrer at all the browser posts the page's forms from the
# origin "null", which Django's CSRF check refuses.
PRIVATE_HEADERS = {
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "same-origin",
    "X-Robots-Tag": "noindex, nofollow",
}


def _district_extent() -> list[float] | None:
    extent = District.objects.aggregate(box=Extent("geom"))["box"]
    return [round(v, 6) for v in extent] if extent else None


def _map_context() -> dict:
    from django.conf import settings

    return {
        "tile_url": settings.GRIDCITY_TILE_URL,
        "tile_attribution": settings.GRIDCITY_TILE_ATTRIBUTION,
    }


def home(request):
    """/portal/: near me, the recent public problems on a map and in a list."""
    found = cases_public_near(limit=HOME_LIST)
    context = {
        "rows": found.rows,
        "extent": _district_extent(),
        "states": {key: str(label) for key, label in PUBLIC_STATES.items()},
        **_map_context(),
    }
    return render(request, "portal/home.html", context)


def case_page(request, number: str):
    """/portal/cases/<number>/: a public case's status page; any other case is a 404."""
    view = case_public_view(number)
    if view is None:
        raise Http404
    photos = [_photo_urls("portal-case-photo", number, p) for p in view.photos]
    response = render(
        request, "portal/case.html", {"case": view, "photos": photos, **_map_context()}
    )
    response["Cache-Control"] = "public, max-age=60"
    return response


def _photo_urls(name: str, key: str, photo) -> dict:
    return {
        "photo": photo,
        "display": reverse(name, args=[key, photo.id, "display"]),
        "thumbnail": reverse(name, args=[key, photo.id, "thumbnail"]),
    }


def _photo_file(case, pk: int, kind: str, cache: str):
    photo = public_photo(case, int(pk))
    field = None if photo is None else (photo.display if kind == "display" else photo.thumbnail)
    if not field:
        raise Http404
    # A neutral name: the stored one holds a digest of the original.
    response = FileResponse(
        field.open("rb"), content_type="image/jpeg", filename=f"{case.number}-{photo.pk}.jpg"
    )
    response["Cache-Control"] = cache
    return response


def case_photo(request, number: str, pk: int, kind: str):
    """A public case's photo, its display copy or thumbnail, unless hidden (never the original)."""
    case = case_public(number)
    if case is None:
        raise Http404
    return _photo_file(case, pk, kind, "public, max-age=300")


def _follower(token: str):
    follower = follower_by_token(token)
    if follower is None:
        raise Http404
    return follower


def _private(response):
    for name, value in PRIVATE_HEADERS.items():
        response[name] = value
    return response


def track_page(request, token: str):
    """/portal/t/<token>/: the follower's own page of their case."""
    follower = _follower(token)
    view = case_tracked(follower)
    context = {
        "case": view,
        "follower": follower,
        "token": token,
        "options": track_options(follower),
        "photos": [_photo_urls("portal-track-photo", token, p) for p in view.photos],
        "satisfactions": Satisfaction.choices,
        **_map_context(),
    }
    return _private(render(request, "portal/track.html", context))


def track_photo(request, token: str, pk: int, kind: str):
    """A photo of the follower's case, as the public would see it."""
    follower = _follower(token)
    return _private(_photo_file(follower.case, pk, kind, "private, max-age=300"))


def _act(request, token: str, call, done: str):
    """Run a follower's write; its refusal is a message on their page. Back to the page."""
    follower = _follower(token)
    try:
        call(follower)
    except DomainError as refused:
        messages.error(request, refused.answer().message)
    except PermissionDenied as refused:
        messages.error(request, str(refused) or _("This is not yours to do."))
    else:
        messages.success(request, done)
    return _private(redirect("portal-track", token=token))


@require_POST
def track_rate(request, token: str):
    """评价: the reporter says 满意 / 基本满意 / 不满意 of the result."""
    return _act(
        request,
        token,
        lambda f: services.case_satisfaction(
            case=f.case,
            follower=f,
            satisfaction=request.POST.get("satisfaction", ""),
            note=request.POST.get("note", "")[:1000],
        ),
        _("Thank you: your rating is recorded."),
    )


@require_POST
def track_reopen(request, token: str):
    """不满意重办: the reporter sends the case back to be done again, saying why."""
    return _act(
        request,
        token,
        lambda f: services.case_reopen(
            case=f.case, follower=f, note=request.POST.get("reason", "")[:1000]
        ),
        _("The case is reopened: it goes back to be done again."),
    )


@require_POST
def track_comment(request, token: str):
    """A comment for the people handling the case."""
    return _act(
        request,
        token,
        lambda f: services.case_comment(case=f.case, follower=f, text=request.POST.get("text", "")),
        _("Your comment was sent to the people handling the case."),
    )


@require_POST
def track_updates(request, token: str):
    """Stop (or restart) the updates on this case."""
    notify = request.POST.get("notify") == "1"
    return _act(
        request,
        token,
        lambda f: services.follower_notify_set(follower=f, notify=notify),
        _("You will be told of each step again.") if notify else _("No more updates will be sent."),
    )


PHOTO = r"photos/(?P<pk>[0-9]+)/(?P<kind>display|thumbnail)\.jpg$"

urlpatterns = [
    path("", home, name="portal-home"),
    path("cases/<str:number>/", case_page, name="portal-case"),
    re_path(r"^cases/(?P<number>[^/]+)/" + PHOTO, case_photo, name="portal-case-photo"),
    path("t/<str:token>/", track_page, name="portal-track"),
    path("t/<str:token>/rate/", track_rate, name="portal-rate"),
    path("t/<str:token>/reopen/", track_reopen, name="portal-reopen"),
    path("t/<str:token>/comment/", track_comment, name="portal-comment"),
    path("t/<str:token>/updates/", track_updates, name="portal-updates"),
    re_path(r"^t/(?P<token>[^/]+)/" + PHOTO, track_photo, name="portal-track-photo"),
]
