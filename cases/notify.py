"""Notifications: an inbox row per person, a websocket push, and an outside channel.

``notify`` is called inside a service's transaction: the inbox rows commit with the step that
caused them (or not at all), and so does an outbox row for each (``NotificationOutbox``). After
commit the rows are pushed to the people's sockets and a task is queued to deliver them through
the outside channel (SMS, e-mail, an app push service): one pluggable backend,
``GRIDCITY_NOTIFY_BACKEND``, a dotted path to a callable taking the saved notifications; the
default only logs.

Nothing about delivery can fail the request that caused it: a backend that raises, a broker
that cannot take the task, a channel layer that is down are logged, and the outbox row waits.
The worker delivers each row once (:func:`outbox_deliver` claims it first, so a duplicate or a
concurrent delivery sends nothing twice); a failure is tried again after 1, 2, 4 … minutes (at
most an hour apart) by the periodic :func:`outbox_drain`, until ``GRIDCITY_NOTIFY_MAX_ATTEMPTS``
tries have failed and it is given up (kept, with its last error, for the admin).

Each change of a case also goes live, after commit, to the sockets of the people who watch its
street, district or department (:func:`case_changed`, called where the timeline row is written).
"""

import asyncio
import logging
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.ws import user_group

log = logging.getLogger("gridcity.notify")

# A claimed delivery that neither succeeded nor failed (the worker died while sending) may be
# tried again after this long; the first retry waits RETRY_FIRST, each later one twice the last.
CLAIM_LEASE = timedelta(minutes=5)
RETRY_FIRST = timedelta(minutes=1)
RETRY_LONGEST = timedelta(hours=1)
DRAIN_BATCH = 500


def notify(user_ids, *, kind: str, case=None, message: str) -> list:
    """Write an inbox row and an outbox row for each person; after commit, push the rows to
    their sockets and queue their delivery through the outside channel."""
    from cases.models import Notification, NotificationOutbox

    user_ids = sorted(set(user_ids))
    if not user_ids:
        return []
    rows = Notification.objects.bulk_create(
        [Notification(user_id=pk, kind=kind, case=case, message=message[:200]) for pk in user_ids]
    )
    outbox = NotificationOutbox.objects.bulk_create(
        [NotificationOutbox(notification=row) for row in rows]
    )
    outbox_ids = [entry.pk for entry in outbox]
    transaction.on_commit(lambda: _after_commit(rows, outbox_ids))
    return rows


def notify_followers(followers, *, case, message: str) -> list:
    """Tell the citizens who follow a case (``CaseFollower`` rows) through the outside channel:
    a notification row for each (in their inbox too, when they have an account) and its outbox
    row, delivered after commit as every notification is."""
    from cases.models import Notification, NotificationOutbox

    if not followers:
        return []
    rows = Notification.objects.bulk_create(
        [
            Notification(
                user_id=f.user_id,
                follower=f,
                kind=Notification.Kind.UPDATE,
                case=case,
                message=message[:200],
            )
            for f in followers
        ]
    )
    outbox = NotificationOutbox.objects.bulk_create(
        [NotificationOutbox(notification=row) for row in rows]
    )
    outbox_ids = [entry.pk for entry in outbox]
    transaction.on_commit(lambda: _after_commit([r for r in rows if r.user_id], outbox_ids))
    return rows


def _after_commit(rows, outbox_ids: list[int]) -> None:
    _push(rows)
    try:
        from cases.tasks import notifications_deliver_task

        notifications_deliver_task.delay(outbox_ids)
    except Exception:  # the broker is down: the periodic drain delivers them later
        log.warning("could not queue delivery of outbox %s", outbox_ids, exc_info=True)


def _push(rows) -> None:
    """Each row to its person's open sockets; a lost push is not an error (the inbox has it)."""
    try:
        layer = get_channel_layer()
    except Exception:
        log.warning("no channel layer for notification pushes", exc_info=True)
        return
    if layer is None:
        return
    for row in rows:
        try:
            async_to_sync(layer.group_send)(
                user_group(row.user_id),
                {"type": "notification", "notification": notification_payload(row)},
            )
        except Exception:
            log.warning("push to user %s failed", row.user_id, exc_info=True)


def _retry_after(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try: 1, 2, 4 … minutes, at most 1 h."""
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_LONGEST)


def outbox_deliver(*, outbox_id: int, now: datetime | None = None) -> bool:
    """Deliver one outbox row through the outside channel if it is due; whether it was sent.

    The row is claimed first by a conditional update (pending, due, then pushed ``CLAIM_LEASE``
    ahead and its attempt counted), so a duplicate task, the periodic drain and another worker
    find it not due and send nothing; no lock is held while the backend talks to the outside.
    A backend that raises leaves the row pending with its next try after a back-off, or gives
    it up after ``GRIDCITY_NOTIFY_MAX_ATTEMPTS`` tries. Never raises for the backend's sake.
    """
    from cases.models import NotificationOutbox

    now = now or timezone.now()
    pending = NotificationOutbox.State.PENDING
    claimed = NotificationOutbox.objects.filter(
        pk=outbox_id, state=pending, next_try_at__lte=now
    ).update(next_try_at=now + CLAIM_LEASE, attempts=F("attempts") + 1)
    if not claimed:
        return False
    entry = NotificationOutbox.objects.select_related(
        "notification", "notification__case", "notification__follower", "notification__user"
    ).get(pk=outbox_id)
    backend_path = getattr(settings, "GRIDCITY_NOTIFY_BACKEND", "cases.notify.log_backend")
    try:
        import_string(backend_path)([entry.notification])
    except Exception as exc:
        attempts = entry.attempts
        gave_up = attempts >= getattr(settings, "GRIDCITY_NOTIFY_MAX_ATTEMPTS", 12)
        NotificationOutbox.objects.filter(pk=outbox_id, state=pending).update(
            state=NotificationOutbox.State.FAILED if gave_up else pending,
            next_try_at=now + _retry_after(attempts),
            last_error=phone_redacted(f"{type(exc).__name__}: {exc}")[:500],
        )
        # The error's words only, its phone numbers masked: a gateway's refusal often quotes
        # the number it refused, and a traceback would carry it into the log.
        log.warning(
            "notification %s not delivered (try %s%s): %s",
            entry.notification_id,
            attempts,
            ", given up" if gave_up else "",
            phone_redacted(f"{type(exc).__name__}: {exc}"),
        )
        return False
    NotificationOutbox.objects.filter(pk=outbox_id).update(
        state=NotificationOutbox.State.SENT, sent_at=timezone.now(), last_error=""
    )
    return True


def outbox_drain(*, now: datetime | None = None) -> int:
    """Deliver every outbox row that is due (oldest first, up to ``DRAIN_BATCH``); how many
    were sent. Run by beat every minute: it catches a first try that was never queued and
    every retry."""
    from cases.models import NotificationOutbox

    now = now or timezone.now()
    due = list(
        NotificationOutbox.objects.filter(
            state=NotificationOutbox.State.PENDING, next_try_at__lte=now
        )
        .order_by("next_try_at", "pk")
        .values_list("pk", flat=True)[:DRAIN_BATCH]
    )
    return sum(outbox_deliver(outbox_id=pk, now=now) for pk in due)


def notification_payload(row) -> dict:
    return {
        "id": row.pk,
        "kind": row.kind,
        "case": row.case.number if row.case_id else None,
        "message": row.message,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "read_at": row.read_at.isoformat() if row.read_at else None,
    }


# A phone number in free text: a mainland mobile (1[3-9] and 9 digits, perhaps after +86) or a
# landline with its area code (0 and 2–3 digits, 7–8 digits). Not a case number
# (440306-20261203-000123): a match may not touch another digit or a hyphen before it.
_PHONE = re.compile(
    r"(?<![\d-])(?:(?:\+|00)?86[ -]?)?(?:1[3-9]\d[ -]?\d{4}[ -]?\d{4}|0\d{2,3}[ -]?\d{7,8})(?!\d)"
)


def phone_redacted(text: str) -> str:
    """``text`` with every phone number in it replaced by ``[phone]``: for logs."""
    return _PHONE.sub("[phone]", text)


def _recipient(row) -> str:
    """Who a notification is for, as a log may say it: an account's or a follower's id, never
    their phone number or e-mail address."""
    if row.user_id is not None:
        return f"user={row.user_id}"
    return f"follower={row.follower_id}"


def log_backend(rows) -> None:
    """The default outside channel: a log line per notification. A follower is named by the
    row's id, and any phone number in the message is masked: logs are read by more people than
    may read a citizen's contacts."""
    for row in rows:
        log.info("notify %s kind=%s %s", _recipient(row), row.kind, phone_redacted(row.message))


def email_of(row) -> str:
    """The e-mail address a notification goes to: the follower's (a citizen without an account
    gives one on the portal), else the account's."""
    follower = row.follower if row.follower_id else None
    if follower is not None and follower.email:
        return follower.email
    user = row.user if row.user_id else (follower.user if follower and follower.user_id else None)
    return user.email if user is not None else ""


def email_backend(rows) -> None:
    """An outside channel by e-mail, through Django's mail (``EMAIL_BACKEND``, ``EMAIL_HOST``
    …, ``DEFAULT_FROM_EMAIL``): each notification to its follower's or person's address. A row
    with no address is skipped (there is nobody to send it to: not an error to retry); a mail
    server that refuses raises, and the outbox tries again later."""
    from django.core.mail import send_mail
    from django.utils.translation import gettext as _

    for row in rows:
        address = email_of(row)
        if not address:
            log.info("notify %s kind=%s: no e-mail address", _recipient(row), row.kind)
            continue
        number = row.case.number if row.case_id else ""
        subject = _("GridCity: case %(number)s") % {"number": number} if number else "GridCity"
        send_mail(subject, row.message, None, [address])


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


# --- live case events ------------------------------------------------------------------------
# Every change of a case (each timeline row, ``services._record``) goes, after commit, to the
# sockets of the people who watch it: one channel-layer group per street, per grid granted by
# hand, per department, and one for the whole district. Who joins which is
# ``cases.selectors.streets_watched_by``; the consumer joins them on connect. The payload holds
# codes, never names or people: enough for a page to know what to refresh, and no more than
# every watcher of the street may know.

CASES_ALL = "cases.all"
# A sweep (the overdue mark over thousands of cases) sends at most this many events when it
# ends, newest last, gathered in one event loop rather than one round trip each; a page that
# watches sees enough changes to refresh itself, and the queues' counts are read afresh then.
SWEEP_EVENTS_CAP = 200
_SEND_CHUNK = 100

_sweep_events: ContextVar[list | None] = ContextVar("gridcity_sweep_events", default=None)


def street_group(street_id: int) -> str:
    return f"cases.street.{street_id}"


def grid_group(grid_id: int) -> str:
    return f"cases.grid.{grid_id}"


def department_group(department_id: int) -> str:
    return f"cases.department.{department_id}"


def watch_groups(watched) -> list[str]:
    """The groups a socket joins for a ``cases.selectors.Watched``."""
    if watched.everything:
        return [CASES_ALL]
    groups = [street_group(pk) for pk in watched.streets]
    groups += [grid_group(pk) for pk in watched.grids]
    if watched.department:
        groups.append(department_group(watched.department))
    return groups


@dataclass(frozen=True)
class CaseEvent:
    """A case as it stood when a timeline row was written: ids now, codes when sent."""

    number: str
    status: str
    action: str
    street_id: int | None
    grid_id: int | None
    department_id: int | None
    overdue: bool
    escalated: bool
    at: datetime

    def groups(self) -> list[str]:
        groups = [CASES_ALL]
        if self.street_id:
            groups.append(street_group(self.street_id))
        if self.grid_id:
            groups.append(grid_group(self.grid_id))
        if self.department_id:
            groups.append(department_group(self.department_id))
        return groups

    def payload(self) -> dict:
        from cases import codes

        return {
            "number": self.number,
            "status": self.status,
            "action": self.action,
            "street": codes.STREETS.code(self.street_id),
            "grid": codes.GRIDS.code(self.grid_id),
            "department": codes.DEPARTMENTS.code(self.department_id),
            "overdue": self.overdue,
            "escalated": self.escalated,
            "at": self.at.isoformat(),
        }


def case_changed(case, *, action: str, at: datetime) -> None:
    """Called where a timeline row is written, inside its transaction: the change goes to its
    watchers once the transaction commits, and never if it rolls back."""
    event = CaseEvent(
        number=case.number,
        status=case.status,
        action=action,
        street_id=case.street_id,
        grid_id=case.grid_id,
        department_id=case.department_id,
        overdue=case.overdue,
        escalated=case.escalated,
        at=at,
    )
    transaction.on_commit(lambda: _case_committed(event))


def _case_committed(event: CaseEvent) -> None:
    held = _sweep_events.get()
    if held is not None:
        held.append(event)
        return
    case_events_send([event])


@contextmanager
def case_events_batched():
    """Within it, committed case events are held and sent together when it ends (at most
    ``SWEEP_EVENTS_CAP``, the last ones): for sweeps that change thousands of cases."""
    held: list[CaseEvent] = []
    token = _sweep_events.set(held)
    try:
        yield held
    finally:
        _sweep_events.reset(token)
        if len(held) > SWEEP_EVENTS_CAP:
            log.info("sweep changed %s cases; sending the last %s", len(held), SWEEP_EVENTS_CAP)
        case_events_send(held[-SWEEP_EVENTS_CAP:])


def case_events_send(events: list[CaseEvent]) -> None:
    """Send each event to its groups, all in one event loop; a channel layer that is down or
    refuses is logged, never raised (the pages read the cases afresh on their next load)."""
    if not events:
        return
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        messages = [
            (group, {"type": "case", "case": event.payload()})
            for event in events
            for group in event.groups()
        ]
        async_to_sync(_send_all)(layer, messages)
    except Exception:
        log.warning("live case events not sent (%s)", len(events), exc_info=True)


async def _send_all(layer, messages: list[tuple[str, dict]]) -> None:
    failed = 0
    for start in range(0, len(messages), _SEND_CHUNK):
        chunk = messages[start : start + _SEND_CHUNK]
        results = await asyncio.gather(
            *(layer.group_send(group, message) for group, message in chunk),
            return_exceptions=True,
        )
        failed += sum(isinstance(result, Exception) for result in results)
    if failed:
        log.warning("%s of %s live case messages failed", failed, len(messages))
