"""Per-process look-ups of the codes (and names) of small tables that rarely change.

A case list row shows its grid's, street's, department's and item's codes. Joining four tables
for that on every page made PostgreSQL hash the 4,833-row grid table each time and plan a
five-table join; the case list instead reads the case columns alone and takes the codes from
here. A book is read once per process and read again when the table's fingerprint (row count,
newest ``updated_at``, highest id) changes — checked at most every
``GRIDCITY_CODEBOOK_CHECK_SECONDS`` (1 s: a renamed item shows under its new name within a
second) — or when an id is asked for that it does not hold (a row added a moment ago).
"""

from django.conf import settings
from django.db.models import Model

from gridcity.fingerprint import FingerprintCache, tables_fingerprint


class CodeBook:
    def __init__(self, model: type[Model], fields: tuple[str, ...] = ("code",)):
        self.model = model
        self.fields = fields
        self._rows = FingerprintCache(
            fingerprint=lambda: tables_fingerprint(model),
            build=self._load,
            interval=lambda: settings.GRIDCITY_CODEBOOK_CHECK_SECONDS,
        )

    def _load(self, fingerprint: tuple) -> dict[int, tuple]:
        rows = self.model.objects.values_list("id", *self.fields)
        return {row[0]: tuple(row[1:]) for row in rows}

    def get(self, pk: int | None) -> tuple | None:
        """The row's fields, or None for no id (or an id that no longer exists)."""
        if pk is None:
            return None
        rows = self._rows.get()
        if pk not in rows:
            rows = self._rows.get(force=True)
        return rows.get(pk)

    def rows(self) -> dict[int, tuple]:
        """Every row's fields by id (read-only: a filter resolving a code or name to ids)."""
        return self._rows.get()

    def code(self, pk: int | None) -> str | None:
        row = self.get(pk)
        return row[0] if row is not None else None

    def clear(self) -> None:
        self._rows.clear()
