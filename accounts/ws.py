"""Websocket authentication: a handheld's knox token, or the browser's session.

A handheld has no session cookie; it presents the token it got at log-in, in one of two ways:

* ``Sec-WebSocket-Protocol: token, <token>`` (preferred). Browsers' ``WebSocket`` API cannot set
  an ``Authorization`` header, but it can offer subprotocols: ``new WebSocket(url, ["token",
  token])``. The server answers by choosing the ``token`` subprotocol, never the token itself.
* ``?token=<token>`` in the query string, for clients that can set neither. Discouraged: the
  URL, query string included, is written to the access logs of every proxy on the way (nginx's
  default log format does) and of the ASGI server, so a token sent this way is as good as
  logged. The header is not logged by default.

The token is checked by ``DeviceTokenAuthentication.authenticate_credentials`` (knox's), the same
code the REST API runs, so expiry (an expired token is deleted), revocation (log-out, device
revoked, user disabled or changing role: the row is gone) and the inactive-user check apply
alike, and a use moves the expiry on (AUTO_REFRESH) as an API call would.

Why a token connection skips the Origin check: ``AllowedHostsOriginValidator`` guards against
cross-site websocket hijacking, a page on another site opening a socket that the browser
authenticates with the session cookie it sends on its own. A token is not sent on its own; a
page that has it may use it from anywhere, as with the REST API. Native handheld clients
(OkHttp, URLSession) send no ``Origin`` header at all, which the validator refuses. So a
connection that presents a token is authenticated by the token alone (cookies are ignored, a
bad token never falls back to the session), and only session connections go through the
Origin check.
"""

import logging
from urllib.parse import parse_qsl, urlencode

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import AuthenticationFailed

from accounts.authentication import DeviceTokenAuthentication

log = logging.getLogger("gridcity.ws")

TOKEN_SUBPROTOCOL = "token"
# What a consumer closes with when its person or token is no longer good (see sockets_close).
CLOSE_UNAUTHENTICATED = 4401


def subprotocol_chosen(scope) -> str | None:
    """The subprotocol a consumer accepts with: a browser that offered the token subprotocol
    drops a connection that does not choose it, so it is chosen even to say no."""
    return TOKEN_SUBPROTOCOL if TOKEN_SUBPROTOCOL in scope.get("subprotocols", []) else None


async def socket_refuse(consumer, code: int) -> None:
    """Accept, then close with ``code``: a handshake refused before accept reaches a browser
    as a bare 1006 and a handheld as HTTP 403, neither of which says why."""
    await consumer.accept(subprotocol_chosen(consumer.scope))
    await consumer.close(code=code)


def user_group(user_id: int) -> str:
    """The channel-layer group of every open socket of one person."""
    return f"user.{user_id}"


def token_group(token_key: str) -> str:
    """The channel-layer group of the sockets a handheld opened with one token."""
    return f"token.{token_key}"


def sockets_close(groups) -> None:
    """After commit, tell the sockets in ``groups`` to close with 4401: a revoked token or a
    disabled person must not keep a socket that was opened while they were good."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from django.db import transaction

    groups = list(groups)

    def send():
        layer = get_channel_layer()
        if layer is None:
            return
        for group in groups:
            try:
                async_to_sync(layer.group_send)(group, {"type": "session.revoked"})
            except Exception:  # the token is gone already; a socket left open only pushes
                log.warning("closing sockets of %s failed", group, exc_info=True)

    transaction.on_commit(send)


TOKEN_QUERY_PARAMETER = "token"


def token_from_scope(scope) -> tuple[str | None, dict]:
    """The token a connection presents (or None) and the scope without it.

    The returned scope keeps the ``token`` subprotocol (the consumer must choose it when
    accepting, or the browser drops the connection) but neither the token nor the ``token``
    query parameter, so nothing downstream can log or leak it.
    """
    subprotocols = list(scope.get("subprotocols") or [])
    if len(subprotocols) >= 2 and subprotocols[0] == TOKEN_SUBPROTOCOL:
        return subprotocols[1], {
            **scope,
            "subprotocols": [TOKEN_SUBPROTOCOL, *subprotocols[2:]],
        }
    query = parse_qsl(scope.get("query_string", b"").decode("latin1"), keep_blank_values=True)
    tokens = [value for name, value in query if name == TOKEN_QUERY_PARAMETER]
    if tokens:
        rest = [(name, value) for name, value in query if name != TOKEN_QUERY_PARAMETER]
        return tokens[0], {**scope, "query_string": urlencode(rest).encode("latin1")}
    return None, scope


@database_sync_to_async
def token_user(token: str):
    """``(user, auth_token)`` for a live token of an active user, else ``(AnonymousUser, None)``."""
    try:
        return DeviceTokenAuthentication().authenticate_credentials(token.encode("utf-8"))
    except AuthenticationFailed:
        return AnonymousUser(), None


class TokenAuthMiddleware:
    """Authenticate a websocket by knox token when it presents one, else hand it to ``session``.

    ``inner`` gets ``scope["user"]`` (the token's user, or ``AnonymousUser`` for a token that
    is unknown, expired, revoked or whose user is inactive) and ``scope["auth_token"]``.
    """

    def __init__(self, inner, *, session):
        self.inner = inner
        self.session = session

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("TokenAuthMiddleware is for websocket connections only")
        token, scope = token_from_scope(scope)
        if token is None:
            return await self.session(scope, receive, send)
        user, auth_token = await token_user(token)
        if auth_token is None:
            log.info("websocket %s: token refused", scope.get("path"))
        return await self.inner({**scope, "user": user, "auth_token": auth_token}, receive, send)


def WebsocketAuthStack(inner):  # named like channels' AuthMiddlewareStack
    """A handheld's token, or the session behind the Origin check (see the module docstring)."""
    return TokenAuthMiddleware(
        inner, session=AllowedHostsOriginValidator(AuthMiddlewareStack(inner))
    )
