"""The audit log (人过留迹，事过留痕): every AuditEvent row is written by ``audit_record``.

The address is resolved as django-axes resolves it (``GRIDCITY_TRUSTED_PROXIES`` decides whether
X-Forwarded-For counts), so the log and the lockouts always name the same client. No password,
token or secret is ever written: keys that look like one are dropped from the detail, at any
depth, before the row is saved.
"""

import re
from typing import Any

from axes.helpers import get_client_ip_address
from django.http import HttpRequest

from accounts.models import AuditAction, AuditEvent, User

# Keys dropped from the detail: password, passwd, token, secret, credentials, digest, api_key…
SECRET_KEY_PATTERN = re.compile(
    r"passw|pwd|token|secret|credential|digest|authorization|api_?key|session_?key", re.IGNORECASE
)
USER_AGENT_MAX = AuditEvent._meta.get_field("user_agent").max_length
PATH_MAX = AuditEvent._meta.get_field("path").max_length
USERNAME_MAX = AuditEvent._meta.get_field("username").max_length


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            str(k): _scrub(v) for k, v in value.items() if not SECRET_KEY_PATTERN.search(str(k))
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _django_request(request) -> HttpRequest | None:
    """The Django request under a DRF one (both work; axes and ipware want the Django one)."""
    if request is None:
        return None
    return getattr(request, "_request", request)


def client_ip(request) -> str | None:
    """The client's address as django-axes sees it: behind trusted proxies only, X-F-F counts."""
    request = _django_request(request)
    if request is None:
        return None
    return get_client_ip_address(request)


def audit_record(
    *,
    action: str,
    request=None,
    actor: User | None = None,
    username: str = "",
    status: int | None = None,
    **detail,
) -> AuditEvent:
    """Write one audit row: who (actor, or the user name as given), what, from where, outcome.

    ``request`` (Django or DRF) supplies address, user agent, method and path. ``detail`` is
    free-form JSON; keys named like a password, token or secret are dropped, whatever their
    value, so a careless caller cannot leak one into the log.
    """
    action = AuditAction(action)
    django_request = _django_request(request)
    if actor is not None and not actor.is_authenticated:
        actor = None
    if not username and actor is not None:
        username = actor.get_username()
    event = AuditEvent(
        action=action,
        actor=actor,
        username=(username or "")[:USERNAME_MAX],
        status=status,
        detail=_scrub(detail),
    )
    if django_request is not None:
        event.ip = client_ip(django_request)
        event.user_agent = django_request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]
        event.method = (django_request.method or "")[:8]
        event.path = django_request.path[:PATH_MAX]
    event.save()
    return event


def audit_denied(*, request, status: int, code: str) -> AuditEvent:
    """Record an API request answered 401 or 403 (called from the API's exception handler).

    Reads the user only if authentication already ran (``_user`` set): touching ``user`` here
    would authenticate again and could raise inside the exception handler.
    """
    user = getattr(request, "_user", None)
    return audit_record(
        action=AuditAction.DENIED,
        request=request,
        actor=user if user is not None and user.is_authenticated else None,
        status=status,
        code=code,
    )


def audit_api_denial(*, exc, context, response) -> None:
    """The API's exception handler calls this: every 401 and 403 answer becomes a DENIED row.

    Exceptions that were audited otherwise (a wrong password is a LOGIN_FAILED) say so with an
    ``audited`` attribute and are not written twice.
    """
    if response.status_code not in (401, 403) or getattr(exc, "audited", False):
        return
    request = context.get("request")
    if request is None:
        return
    audit_denied(request=request, status=response.status_code, code=response.data["error"]["code"])
