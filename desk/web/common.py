"""What every workbench page shares: who may open it, where a person lands, the case table.

A page is a view over the cases' selectors and services: it asks ``accounts.policy`` who may
open it, ``cases.selectors`` what to list, and never decides a rule itself.
"""

from datetime import UTC, datetime
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from accounts import policy
from cases import codes
from cases.api.filters import CaseFilter
from cases.selectors import QUEUES, WORKBENCH_QUEUES, as_list_rows, queue_counts
from gridcity.api.pagination import CursorPagination
from gridcity.errors import DomainError, FieldInvalid, error_response


def workbench_required(workbench: str):
    """The page belongs to ``workbench``: anonymous people are sent to log in, people of
    another workbench get the 403 page (the policy's ``may_use_workbench``)."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not policy.may_use_workbench(request.user, workbench):
                raise PermissionDenied
            request.workbench = workbench
            try:
                return view(request, *args, **kwargs)
            except DomainError as refused:
                # A bad parameter or a refused step asked for as JSON: the API's answer.
                return error_response(refused.answer())

        return wrapped

    return decorate


def signed_in_required(view):
    """Any signed-in person (their own scope decides what they see)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not policy.is_signed_in(request.user):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped


def landing_url(user) -> str:
    """Where ``user`` lands after logging in: their workbench, or the map."""
    workbench = policy.workbench_of(user)
    if workbench == "mobile":
        return reverse("mobile-home")
    if workbench is not None:
        return reverse("desk-workbench", args=[workbench])
    return reverse("home")


@signed_in_required
def landing(request):
    """/desk/: each person's own workbench."""
    return redirect(landing_url(request.user))


def workbench_home(request, workbench: str):
    """/desk/<workbench>/: its first queue (the supervisor's opens on the street's day)."""

    @workbench_required(workbench)
    def home(request):
        if workbench == "supervise":
            return redirect("desk-supervise")
        return redirect("desk-queue", workbench=workbench, queue=WORKBENCH_QUEUES[workbench][0])

    return home(request)


# --- the case table ------------------------------------------------------------------------

# ?sort= → the ordering (a cursor pages by its first field, ties broken by id).
SORTS = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "due": ("due_at", "id"),
    "-due": ("-due_at", "-id"),
}
FAR = datetime(9999, 1, 1, tzinfo=UTC)
DEFAULT_SORT = "oldest"  # a queue is worked from the case that waited longest


class TablePagination(CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def __init__(self, ordering):
        self.ordering = ordering


class Table:
    """One page of a queue: rows, cursor links, the filters and sort that made it."""

    def __init__(self, request, cases, *, due_field: str, default_sort: str = DEFAULT_SORT):
        self.request = request
        self.sort = request.GET.get("sort") or default_sort
        if self.sort not in SORTS:
            raise FieldInvalid("sort", _("One of: %s.") % ", ".join(SORTS))
        self.filter = CaseFilter(request.GET, queryset=cases)
        if not self.filter.is_valid():
            name, errors = next(iter(self.filter.errors.items()))
            raise FieldInvalid(name, " ".join(errors))
        # A stage that never started has no deadline: it sorts after every one that has.
        rows = as_list_rows(self.filter.qs).annotate(
            due_at=Coalesce(F(due_field), Value(FAR), output_field=DateTimeField())
        )
        self.due_field = due_field
        self.paginator = TablePagination(SORTS[self.sort])
        drf_request = Request(request)
        try:
            page = self.paginator.paginate_queryset(rows, drf_request)
        except ValidationError as invalid:  # the cursor or page size, named by the paginator
            name, errors = next(iter(invalid.detail.items()))
            raise FieldInvalid(name, " ".join(str(e) for e in errors)) from None
        self.rows = [_row(case) for case in page]
        self.next = self.paginator.get_next_link()
        self.previous = self.paginator.get_previous_link()


def _row(case) -> dict:
    """A table row's values, from the code books (no join per row)."""
    item = codes.ITEMS.get(case.item_id) or ("", "")
    return {
        "case": case,
        "item_code": item[0],
        "item_name": item[1],
        "grid": codes.GRIDS.code(case.grid_id),
        "street": codes.STREETS.code(case.street_id),
        "department": codes.DEPARTMENTS.code(case.department_id),
        "due": case.due_at if case.due_at.year < 9999 else None,
    }


def queue_nav(user, workbench: str, current: str | None = None) -> list[dict]:
    """The workbench's queues with their counts, for the side navigation."""
    keys = WORKBENCH_QUEUES[workbench]
    counts = queue_counts(user, keys)
    return [
        {
            "key": key,
            "label": QUEUES[key].label,
            "count": counts[key],
            "alarm": QUEUES[key].alarm,
            "current": key == current,
        }
        for key in keys
    ]


urlpatterns = [
    path("", landing, name="desk"),
]
