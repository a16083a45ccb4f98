"""The citizen's report page (市民上报), phone first: a pin on the map (a tap, or "use my
location"), the address in words, a category in plain words, a description, up to five
photos made smaller on the phone, and, if they like, a name and a phone number.

Before sending, the open public problems of the same item within 50 m are offered with "this
is mine too" (``portal-similar``; following one is ``portal-follow``); after sending, the
reporter lands on their private link (``portal-track``) with the tracking number.

With scripts the page sends the report to the API (``/api/v1/public/reports/``, through
``portal/report.js``); without them the form posts here, and the same serializer, guards and
service take it (``portal.submit``). A thin page: it holds no rule and no write of its own.
"""

import uuid

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods

from accounts import policy
from cases.services import Where
from gridcity.errors import DomainError, ErrorAnswer
from gridcity.models import District
from portal import abuse
from portal.api import serializers as s
from portal.selectors import (
    case_public,
    cases_similar_public,
    item_public_name,
    items_reportable,
    public_summary,
)
from portal.services import REPORT_PHOTOS_MAX
from portal.submit import follow_submit, report_submit


def _invalid(errors: dict) -> ErrorAnswer:
    def flat(messages) -> list[str]:
        if isinstance(messages, dict):  # a list field's errors, by position
            return [m for inner in messages.values() for m in flat(inner)]
        return [str(m) for m in (messages if isinstance(messages, list) else [messages])]

    fields = {name: flat(messages) for name, messages in errors.items()}
    name, first = next(iter(fields.items()))
    return ErrorAnswer(400, "invalid", f"{name}: {first[0]}", fields)


def _challenge(request, answer: ErrorAnswer | None = None) -> dict | None:
    """The captcha to show: the one a refusal brought, or a new one when an anonymous report
    from this client needs it now."""
    if answer is not None and isinstance(answer.extra.get("captcha"), dict):
        return answer.extra["captcha"]
    if not request.user.is_authenticated and abuse.captcha_needed(request):
        return abuse.captcha_challenge()
    return None


def _district_bounds() -> list[float] | None:
    district = District.objects.order_by("code").only("geom").first()
    return list(district.geom.extent) if district is not None else None


def _items_by_category() -> list[tuple[str, list]]:
    groups: dict[str, list] = {}
    for item in items_reportable(limit=None):
        item.shown = item_public_name(item)
        groups.setdefault(item.category.code, []).append(item)
    return [
        (s.PublicItemSerializer(items[0]).data["category_name"], items) for items in groups.values()
    ]


def _render(request, *, values=None, answer: ErrorAnswer | None = None, similar=None, status=200):
    values = values if values is not None else QueryDict(mutable=True)
    if not values.get("client_uuid"):
        values = values.copy()
        values["client_uuid"] = str(uuid.uuid4())
    context = {
        "values": values,
        "errors": (answer.fields or {}) if answer else {},
        "error_message": answer.message if answer else "",
        "categories": _items_by_category(),
        "captcha": _challenge(request, answer),
        "similar": similar,
        "bounds": _district_bounds(),
        "photos_max": REPORT_PHOTOS_MAX,
        "photo_max_bytes": settings.GRIDCITY_PHOTO_MAX_BYTES,
        "tile_url": settings.GRIDCITY_TILE_URL,
        "tile_attribution": settings.GRIDCITY_TILE_ATTRIBUTION,
    }
    return render(request, "portal/report.html", context, status=status)


@require_http_methods(["GET", "POST"])
def report(request):
    """GET: the form. POST (without scripts): the report, after the similar problems nearby
    were shown once; then off to the private link."""
    if request.method == "GET":
        return _render(request)
    if request.user.is_authenticated and not policy.may_report(request.user):
        raise PermissionDenied
    values = request.POST.copy()
    given_data = request.POST.copy()
    given_data.setlist("photos", request.FILES.getlist("photos"))
    given = s.ReportInputSerializer(data=given_data)
    if not given.is_valid():
        return _render(request, values=values, answer=_invalid(given.errors), status=400)
    data = given.validated_data
    if not values.get("similar_seen"):
        at = Where.of(data["lon"], data["lat"], data["crs"])
        similar = cases_similar_public(item=data["item"], lon=at.lon, lat=at.lat)
        if similar:
            values["similar_seen"] = "1"
            return _render(request, values=values, similar=similar)
    try:
        reported = report_submit(request, data)
    except DomainError as refused:
        answer = refused.answer()
        return _render(request, values=values, answer=answer, status=answer.status)
    return HttpResponseRedirect(s.track_url(reported.follower.token), status=303)


@require_GET
def similar(request):
    """The open public problems of an item near a spot, as the report page shows them (a
    fragment the page's script puts in place); nothing when the query is incomplete."""
    query = s.SimilarQuerySerializer(data=request.GET)
    rows = []
    if query.is_valid():
        data = query.validated_data
        at = Where.of(data["lon"], data["lat"], data["crs"])
        rows = cases_similar_public(item=data["item"], lon=at.lon, lat=at.lat)
    return render(request, "portal/_similar.html", {"similar": rows, "fragment": True})


@require_GET
def items(request):
    """The categories matching ``q`` as the report page offers them (a fragment)."""
    query = s.ItemQuerySerializer(data=request.GET)
    found = items_reportable(query.validated_data["q"]) if query.is_valid() else []
    rows = s.PublicItemSerializer(found, many=True).data
    return render(request, "portal/_items.html", {"items": rows, "q": request.GET.get("q", "")})


@require_http_methods(["GET", "POST"])
def follow(request, number: str):
    """ "This is mine too": GET shows the problem and the optional contact; POST follows it
    and goes to the follower's private link."""
    case = case_public(number)
    if case is None:
        raise Http404
    answer = None
    if request.method == "POST":
        given = s.FollowInputSerializer(data=request.POST)
        if given.is_valid():
            try:
                followed = follow_submit(request, case, given.validated_data)
            except DomainError as refused:
                answer = refused.answer()
            else:
                return HttpResponseRedirect(s.track_url(followed.follower.token), status=303)
        else:
            answer = _invalid(given.errors)
    context = {
        "case": case,
        "row": public_summary(case),
        "values": request.POST,
        "errors": (answer.fields or {}) if answer else {},
        "error_message": answer.message if answer else "",
        "captcha": _challenge(request, answer),
    }
    return render(request, "portal/follow.html", context, status=answer.status if answer else 200)


urlpatterns = [
    path("report/", report, name="portal-report"),
    path("report/similar/", similar, name="portal-similar"),
    path("report/items/", items, name="portal-items"),
    path("cases/<str:number>/follow/", follow, name="portal-follow"),
]
