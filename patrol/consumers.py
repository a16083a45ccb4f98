"""Websocket consumers of the patrol app."""

import asyncio
import logging
from urllib.parse import parse_qsl

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings

from accounts import policy
from accounts.ws import (
    CLOSE_UNAUTHENTICATED,
    socket_refuse,
    subprotocol_chosen,
    token_group,
    user_group,
)
from gridcity.consumers import StrictJsonConsumer
from patrol import live, selectors

log = logging.getLogger("gridcity.patrol.live")

# 4403 reads as HTTP's 403: logged in, but this role may not watch; logging in again as the
# same person will not help (4401, CLOSE_UNAUTHENTICATED, says it would).
CLOSE_FORBIDDEN = 4403

# Bao'an has ten streets; a message naming more than this is not a map asking for its streets.
MAX_STREETS_PER_MESSAGE = 200


def _watcher_streets(user_id: int, codes: list[str] | None) -> tuple[int | None, dict[str, int]]:
    """``(close code or None, {street code: id})`` of the requested streets the person may
    watch (every street they may watch when ``codes`` is None), read afresh from the database:
    the person may have been disabled, or lost a grant, since the socket opened."""
    from accounts.models import User

    user = User.objects.select_related("street", "district").filter(pk=user_id).first()
    if user is None or not user.is_active:
        return CLOSE_UNAUTHENTICATED, {}
    if not policy.may_watch_live(user):
        return CLOSE_FORBIDDEN, {}
    streets = selectors.streets_watchable_by(user)
    if codes is not None:
        streets = streets.filter(code__in=codes)
    return None, dict(streets.order_by("code").values_list("code", "id"))


watcher_streets = database_sync_to_async(_watcher_streets)
positions_latest = sync_to_async(live.positions_latest)  # the cache, no database


class PatrolLiveConsumer(StrictJsonConsumer):
    """``ws/patrol/``: the inspectors' live positions, street by street, for the map.

    Only supervisors, dispatchers and administrators (and superusers) watch: anyone not logged
    in, or disabled, is closed with 4401 as on the notifications socket, and any other role
    (inspectors, department staff, hotline, citizens) with 4403; both are accepted first so
    that the code reaches the client. The client sends ``{"type": "subscribe", "streets":
    [code, ...]}``; the streets in its scope (``patrol.selectors.streets_watchable_by``, checked
    afresh on every subscribe) are joined and answered with ``{"type": "snapshot", "streets":
    [...], "positions": [...]}`` from the cache, the rest with ``{"type": "error", "code":
    "out_of_scope", "streets": [...]}`` (a code that names no street included: nothing tells
    the two apart). ``?all=1`` on the URL subscribes to every street in scope on connect.
    ``{"type": "unsubscribe", "streets": [...]}`` leaves them, answered with ``{"type":
    "unsubscribed", "streets": [...]}``; anything else is ignored, except a frame that is not
    JSON GridCity accepts (``gridcity.jsonsafe``), answered with ``{"type": "error", "code":
    "invalid_json", "message": ...}``.

    Positions then arrive as ``{"type": "positions", "positions": [...]}``: what the street
    groups sent is held for GRIDCITY_PATROL_LIVE_INTERVAL_S (1 s) from the first arrival and
    sent as one frame holding only the newest position of each inspector, so the socket sends
    at most one frame per interval however busy its streets are. The socket also joins its
    person's and token's groups, so that revoking the token or disabling the person closes it
    (4401), as ``accounts.ws.sockets_close`` does for every socket.
    """

    watching: bool = False

    async def connect(self):
        self.groups_joined: list[str] = []
        self.streets: dict[int, str] = {}  # joined street id → code
        self.pending: dict[int, dict] = {}  # inspector id → newest position not yet sent
        self.flush_task: asyncio.Task | None = None
        user = self.scope.get("user")
        if not policy.is_signed_in(user):
            await socket_refuse(self, CLOSE_UNAUTHENTICATED)
            return
        if not policy.may_watch_live(user):
            await socket_refuse(self, CLOSE_FORBIDDEN)
            return
        self.interval = float(settings.GRIDCITY_PATROL_LIVE_INTERVAL_S)
        self.groups_joined = [user_group(user.pk)]
        if token := self.scope.get("auth_token"):
            self.groups_joined.append(token_group(token.token_key))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept(subprotocol_chosen(self.scope))
        self.watching = True
        query = dict(parse_qsl(self.scope.get("query_string", b"").decode("latin1")))
        if query.get("all") == "1":
            await self.subscribe(None)

    async def disconnect(self, code):
        self.watching = False
        if self.flush_task is not None:
            self.flush_task.cancel()
        groups = [*self.groups_joined, *map(live.street_group, self.streets)]
        for group in groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def refuse(self, code: int) -> None:
        """Stop watching and close: the person is no longer good for this socket."""
        self.watching = False
        self.pending = {}
        if self.flush_task is not None:
            self.flush_task.cancel()
        await self.close(code=code)

    async def session_revoked(self, event):
        """The token was revoked or the person disabled (``accounts.ws.sockets_close``)."""
        await self.refuse(CLOSE_UNAUTHENTICATED)

    @property
    def listening(self) -> bool:
        return self.watching

    async def receive_json(self, content, **kwargs):
        codes = content.get("streets")
        if (
            not isinstance(codes, list)
            or not 0 < len(codes) <= MAX_STREETS_PER_MESSAGE
            or not all(isinstance(code, str) for code in codes)
        ):
            return
        codes = list(dict.fromkeys(codes))
        if content.get("type") == "subscribe":
            await self.subscribe(codes)
        elif content.get("type") == "unsubscribe":
            await self.unsubscribe(codes)

    async def subscribe(self, codes: list[str] | None) -> None:
        """Join the streets of ``codes`` in scope (all in scope for None), answer the rest."""
        close_code, allowed = await watcher_streets(self.scope["user"].pk, codes)
        if close_code is not None:
            await self.refuse(close_code)
            return
        for code, street_id in allowed.items():
            if street_id not in self.streets:
                await self.channel_layer.group_add(live.street_group(street_id), self.channel_name)
                self.streets[street_id] = code
        refused = [code for code in codes or () if code not in allowed]
        if refused:
            await self.send_json({"type": "error", "code": "out_of_scope", "streets": refused})
        if allowed or codes is None:  # ?all=1 gets its snapshot even when its scope is empty
            # Read after joining: a position published in between is sent twice, never lost.
            try:
                positions = await positions_latest(allowed.values())
            except Exception:  # the cache is down: an empty map now, positions as they come
                log.warning("live snapshot failed", exc_info=True)
                positions = []
            await self.send_json(
                {"type": "snapshot", "streets": list(allowed), "positions": positions}
            )

    async def unsubscribe(self, codes: list[str]) -> None:
        leaving = {pk: code for pk, code in self.streets.items() if code in codes}
        for street_id in leaving:
            del self.streets[street_id]
            await self.channel_layer.group_discard(live.street_group(street_id), self.channel_name)
        self.pending = {
            pk: position
            for pk, position in self.pending.items()
            if self.streets.keys() & set(position["street_ids"])
        }
        await self.send_json({"type": "unsubscribed", "streets": sorted(leaving.values())})

    async def patrol_positions(self, event):
        """A ``{"type": "patrol.positions"}`` group message from ``patrol.live``."""
        # A message sent before the street was left may still arrive after it.
        if not self.watching or event.get("street") not in self.streets:
            return
        for position in event["positions"]:
            held = self.pending.get(position["inspector_id"])
            if held is None or not live.is_older(position, held):
                self.pending[position["inspector_id"]] = position
        if self.flush_task is None and self.pending:
            self.flush_task = asyncio.create_task(self.flush_later())

    async def flush_later(self) -> None:
        await asyncio.sleep(self.interval)
        self.flush_task = None
        positions, self.pending = list(self.pending.values()), {}
        if positions and self.watching:
            try:
                await self.send_json({"type": "positions", "positions": positions})
            except Exception:  # the connection went while the frame waited: nothing to do
                log.debug("live positions frame not sent", exc_info=True)
