"""The queues of the workbenches: a table per queue that sorts, filters and pages by cursor,
with every queue's count beside it, refreshed live; and the desk's case search."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, re_path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import policy
from cases import codes
from cases.selectors import (
    ADDRESS_SEARCH_DAYS,
    QUEUES,
    SEARCH_LIMIT,
    WORKBENCH_QUEUES,
    cases_in_queue,
    cases_search,
    streets_in_scope,
)
from desk.web.common import (
    Table,
    queue_nav,
    rows_of,
    signed_in_required,
    workbench_home,
    workbench_required,
)
from gridcity.errors import FieldInvalid


def queue(request, workbench: str, queue: str):
    """/desk/<workbench>/q/<queue>/: one queue's table.

    Query parameters (each optional; a bad one is a 400 JSON answer naming it):
    ``item`` (an item's code or name), ``street`` (a street's code), ``grid`` (a work grid's
    code or name), ``source``, ``age`` (waiting more than this many hours), ``due_before``
    (the queue's deadline before this date or time), ``sort`` (``oldest``, ``newest``,
    ``due``, ``-due``), ``cursor`` and ``page_size`` (paging), ``partial=1`` (the table alone,
    for the page's own refresh).

    Each case link carries ``?from=<workbench>:<queue>`` followed by the table's filters and
    sort as they are here (not the cursor), e.g.
    ``/desk/cases/440306-20261203-000123/?from=dispatch:to-file&item=0101&sort=due``: the case
    page reads it to offer the next case of the same list, and to lead back to it.
    """
    return workbench_required(workbench)(_queue)(request, workbench, queue)


def _queue(request, workbench: str, queue: str):
    if queue not in WORKBENCH_QUEUES[workbench]:
        raise Http404
    spec = QUEUES[queue]
    table = Table(
        request,
        cases_in_queue(request.user, queue),
        due_field=spec.due,
        origin=f"{workbench}:{queue}",
    )
    context = {"workbench": workbench, "queue": spec, "table": table}
    if request.GET.get("partial"):
        return render(request, "desk/_table.html", context)
    context.update(
        nav=queue_nav(request.user, workbench, queue),
        items=sorted(codes.ITEMS.rows().values()),
        streets=list(streets_in_scope(request.user)),
    )
    return render(request, "desk/queue.html", context)


def counts(request, workbench: str):
    """The queues' counts as JSON, for the live refresh of the navigation."""

    @workbench_required(workbench)
    def answer(request):
        return JsonResponse({q["key"]: q["count"] for q in queue_nav(request.user, workbench)})

    return answer(request)


# --- search --------------------------------------------------------------------------------

QUERY_MAX = 100
SECTIONS = [
    ("number", gettext_lazy("By case number")),
    ("item", gettext_lazy("By item")),
    ("grid", gettext_lazy("By work grid")),
    ("address", gettext_lazy("By address")),
]


@signed_in_required
def search(request):
    """/desk/search/?q=: the cases this person sees, by number (a whole number opens its case),
    item code or name, work grid code or name, and address text (the last
    ``ADDRESS_SEARCH_DAYS`` days); at most ``SEARCH_LIMIT`` cases of each kind, newest first.
    ``partial=1`` answers the results alone."""
    workbench = policy.workbench_of(request.user)
    if workbench not in WORKBENCH_QUEUES:
        raise PermissionDenied
    return workbench_required(workbench)(_search)(request, workbench)


def _search(request, workbench: str):
    q = request.GET.get("q", "")
    if len(q) > QUERY_MAX or "\x00" in q:
        raise FieldInvalid("q", _("At most %d characters.") % QUERY_MAX)
    found = cases_search(request.user, q)
    partial = request.GET.get("partial")
    if found.exact is not None and not partial:
        return redirect("desk-case", number=found.exact.number)
    sections = [
        {"key": key, "label": label, "rows": rows_of(getattr(found, key))}
        for key, label in SECTIONS
        if getattr(found, key)
    ]
    context = {
        "workbench": workbench,
        "q": found.query,
        "search_query": found.query,
        "sections": sections,
        "limit": SEARCH_LIMIT,
        "address_days": ADDRESS_SEARCH_DAYS,
    }
    if partial:
        return render(request, "desk/_search_results.html", context)
    context["nav"] = queue_nav(request.user, workbench)
    return render(request, "desk/search.html", context)


# The desk workbenches with queues; the inspector's is the phone page (/m/).
W = r"(?P<workbench>dispatch|department|supervise)"
urlpatterns = [
    path("search/", search, name="desk-search"),
    re_path(rf"^{W}/$", workbench_home, name="desk-workbench"),
    re_path(rf"^{W}/counts/$", counts, name="desk-counts"),
    re_path(rf"^{W}/q/(?P<queue>[a-z-]+)/$", queue, name="desk-queue"),
]
