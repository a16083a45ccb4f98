"""The map of open cases (案件地图): the cases a person sees, clustered, coloured by state.

The page draws what ``/desk/map/cases.geojson`` answers for the map's view (``bbox``) and the
same filters as the queue tables (``cases.api.filters.CaseFilter``), and loads again when the
view moves or a case changes (the notifications socket's ``{"type": "case"}``, dispatched on
the page as a ``gridcity:case`` DOM event). The answer is capped (``MAP_LIMIT``, newest
first); a cut answer says so, with the total, and the page asks to zoom in.

Read for speed on a year of cases: one list query of plain values (the position as two
numbers the database reads, ``as_list_rows``), item names from the code books, no geometry
object or model instance per row, and a count only when the list was cut.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.contrib.gis.db.models import Extent
from django.core.exceptions import PermissionDenied
from django.db.models import Case as DbCase
from django.db.models import DateTimeField, F, When
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from accounts import policy
from accounts.selectors import grids_visible_to
from cases import codes
from cases.api.filters import CaseFilter
from cases.models import OPEN_STATES, STAGE_DUE, Source, Status
from cases.selectors import as_list_rows, cases_visible_to
from desk.web.common import queue_nav
from gridcity.errors import DomainError, FieldInvalid, error_response
from gridcity.models import District

# Features per answer: enough to see a street's open cases at once, little enough for a
# browser to cluster in a blink (≈ 400 kB of JSON).
MAP_LIMIT = 3000
# The filters of the queue tables that the map takes too.
MAP_FILTERS = ("item", "street", "grid", "source", "status", "overdue", "bbox")
# The due fields a case's current deadline is read from (``Case.stage_due``'s table).
VALUES = ["number", "status", "item_id", "overdue", "escalated", "due", "lon", "lat"]
# The deadline of the stage each case is in, chosen by the database: one time a row to read
# rather than four (reading times is most of the Python cost of a few thousand rows).
STAGE_DEADLINE = DbCase(
    *[When(status=status, then=F(field)) for status, field in STAGE_DUE.items()],
    default=None,
    output_field=DateTimeField(),
)


def desk_required(view):
    """Anyone with a back-office workbench (``policy.may_use_desk``); anonymous people are
    sent to log in, others get the 403 page. A refused parameter is the API's JSON 4xx."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not policy.may_use_desk(request.user):
            raise PermissionDenied
        try:
            return view(request, *args, **kwargs)
        except DomainError as refused:
            return error_response(refused.answer())

    return wrapped


@desk_required
def map_page(request):
    """/desk/map/: the frame of the person's workbench, the filters, the map, the legend."""
    workbench = policy.workbench_of(request.user)
    if workbench not in policy.DESK_WORKBENCHES:
        workbench = "dispatch"  # an administrator
    form = CaseFilter(request.GET).form
    context = {
        "workbench": workbench,
        "nav": queue_nav(request.user, workbench),
        "form": form,
        "statuses": [(s.value, s.label) for s in Status if s in OPEN_STATES],
        "sources": Source.choices,
        "extent": _extent_of(request.user),
        "legend": _legend(),
        "limit": MAP_LIMIT,
        "status_labels": {s.value: str(s.label) for s in Status},
        "tile_url": settings.GRIDCITY_TILE_URL,
        "tile_attribution": settings.GRIDCITY_TILE_ATTRIBUTION,
    }
    return render(request, "desk/map.html", context)


def _extent_of(user) -> list[float] | None:
    """Where the map opens: the grids the person answers for, or the whole district."""
    extent = grids_visible_to(user).aggregate(box=Extent("geom"))["box"]
    if extent is None:
        extent = District.objects.aggregate(box=Extent("geom"))["box"]
    return [round(v, 6) for v in extent] if extent else None


def _legend() -> list[tuple[str, str]]:
    shown = [Status.REPORTED, Status.FILED, Status.DISPATCHED, Status.RETURNED]
    shown += [Status.HANDLING, Status.HANDLED, Status.VERIFYING, Status.SUSPENDED]
    return [(s.value, s.label) for s in shown] + [("overdue", _("Overdue"))]


@desk_required
def map_cases(request):
    """/desk/map/cases.geojson: the open cases in view as GeoJSON points, newest first."""
    params = request.GET.copy()
    for name in list(params):
        if name not in MAP_FILTERS:
            del params[name]
    found = CaseFilter(
        params, queryset=cases_visible_to(request.user).filter(status__in=OPEN_STATES)
    )
    if not found.is_valid():
        name, errors = next(iter(found.errors.items()))
        raise FieldInvalid(name, " ".join(errors))
    try:
        cases = found.qs.order_by()
    except ValidationError as invalid:  # the box's numbers, checked as the filter applies
        name, errors = next(iter(invalid.detail.items()))
        raise FieldInvalid(name, " ".join(str(e) for e in errors)) from None
    rows = list(
        as_list_rows(cases)
        .annotate(due=STAGE_DEADLINE)
        .order_by("-created_at", "-id")
        .values(*VALUES)[: MAP_LIMIT + 1]
    )
    truncated = len(rows) > MAP_LIMIT
    rows = rows[:MAP_LIMIT]
    total = cases.count() if truncated else len(rows)
    return JsonResponse(
        {
            "type": "FeatureCollection",
            "features": [_feature(row) for row in rows],
            "truncated": truncated,
            "total": total,
            "limit": MAP_LIMIT,
        }
    )


def _feature(row: dict) -> dict:
    item = codes.ITEMS.get(row["item_id"]) or ("", "")
    due = row["due"]
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(row["lon"], 6), round(row["lat"], 6)]},
        "properties": {
            "number": row["number"],
            "status": row["status"],
            "item": item[0],
            "item_name": item[1],
            "overdue": row["overdue"],
            "escalated": row["escalated"],
            "due": due.isoformat() if due else None,
        },
    }


urlpatterns = [
    path("map/", map_page, name="desk-map"),
    path("map/cases.geojson", map_cases, name="desk-map-cases"),
]
