"""Writes that contend for SQLite's single writer: retried a few times, then refused plainly.

On the embedded default (SpatiaLite) only one connection writes at a time. The settings make
that orderly — WAL, so readers never wait; ``BEGIN IMMEDIATE``, so a transaction takes the write
lock when it starts instead of failing when it first writes; a busy timeout, so it queues for
the lock. A writer can still find the file locked past the timeout when a long write holds it
(an import, a big upload, the worker's nightly jobs). ``write_retrying`` runs the whole write
again a few times, with a short growing pause, and then raises ``DatabaseBusy``, which the API
answers with 409 and the current state instead of a 500. PostgreSQL never says "database is
locked": there, a call runs once, as it always did.
"""

import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, connection
from django.utils.translation import gettext_lazy

from gridcity.errors import Conflict

T = TypeVar("T")

LOCKED_MESSAGES = ("database is locked", "database table is locked")


class DatabaseBusy(Conflict):
    """The database stayed locked by other writers through every retry (409 ``busy``; nothing
    was written). ``detail`` is the database's own words."""

    code = "busy"

    def __init__(self, detail: str):
        super().__init__(gettext_lazy("The database is busy; try again."))
        self.detail = detail


def is_locked(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite refusing a write because another connection holds the lock."""
    return isinstance(exc, OperationalError) and any(m in str(exc) for m in LOCKED_MESSAGES)


def write_retrying(call: Callable[[], T], *, attempts: int | None = None, pause: float = 0.1) -> T:
    """``call()``, run again while SQLite says it is locked; ``DatabaseBusy`` after ``attempts``.

    ``call`` must be one whole transaction (a service decorated ``@transaction.atomic``): a
    locked error rolls it back entirely, so running it again cannot apply anything twice. Inside
    an outer transaction nothing is retried — that transaction is broken and must end first.
    """
    attempts = attempts or settings.GRIDCITY_DB_LOCKED_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except OperationalError as exc:
            if not is_locked(exc) or connection.in_atomic_block:
                raise
            if attempt == attempts:
                raise DatabaseBusy(str(exc)) from exc
            time.sleep(pause * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover
