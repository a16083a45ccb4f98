"""Reads of the citizens' portal: the items a citizen may report, in their words, and the
public problems near a spot that may be theirs too.

What the public may see of a case is ``accounts.policy.public_cases`` (filed, not held, not of
a private item): a report that is not yet filed, or one of a private item such as a security
matter, is never offered to someone else as "this is mine too".
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db.models import Q, QuerySet
from django.utils import translation

from accounts import policy
from cases import photos
from cases.models import Case, Item
from cases.selectors import cases_near

ITEMS_SHOWN = 30  # a search answers a screenful; the page's list holds them all
SIMILAR_SHOWN = 5


def items_reportable(q: str = "", *, limit: int | None = ITEMS_SHOWN) -> QuerySet[Item]:
    """The items offered to citizens (``citizen_reportable``, in use), matching ``q`` in their
    citizen-facing names or their official ones, in Chinese or English, category by category."""
    items = Item.objects.filter(active=True, citizen_reportable=True).select_related("category")
    q = q.strip()
    if q:
        items = items.filter(
            Q(public_name__icontains=q)
            | Q(public_name_en__icontains=q)
            | Q(name__icontains=q)
            | Q(name_en__icontains=q)
            | Q(category__name__icontains=q)
            | Q(category__name_en__icontains=q)
        )
    items = items.order_by("category__code", "code")
    return items[:limit] if limit else items


def item_public_name(item: Item) -> str:
    """The item in a citizen's words, in the active language: its name for citizens, else its
    name (English: the English names first, then the Chinese ones)."""
    if (translation.get_language() or "").startswith("en"):
        return item.public_name_en or item.name_en or item.public_name or item.name
    return item.public_name or item.name


def public_description(case: Case) -> str:
    """The description as the public may read it: the moderators' text if they replaced it,
    nothing if they hid it (the staff keep the original)."""
    if case.public_text:
        return case.public_text
    return "" if case.public_hidden else case.description


@dataclass(frozen=True)
class Similar:
    """An open public problem near a spot, as offered before reporting it again."""

    number: str
    item: str
    status: str
    status_display: str
    address: str
    description: str
    moderated: bool
    reported_at: datetime
    distance_m: float


def cases_similar_public(*, item: Item, lon: float, lat: float) -> list[Similar]:
    """Open public problems of the same item within ``GRIDCITY_DUPLICATE_RADIUS_M`` of a spot
    (WGS-84), nearest first: offered with "this is mine too" before a citizen reports."""
    point = Point(lon, lat, srid=4326)
    near = list(
        cases_near(
            item=item, point=point, radius_m=settings.GRIDCITY_DUPLICATE_RADIUS_M
        ).values_list("pk", flat=True)
    )
    if not near:
        return []
    found = (
        Case.objects.filter(policy.public_cases(), pk__in=near)
        .select_related("item")
        .only(
            "number",
            "status",
            "address",
            "description",
            "public_text",
            "public_hidden",
            "moderated_at",
            "created_at",
            "point",
            "item",
            "item__name",
            "item__name_en",
            "item__public_name",
            "item__public_name_en",
        )
    )
    rows = [public_summary(case, lon=lon, lat=lat) for case in found]
    rows.sort(key=lambda row: (row.distance_m, row.number))
    return rows[:SIMILAR_SHOWN]


def public_summary(case: Case, *, lon: float | None = None, lat: float | None = None) -> Similar:
    """A public case as the report page lists it, and how far it is from a spot (if given)."""
    far = 0.0
    if lon is not None and lat is not None:
        far = round(photos.distance_m(lon, lat, case.point.x, case.point.y), 1)
    return Similar(
        number=case.number,
        item=item_public_name(case.item),
        status=case.status,
        status_display=str(case.get_status_display()),
        address=case.address,
        description=public_description(case),
        moderated=case.moderated_at is not None,
        reported_at=case.created_at,
        distance_m=far,
    )


def case_public(number: str) -> Case | None:
    """A case anyone may see on the public pages, by its number, or None."""
    return Case.objects.filter(policy.public_cases(), number=number).select_related("item").first()


def report_of_client(client_uuid) -> Case | None:
    """The case a report with this ``client_uuid`` already made (a retry), or None."""
    if client_uuid is None:
        return None
    return Case.objects.filter(client_uuid=client_uuid).only("pk", "number").first()
