"""Answers to the city's 12345 platform, through the outside channel.

A ticket that came from the platform has its caller as a follower with ``via="platform"``
(``portal.api.hotline``). Every public step of the case (accepted, dispatched, handled,
closed, answered, reopened) writes a notification for that follower, delivered after commit
through ``GRIDCITY_NOTIFY_BACKEND`` (``cases.notify``), like every notification. The platform
tells its own citizen; the district answers the platform, not the citizen.

``platform_backend`` is such a backend: it sends the platform's rows as JSON (the shape of
:func:`platform_answer`) to ``GRIDCITY_PLATFORM_ANSWER_URL``, signed with HMAC-SHA256 of the
body under ``GRIDCITY_PLATFORM_SECRET`` (header ``X-GridCity-Signature: sha256=<hex>``), and
hands every other row to ``GRIDCITY_PLATFORM_NEXT_BACKEND`` (the log by default). With no URL
set, the platform's rows are logged too. A refused or failed POST raises: the outbox retries
it with its back-off (``GRIDCITY_NOTIFY_MAX_ATTEMPTS``). See docs/hotline.md.
"""

import hashlib
import hmac
import json
import logging
import urllib.request

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

log = logging.getLogger("gridcity.platform")
# The steps whose note is the district's answer to the caller (答复).
ANSWER_STEPS = ("close", "answer")
TIMEOUT_SECONDS = 10


def is_platform_row(row) -> bool:
    follower = getattr(row, "follower", None) if row.follower_id else None
    return follower is not None and follower.via == "platform" and row.case_id is not None


def platform_answer(row) -> dict:
    """What the platform is told of one step of its ticket::

    {"ticket_number": "SZ-20261203-0042", "case": "440306-20261203-000017",
     "status": "closed", "resolution": "resolved", "message": "…: closed",
     "answer": "the closing note (答复), on close and answer only",
     "reply_due": "…", "at": "…"}
    """
    from cases.models import CaseTransition

    case = row.case
    answer = ""
    if not case.is_open:
        last = (
            CaseTransition.objects.filter(case=case, action__in=ANSWER_STEPS)
            .order_by("-at", "-id")
            .values_list("note", flat=True)
            .first()
        )
        answer = last or ""
    return {
        "ticket_number": case.external_number,
        "case": case.number,
        "status": case.status,
        "resolution": case.resolution,
        "message": row.message,
        "answer": answer,
        "reply_due": case.reply_due.isoformat() if case.reply_due else None,
        "at": (row.created_at or timezone.now()).isoformat(),
    }


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def platform_backend(rows) -> None:
    """An outside-channel backend (``GRIDCITY_NOTIFY_BACKEND``
    ``= "portal.platform.platform_backend"``): the platform's rows to the platform, the others
    to the next backend."""
    ours = [row for row in rows if is_platform_row(row)]
    others = [row for row in rows if not is_platform_row(row)]
    if others:
        next_backend = getattr(
            settings, "GRIDCITY_PLATFORM_NEXT_BACKEND", "cases.notify.log_backend"
        )
        import_string(next_backend)(others)
    url = getattr(settings, "GRIDCITY_PLATFORM_ANSWER_URL", "")
    for row in ours:
        body = json.dumps(platform_answer(row), ensure_ascii=False).encode()
        if not url:
            log.info("platform answer %s", body.decode())
            continue
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-GridCity-Signature": signature(body, settings.GRIDCITY_PLATFORM_SECRET),
            },
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            if answer.status >= 300:
                raise OSError(f"the platform answered {answer.status}")
