"""The public side at scale: server time and SQL queries of what a citizen opens (near me, a
case's public page, the private link, the report form's helpers) and of the hotline console
(the intake with a caller who has history, its panels, the callback queue, the operator's
day), each beside a bare view measured in the same run; then the citizen's report POST beside
the inspector's, in writes per second.

The database is filled up to ``GRIDCITY_BENCH_CASES`` demo cases as the cases bench fills it
(1,000,000 on PostgreSQL, 50,000 on SpatiaLite). The demo history has no followers and no
callbacks, so the bench adds them once (``portal_fill``, idempotent, bulk writes): a reporter
with a phone and a private link on ``GRIDCITY_BENCH_PORTAL_FOLLOWED`` (3,000) of the newest
public citizen and hotline cases, the same phone given on the case; one caller
(``CALLER``) who called about ``CALLER_CASES`` of them; ``GRIDCITY_BENCH_PORTAL_CALLBACKS``
(2,000) of the closed ones waiting for their callback (回访) two days after closing, as
closing them through the services would have set; and the hotline's demo (knowledge base, four
calls of the operator) if it is not there.

Pages are measured as the desk bench measures them (``bench_desk.measure``: in-process through
Django's test client, warmed once, queries counted once, then timed
``GRIDCITY_BENCH_DESK_ROUNDS`` times interleaved with the bare view). The bare view here is
the floor of any page, signed in or not: the session's user, one ``Case`` row by primary key,
a JsonResponse. Target: every page under 200 ms server time on PostGIS with 1 M cases, a list
in a fixed number of queries.

The reports are anonymous JSON (no photo) to ``POST /api/v1/public/reports/`` with the abuse
limits lifted for the run (the bench is one address), beside an inspector's ``POST
/api/v1/cases/`` with a device token; what they write is removed again.
"""

import json
import os
import secrets
import statistics
import sys
import uuid
from datetime import timedelta
from itertools import cycle
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Exists, F, OuterRef
from django.http import JsonResponse
from django.test import Client, override_settings
from django.urls import include, path, reverse
from django.utils import timezone
from knox.models import get_token_model

from accounts import policy
from accounts.models import User
from bench.bench_cases import (
    _counter_restore,
    _settle,
    _typical_inspector,
    cases_fill,
)
from bench.bench_desk import (
    BARE_FIELDS,
    HEADER,
    POSTGRES,
    PROJECT_URLCONF,
    ROUNDS,
    TARGET_MS,
    Page,
    _busiest,
    _only,
    _quiet,
    _street_bbox,
    measure,
)
from bench.common import best_of_interleaved, line
from cases.demo import DEMO_DISTRICT
from cases.models import (
    Case,
    CaseFollower,
    CaseNumberCounter,
    FollowerChannel,
    FollowerRole,
    Item,
    Source,
    Status,
)
from cases.selectors import RUNNING, _box_around
from gridcity.models import District, Street
from portal.demo import hotline_demo_present, hotline_demo_seed

FOLLOWED = int(os.environ.get("GRIDCITY_BENCH_PORTAL_FOLLOWED", 3_000))
CALLBACKS = int(os.environ.get("GRIDCITY_BENCH_PORTAL_CALLBACKS", 2_000))
REPORTS = int(os.environ.get("GRIDCITY_BENCH_PORTAL_REPORTS", 50))
# The bench's phones: 188 0000 xxxx for the reporters, one caller with history.
PHONE_PREFIX = "1880000"
CALLER = "13900000000"
CALLER_CASES = 20


def bare_case(request):
    """The floor: the session's user (as every page reads it, anonymous or not), one case row
    by primary key, a JsonResponse. No selector, no rule, no template."""
    request.user.is_authenticated  # noqa: B018 - the session and its user, as a page reads them
    row = Case.objects.filter(pk=request.GET["pk"]).values(*BARE_FIELDS).first()
    return JsonResponse({"case": row})


urlpatterns = [
    path("bench/bare-case/", bare_case),
    path("", include(PROJECT_URLCONF)),
]


# --- what the demo history lacks ---------------------------------------------------------------


def _public_citizen_cases(district: District):
    return Case.objects.filter(
        policy.public_cases(), district=district, source__in=[Source.CITIZEN, Source.HOTLINE]
    )


def portal_fill(district: District) -> dict[str, int]:
    """Followers with phones, a caller with history and callbacks due, once (see the module's
    docstring); later runs find them by the bench's phone prefix."""
    made = {"followers": 0, "callbacks": 0, "hotline demo": 0}
    if not hotline_demo_present():
        made["hotline demo"] = hotline_demo_seed(district).get("calls", 0)
    have = CaseFollower.objects.filter(phone__startswith=PHONE_PREFIX).count()
    if have >= FOLLOWED:
        return made
    pks = list(
        _public_citizen_cases(district)
        .exclude(Exists(CaseFollower.objects.filter(case=OuterRef("pk"))))
        .order_by("-created_at")
        .values_list("pk", flat=True)[: FOLLOWED - have]
    )
    phones = {pk: f"{PHONE_PREFIX}{have + i:04d}" for i, pk in enumerate(pks)}
    rows = [
        CaseFollower(
            case_id=pk,
            role=FollowerRole.REPORTER,
            via=FollowerChannel.PORTAL,
            phone=phone,
            token=secrets.token_urlsafe(32),
        )
        for pk, phone in phones.items()
    ]
    # The caller with history: a repeat caller (并单) on some of them, spread over the weeks.
    rows += [
        CaseFollower(
            case_id=pk,
            role=FollowerRole.CALLER,
            via=FollowerChannel.HOTLINE,
            phone=CALLER,
            token=secrets.token_urlsafe(32),
        )
        for pk in pks[:: max(1, len(pks) // CALLER_CASES)][:CALLER_CASES]
    ]
    CaseFollower.objects.bulk_create(rows, batch_size=1000)
    Case.objects.bulk_update(
        [Case(pk=pk, contact_phone=phone) for pk, phone in phones.items()],
        ["contact_phone"],
        batch_size=500,
    )
    # 回访 due two days after closing (the working days are near enough for a queue).
    closed = Case.objects.filter(
        pk__in=pks, status=Status.CLOSED, resolution__in=["resolved", "answered"]
    ).values_list("pk", flat=True)[:CALLBACKS]
    made["callbacks"] = Case.objects.filter(pk__in=list(closed)).update(
        callback_due=F("closed_at") + timedelta(days=2), callback_done_at=None
    )
    made["followers"] = len(rows)
    return made


# --- who, and which pages ------------------------------------------------------------------


def _case_page_case(district: District) -> Case:
    """A public case with a long history: reworked, with a follower of the bench."""
    followed = _public_citizen_cases(district).filter(followers__phone__startswith=PHONE_PREFIX)
    return (
        followed.filter(rework_count__gt=0).order_by("-created_at").first()
        or followed.order_by("-created_at").first()
    )


def _open_public(district: District) -> Case:
    """The newest open public case of an item citizens may report: where a citizen stands
    when "this is mine too" is offered, and a caller when the hotline looks for 并单."""
    return (
        Case.objects.filter(
            policy.public_cases(),
            district=district,
            status__in=RUNNING,
            item__citizen_reportable=True,
        )
        .select_related("item")
        .order_by("-created_at")
        .first()
    )


def pages_of(district: District) -> list[Page]:
    cases = Case.objects.filter(district=district)
    street = Street.objects.get(pk=_busiest(cases, "street_id"))
    case = _case_page_case(district)
    closed = (
        CaseFollower.objects.filter(
            phone__startswith=PHONE_PREFIX, role=FollowerRole.REPORTER, case__status=Status.CLOSED
        )
        .order_by("-case__created_at")
        .first()
    )
    where = _open_public(district)
    small = ",".join(f"{v:.6f}" for v in _box_around(where.point, 250).extent)
    spot = {"item": where.item.code, "lon": where.point.x, "lat": where.point.y}
    caller = {"phone": CALLER}
    near = "public-near"
    return [
        Page(
            "anonymous", "near me, busiest street's box", near, query=f"bbox={_street_bbox(street)}"
        ),
        Page("anonymous", "near me, 500 m box", near, query=f"bbox={small}"),
        Page("anonymous", "portal home", "portal-home"),
        Page("anonymous", "public case page", "portal-case", (case.number,)),
        Page("anonymous", "private link page", "portal-track", (closed.token,)),
        Page("anonymous", "similar nearby", "public-similar", query=urlencode(spot)),
        Page("anonymous", "item search", "public-items", query=urlencode({"q": "垃圾"})),
        Page(
            "hotline",
            "console, caller with history",
            "hotline-console",
            query=urlencode({**caller, **spot}),
        ),
        Page(
            "hotline",
            "panel callers",
            "hotline-panel",
            query=urlencode({"part": "callers", **caller}),
        ),
        Page(
            "hotline", "panel nearby", "hotline-panel", query=urlencode({"part": "nearby", **spot})
        ),
        Page(
            "hotline",
            "panel knowledge",
            "hotline-panel",
            query=urlencode({"part": "knowledge", "q": "井盖"}),
        ),
        Page("hotline", "callback queue", "hotline-callbacks"),
        Page("hotline", "operator's day", "hotline-day"),
    ]


# --- the reports -------------------------------------------------------------------------------

# The bench is one client address: the abuse limits would refuse it after ten reports.
NO_LIMITS = {
    "GRIDCITY_REPORTS_PER_ADDRESS_HOUR": 0,
    "GRIDCITY_REPORTS_PER_PHONE_DAY": 0,
    "GRIDCITY_CAPTCHA_AFTER": 10**9,
}


def measure_reports(district: District):
    """Anonymous citizens' reports against an inspector's, through the APIs, interleaved."""
    inspector = _typical_inspector(district)
    where = cycle(
        Case.objects.filter(grid__assignments__inspector=inspector)
        .order_by("-created_at")
        .values_list("point", flat=True)[:50]
    )
    item = Item.objects.get(name="暴露垃圾")
    public_url, inspector_url = reverse("public-reports"), reverse("case-list")
    citizen, handheld = Client(), Client()
    instance, token = get_token_model().objects.create(user=inspector, expiry=None)
    auth = {"HTTP_AUTHORIZATION": f"Token {token}", "HTTP_X_FORWARDED_PROTO": "https"}
    today = f"{district.code}-{timezone.localdate():%Y%m%d}"
    last = CaseNumberCounter.objects.filter(prefix=today).values_list("last", flat=True).first()
    made: list[str] = []
    failures: list[str] = []

    def post(client, url, extra, **body):
        point = next(where)
        body = {"client_uuid": str(uuid.uuid4()), "item": item.code, **body}
        body.update(lon=point.x, lat=point.y)
        response = client.post(url, json.dumps(body), content_type="application/json", **extra)
        if response.status_code != 201:
            failures.append(f"{url} {response.status_code} {response.content[:200]!r}")
            return
        made.append(response.json()["number"])

    def ours():
        for _ in range(REPORTS):
            post(citizen, public_url, {}, description="路边有暴露垃圾，好几天没人清理")

    def inspectors():
        for _ in range(REPORTS):
            post(handheld, inspector_url, auth, description="暴露垃圾")

    try:
        with override_settings(**NO_LIMITS), _quiet("gridcity.notify", "django.request"):
            ours(), inspectors()  # warm
            ours_s, theirs_s = best_of_interleaved([ours, inspectors], repeat=3)
    finally:
        instance.delete()
        Case.objects.filter(number__in=made).delete()
        _counter_restore(today, last)
    if failures:
        print(f"report failures ({len(failures)}): {failures[0]}", file=sys.stderr)
    ours_rate, theirs_rate = REPORTS / ours_s, REPORTS / theirs_s
    yield line(
        "public report POST /api/v1/public/reports/ (anonymous, JSON, no photo)",
        f"{ours_rate:,.0f} reports/s",
        f"inspector's POST /api/v1/cases/ {theirs_rate:,.0f}/s",
        ours_rate / theirs_rate,
        f"{len(failures)} refused" if failures else "",
    )


# --- the run -------------------------------------------------------------------------------


def run():
    district = District.objects.get(code=DEMO_DISTRICT)
    total = cases_fill(district)
    made = portal_fill(district)
    _settle()
    if POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE cases_casefollower")
    backend = "PostGIS" if POSTGRES else "SpatiaLite"
    followers = CaseFollower.objects.filter(phone__startswith=PHONE_PREFIX).count()
    due = Case.objects.filter(callback_due__isnull=False, callback_done_at__isnull=True).count()
    print(
        f"portal bench on {backend} with {total:,} cases; added now: {made}; "
        f"{followers:,} bench followers, {due:,} callbacks due",
        file=sys.stderr,
    )
    pages = _only(pages_of(district))
    bare_pk = Case.objects.filter(district=district).order_by("pk").values_list("pk", flat=True)[0]
    bare_url = f"/bench/bare-case/?pk={bare_pk}"
    clients = {"anonymous": Client(), "hotline": Client()}
    with override_settings(ROOT_URLCONF=__name__, DEBUG=False), _quiet("axes", "django.request"):
        clients["hotline"].force_login(User.objects.get(username="hotline"))
        results = [measure(clients[p.persona], p, bare_url) for p in pages]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    yield f"portal pages ({total:,} cases, {ROUNDS} rounds each, times in ms; load average {load})"
    yield from HEADER
    for result in results:
        yield result.row()
    measured = [r for r in results if r.status == "ok"]
    slow = [r for r in measured if statistics.median(r.times) >= TARGET_MS]
    yield (
        f"portal: {len(measured)} pages measured, {len(measured) - len(slow)} under {TARGET_MS} ms"
        f" (median), {len(results) - len(measured)} missing or failing"
    )
    with override_settings(ROOT_URLCONF=__name__, DEBUG=False):
        yield from measure_reports(district)
    _settle()
