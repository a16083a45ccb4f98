"""Who may call which API endpoint: persona × endpoint × method → status.

Every API endpoint must appear in MATRIX: ``test_every_api_endpoint_is_in_the_matrix`` walks
the URL resolver and fails on any endpoint the table does not cover, so a new endpoint cannot
land without saying who may use it. 404 means "exists, but not for you to see".
"""

import pytest
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
    "schema": (lambda p: {}, {"GET": EVERYONE}),
    "swagger-ui": (lambda p: {}, {"GET": EVERYONE}),
}
QUERY = {"locate": {"lon": 100.001, "lat": 30.001}}
API_PREFIXES = ("api/",)


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


@pytest.mark.parametrize(("name", "method", "persona", "status"), CASES)
def test_permission_matrix(client, people, name, method, persona, status):
    if persona != "anonymous":
        client.force_login(getattr(people, persona))
    kwargs_of, _methods = MATRIX[name]
    url = reverse(name, kwargs=kwargs_of(people))

    response = getattr(client, method.lower())(url, QUERY.get(name, {}))

    assert response.status_code == status, response.content[:300]
