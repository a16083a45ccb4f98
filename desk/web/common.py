"""What every workbench page shares: who may open it, where a person lands, the case table.

A page is a view over the cases' selectors and services: it asks ``accounts.policy`` who may
open it, ``cases.selectors`` what to list, and never decides a rule itself.
"""

from datetime import UTC, datetime, timedelta
from functools import wraps
from urllib.parse import parse_qsl, urlencode, urlsplit

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.db.models import DateTimeField, F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from accounts import policy
from cases import codes
from cases.models import Source
from cases.selectors import (
    QUEUES,
    WORKBENCH_QUEUES,
    as_list_rows,
    grids_matching,
    items_matching,
    queue_counts,
)
from gridcity.api.pagination import CursorPagination
from gridcity.errors import FieldInvalid
from gridcity.pages import page_for


def workbench_required(workbench: str):
    """The page belongs to ``workbench``: anonymous people are sent to log in, people of
    another workbench get the 403 page (the policy's ``may_use_workbench``)."""

    def decorate(view):
        @wraps(view)
        def marked(request, *args, **kwargs):
            request.workbench = workbench
            return view(request, *args, **kwargs)

        return page_for(lambda user: policy.may_use_workbench(user, workbench))(marked)

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
    if workbench == "hotline":
        return reverse("hotline-console")
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
# A column header's sort: the first click sorts it the way a queue is worked, the next reverses.
COLUMN_SORTS = {"age": ("oldest", "newest"), "due": ("due", "-due")}
FAR = datetime(9999, 1, 1, tzinfo=UTC)
DEFAULT_SORT = "oldest"  # a queue is worked from the case that waited longest
# Query parameters that say where in a list one is, not what the list is.
PLACE_PARAMS = ("cursor", "partial")


class TablePagination(CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def __init__(self, ordering):
        self.ordering = ordering


class TableFilters(forms.Form):
    """A case table's filters. Codes and names are resolved to ids first (the code books, the
    grid table), so the case query filters its own indexed columns and joins nothing.

    ``item``: an item's code or name (a part of a name matches every item holding it);
    ``street``: a street's code; ``grid``: a work grid's code or name; ``source``; ``age``:
    waiting more than this many hours; ``due_before``: the queue's deadline before this time
    (a date alone means its midnight, Asia/Shanghai)."""

    item = forms.CharField(required=False, max_length=100)
    street = forms.CharField(required=False, max_length=32)
    grid = forms.CharField(required=False, max_length=100)
    source = forms.ChoiceField(required=False, choices=[("", ""), *Source.choices])
    age = forms.IntegerField(required=False, min_value=0, max_value=24 * 3660)
    due_before = forms.DateTimeField(required=False)

    def clean_item(self) -> list[int] | None:
        return self._resolved("item", items_matching, _("No item has this code or name."))

    def clean_grid(self) -> list[int] | None:
        return self._resolved("grid", grids_matching, _("No work grid has this code or name."))

    def clean_street(self) -> list[int] | None:
        def by_code(code):
            return [pk for pk, row in codes.STREETS.rows().items() if row[0] == code]

        return self._resolved("street", by_code, _("No street has this code."))

    def _resolved(self, name: str, resolve, missing: str) -> list[int] | None:
        text = self.cleaned_data[name].strip()
        if not text:
            return None
        ids = resolve(text)
        if not ids:
            raise forms.ValidationError(missing)
        return ids

    @property
    def form(self):  # the template reads ``table.filter.form`` as with a FilterSet
        return self

    def apply(self, cases: QuerySet, *, due_field: str, now: datetime) -> QuerySet:
        data = self.cleaned_data
        for name, column in (("item", "item_id"), ("street", "street_id"), ("grid", "grid_id")):
            if data[name]:
                cases = cases.filter(**{f"{column}__in": data[name]})
        if data["source"]:
            cases = cases.filter(source=data["source"])
        if data["age"] is not None:
            cases = cases.filter(created_at__lt=now - timedelta(hours=data["age"]))
        if data["due_before"] is not None:
            cases = cases.filter(**{f"{due_field}__lt": data["due_before"]})
        return cases

    def refusal(self) -> FieldInvalid:
        name, errors = next(iter(self.errors.items()))
        return FieldInvalid(name, " ".join(errors))


def _local(link: str | None) -> str | None:
    """A pager link as the page shows it: path and query, without ``partial``."""
    if not link:
        return None
    parts = urlsplit(link)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "partial"]
    return f"{parts.path}?{urlencode(query)}"


class Table:
    """One page of a queue: rows, cursor links, the filters and sort that made it.

    ``origin`` (``"<workbench>:<queue>"``) goes into each case link as ``?from=`` with the
    table's filters and sort, so the case page can offer the next case of the same list."""

    def __init__(
        self,
        request,
        cases,
        *,
        due_field: str,
        default_sort: str = DEFAULT_SORT,
        origin: str | None = None,
    ):
        self.request = request
        self.sort = request.GET.get("sort") or default_sort
        if self.sort not in SORTS:
            raise FieldInvalid("sort", _("One of: %s.") % ", ".join(SORTS))
        self.filter = TableFilters(request.GET)
        if not self.filter.is_valid():
            raise self.filter.refusal()
        cases = self.filter.apply(cases, due_field=due_field, now=timezone.now())
        # A stage that never started has no deadline: it sorts after every one that has.
        rows = as_list_rows(cases).annotate(
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
        self.next = _local(self.paginator.get_next_link())
        self.previous = _local(self.paginator.get_previous_link())
        self.state = [(k, v) for k, v in request.GET.items() if k not in PLACE_PARAMS and v]
        self.case_query = urlencode(([("from", origin)] if origin else []) + self.state, safe=":")

    def column_sort(self, column: str) -> dict:
        """A sortable header: its link (the other direction when it is the current sort, the
        cursor dropped) and its ``aria-sort``."""
        first, second = COLUMN_SORTS[column]
        current = self.sort if self.sort in (first, second) else None
        target = second if current == first else first
        query = [(k, v) for k, v in self.state if k != "sort"] + [("sort", target)]
        # "oldest" lists the longest wait first: the Waiting column descending.
        direction = {"oldest": "descending", "newest": "ascending"}.get(current or "", "")
        if column == "due" and current:
            direction = "ascending" if current == "due" else "descending"
        return {"url": f"{self.request.path}?{urlencode(query)}", "aria": direction or "none"}

    @property
    def sort_age(self) -> dict:
        return self.column_sort("age")

    @property
    def sort_due(self) -> dict:
        return self.column_sort("due")


def _row(case) -> dict:
    """A table row's values, from the code books (no join per row)."""
    item = codes.ITEMS.get(case.item_id) or ("", "")
    due_at = getattr(case, "due_at", None)
    return {
        "case": case,
        "item_code": item[0],
        "item_name": item[1],
        "grid": codes.GRIDS.code(case.grid_id),
        "street": codes.STREETS.code(case.street_id),
        "department": codes.DEPARTMENTS.code(case.department_id),
        "due": due_at if due_at is not None and due_at.year < 9999 else None,
    }


def rows_of(cases) -> list[dict]:
    """Table rows of cases read elsewhere (a search's)."""
    return [_row(case) for case in cases]


def queue_nav(
    user, workbench: str, current: str | None = None, *, visible=None, counted=None
) -> list[dict]:
    """The workbench's queues with their counts, for the side navigation (``visible``: the
    cases the person sees, when the page has read their scope already; ``counted``: the
    counts of queues the page has counted already)."""
    keys = WORKBENCH_QUEUES[workbench]
    counts = queue_counts(user, keys, visible=visible, counted=counted)
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
