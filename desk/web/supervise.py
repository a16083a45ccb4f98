"""督察: the supervisor's street on one page — its day at a glance, the overdue and escalated
cases (escalate with a note), what the street's inspectors are to verify, and each inspector's
patrol today with a link into the patrol audit.

The page reads through named selectors (``cases.selectors.street_day_figures``,
``street_case_lists``, ``patrol.selectors.inspectors_of_day``, ``inspectors_day_summary``) in
a fixed number of queries, the person's case scope read once for the side navigation, the
figures and the lists, and writes nothing: the escalate form posts to the case page's action
URL.

A street has hundreds of inspectors (772 in the busiest street of the benchmark's city): the
day's figures count them all (``inspectors_of_day``, without adding up their patrols), and
their table of today's patrol, the costly part, is its own request: ``?partial=1`` answers it
alone, which the page's script loads after the page, and again for its pages and its name
filter. It shows ``INSPECTORS_PER_PAGE`` of them, those needing attention first
(``attention``). Without script, the page's link to it (or a page or search of it in the
address) brings the table with the page.
"""

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import policy
from cases import codes
from cases.actions import actions_for
from cases.models import Status
from cases.selectors import (
    cases_visible_to,
    local_day_bounds,
    queue_counts_by_street,
    street_case_lists,
    street_day_figures,
)
from desk.web.common import Table, queue_nav, workbench_required
from gridcity.errors import FieldInvalid
from patrol.selectors import (
    inspectors_day_summary,
    inspectors_of_day,
    inspectors_on_patrol,
    streets_supervised,
)

# How many cases each list of the page shows; the queue behind it holds the rest.
LIST_LENGTH = 10
# Inspectors per page of the street's table: a supervisor reads the first screenful, and
# rendering all of a street's took half of what the page took.
INSPECTORS_PER_PAGE = 50
# The longest name filter taken (a part of a name, a login or a grid code).
FIND_MAX_LENGTH = 50
# The queues of the side navigation that are figures of the street's day too.
SHARED_QUEUES = ["overdue", "escalated"]
# What in an address asks for the inspectors' table with the page (a page of it, a search).
TABLE_PARAMS = ("page", "find")


@workbench_required("supervise")
def supervise(request):
    """/desk/supervise/: the street's day, today in Asia/Shanghai; ``?partial=1`` the
    inspectors' table alone."""
    user = request.user
    streets = list(streets_supervised(user))
    street = _chosen_street(streets, request.GET.get("street"))
    today = timezone.localdate()
    if request.GET.get("partial"):
        if street is None:
            raise Http404
        context = {"street": street, **_inspector_table(request, street, today)}
        return render(request, "desk/_supervise_inspectors.html", context)
    visible = cases_visible_to(user)  # the scope, read once for the navigation and the street
    # The overdue and escalated queues counted once, by street: their totals for the side
    # navigation, the street's share for the day's figures.
    by_street = queue_counts_by_street(user, SHARED_QUEUES, visible=visible)
    counted = {key: sum(by_street[key].values()) for key in SHARED_QUEUES}
    nav = queue_nav(user, "supervise", visible=visible, counted=counted)
    context = {"workbench": "supervise", "nav": nav}
    context.update(streets=streets, street=street, today=today)
    if street is not None:
        counted = {key: by_street[key].get(street.pk, 0) for key in SHARED_QUEUES}
        context.update(_street_context(request, street, today, visible, counted))
        if any(name in request.GET for name in TABLE_PARAMS):
            context.update(_inspector_table(request, street, today))
    return render(request, "desk/supervise.html", context)


def _chosen_street(streets: list, code: str | None):
    """The street asked for (by code) among those the person oversees; the first without one
    (a district's supervisor and an administrator pick another). A code outside them is a 400."""
    if not code:
        return streets[0] if streets else None
    for street in streets:
        if street.code == code:
            return street
    raise FieldInvalid("street", _("Not a street you oversee."))


def _street_context(request, street, today, visible, counted: dict[str, int]) -> dict:
    user = request.user
    inspectors = inspectors_of_day(user, day=today, area=street.code)
    audit = _audit_url(user, street, today)
    # Every inspector of the street is counted, whatever page of the table is shown.
    figures = street_day_figures(user, today, streets=[street.pk], visible=visible, counted=counted)
    figures["on_patrol"] = inspectors.on_patrol
    figures["no_shift"] = inspectors.no_shift
    lists = street_case_lists(
        user, streets=[street.pk], verifiers=inspectors.ids, limit=LIST_LENGTH, visible=visible
    )
    here = request.get_full_path()
    return {
        "figures": figures,
        "links": _figure_links(street, audit),
        "overdue": _rows(user, lists["overdue"], here),
        "escalated": _rows(user, lists["escalated"], here),
        "verifying": [
            {**_row(case), "verifier": inspectors.names.get(case.verifier_id, "")}
            for case in lists["verifying"]
        ],
        "audit_url": audit,
        "inspector_total": len(inspectors.names),
        "inspector_find": request.GET.get("find", "").strip()[:FIND_MAX_LENGTH],
        "inspectors_url": _table_url(request, street),
    }


def _table_url(request, street) -> str:
    """The inspectors' table of this street alone (``?partial=1``), at the page and search of
    this address."""
    query = request.GET.copy()
    query["street"] = street.code
    query["partial"] = "1"
    return f"{request.path}?{query.urlencode()}"


def _inspectors(request, street, today) -> list[dict]:
    """Every inspector of the street with today's patrol (``inspectors_day_summary``), each
    with whether they are on patrol now, their audit link and the figures as shown."""
    user = request.user
    inspectors = inspectors_day_summary(user, day=today, area=street.code)
    patrolling = inspectors_on_patrol(
        user, inspector_ids=[row["inspector"]["id"] for row in inspectors]
    )
    audit = _audit_url(user, street, today)
    for row in inspectors:
        row["on_patrol"] = patrolling.get(row["inspector"]["id"])
        row["audit_url"] = f"{audit}&inspector={row['inspector']['id']}" if audit else None
        row["distance_km"] = round(row["distance_m"] / 1000, 1)
        row["online_min"] = int(row["online_s"] // 60)
        row["anomaly_count"] = sum(row["anomalies"].values())
        row["attention"] = attention(row)
    return inspectors


def attention(row: dict) -> int:
    """Where an inspector's row of the day stands in the table, the most pressing first:

    0. no shift today and not on patrol (the figure "without a shift today");
    1. anomalies in today's tracks (impossible speed, jumps, a frozen or mocked location);
    2. short of what their grids require (laps, checkpoints, time online, coverage), with no
       shift open to make it up;
    3. on patrol now, or done with the day's requirement.
    """
    if not row["shifts"] and not row["on_patrol"]:
        return 0
    if row["anomaly_count"]:
        return 1
    if row["short"] and not row["on_patrol"]:
        return 2
    return 3


def _inspector_table(request, street, today) -> dict:
    """A page of the inspectors' table: those matching ``?find=`` (a part of a name, a login
    or a grid code), the most pressing first and in grid order within (the summary's order;
    the sort is stable), ``INSPECTORS_PER_PAGE`` of them at ``?page=``."""
    inspectors = _inspectors(request, street, today)
    find = request.GET.get("find", "").strip()[:FIND_MAX_LENGTH]
    shown = inspectors
    if find:
        needle = find.casefold()
        shown = [row for row in inspectors if needle in _haystack(row)]
    shown = sorted(shown, key=lambda row: row["attention"])
    page = Paginator(shown, INSPECTORS_PER_PAGE).get_page(request.GET.get("page"))
    return {
        "inspectors": page.object_list,
        "inspector_page": page,
        "inspector_total": len(inspectors),
        "inspector_find": find,
        "inspector_pager": {
            "previous": _page_url(request, page.previous_page_number())
            if page.has_previous()
            else None,
            "next": _page_url(request, page.next_page_number()) if page.has_next() else None,
        },
    }


def _haystack(row: dict) -> str:
    inspector = row["inspector"]
    return " ".join([inspector["name"], inspector["username"], *row["grids"]]).casefold()


def _page_url(request, number: int) -> str:
    """This page's address at another page of the inspectors' table (no ``partial``)."""
    query = request.GET.copy()
    query.pop("partial", None)
    query["page"] = str(number)
    return f"{request.path}?{query.urlencode()}#inspectors"


def _audit_url(user, street, day) -> str | None:
    """The patrol audit page (督查) on this street and day, for those who may open it."""
    if not policy.may_audit_patrols(user):
        return None
    return reverse("patrol-audit") + "?" + urlencode({"street": street.code, "date": day})


def _figure_links(street, audit: str | None) -> dict[str, str]:
    """Where each figure of the day leads: the queue or list that holds what it counts."""
    where = "?" + urlencode({"street": street.code})
    return {
        "new": reverse("desk-supervise-day", args=["new"]) + where,
        "closed": reverse("desk-supervise-day", args=["closed"]) + where,
        "overdue": reverse("desk-queue", args=["supervise", "overdue"]) + where,
        "escalated": reverse("desk-queue", args=["supervise", "escalated"]) + where,
        "on_patrol": audit or "#inspectors",
        "no_shift": "#inspectors",
    }


def _rows(user, cases: list, here: str) -> list[dict]:
    """The cases of a list, each with the actions this person may take."""
    rows = []
    for case in cases:
        row = _row(case)
        row["actions"] = actions_for(user, case)
        offered = {action.name for action in row["actions"]}
        escalate = "escalate" in offered
        row["escalate_url"] = _action_url(case.number, "escalate") if escalate else None
        row["next"] = here
        rows.append(row)
    return rows


def _action_url(number: str, action: str) -> str | None:
    """The case page's action URL (``desk-case-action``); None while it is not there."""
    try:
        return reverse("desk-case-action", args=[number, action])
    except NoReverseMatch:
        return None


def _row(case) -> dict:
    """What a line of the page shows, from the case's own columns and the code books."""
    item = codes.ITEMS.get(case.item_id) or ("", "")
    return {
        "case": case,
        "item_code": item[0],
        "item_name": item[1],
        "grid": codes.GRIDS.code(case.grid_id),
        "department": codes.DEPARTMENTS.code(case.department_id),
        "due": case.stage_due(),
    }


# --- the day's lists behind the figures "new today" and "closed today" -----------------------


class DayList:
    """The list a figure of the day opens, shown as a queue is (``desk/queue.html``)."""

    def __init__(self, key: str, label, due: str, sort: str):
        self.key, self.label, self.due, self.sort = key, label, due, sort


DAY_LISTS = {
    "new": DayList("new", gettext_lazy("Reported today"), "handle_due", "newest"),
    "closed": DayList("closed", gettext_lazy("Closed today"), "handle_due", "newest"),
}


def day_list(request, kind: str):
    return workbench_required("supervise")(_day_list)(request, kind)


def _day_list(request, kind: str):
    if kind not in DAY_LISTS:
        raise Http404
    spec = DAY_LISTS[kind]
    start, end = local_day_bounds(timezone.localdate())
    cases = cases_visible_to(request.user)
    if kind == "new":
        cases = cases.filter(created_at__gte=start, created_at__lt=end)
    else:
        cases = cases.filter(
            status=Status.CLOSED, updated_at__gte=start, closed_at__gte=start, closed_at__lt=end
        )
    table = Table(request, cases, due_field=spec.due, default_sort=spec.sort)
    context = {
        "workbench": "supervise",
        "queue": spec,
        "table": table,
        "nav": queue_nav(request.user, "supervise"),
    }
    template = "desk/_table.html" if request.GET.get("partial") else "desk/queue.html"
    return render(request, template, context)


urlpatterns = [
    path("supervise/", supervise, name="desk-supervise"),
    path("supervise/day/<str:kind>/", day_list, name="desk-supervise-day"),
]
