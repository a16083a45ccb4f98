"""Who may call which API endpoint: persona × endpoint × method → status.

Every API endpoint must appear in MATRIX: ``test_every_api_endpoint_is_in_the_matrix`` walks
the URL resolver and fails on any endpoint the table does not cover, so a new endpoint cannot
land without saying who may use it. 404 means "exists, but not for you to see".
"""

import pytest
from captcha.models import CaptchaStore
from django.urls import URLPattern, URLResolver, get_resolver, reverse

PERSONAS = [
    "anonymous",
    "citizen",
    "inspector_a",
    "inspector_b",
    "staff",
    "dispatcher",
    "supervisor",
    "other_supervisor",
    "admin",
]
EVERYONE = dict.fromkeys(PERSONAS, 200)
SIGNED_IN = {**dict.fromkeys(PERSONAS, 200), "anonymous": 401}
PATROL_STAFF = {
    **SIGNED_IN,
    "citizen": 403,
}


def handheld_of(user) -> int:
    from accounts.auth import token_issue

    return token_issue(user=user, device_id="matrix-handheld").device.pk


def case_at(p, state: str) -> str:
    """A case in grid A (street A) brought to ``state`` by the people who do each step."""
    from cases import services
    from cases.models import CaseClass, Category, Item, Ownership

    item = Item.objects.filter(code="0101").first() or Item.objects.create(
        category=Category.objects.create(code="01", case_class=CaseClass.COMPONENT, name="设施"),
        code="0101",
        name="井盖",
        department=p.department,
        ownership=Ownership.OWNER,
    )
    centre = p.grid_a.geom.point_on_surface
    # 核实 is asked of what a citizen reported, not of what an inspector saw on site.
    citizens = ("citizen-reported", "confirming", "consultation", "held", "citizen-closed")
    reporter = p.citizen if state in citizens else p.inspector_a
    case = services.case_report(
        by=reporter,
        item=item,
        lon=centre.x,
        lat=centre.y,
        request_type="consultation" if state == "consultation" else "",
        held=state == "held",
    ).case
    path = {
        "reported": [],
        "citizen-reported": [],
        "confirming": ["confirm_request"],
        "filed": ["file"],
        "dispatched": ["file", "dispatch"],
        "returned": ["file", "dispatch", "return"],
        "handling": ["file", "dispatch", "accept"],
        "extension": ["file", "dispatch", "accept", "extend"],
        "suspension-asked": ["file", "dispatch", "accept", "suspend_request"],
        "handled": ["file", "dispatch", "accept", "handle"],
        "verifying": ["file", "dispatch", "accept", "handle", "request_verify"],
        "suspended": ["file", "dispatch", "suspend"],
        "closed": ["file", "dispatch", "accept", "handle", "close"],
        # The public side: a consultation to answer at once, a held report, a citizen's
        # closed case waiting for its callback (回访).
        "consultation": [],
        "held": [],
        "citizen-closed": ["file", "dispatch", "accept", "handle", "close"],
    }[state]
    for step in path:
        department = ("accept", "handle", "return", "extend", "suspend_request")
        by = p.staff if step in department else p.dispatcher
        noted = ("handle", "return", "suspend", "suspend_request")
        kwargs = {"note": "matrix"} if step in noted else {}
        if step == "extend":
            kwargs = {"amount": 1, "unit": "work_days", "note": "matrix"}
        case = getattr(services, f"case_{step}")(case=case, by=by, **kwargs)
    return case.number


def numbered(state: str):
    return lambda p: {"number": case_at(p, state)}


def notification_of(user) -> int:
    from cases.models import Notification

    return Notification.objects.create(user=user, kind="verify", message="matrix").pk


# Who sees a case in grid A before and after it reaches the department, and who may act on it.
CASE_SEERS = ["inspector_a", "dispatcher", "supervisor", "admin"]
CASE_SEERS_DISPATCHED = [*CASE_SEERS, "staff"]


def acting(allowed, seers=CASE_SEERS_DISPATCHED, ok=200):
    """Allowed personas get ``ok``, other personas who see the case 403, the rest 404."""
    return {
        persona: 401
        if persona == "anonymous"
        else ok
        if persona in allowed
        else 403
        if persona in seers
        else 404
        for persona in PERSONAS
    }


def shift_of(user) -> dict:
    """A shift of ``user`` (inspector A): open, no fixes yet."""
    import uuid

    from patrol.services import shift_start

    return {"pk": shift_start(inspector=user, client_uuid=uuid.uuid4()).pk}


# An inspector's own tracks, their street's supervisor, administrators: nobody else's.
SHIFT_SEERS = ["inspector_a", "supervisor", "admin"]
INSPECTORS_ONLY = {
    **dict.fromkeys(PERSONAS, 403),
    "anonymous": 401,
    "inspector_a": 200,
    "inspector_b": 200,
}

# The public side's personas, beside the others on the hotline's steps: a hotline operator,
# and a citizen who signs in with a device token (the portal's app) instead of a session.
PUBLIC_PERSONAS = [*PERSONAS, "hotline", "citizen_token"]


def acting_public(allowed, seers, ok=200):
    """As ``acting``, over the public side's personas too: a citizen with a token is answered
    as one with a session, and an anonymous visitor is a 401."""
    row = {
        persona: 401
        if persona == "anonymous"
        else ok
        if persona in allowed
        else 403
        if persona in seers
        else 404
        for persona in PUBLIC_PERSONAS
    }
    row["citizen_token"] = row["citizen"]
    return row


CENTRE = ["dispatcher", "admin"]
DEPARTMENT = ["staff", "admin"]
APPROVERS = ["dispatcher", "supervisor", "admin"]
MODERATORS = ["dispatcher", "hotline", "admin"]  # also 直接办结 and 不满意重办 for a citizen

# url name → (kwargs for reverse, given the people fixture), {method: {persona: status}}
MATRIX = {
    "district-list": (lambda p: {}, {"GET": EVERYONE}),
    "district-detail": (lambda p: {"code": p.grid_a.code[:6]}, {"GET": EVERYONE}),
    "street-list": (lambda p: {}, {"GET": EVERYONE}),
    "street-detail": (lambda p: {"code": p.grid_a.code[:9]}, {"GET": EVERYONE}),
    "community-list": (lambda p: {}, {"GET": EVERYONE}),
    "community-detail": (lambda p: {"code": p.grid_a.code[:12]}, {"GET": EVERYONE}),
    "grid-list": (lambda p: {}, {"GET": EVERYONE}),
    "grid-detail": (lambda p: {"code": p.grid_a.code}, {"GET": EVERYONE}),
    "checkpoint-list": (lambda p: {}, {"GET": PATROL_STAFF}),
    "checkpoint-detail": (lambda p: {"code": f"{p.grid_a.code}001"}, {"GET": PATROL_STAFF}),
    "locate": (lambda p: {}, {"GET": {**EVERYONE}}),
    # Log-in needs a body (400 without one, for everyone); log-out needs a token, not a session.
    "auth-token": (
        lambda p: {},
        {"POST": dict.fromkeys(PERSONAS, 400), "DELETE": dict.fromkeys(PERSONAS, 401)},
    ),
    "me": (lambda p: {}, {"GET": SIGNED_IN}),
    "my-devices": (lambda p: {}, {"GET": SIGNED_IN}),
    # A handheld of inspector A's: only A may sign it out; to anyone else it does not exist.
    "my-device": (
        lambda p: {"pk": handheld_of(p.inspector_a)},
        {"DELETE": {**dict.fromkeys(PERSONAS, 404), "anonymous": 401, "inspector_a": 204}},
    ),
    "categories": (lambda p: {}, {"GET": EVERYONE}),
    "case-list": (
        lambda p: {},
        {
            "GET": SIGNED_IN,
            "POST": {**dict.fromkeys(PERSONAS, 400), "anonymous": 401, "staff": 403},
        },
    ),
    "case-duplicates": (lambda p: {}, {"GET": SIGNED_IN}),
    "case-detail": (numbered("reported"), {"GET": acting(CASE_SEERS, CASE_SEERS)}),
    "case-photos": (numbered("reported"), {"POST": acting(CASE_SEERS, CASE_SEERS, ok=400)}),
    "case-photo-file": (
        lambda p: {"number": case_at(p, "reported"), "pk": 999999, "kind": "display"},
        {"GET": {**dict.fromkeys(PERSONAS, 404), "anonymous": 401}},
    ),
    "case-file": (numbered("reported"), {"POST": acting(CENTRE, CASE_SEERS)}),
    # 核实: the command centre asks, the grid's inspector answers; the case stays reported.
    "case-confirm-request": (
        numbered("citizen-reported"),
        {"POST": acting(CENTRE, [*CASE_SEERS, "citizen"])},
    ),
    "case-confirm": (
        numbered("confirming"),
        {"POST": acting(["inspector_a", "admin"], [*CASE_SEERS, "citizen"])},
    ),
    "case-reject": (numbered("reported"), {"POST": acting(CENTRE, CASE_SEERS)}),
    # The reporter (inspector A) may withdraw an unfiled report.
    "case-cancel": (numbered("reported"), {"POST": acting([*CENTRE, "inspector_a"], CASE_SEERS)}),
    "case-merge": (numbered("reported"), {"POST": acting(CENTRE, CASE_SEERS)}),
    "case-dispatch": (numbered("filed"), {"POST": acting(CENTRE, CASE_SEERS)}),
    "case-redispatch": (numbered("returned"), {"POST": acting(CENTRE)}),
    "case-accept": (numbered("dispatched"), {"POST": acting(DEPARTMENT)}),
    "case-return": (numbered("dispatched"), {"POST": acting(DEPARTMENT)}),
    "case-handle": (numbered("handling"), {"POST": acting(DEPARTMENT)}),
    "case-request-verify": (numbered("handled"), {"POST": acting(CENTRE)}),
    "case-verify": (
        numbered("verifying"),
        {"POST": acting(["inspector_a", "supervisor", "admin"])},
    ),
    "case-close": (numbered("handled"), {"POST": acting(CENTRE)}),
    "case-suspend": (numbered("dispatched"), {"POST": acting(APPROVERS)}),
    "case-resume": (numbered("suspended"), {"POST": acting(APPROVERS)}),
    "case-extend": (numbered("handling"), {"POST": acting(DEPARTMENT)}),
    "case-extend-approve": (numbered("extension"), {"POST": acting(APPROVERS)}),
    "case-extend-deny": (numbered("extension"), {"POST": acting(APPROVERS)}),
    "case-suspend-request": (numbered("handling"), {"POST": acting(DEPARTMENT)}),
    "case-suspend-approve": (numbered("suspension-asked"), {"POST": acting(APPROVERS)}),
    "case-suspend-deny": (numbered("suspension-asked"), {"POST": acting(APPROVERS)}),
    "case-escalate": (numbered("dispatched"), {"POST": acting(APPROVERS)}),
    # Only the reporter (inspector A) rates; an administrator may not speak for them.
    "case-rate": (numbered("closed"), {"POST": acting(["inspector_a"])}),
    # The hotline's steps. A citizen sees the case they reported but takes none of these here
    # (they rate and reopen through their private link on the portal).
    "case-answer": (
        numbered("consultation"),
        {"POST": acting_public(MODERATORS, [*CASE_SEERS, "citizen", "hotline"])},
    ),
    "case-reopen": (
        numbered("citizen-closed"),
        {"POST": acting_public(MODERATORS, [*CASE_SEERS_DISPATCHED, "citizen", "hotline"])},
    ),
    "case-callback": (
        numbered("citizen-closed"),
        {
            "POST": acting_public(
                ["hotline", "admin"], [*CASE_SEERS_DISPATCHED, "citizen", "hotline"]
            )
        },
    ),
    "case-moderate": (
        numbered("citizen-reported"),
        {"POST": acting_public(MODERATORS, [*CASE_SEERS, "citizen", "hotline"])},
    ),
    "case-release": (
        numbered("held"),
        {"POST": acting_public(MODERATORS, [*CASE_SEERS, "citizen", "hotline"])},
    ),
    "my-tasks": (lambda p: {}, {"GET": SIGNED_IN}),
    "my-notifications": (lambda p: {}, {"GET": SIGNED_IN}),
    "my-notifications-read-all": (lambda p: {}, {"POST": SIGNED_IN}),
    "my-notification-read": (
        lambda p: {"pk": notification_of(p.inspector_a)},
        {"POST": {**dict.fromkeys(PERSONAS, 404), "anonymous": 401, "inspector_a": 200}},
    ),
    # Everyone signed in may list; each sees only the shifts they may (none, for most).
    "patrol-shift-list": (
        lambda p: {},
        {"GET": SIGNED_IN, "POST": {**INSPECTORS_ONLY, "inspector_a": 201, "inspector_b": 201}},
    ),
    "patrol-shift-detail": (
        lambda p: shift_of(p.inspector_a),
        {"GET": acting(SHIFT_SEERS, SHIFT_SEERS)},
    ),
    "patrol-shift-points": (
        lambda p: shift_of(p.inspector_a),
        {"GET": acting(SHIFT_SEERS, SHIFT_SEERS)},
    ),
    "patrol-shift-end": (
        lambda p: shift_of(p.inspector_a),
        {"POST": acting(["inspector_a"], SHIFT_SEERS)},
    ),
    # A shift's report is seen as the shift is (this open one's is computed live).
    "patrol-shift-report": (
        lambda p: shift_of(p.inspector_a),
        {"GET": acting(SHIFT_SEERS, SHIFT_SEERS)},
    ),
    # A day's summary: supervisors (their street), administrators, inspectors (their own row).
    "patrol-inspectors": (
        lambda p: {},
        {"GET": {**SIGNED_IN, "citizen": 403, "staff": 403, "dispatcher": 403}},
    ),
    # JSON only: the matrix posts a form, which an inspector gets told (415) and others never.
    "patrol-points": (
        lambda p: {},
        {"POST": {**INSPECTORS_ONLY, "inspector_a": 415, "inspector_b": 415}},
    ),
    # A GPX of one's own track: inspectors only (the matrix sends no file: 400 for them).
    "patrol-gpx-import": (
        lambda p: {},
        {"POST": {**INSPECTORS_ONLY, "inspector_a": 400, "inspector_b": 400}},
    ),
    "patrol-shift-track-gpx": (
        lambda p: shift_of(p.inspector_a),
        {"GET": acting(SHIFT_SEERS, SHIFT_SEERS)},
    ),
    "patrol-shift-track-geojson": (
        lambda p: shift_of(p.inspector_a),
        {"GET": acting(SHIFT_SEERS, SHIFT_SEERS)},
    ),
    # The positioning apps' endpoints: the registered device identifier is the only credential,
    # a session counts for nothing. An unregistered one is a 403 for everyone, signed in or not.
    "osmand": (
        lambda p: {},
        {"GET": dict.fromkeys(PERSONAS, 403), "POST": dict.fromkeys(PERSONAS, 403)},
    ),
    # OwnTracks posts JSON; the matrix's form is none: a 400 for everyone alike.
    "owntracks": (
        lambda p: {},
        {"POST": dict.fromkeys(PERSONAS, 400), "GET": dict.fromkeys(PERSONAS, 405)},
    ),
    # Overland posts JSON with its access token; the matrix sends neither: a 400 alike.
    "overland": (
        lambda p: {},
        {"POST": dict.fromkeys(PERSONAS, 400), "GET": dict.fromkeys(PERSONAS, 405)},
    ),
    # The city's 12345 platform: its device token only; a session counts for nothing (401).
    "hotline-tickets": (lambda p: {}, {"POST": dict.fromkeys(PERSONAS, 401)}),
    "schema": (lambda p: {}, {"GET": EVERYONE}),
    "swagger-ui": (lambda p: {}, {"GET": EVERYONE}),
    # The portal's report API: open to anonymous callers. Without a body a report is a 400
    # (departments report through the command centre: 403); anyone may follow a public case.
    "public-items": (lambda p: {}, {"GET": EVERYONE}),
    "public-similar": (lambda p: (case_at(p, "filed"), {})[1], {"GET": EVERYONE}),
    "public-reports": (lambda p: {}, {"POST": {**dict.fromkeys(PERSONAS, 400), "staff": 403}}),
    "public-case-follow": (numbered("filed"), {"POST": dict.fromkeys(PERSONAS, 201)}),
    # The public side: anyone reads a public case and near me; the private link's token is
    # the only credential of a follower's calls, a session counts for nothing. An open case
    # cannot be rated or reopened yet (409); a comment is taken (201).
    "public-case": (numbered("filed"), {"GET": EVERYONE}),
    "public-near": (lambda p: {}, {"GET": EVERYONE}),
    "public-track": (lambda p: tracked(p), {"GET": EVERYONE}),
    "public-track-rate": (lambda p: tracked(p), {"POST": dict.fromkeys(PERSONAS, 409)}),
    "public-track-reopen": (lambda p: tracked(p), {"POST": dict.fromkeys(PERSONAS, 409)}),
    "public-track-comment": (lambda p: tracked(p), {"POST": dict.fromkeys(PERSONAS, 201)}),
    "public-track-updates": (lambda p: tracked(p), {"POST": EVERYONE}),
}


def tracked(p) -> dict:
    """The private link of a filed case's reporter."""
    from cases import services
    from cases.models import Case

    case = Case.objects.get(number=case_at(p, "filed"))
    followed = services.case_follow(case=case, role="reporter", via="portal", phone="13800000000")
    return {"token": followed.follower.token}


QUERY = {
    "locate": {"lon": 100.001, "lat": 30.001},
    "case-duplicates": {"item": "0101", "lon": 100.001, "lat": 30.001},
    "public-similar": {"item": "0101", "lon": 100.001, "lat": 30.001},
    "case-reject": {"note": "matrix"},
    "case-cancel": {"note": "matrix"},
    "case-return": {"note": "matrix"},
    "case-handle": {"note": "matrix"},
    "case-suspend": {"note": "matrix"},
    "case-suspend-request": {"note": "matrix"},
    "case-verify": {"passed": True},
    "case-confirm": {"found": True},
    "case-rate": {"rating": 5},
    "case-answer": {"note": "matrix"},
    "case-reopen": {"note": "matrix"},
    "case-callback": {"reached": True, "satisfaction": "satisfied"},
    "case-moderate": {"note": "matrix", "hide_text": True},
    "case-release": {"note": "matrix"},
    "case-extend": {"amount": 1, "unit": "work_days", "note": "matrix"},
    "public-track-rate": {"satisfaction": "satisfied"},
    "public-track-reopen": {"reason": "matrix"},
    "public-track-comment": {"text": "matrix"},
    "public-track-updates": {"notify": "false"},
    "patrol-shift-list": {"client_uuid": "5e2f6c1e-3b8e-4a53-9d1e-6f0c9d1a2b3c"},
    "osmand": {"id": "unregistered-device", "lat": 30.001, "lon": 100.001, "timestamp": 1795000000},
}


def merge_master(p) -> str:
    return case_at(p, "reported")


# The API, and the positioning apps' endpoints at the root (/osmand/, /owntracks/, /overland/).
API_PREFIXES = ("api/", "osmand", "owntracks", "overland")


def api_url_names(patterns=None, prefix=""):
    """(full route, name) of every URL pattern under the API prefixes."""
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from api_url_names(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            clean = route.replace("^", "").replace("$", "")
            if clean.startswith(API_PREFIXES):
                yield clean, p.name


def test_every_api_endpoint_is_in_the_matrix():
    missing = sorted(
        f"{route} (name={name})" for route, name in api_url_names() if name not in MATRIX
    )
    assert missing == [], "add these endpoints to MATRIX: " + ", ".join(missing)


def test_matrix_names_only_existing_endpoints():
    names = {name for _route, name in api_url_names()}
    assert set(MATRIX) <= names


CASES = [
    (name, method, persona, status)
    for name, (_kwargs, methods) in MATRIX.items()
    for method, statuses in methods.items()
    for persona, status in statuses.items()
]


def signed_in_as(client, people, persona: str) -> dict:
    """Sign ``persona`` in; the request headers that carry their credential, if any."""
    from accounts.auth import token_issue
    from accounts.models import Role
    from tests.factories import make_user

    if persona == "anonymous":
        return {}
    if persona == "citizen_token":
        issued = token_issue(user=people.citizen, device_id="matrix-citizen-phone")
        return {"HTTP_AUTHORIZATION": f"Token {issued.token}"}
    user = (
        make_user("matrix-hotline", Role.HOTLINE)
        if persona == "hotline"
        else getattr(people, persona)
    )
    client.force_login(user)
    return {}


@pytest.mark.parametrize(("name", "method", "persona", "status"), CASES)
def test_permission_matrix(client, people, name, method, persona, status):
    headers = signed_in_as(client, people, persona)
    kwargs_of, _methods = MATRIX[name]
    url = reverse(name, kwargs=kwargs_of(people))
    data = QUERY.get(name, {})
    if name == "case-merge":
        data = {"master": merge_master(people)}
    if name == "case-duplicates":
        case_at(people, "reported")  # the item exists

    response = getattr(client, method.lower())(url, data, **headers)

    assert response.status_code == status, response.content[:300]


# Web pages outside the API: who may open them. 302 for anonymous: off to the log-in page.
# A page a person may not open is a 403; a case they may not see is a 404, as in the API.


def only(*allowed, ok=200, others=403):
    return {
        **dict.fromkeys(PERSONAS, others),
        "anonymous": 302,
        **dict.fromkeys(allowed, ok),
    }


SUPERVISORS = ["supervisor", "other_supervisor", "admin"]
DESK_PEOPLE = ["dispatcher", "staff", "supervisor", "other_supervisor", "admin"]
NO_ARGS = lambda p: {}  # noqa: E731

# url name → (kwargs for reverse, given the people fixture), {persona: status} for a GET
PAGES = {
    "home": (NO_ARGS, EVERYONE),
    "login": (NO_ARGS, EVERYONE),
    "password_change": (NO_ARGS, only(*PERSONAS[1:])),
    "password_change_done": (NO_ARGS, only(*PERSONAS[1:])),
    "patrol-audit": (NO_ARGS, only("supervisor", "other_supervisor", "admin")),
    # /desk/ sends everyone signed in on to their own workbench (or the map).
    "desk": (NO_ARGS, dict.fromkeys(PERSONAS, 302)),
    # A workbench's home sends its people on to its first queue (or the street's page).
    "desk-workbench": (lambda p: {"workbench": "dispatch"}, only(*CENTRE, ok=302)),
    "desk-queue": (lambda p: {"workbench": "dispatch", "queue": "to-file"}, only(*CENTRE)),
    "desk-counts": (lambda p: {"workbench": "department"}, only(*DEPARTMENT)),
    "desk-search": (NO_ARGS, only(*DESK_PEOPLE)),
    "desk-map": (NO_ARGS, only(*DESK_PEOPLE)),
    "desk-map-cases": (NO_ARGS, only(*DESK_PEOPLE)),
    "desk-department-today": (NO_ARGS, only(*DEPARTMENT)),
    "desk-supervise": (NO_ARGS, only(*SUPERVISORS)),
    "desk-supervise-day": (lambda p: {"kind": "new"}, only(*SUPERVISORS)),
    # A case in grid A: those who see it open its page; to everyone else it does not exist.
    "desk-case": (numbered("reported"), only(*CASE_SEERS, others=404)),
    # A step by form: the command centre files a report; others who see it may not (403).
    "desk-case-action": (
        lambda p: {"number": case_at(p, "reported"), "action": "file"},
        {**only(*CENTRE, ok=303, others=404), "inspector_a": 403, "supervisor": 403},
    ),
    # The inspector's phone page; its manifest and service worker are public files.
    "mobile-home": (NO_ARGS, only("inspector_a", "inspector_b", "admin")),
    # The hotline console (12345): hotline operators (tests/portal/test_hotline_pages.py) and
    # administrators. A panel without its part, a direct answer without a call: 400.
    "hotline-console": (NO_ARGS, only("admin")),
    "hotline-panel": (NO_ARGS, only("admin", ok=400)),
    "hotline-answer": (NO_ARGS, only("admin", ok=400)),
    "hotline-merge": (numbered("reported"), only("admin", ok=302)),
    "hotline-callbacks": (NO_ARGS, only("admin")),
    "hotline-callback": (numbered("closed"), only("admin", ok=302)),
    "hotline-day": (NO_ARGS, only("admin")),
    "mobile-manifest": (NO_ARGS, EVERYONE),
    "mobile-sw": (NO_ARGS, EVERYONE),
    # The citizens' portal: public pages; the private link is its own credential.
    "portal-report": (NO_ARGS, EVERYONE),
    "portal-similar": (NO_ARGS, EVERYONE),
    "portal-items": (NO_ARGS, EVERYONE),
    "portal-follow": (numbered("filed"), EVERYONE),
    # The portal's captcha picture (portal.abuse), for anyone who was given its key.
    "captcha-image": (lambda p: {"key": CaptchaStore.generate_key()}, EVERYONE),
    "captcha-image-2x": (lambda p: {"key": CaptchaStore.generate_key()}, EVERYONE),
    # The public side (市民门户): open to anyone. A public case's page; a photo it does not
    # have is a 404. A follower's private page, its token the credential; its forms send
    # back to the page (302), which says whether the service did it.
    "portal-home": (NO_ARGS, EVERYONE),
    "portal-case": (numbered("filed"), EVERYONE),
    "portal-case-photo": (
        lambda p: {"number": case_at(p, "filed"), "pk": 999999, "kind": "display"},
        dict.fromkeys(PERSONAS, 404),
    ),
    "portal-track": (tracked, EVERYONE),
    "portal-rate": (tracked, dict.fromkeys(PERSONAS, 302)),
    "portal-reopen": (tracked, dict.fromkeys(PERSONAS, 302)),
    "portal-comment": (tracked, dict.fromkeys(PERSONAS, 302)),
    "portal-updates": (tracked, dict.fromkeys(PERSONAS, 302)),
    "portal-track-photo": (
        lambda p: {**tracked(p), "pk": 999999, "kind": "display"},
        dict.fromkeys(PERSONAS, 404),
    ),
}
PAGE_METHOD = {
    "desk-case-action": "post",
    "hotline-answer": "post",
    "hotline-merge": "post",
    "hotline-callback": "post",
    **dict.fromkeys(["portal-rate", "portal-reopen", "portal-comment", "portal-updates"], "post"),
}
# Not pages: the health probe, the language switch and log-out take POSTs of their own kind.
NOT_PAGES = {"healthz", "set_language", "logout"}


def page_url_names(patterns=None, prefix=""):
    """Names of the URL patterns outside the API and the admin site."""
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            if not route.startswith("admin/"):
                yield from page_url_names(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            clean = route.replace("^", "").replace("$", "")
            if not clean.startswith(API_PREFIXES):
                yield p.name


def test_every_page_is_in_the_page_matrix():
    missing = sorted(set(page_url_names()) - set(PAGES) - NOT_PAGES)
    assert missing == [], "add these pages to PAGES: " + ", ".join(missing)


@pytest.mark.parametrize(
    ("name", "persona", "status"),
    [
        (name, persona, status)
        for name, (_kwargs, row) in PAGES.items()
        for persona, status in row.items()
    ],
)
def test_page_permission_matrix(client, people, name, persona, status):
    if persona != "anonymous":
        client.force_login(getattr(people, persona))
    kwargs_of, _row = PAGES[name]
    url = reverse(name, kwargs=kwargs_of(people))

    response = getattr(client, PAGE_METHOD.get(name, "get"))(url)

    assert response.status_code == status, response.content[:300]
