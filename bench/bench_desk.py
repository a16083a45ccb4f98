"""The workbench pages at scale: server time and SQL queries of every page a dispatcher, a
department, a supervisor and an inspector open, each beside a bare view measured in the same
run on the same session.

The database is filled up to ``GRIDCITY_BENCH_CASES`` demo cases as the cases bench fills it
(``bench_cases.cases_fill``: 1,000,000 on PostgreSQL, 50,000 on SpatiaLite). Each page is
requested in-process through Django's test client with the persona's session (every
middleware, the view, the template, gzip as a browser asks for it; no network), warmed once,
counted once (``CaptureQueriesContext``), then timed ``GRIDCITY_BENCH_DESK_ROUNDS`` times
interleaved with the bare view, so a busy spell of the machine falls on both alike.

The bare view is the floor of a signed-in page: the session's user, one ``Case`` row by
primary key, a JsonResponse. Target, from the issue: every page under 200 ms server time on
PostGIS with at least 1 M cases, and a list in a fixed number of queries. A page that is not
(yet) in the tree is reported as missing.
"""

import logging
import math
import os
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.http import JsonResponse
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, include, path, reverse

from accounts.models import User
from bench.bench_cases import _settle, _typical_inspector, cases_fill
from cases.demo import DEMO_DISTRICT
from cases.models import Case, Status
from cases.selectors import LIST_FIELDS, RUNNING, WORKBENCH_QUEUES, cases_visible_to
from gridcity.models import District, Street

POSTGRES = connection.vendor == "postgresql"
ROUNDS = int(os.environ.get("GRIDCITY_BENCH_DESK_ROUNDS", 15))
TARGET_MS = 200
# GRIDCITY_BENCH_DESK_EXPLAIN=<ms>: print the plans of the queries slower than that (PostgreSQL).
EXPLAIN_MS = (
    float(os.environ["GRIDCITY_BENCH_DESK_EXPLAIN"])
    if POSTGRES and os.environ.get("GRIDCITY_BENCH_DESK_EXPLAIN")
    else None
)
PROJECT_URLCONF = settings.ROOT_URLCONF
# What a browser sends: the pages are measured with their compression, as served.
BROWSER = {"HTTP_ACCEPT_ENCODING": "gzip, deflate", "HTTP_ACCEPT_LANGUAGE": "zh-Hans"}
BARE_FIELDS = [f for f in LIST_FIELDS if f != "point"]


def bare_case(request):
    """The floor: the session's user (as every page reads it), one case row by primary key, a
    JsonResponse. No selector, no rule, no template."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "not signed in"}, status=401)
    row = Case.objects.filter(pk=request.GET["pk"]).values(*BARE_FIELDS).first()
    return JsonResponse({"case": row})


urlpatterns = [
    path("bench/bare-case/", bare_case),
    path("", include(PROJECT_URLCONF)),
]


# --- what is measured ------------------------------------------------------------------------


@dataclass
class Page:
    persona: str
    label: str
    name: str  # URL name
    args: tuple = ()
    query: str = ""


@dataclass
class Result:
    page: Page
    status: str = "ok"
    times: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    queries: int = 0
    bare_queries: int = 0

    def row(self) -> str:
        who = f"{self.page.persona} {self.page.label}"
        if self.status != "ok":
            return f"| {who} | | | | | | | {self.status} |"
        median, p95 = statistics.median(self.times), _p95(self.times)
        bare = statistics.median(self.bare)
        if median < TARGET_MS:
            verdict = "OK"
        elif min(self.times) < TARGET_MS:
            verdict = f"OK at best ({min(self.times):.0f} ms), not the median"
        else:
            verdict = f"SLOW (≥ {TARGET_MS} ms)"
        return (
            f"| {who} | {median:.1f} | {p95:.1f} | {min(self.times):.1f} | {self.queries} | "
            f"{bare:.1f} ({self.bare_queries}) | {median / bare:.1f} | {verdict} |"
        )


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _url(page: Page) -> str:
    url = reverse(page.name, args=page.args)
    return f"{url}?{page.query}" if page.query else url


def _get(client: Client, url: str) -> tuple[int, float]:
    started = time.perf_counter()
    response = client.get(url, **BROWSER)
    took = (time.perf_counter() - started) * 1e3
    return response.status_code, took


def measure(client: Client, page: Page, bare_url: str) -> Result:
    """Warm, count the queries, then time the page and the bare view by turns."""
    result = Result(page)
    try:
        url = _url(page)
    except NoReverseMatch:
        result.status = "missing (no URL)"
        return result
    try:
        status, _took = _get(client, url)  # warm: code books, templates, plans
        if status != 200:
            result.status = "missing (404)" if status == 404 else f"answered {status}"
            return result
        _get(client, bare_url)
        # The code books' freshness check (a query per book a second, not per request) is
        # left out of the count: on a loaded machine it fell into some pages and not others.
        with override_settings(GRIDCITY_CODEBOOK_CHECK_SECONDS=3600):
            with CaptureQueriesContext(connection) as page_queries:
                _get(client, url)
            with CaptureQueriesContext(connection) as bare_queries:
                _get(client, bare_url)
        result.queries, result.bare_queries = len(page_queries), len(bare_queries)
        if EXPLAIN_MS is not None:
            explain(page, page_queries.captured_queries)
        for _ in range(ROUNDS):
            result.times.append(_get(client, url)[1])
            result.bare.append(_get(client, bare_url)[1])
    except Exception as failed:  # a page under construction elsewhere may fail
        print(f"{page.persona} {url}: {failed!r}", file=sys.stderr)
        result.status = f"error ({type(failed).__name__})"
    return result


def explain(page: Page, queries: list[dict]) -> None:
    """The plan of each of the page's queries slower than ``EXPLAIN_MS``, run again under
    ``EXPLAIN (ANALYZE, BUFFERS)``, on stderr: where an index is missing."""
    slow = [q for q in queries if float(q["time"]) * 1e3 >= EXPLAIN_MS]
    for query in slow:
        print(
            f"\n--- {page.persona} {page.label}: {float(query['time']) * 1e3:.1f} ms",
            file=sys.stderr,
        )
        print(query["sql"], file=sys.stderr)
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
            print("\n".join(row[0] for row in cursor.fetchall()), file=sys.stderr)


# --- who, and which pages ------------------------------------------------------------------


def _busiest(cases, key: str):
    """The value of ``key`` with the most open cases (the heaviest queues of its kind)."""
    return (
        cases.filter(status__in=RUNNING)
        .exclude(**{f"{key}__isnull": True})
        .values_list(key)
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list(key, flat=True)
        .first()
    )


def _case_of(user: User) -> Case:
    """A case the person may open with a long history: reworked and back in hand, or else the
    newest open one."""
    visible = cases_visible_to(user).order_by("-created_at")
    return (
        visible.filter(status__in=[Status.DISPATCHED, Status.HANDLING], rework_count__gt=0).first()
        or visible.filter(status__in=RUNNING).first()
        or visible.first()
    )


def _street_bbox(street: Street) -> str:
    return ",".join(f"{v:.6f}" for v in street.geom.extent)


def _address_words(case: Case) -> tuple[str, str]:
    """Two words of the case's address: its community's name, which thousands of cases share,
    and its place (a lane, a market), which a few dozen do."""
    community = case.community.name
    place = case.address.split(community, 1)[-1].removesuffix("附近")
    return community, place


def personas(district: District) -> dict[str, User]:
    cases = Case.objects.filter(district=district)
    department_id = _busiest(cases, "department_id")
    street_id = _busiest(cases, "street_id")
    return {
        "dispatcher": User.objects.get(username="dispatcher"),
        "department": User.objects.filter(department_id=department_id, role="staff")
        .order_by("username")
        .first(),
        "supervisor": User.objects.get(role="supervisor", street_id=street_id),
        "inspector": _typical_inspector(district),
    }


def pages_of(people: dict[str, User]) -> list[Page]:
    supervisor = people["supervisor"]
    street = Street.objects.get(pk=supervisor.street_id)
    bbox = f"bbox={_street_bbox(street)}"
    case = _case_of(people["dispatcher"])
    common, rare = _address_words(case)
    pages = [
        Page("dispatcher", f"queue {q}", "desk-queue", ("dispatch", q)) for q in _q("dispatch")
    ]
    pages += [
        Page("dispatcher", "counts", "desk-counts", ("dispatch",)),
        Page("dispatcher", "search by number", "desk-search", query=urlencode({"q": case.number})),
        Page("dispatcher", "search by a community", "desk-search", query=urlencode({"q": common})),
        Page("dispatcher", "search by a place", "desk-search", query=urlencode({"q": rare})),
        Page("dispatcher", "case page", "desk-case", (case.number,)),
        Page("dispatcher", "map of a street", "desk-map-cases", query=bbox),
    ]
    pages += [
        Page("department", f"queue {q}", "desk-queue", ("department", q)) for q in _q("department")
    ]
    own = _case_of(people["department"])
    pages += [
        Page("department", "counts", "desk-counts", ("department",)),
        Page("department", "case page", "desk-case", (own.number,)),
        Page("supervisor", "street's day", "desk-supervise"),
        # The street's inspectors and their patrol today: loaded by the page after it.
        Page("supervisor", "street's inspectors", "desk-supervise", query="partial=1"),
    ]
    pages += [
        Page("supervisor", f"queue {q}", "desk-queue", ("supervise", q)) for q in _q("supervise")
    ]
    pages += [
        Page("supervisor", "counts", "desk-counts", ("supervise",)),
        Page("supervisor", "map of the street", "desk-map-cases", query=bbox),
        Page("inspector", "phone page /m/", "mobile-home"),
    ]
    return pages


def _q(workbench: str) -> list[str]:
    return WORKBENCH_QUEUES[workbench]


def _only(pages: list[Page]) -> list[Page]:
    """GRIDCITY_BENCH_DESK_ONLY=<words>: the pages whose persona and label hold one of them."""
    words = os.environ.get("GRIDCITY_BENCH_DESK_ONLY", "").split(",")
    return [p for p in pages if any(w.strip() in f"{p.persona} {p.label}" for w in words)]


# --- the run -------------------------------------------------------------------------------

HEADER = [
    "| page | server ms (median) | p95 | best | queries | bare view ms (queries) | ratio "
    "| verdict |",
    "|---|---|---|---|---|---|---|---|",
]


def _clients(people: dict[str, User]) -> dict[str, Client]:
    clients = {}
    for persona, user in people.items():
        clients[persona] = Client()
        clients[persona].force_login(user)
    return clients


@contextmanager
def _quiet(*names: str):
    """The log lines of each log-in and each missing page would drown the table."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _describe(people: dict[str, User], total: int) -> None:
    backend = "PostGIS" if POSTGRES else "SpatiaLite"
    print(f"desk bench on {backend} with {total:,} cases in the database", file=sys.stderr)
    for persona, user in people.items():
        seen = cases_visible_to(user).filter(status__in=RUNNING).count()
        print(f"  {persona}: {user.username}, {seen:,} open cases in scope", file=sys.stderr)


def run():
    district = District.objects.get(code=DEMO_DISTRICT)
    total = cases_fill(district)
    _settle()
    people = personas(district)
    _describe(people, total)
    pages = _only(pages_of(people))
    bare_pk = Case.objects.filter(district=district).order_by("pk").values_list("pk", flat=True)[0]
    bare_url = f"/bench/bare-case/?pk={bare_pk}"
    # DEBUG off as in production: no query log on every cursor, no template debug data.
    with override_settings(ROOT_URLCONF=__name__, DEBUG=False), _quiet("axes", "django.request"):
        clients = _clients(people)
        results = [measure(clients[p.persona], p, bare_url) for p in pages]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    yield f"desk pages ({total:,} cases, {ROUNDS} rounds each, times in ms; load average {load})"
    yield from HEADER
    for result in results:
        yield result.row()
    measured = [r for r in results if r.status == "ok"]
    slow = [r for r in measured if statistics.median(r.times) >= TARGET_MS]
    missing = len(results) - len(measured)
    yield (
        f"desk: {len(measured)} pages measured, {len(measured) - len(slow)} under {TARGET_MS} ms"
        f" (median), {missing} missing or failing"
    )
