"""Websocket consumers of the cases app."""

from channels.db import database_sync_to_async

from accounts import policy
from accounts.ws import (
    CLOSE_UNAUTHENTICATED,
    socket_refuse,
    subprotocol_chosen,
    token_group,
    user_group,
)
from cases import notify
from cases.selectors import streets_watched_by
from gridcity.consumers import StrictJsonConsumer

# CLOSE_UNAUTHENTICATED (4401): 4000–4999 are the application's own (RFC 6455 §7.4.2); 4401
# reads as HTTP's 401, and tells a handheld to log in again rather than retry.

# Database ids are signed 64-bit; a larger number from a client must not reach the query.
_MAX_ID = 2**63 - 1


notification_mark_read = database_sync_to_async(notify.notification_mark_read)


@database_sync_to_async
def case_watch_groups(user) -> list[str]:
    return notify.watch_groups(streets_watched_by(user))


class NotificationConsumer(StrictJsonConsumer):
    """``ws/notifications/``: a person's notifications, pushed as they are written.

    Only an authenticated, active person is let in (by session in the browser, by knox token on
    a handheld, see ``accounts.ws``); anyone else is closed with 4401. The socket joins the
    person's group (``cases.notify.user_group``), to which ``cases.notify`` sends each new inbox
    row after its transaction commits, and forwards each as ``{"type": "notification",
    "notification": {...}}``. The client may send ``{"action": "read", "id": N}`` to mark one
    of its own notifications read, answered with ``{"type": "read", "id": N, "read_at": ...}``;
    an id that is not the person's is ignored without an answer, so nothing tells it from one
    that does not exist. A frame that is not JSON GridCity accepts (``gridcity.jsonsafe``:
    nested deeper than 64 levels, NaN, a lone surrogate, a NUL) is answered with ``{"type":
    "error", "code": "invalid_json", "message": ...}`` and changes nothing. The inbox API stays
    the record: a push missed while offline is found there.

    A browser (a socket opened with the session) of a person who watches cases
    (``policy.may_watch_cases``: dispatchers, supervisors, administrators) also joins the
    groups of the streets, granted grids or whole district their scope holds, and department
    staff their department's group (``cases.selectors.streets_watched_by``): each change of such
    a case arrives as ``{"type": "case", "case": {"number", "status", "action", "street",
    "grid", "department", "overdue", "escalated", "at"}}`` (``cases.notify.case_changed``), and
    the workbench refreshes what it shows. A handheld's token socket does not: its app syncs
    by ``updated_since``, and a district's every change is no traffic for a phone.
    """

    group: str | None = None

    async def connect(self):
        user = self.scope.get("user")
        if not policy.is_signed_in(user):
            await socket_refuse(self, CLOSE_UNAUTHENTICATED)
            return
        self.groups_joined = [user_group(user.pk)]
        if token := self.scope.get("auth_token"):
            self.groups_joined.append(token_group(token.token_key))
        else:
            self.groups_joined += await case_watch_groups(user)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.group = self.groups_joined[0]
        await self.accept(subprotocol_chosen(self.scope))

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def session_revoked(self, event):
        """The token was revoked or the person disabled (``accounts.ws.sockets_close``)."""
        await self.close(code=CLOSE_UNAUTHENTICATED)

    @property
    def listening(self) -> bool:
        return self.group is not None

    async def receive_json(self, content, **kwargs):
        if content.get("action") == "read":
            pk = content.get("id")
            if type(pk) is not int or not 0 < pk <= _MAX_ID:
                return
            read_at = await notification_mark_read(
                user_id=self.scope["user"].pk, notification_id=pk
            )
            if read_at is not None:
                await self.send_json({"type": "read", "id": pk, "read_at": read_at.isoformat()})

    async def case(self, event):
        """A ``{"type": "case"}`` group message: a case in the person's watch changed."""
        await self.send_json({"type": "case", "case": event["case"]})

    async def notification(self, event):
        """A ``{"type": "notification"}`` group message from ``cases.notify``."""
        await self.send_json({"type": "notification", "notification": event["notification"]})
