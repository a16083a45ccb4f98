"""Model field declarations that several apps share."""

from django.db import models


def optional_fk(to, *, on_delete=models.PROTECT, **options) -> models.ForeignKey:
    """A ForeignKey that may be empty (``null`` and ``blank``); the row it points to is kept
    (``PROTECT``) unless ``on_delete`` says otherwise. The field it returns deconstructs as the
    plain ForeignKey would, so migrations see no difference."""
    return models.ForeignKey(to, on_delete=on_delete, null=True, blank=True, **options)
