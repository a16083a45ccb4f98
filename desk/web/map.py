"""The map of open cases (案件地图): the cases a person sees, clustered, coloured by state.

The page draws what ``/desk/map/cases.geojson`` answers for the map's view (``bbox``) and the
same filters as the queue tables (``cases.api.filters.CaseFilter``), and loads again when the
view moves or a case changes (the notifications socket's ``{"type": "case"}``, dispatched on
the page as a ``gridcity:case`` DOM event).

A view holding up to ``MAP_LIMIT`` open cases is answered case by case. A wider one (a street,
the district) is answered as counts, as a GIS draws a dense layer: one bubble per work grid at
its label point (per community when the view spans more than ``MAP_GROUP_LIMIT`` grids), with
how many of its cases are overdue and the box they lie in, which the page zooms to on a click.
Every open case is thus counted in every view, and drawn one by one once the view is small
enough. Only a view of a single grid holding more than the cap (hardly a real one) is cut:
its newest ``MAP_LIMIT`` cases, with the total.

Read for speed on a year of cases: the counts first, grouped by the database (one query, on
the open cases' spatial index ``cases_open_point``); then either the cases, one list query of
plain values (the position as two numbers the database reads, ``as_list_rows``; item names
from the code books; no geometry object or model instance per row), or the label points of
the grids counted.
"""

import math

from django.conf import settings
from django.contrib.gis.db.models import Extent
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
from cases.selectors import as_list_rows, cases_counted_by_grid, cases_in_box, cases_visible_to
from desk.web.common import queue_nav
from gridcity.api.filters import bbox_geometry
from gridcity.errors import FieldInvalid
from gridcity.models import CODE_LENGTHS, District, Level
from gridcity.pages import page_for
from gridcity.selectors import label_points

# Cases drawn one by one per answer, at most: a few communities' open cases, little enough
# for a browser to cluster in a blink. A view holding more is answered as counts per grid.
MAP_LIMIT = 3000
# Grid bubbles per answer, at most (a street seen whole holds ~900 grids with open cases): a
# view over more grids than this (the district's 4,833) is counted per community instead.
MAP_GROUP_LIMIT = 1000
# The filters of the queue tables that the map takes too (and ``bbox``, the view).
MAP_FILTERS = ("item", "street", "grid", "source", "status", "overdue")
# The due fields a case's current deadline is read from (``Case.stage_due``'s table).
VALUES = ["number", "status", "item_id", "overdue", "escalated", "due", "lon", "lat"]
# The deadline of the stage each case is in, chosen by the database: one time a row to read
# rather than four (reading times is most of the Python cost of a few thousand rows).
STAGE_DEADLINE = DbCase(
    *[When(status=status, then=F(field)) for status, field in STAGE_DUE.items()],
    default=None,
    output_field=DateTimeField(),
)


# Anyone with a back-office workbench (``policy.may_use_desk``).
desk_required = page_for(policy.may_use_desk)


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
    cases = cases_visible_to(request.user).filter(status__in=OPEN_STATES)
    if view := request.GET.get("bbox"):
        try:
            cases = cases_in_box(cases, bbox_geometry(view, field="bbox"))
        except ValidationError as invalid:  # the box's numbers, checked before GEOS sees them
            name, errors = next(iter(invalid.detail.items()))
            raise FieldInvalid(name, " ".join(str(e) for e in errors)) from None
    found = CaseFilter(params, queryset=cases)
    if not found.is_valid():
        name, errors = next(iter(found.errors.items()))
        raise FieldInvalid(name, " ".join(errors))
    cases = found.qs.order_by()
    groups = cases_counted_by_grid(cases)
    total = sum(group["n"] for group in groups)
    if total > MAP_LIMIT and len(groups) > 1:
        return _grouped(groups, total)
    rows = list(
        as_list_rows(cases)
        .annotate(due=STAGE_DEADLINE)
        .order_by("-created_at", "-id")
        .values(*VALUES)[:MAP_LIMIT]
    )
    # Cut only when a single grid holds more than the cap; otherwise the total is what is shown
    # (a case may have changed between the two reads).
    truncated = total > MAP_LIMIT
    return JsonResponse(
        {
            "type": "FeatureCollection",
            "features": [_feature(row) for row in rows],
            "grouped": None,
            "truncated": truncated,
            "total": total if truncated else len(rows),
            "limit": MAP_LIMIT,
        }
    )


def _grouped(groups: list[dict], total: int) -> JsonResponse:
    """The counts per work grid as GeoJSON points at the grids' label points, or per community
    when there are more than ``MAP_GROUP_LIMIT`` grids (a grid's code begins with its
    community's). The cases outside every grid are one group at the middle of their box."""
    level = Level.GRID if len(groups) <= MAP_GROUP_LIMIT else Level.COMMUNITY
    width = CODE_LENGTHS[level]
    merged: dict[str | None, dict] = {}
    for group in groups:
        grid = codes.GRIDS.code(group["grid_id"])
        code = grid[:width] if grid else None
        into = merged.get(code)
        if into is None:
            merged[code] = dict(group)
            continue
        into["n"] += group["n"]
        into["overdue_n"] += group["overdue_n"]
        for side, pick in (("west", min), ("south", min), ("east", max), ("north", max)):
            into[side] = pick(into[side], group[side])
    labels = label_points(level, [code for code in merged if code])
    features = []
    for code, group in merged.items():
        box = _outward(group)
        x, y, name = labels.get(code) or ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, "")
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]},
                "properties": {
                    "code": code,
                    "name": name,
                    "count": group["n"],
                    "overdue": group["overdue_n"],
                    "bbox": box,
                },
            }
        )
    return JsonResponse(
        {
            "type": "FeatureCollection",
            "features": features,
            "grouped": level.value,
            "truncated": False,
            "total": total,
            "limit": MAP_LIMIT,
        }
    )


def _outward(group: dict) -> list[float]:
    """The box of a group's cases to the micro-degree (≈ 0.1 m), rounded outward: zoomed onto,
    it holds every one of them."""
    west, south = (math.floor(group[side] * 1e6) / 1e6 for side in ("west", "south"))
    east, north = (math.ceil(group[side] * 1e6) / 1e6 for side in ("east", "north"))
    return [west, south, east, north]


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
