"""Per-process look-ups of the codes (and names) of small tables that rarely change.

A case list row shows its grid's, street's, department's and item's codes. Joining four tables
for that on every page made PostgreSQL hash the 4,833-row grid table each time and plan a
five-table join; the case list instead reads the case columns alone and takes the codes from
here. A book is read once per process and read again when the table's fingerprint (row count,
newest ``updated_at``, highest id) changes — checked at most every
``GRIDCITY_CODEBOOK_CHECK_SECONDS`` (1 s: a renamed item shows under its new name within a
second) — or when an id is asked for that it does not hold (a row added a moment ago).
"""

import threading
import time

from django.conf import settings
from django.db.models import Count, Max, Model


class CodeBook:
    def __init__(self, model: type[Model], fields: tuple[str, ...] = ("code",)):
        self.model = model
        self.fields = fields
        self._lock = threading.Lock()
        self._rows: dict[int, tuple] = {}
        self._fingerprint: tuple | None = None
        self._checked_at = 0.0

    def _fingerprint_now(self) -> tuple:
        return tuple(
            self.model.objects.aggregate(
                n=Count("id"), last=Max("updated_at"), top=Max("id")
            ).values()
        )

    def _load(self, fingerprint: tuple) -> None:
        rows = self.model.objects.values_list("id", *self.fields)
        self._rows = {row[0]: tuple(row[1:]) for row in rows}
        self._fingerprint = fingerprint

    def _fresh(self, *, force: bool = False) -> dict[int, tuple]:
        now = time.monotonic()
        interval = settings.GRIDCITY_CODEBOOK_CHECK_SECONDS
        if not force and self._fingerprint is not None and now - self._checked_at < interval:
            return self._rows
        with self._lock:
            fingerprint = self._fingerprint_now()
            if fingerprint != self._fingerprint:
                self._load(fingerprint)
            self._checked_at = time.monotonic()
            return self._rows

    def get(self, pk: int | None) -> tuple | None:
        """The row's fields, or None for no id (or an id that no longer exists)."""
        if pk is None:
            return None
        rows = self._fresh()
        if pk not in rows:
            rows = self._fresh(force=True)
        return rows.get(pk)

    def code(self, pk: int | None) -> str | None:
        row = self.get(pk)
        return row[0] if row is not None else None

    def clear(self) -> None:
        with self._lock:
            self._rows, self._fingerprint, self._checked_at = {}, None, 0.0
