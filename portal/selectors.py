"""Reads of the citizens' portal: the items a citizen may report, in their words, and the
public problems near a spot that may be theirs too.

What the public may see of a case is ``accounts.policy.public_cases`` (filed, not held, not of
a private item): a report that is not yet filed, or one of a private item such as a security
matter, is never offered to someone else as "this is mine too".

The hotline's reads: the knowledge base, a caller's earlier tickets, open cases nearby,
the callback queue (回访) and the operator's day.

The hotline sees the whole district (``accounts.policy.sees_whole_district``); every list
still goes through ``cases.selectors.cases_visible_to`` so an administrator or a later role
sees only what the policy gives them.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone, translation

from accounts import policy
from accounts.models import User
from cases import photos
from cases.models import Case, CaseFollower, CaseTransition, Item, Status
from cases.selectors import cases_near, cases_visible_to, local_day_bounds
from cases.services import phone_normalised
from portal.models import KnowledgeEntry

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


# --- the hotline ------------------------------------------------------------------------------

# How far from the caller's place an open case of the same item is offered for 并单.
NEARBY_METRES = 300
KNOWLEDGE_LIMIT = 8
HISTORY_LIMIT = 10


def _visible(user: User) -> QuerySet[Case]:
    """The cases ``user`` sees, whole: the hotline's lists show the caller's words, the
    contact and the deadlines that a queue's row leaves out."""
    return cases_visible_to(user).defer(None)


def knowledge_search(q: str, *, request_type: str = "", limit: int = KNOWLEDGE_LIMIT):
    """Active knowledge entries whose question, keywords or answer hold every word of ``q``
    (a Chinese query without spaces is one word), those for ``request_type`` (or for any
    type) only; the questions that match first. The base is small (hundreds of entries): a
    plain ``icontains`` per word is enough and reads the same on SQLite and PostgreSQL."""
    words = [w for w in (q or "").split() if w][:5]
    if not words:
        return []
    entries = KnowledgeEntry.objects.filter(active=True)
    for word in words:
        entries = entries.filter(
            Q(question__icontains=word) | Q(keywords__icontains=word) | Q(answer__icontains=word)
        )
    found = list(entries.order_by("question", "id")[: limit * 4])
    if request_type:
        found = [e for e in found if not e.request_types or request_type in e.request_types]
    found.sort(key=lambda e: not all(w.lower() in e.question.lower() for w in words))
    return found[:limit]


def caller_history(user: User, phone: str, *, limit: int = HISTORY_LIMIT) -> QuerySet[Case]:
    """The caller's earlier tickets, newest first: the cases they follow by phone (as their
    reporter, a follower or a repeat caller) and those they gave the number on. Asked once
    the number is long enough to be one (seven digits): a part of a number names nobody."""
    digits = phone_normalised(phone or "")
    if len(digits) < 7:
        return Case.objects.none()
    followed = CaseFollower.objects.filter(phone=digits).values("case_id")
    return (
        _visible(user)
        .filter(Q(pk__in=followed) | Q(contact_phone__in={digits, phone.strip()}))
        .select_related("item")
        .order_by("-created_at", "-id")[:limit]
    )


def open_cases_nearby(
    user: User, *, item: Item, lon: float, lat: float, metres: float = NEARBY_METRES
) -> QuerySet[Case]:
    """Open cases of the same item within ``metres`` of the caller's place, newest first:
    the tickets a repeat call is merged into (并单)."""
    point = Point(lon, lat, srid=4326)
    near = cases_near(item=item, point=point, radius_m=metres).values_list("pk", flat=True)
    return (
        _visible(user)
        .filter(pk__in=list(near))
        .select_related("item")
        .order_by("-created_at", "-id")
    )


def callbacks_due(user: User) -> QuerySet[Case]:
    """The callback queue (回访): closed cases whose callback is due and not done, the
    oldest due first (the partial index ``cases_callback_due`` holds exactly these)."""
    return (
        _visible(user)
        .filter(callback_due__isnull=False, callback_done_at__isnull=True, status=Status.CLOSED)
        .select_related("item")
    )


def callback_attempts(cases: list[Case]) -> dict[int, int]:
    """How many times each case's caller was not reached since the case last closed (a
    reopened case closed again starts a new round of calls)."""
    rows = (
        CaseTransition.objects.filter(
            case__in=cases,
            action="callback",
            detail__reached=False,
            at__gte=F("case__closed_at"),
        )
        .values("case_id")
        .annotate(n=Count("id"))
    )
    return {row["case_id"]: row["n"] for row in rows}


@dataclass(frozen=True)
class OperatorDay:
    """The operator's day (Asia/Shanghai): calls taken (new tickets and merges), merged (并单),
    answered directly (直接办结), callbacks done (reached, and not reached) by them, and the
    callbacks due by the day's end for the whole hotline."""

    day: date
    taken: int
    new: int
    merged: int
    answered: int
    callbacks_done: int
    callbacks_missed: int
    callbacks_due: int


def operator_day(user: User, day: date | None = None, *, now: datetime | None = None):
    now = now or timezone.now()
    day = day or timezone.localtime(now, timezone=timezone.get_default_timezone()).date()
    start, end = local_day_bounds(day)
    steps = CaseTransition.objects.filter(
        actor=user, at__gte=start, at__lt=end, action__in=("report", "repeat", "answer", "callback")
    )
    figures = steps.aggregate(
        new=Count("id", filter=Q(action="report")),
        merged=Count("id", filter=Q(action="repeat")),
        answered=Count("id", filter=Q(action="answer")),
        done=Count("id", filter=Q(action="callback", detail__reached=True)),
        missed=Count("id", filter=Q(action="callback", detail__reached=False)),
    )
    due = callbacks_due(user).filter(callback_due__lt=end).count()
    return OperatorDay(
        day=day,
        taken=figures["new"] + figures["merged"],
        new=figures["new"],
        merged=figures["merged"],
        answered=figures["answered"],
        callbacks_done=figures["done"],
        callbacks_missed=figures["missed"],
        callbacks_due=due,
    )


def reply_limits() -> dict[str, tuple[int, str]]:
    """答复时限 per request type, as configured (``GRIDCITY_REPLY_LIMITS``)."""
    return dict(settings.GRIDCITY_REPLY_LIMITS)


def recent_calls(user: User, *, hours: int = 12, limit: int = 10) -> QuerySet[Case]:
    """The tickets this operator took lately, newest first (the console's side list)."""
    since = timezone.now() - timedelta(hours=hours)
    return (
        _visible(user)
        .filter(reporter=user, source="hotline", created_at__gte=since)
        .select_related("item")
        .order_by("-created_at", "-id")[:limit]
    )
