"""The inspector's phone page (网格员): my tasks, report a problem, confirm a report on site
(核实), verify a handled case (核查).

One page under /m/, installable (a web app manifest) and usable offline (a service worker
keeps its shell): the tasks are rendered into it, and a report, a confirmation or a
verification made without a network waits in the browser and goes to the case API
(``/api/v1/cases/...``) with its ``client_uuid`` when the network returns. The page writes
nothing itself: the API's services do, idempotently, so a report sent twice is still one case.

The service worker is served here rather than from /static/ so that its scope may be /m/.
"""

import hashlib
import json

from django.conf import settings
from django.db.models import Prefetch
from django.db.models.functions import Coalesce
from django.http import JsonResponse
from django.shortcuts import render
from django.template.loader import get_template
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.selectors import grids_of
from cases import codes
from cases.models import CasePhoto, CaseTransition, Status
from cases.selectors import LIST_FIELDS, cases_waiting_for
from desk.web.common import workbench_required
from gridcity.models import District

THEME_COLOUR = "#1f4e79"  # base.html's theme-color and brand
TASKS_SHOWN = 100  # an inspector has a handful; a page of more would not be read on a phone
ICON_SIZES = (192, 512)


# A task's kind: 核实 (confirm a reported problem on site) or 核查 (verify a handled case).
CONFIRM, VERIFY = "confirm", "verify"


def _tasks(user) -> list[dict]:
    """The cases waiting for this inspector on site: reports to confirm (核实) and handled
    cases to verify (核查), the soonest due first, with what the visit needs (the command
    centre's request, the department's handling note, the photos): three queries, whatever
    their number."""
    cases = (
        cases_waiting_for(user)
        .only(*LIST_FIELDS, "verify_due", "file_due", "confirm_requested_at")
        .order_by(Coalesce("verify_due", "file_due").asc(nulls_last=True), "id")
        .prefetch_related(
            Prefetch(
                "photos",
                CasePhoto.objects.filter(stage__in=["report", "handle"]).order_by("id"),
                to_attr="evidence",
            ),
            Prefetch(
                "timeline",
                CaseTransition.objects.filter(action__in=["handle", "confirm-request"]).order_by(
                    "-at", "-id"
                ),
                to_attr="notes",
            ),
        )[:TASKS_SHOWN]
    )
    return [_task(case) for case in cases]


def _task(case) -> dict:
    kind = CONFIRM if case.status == Status.REPORTED else VERIFY
    item_code, item_name = codes.ITEMS.get(case.item_id) or ("", "")
    asked = "confirm-request" if kind == CONFIRM else "handle"
    note = next((row.note for row in case.notes if row.action == asked), "")
    return {
        "case": case,
        "kind": kind,
        "due": case.file_due if kind == CONFIRM else case.verify_due,
        "item_code": item_code,
        "item_name": item_name,
        "grid": codes.GRIDS.code(case.grid_id),
        # 核实: the command centre's request; 核查: the department's handling note
        "request_note": note if kind == CONFIRM else "",
        "handling_note": note if kind == VERIFY else "",
        "photos": [
            {
                "stage": photo.stage,
                "url": reverse(
                    "case-photo-file",
                    kwargs={"number": case.number, "pk": photo.pk, "kind": "thumbnail"},
                ),
            }
            for photo in case.evidence
        ],
    }


def _grids_geojson(user) -> dict:
    """The inspector's own grids, drawn under the pin (a closed network may have no base map)."""
    features = [
        {
            "type": "Feature",
            "properties": {"code": grid.code, "name": grid.name},
            "geometry": json.loads(grid.geom.simplify(0.00002, preserve_topology=True).geojson),
        }
        for grid in grids_of(user).only("code", "name", "geom")
    ]
    return {"type": "FeatureCollection", "features": features}


def _district_bounds() -> list[list[float]] | None:
    """[[south, west], [north, east]] of the district: where the pin map opens for someone who
    holds no grid (an administrator)."""
    district = District.objects.order_by("code").only("geom").first()
    if district is None or not district.geom:
        return None
    west, south, east, north = district.geom.extent
    return [[south, west], [north, east]]


@workbench_required("mobile")
def home(request):
    """/m/: the whole app in one page; its views (tasks, report, a task, the outbox) are
    switched in the browser, so that the one cached page works offline."""
    grids = _grids_geojson(request.user)
    return render(
        request,
        "desk/mobile/home.html",
        {
            "workbench": "mobile",
            "tasks": _tasks(request.user),
            "grids": grids,
            "bounds": None if grids["features"] else _district_bounds(),
            "tile_url": settings.GRIDCITY_TILE_URL,
            "tile_attribution": settings.GRIDCITY_TILE_ATTRIBUTION,
        },
    )


@require_GET
def manifest(request):
    """The web app manifest: what a phone needs to install /m/ as an app. Public (browsers
    fetch it without cookies) and holding nothing personal."""
    body = {
        # The app's name, as base.html's title: the same in every language.
        "name": "网格员 GridCity",
        "short_name": "网格员",
        "description": _("Tasks, reports and verification for grid inspectors, offline too."),
        "lang": request.LANGUAGE_CODE,
        "start_url": reverse("mobile-home"),
        "scope": reverse("mobile-home"),
        "id": reverse("mobile-home"),
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": "#f4f6f9",
        "icons": [
            {
                "src": static(f"desk/mobile/icon-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any maskable",
            }
            for size in ICON_SIZES
        ],
    }
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


def shell_urls() -> list[str]:
    """What the service worker keeps for offline use: the page, its code and style, the item
    list. Static URLs carry their content hash in production, so a new release is a new list."""
    return [
        reverse("mobile-home"),
        static("desk/mobile/mobile.js"),
        static("desk/photos.js"),  # imported by mobile.js: the photos made smaller
        static("desk/mobile/mobile.css"),
        static("leaflet/leaflet.js"),
        static("leaflet/leaflet.css"),
        *(static(f"desk/mobile/icon-{size}.png") for size in ICON_SIZES),
        reverse("categories"),
    ]


@require_GET
def service_worker(request):
    """/m/sw.js: the service worker, its scope /m/. Never cached itself, so that a new
    release's list of files is seen at the next visit."""
    urls = shell_urls()
    template = get_template("desk/mobile/sw.js")
    # A new list of files or a change of the worker's own code is a new version (new cache).
    source = json.dumps(urls) + template.template.source
    version = hashlib.sha1(source.encode()).hexdigest()[:12]
    response = render(
        request,
        "desk/mobile/sw.js",
        {
            "shell": json.dumps(urls),
            "version": json.dumps(version),
            "page": json.dumps(reverse("mobile-home")),
        },
        content_type="text/javascript; charset=utf-8",
    )
    response["Service-Worker-Allowed"] = reverse("mobile-home")
    response["Cache-Control"] = "no-cache"
    return response


urlpatterns = [
    path("", home, name="mobile-home"),
    path("manifest.webmanifest", manifest, name="mobile-manifest"),
    path("sw.js", service_worker, name="mobile-sw"),
]
