"""The queues of the workbenches: a table per queue that sorts, filters and pages by cursor,
with every queue's count beside it, refreshed live."""

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import re_path

from cases.selectors import QUEUES, WORKBENCH_QUEUES, cases_in_queue
from desk.web.common import Table, queue_nav, workbench_home, workbench_required


def queue(request, workbench: str, queue: str):
    return workbench_required(workbench)(_queue)(request, workbench, queue)


def _queue(request, workbench: str, queue: str):
    if queue not in WORKBENCH_QUEUES[workbench]:
        raise Http404
    spec = QUEUES[queue]
    table = Table(request, cases_in_queue(request.user, queue), due_field=spec.due)
    context = {
        "workbench": workbench,
        "queue": spec,
        "table": table,
        "nav": queue_nav(request.user, workbench, queue),
    }
    template = "desk/_table.html" if request.GET.get("partial") else "desk/queue.html"
    return render(request, template, context)


def counts(request, workbench: str):
    """The queues' counts as JSON, for the live refresh of the navigation."""

    @workbench_required(workbench)
    def answer(request):
        return JsonResponse({q["key"]: q["count"] for q in queue_nav(request.user, workbench)})

    return answer(request)


# The desk workbenches with queues; the inspector's is the phone page (/m/).
W = r"(?P<workbench>dispatch|department|supervise)"
urlpatterns = [
    re_path(rf"^{W}/$", workbench_home, name="desk-workbench"),
    re_path(rf"^{W}/counts/$", counts, name="desk-counts"),
    re_path(rf"^{W}/q/(?P<queue>[a-z-]+)/$", queue, name="desk-queue"),
]
