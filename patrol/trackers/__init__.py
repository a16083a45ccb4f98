"""The positioning apps GridCity takes fixes from, one module per app, as plug-ins.

A protocol is a ``TrackerProtocol`` subclass in a module of this package, decorated with
``@register``. It says only what differs between apps: how a request is read into a
``Reading`` (the device's identifier, its fixes, its battery: a heartbeat is a reading without
fixes), which HTTP methods the app uses, what its registered identifiers look like, and the
answer the app waits for before it forgets a batch. Everything else — the body limit, strict
JSON, the lookup of the registered ``Tracker``, the 403 for an unknown or revoked identifier
(logged, rate-limited), ingestion (``patrol.services.track_points_ingest``), the tracker's last
contact and battery (``patrol.services.tracker_contact``) and the API's error shape — is the one
view in ``patrol.api.protocols``, and the URL ``/<kind>/`` is generated from this registry.

``Tracker.kind`` takes its choices from here as well. The field keeps them out of the migration
state (``patrol.models.ProtocolKindField.deconstruct`` drops them): the database holds a plain
string, the admin's select and ``full_clean()`` still offer and check exactly the registered
kinds, and adding a module here needs no migration. A kind whose module is removed stays
readable in the table; its trackers simply no longer validate, and its URL is gone.

Adding an app: one module here, its tests, a row of the permission matrix, a section of
docs/patrol.md. The modules are pure (no models, no services) so that ``patrol.models`` can
import the registry.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import NamedTuple

from django.db import models
from django.http import HttpRequest, HttpResponse

from patrol.fixes import Fix

_REGISTRY: dict[str, type[TrackerProtocol]] = {}


class Reading(NamedTuple):
    """What one request of a positioning app says: whose it is, its fixes (none for a
    heartbeat), and the battery level it reports, a whole percent, with or without a fix."""

    identifier: str
    fixes: list[Fix]
    battery: int | None = None


class TrackerProtocol:
    """One positioning app's protocol. Subclasses set ``kind`` (the ``Tracker.kind`` value, the
    URL path and the URL's name; 12 characters at most), ``label`` and ``methods``."""

    kind: str = ""
    label: str = ""
    methods: tuple[str, ...] = ("post",)
    # The field named in the 400 for a request with more fixes than GRIDCITY_PATROL_MAX_BATCH.
    batch_field: str = "body"
    # A request that names no device and holds no fix is answered without a lookup (OwnTracks'
    # lwt or zero-length POST); otherwise an empty identifier is refused like an unknown one.
    anonymous_ok: bool = False

    def read(self, request: HttpRequest, *, body: Callable[[], bytes], received: float) -> Reading:
        """The request as a ``Reading``; ``body()`` gives the body within the size limit.
        Raises ``FixFormatError`` for a request that cannot be read."""
        raise NotImplementedError

    def answer(self, reading: Reading, counts: dict) -> HttpResponse:
        """The 200 the app expects once the reading is stored; ``counts`` are the ingestion's
        (``accepted``, ``duplicate``, ``rejected``)."""
        raise NotImplementedError

    def identifier_errors(self, identifier: str) -> list[str]:
        """What is wrong with an identifier an administrator registers, beyond its length."""
        return []


def register(cls: type[TrackerProtocol]) -> type[TrackerProtocol]:
    if not cls.kind or len(cls.kind) > 12:
        raise ValueError(f"{cls.__name__}.kind must be 1 to 12 characters")
    if cls.kind in _REGISTRY and _REGISTRY[cls.kind] is not cls:
        raise ValueError(f"two tracker protocols named {cls.kind!r}")
    _REGISTRY[cls.kind] = cls
    return cls


def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def protocols() -> list[TrackerProtocol]:
    """Every registered protocol, in the order of their kinds."""
    return [_REGISTRY[kind]() for kind in sorted(_REGISTRY)]


def protocol(kind: str) -> TrackerProtocol | None:
    cls = _REGISTRY.get(kind)
    return None if cls is None else cls()


def kind_choices() -> type[models.TextChoices]:
    """The registered kinds as ``TextChoices`` (``Kind.OSMAND == "osmand"``)."""
    members = [(kind.upper(), (kind, _REGISTRY[kind].label)) for kind in sorted(_REGISTRY)]
    return models.TextChoices("Kind", members)


_discover()
