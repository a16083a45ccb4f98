"""Notifications: an inbox row per person, a websocket push, and an outside channel.

``notify`` is called inside a service's transaction: the inbox rows commit with the step that
caused them (or not at all), and the push and the outside channel (SMS, e-mail, an app push
service) run after commit. The outside channel is one pluggable backend,
``GRIDCITY_NOTIFY_BACKEND`` (a dotted path to a callable taking the saved notifications); the
default only logs.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from accounts.ws import user_group

log = logging.getLogger("gridcity.notify")


def notify(user_ids, *, kind: str, case=None, message: str) -> list:
    """Write an inbox row for each person and push it to their sockets after commit."""
    from cases.models import Notification

    user_ids = sorted(set(user_ids))
    if not user_ids:
        return []
    rows = Notification.objects.bulk_create(
        [Notification(user_id=pk, kind=kind, case=case, message=message[:200]) for pk in user_ids]
    )
    transaction.on_commit(lambda: _deliver(rows))
    return rows


def _deliver(rows) -> None:
    layer = get_channel_layer()
    for row in rows:
        payload = notification_payload(row)
        if layer is not None:
            try:
                async_to_sync(layer.group_send)(
                    user_group(row.user_id), {"type": "notification", "notification": payload}
                )
            except Exception:  # the inbox row is the record; a lost push is not an error
                log.warning("push to user %s failed", row.user_id, exc_info=True)
    backend = import_string(
        getattr(settings, "GRIDCITY_NOTIFY_BACKEND", "cases.notify.log_backend")
    )
    backend(rows)


def notification_payload(row) -> dict:
    return {
        "id": row.pk,
        "kind": row.kind,
        "case": row.case.number if row.case_id else None,
        "message": row.message,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "read_at": row.read_at.isoformat() if row.read_at else None,
    }


def log_backend(rows) -> None:
    """The default outside channel: a log line per notification."""
    for row in rows:
        log.info("notify user=%s kind=%s %s", row.user_id, row.kind, row.message)


def notification_mark_read(*, user_id: int, notification_id: int):
    """Mark one of the user's notifications read; its ``read_at``, or None if not theirs.

    A conditional update: idempotent, and the first read time is kept when two devices mark
    it at once.
    """
    from django.utils import timezone

    from cases.models import Notification

    rows = Notification.objects.filter(pk=notification_id, user_id=user_id)
    rows.filter(read_at__isnull=True).update(read_at=timezone.now())
    return rows.values_list("read_at", flat=True).first()


def notifications_mark_all_read(*, user_id: int) -> int:
    """Mark every unread notification of the user read; how many."""
    from django.utils import timezone

    from cases.models import Notification

    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).update(
        read_at=timezone.now()
    )
