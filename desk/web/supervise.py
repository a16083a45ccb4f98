"""督察: the supervisor's street on one page — its day at a glance, the overdue and escalated
cases (escalate with a note), what the street's inspectors are to verify, and each inspector's
patrol today with a link into the patrol audit.

The page reads through named selectors (``cases.selectors.street_day_figures``,
``patrol.selectors.inspectors_day_summary``, ``inspectors_on_patrol``) in a fixed number of
queries, and writes nothing: the escalate form posts to the case page's action URL.
"""

from urllib.parse import urlencode

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
    street_case_lists,
    street_day_figures,
)
from desk.web.common import Table, queue_nav, workbench_required
from gridcity.errors import FieldInvalid
from patrol.selectors import inspectors_day_summary, inspectors_on_patrol, streets_supervised

# How many cases each list of the page shows; the queue behind it holds the rest.
LIST_LENGTH = 10


@workbench_required("supervise")
def supervise(request):
    """/desk/supervise/: the street's day, today in Asia/Shanghai."""
    user = request.user
    streets = list(streets_supervised(user))
    street = _chosen_street(streets, request.GET.get("street"))
    context = {"workbench": "supervise", "nav": queue_nav(user, "supervise", None)}
    context.update(streets=streets, street=street, today=timezone.localdate())
    if street is not None:
        context.update(_street_context(request, street, context["today"]))
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


def _street_context(request, street, today) -> dict:
    user = request.user
    inspectors = inspectors_day_summary(user, day=today, area=street.code)
    ids = [row["inspector"]["id"] for row in inspectors]
    patrolling = inspectors_on_patrol(user, inspector_ids=ids)
    names = {row["inspector"]["id"]: row["inspector"]["name"] for row in inspectors}
    audit = _audit_url(user, street, today)
    for row in inspectors:
        row["on_patrol"] = patrolling.get(row["inspector"]["id"])
        row["audit_url"] = f"{audit}&inspector={row['inspector']['id']}" if audit else None
        row["distance_km"] = round(row["distance_m"] / 1000, 1)
        row["online_min"] = int(row["online_s"] // 60)
    figures = street_day_figures(user, today, streets=[street.pk])
    figures["on_patrol"] = len(patrolling)
    figures["no_shift"] = sum(1 for r in inspectors if not r["shifts"] and not r["on_patrol"])
    lists = street_case_lists(user, streets=[street.pk], verifiers=ids, limit=LIST_LENGTH)
    here = request.get_full_path()
    return {
        "figures": figures,
        "links": _figure_links(street, audit),
        "overdue": _rows(user, lists["overdue"], here),
        "escalated": _rows(user, lists["escalated"], here),
        "verifying": [
            {**_row(case), "verifier": names.get(case.verifier_id, "")}
            for case in lists["verifying"]
        ],
        "inspectors": inspectors,
        "audit_url": audit,
    }


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
        "nav": queue_nav(request.user, "supervise", None),
    }
    template = "desk/_table.html" if request.GET.get("partial") else "desk/queue.html"
    return render(request, template, context)


urlpatterns = [
    path("supervise/", supervise, name="desk-supervise"),
    path("supervise/day/<str:kind>/", day_list, name="desk-supervise-day"),
]
