"""Per-process caches of things built from small tables that rarely change.

The working calendar, the code books of the case list and the spatial index of the grids are
each built once per process and read thousands of times a second. Another process (the admin,
an import, a worker) may change their tables, so each cache compares a cheap fingerprint of the
tables — row count, newest ``updated_at`` and highest id, which together change on any insert,
update or delete — at most every few seconds, and builds its value again when it moved.
"""

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db.models import Count, Max, Model

T = TypeVar("T")


def tables_fingerprint(*models: type[Model]) -> tuple:
    """A tuple that changes whenever a row of one of ``models`` is added, changed or removed.

    Each model needs an ``updated_at`` field that every save moves forward.
    """
    aggregates = {"n": Count("id"), "last": Max("updated_at"), "top": Max("id")}
    return tuple(tuple(model.objects.aggregate(**aggregates).values()) for model in models)


class FingerprintCache(Generic[T]):
    """A value built by ``build(fingerprint)`` and built again when ``fingerprint()`` changes.

    ``get()`` answers from memory while the last check is younger than ``interval()`` seconds
    (a callable, so a test's settings override takes effect at once); a check takes the lock,
    so two threads never build at the same time. ``clear()`` drops the value: the next
    ``get()`` builds it again (the process that changed the tables need not wait).
    """

    def __init__(
        self,
        *,
        fingerprint: Callable[[], tuple],
        build: Callable[[tuple], T],
        interval: Callable[[], float],
    ) -> None:
        self._fingerprint_now = fingerprint
        self._build = build
        self._interval = interval
        self._lock = threading.Lock()
        self._value: T | None = None
        self._fingerprint: tuple | None = None
        self._checked_at = 0.0

    def get(self, *, force: bool = False) -> T:
        """The value, checked against the tables if ``force`` or the last check is too old."""
        value = self._value
        if (
            not force
            and value is not None
            and time.monotonic() - self._checked_at < self._interval()
        ):
            return value
        with self._lock:
            fingerprint = self._fingerprint_now()
            if self._value is None or fingerprint != self._fingerprint:
                self._value = self._build(fingerprint)
                self._fingerprint = fingerprint
            self._checked_at = time.monotonic()
            return self._value

    def clear(self) -> None:
        with self._lock:
            self._value, self._fingerprint, self._checked_at = None, None, 0.0
