"""Shared fixtures: test settings and a small rectangular city of exact squares."""

import pytest
from django.core.cache import cache
from django.utils import translation

from cases.codes import BOOKS
from tests.factories import SmallCity, make_small_city


@pytest.fixture(autouse=True)
def _test_settings(settings):
    cache.clear()  # answers cached by one test must not leak into the next
    for book in BOOKS:  # ids are reused between tests whose transactions were rolled back
        book.clear()
    # Messages are asserted in English; tests of the zh-Hans default say so themselves.
    settings.LANGUAGE_CODE = "en"
    # Hashing at production strength costs a third of a second a user; tests make hundreds.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    translation.activate("en")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Check the hierarchy fingerprint on every locate: tests change grids between calls.
    settings.GRIDCITY_LOCATE_INDEX_CHECK_SECONDS = 0
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def small_city(db) -> SmallCity:
    """A 2 × 2 street, 2 × 2 community, 3 × 3 grid city of squares near lon 100, lat 30."""
    return make_small_city()


@pytest.fixture
def people(small_city):
    """The shared personas on the small city: who is who in the permission tests."""
    from tests.factories import make_people

    return make_people(small_city)


@pytest.fixture
def roomy_db_pool():
    """Room in PostgreSQL's connection pool for every thread a test runs at once.

    A thread holds its pooled connection from its first query to its end, as a request does;
    threads held at a barrier would otherwise wait for each other's connections for ever.
    """
    from django.db import connection

    pool = connection.settings_dict.get("OPTIONS", {}).get("pool")
    if connection.vendor != "postgresql" or not isinstance(pool, dict):
        yield
        return
    size = pool.get("max_size")
    connection.close()
    connection.close_pool()
    pool["max_size"] = 40
    try:
        yield
    finally:
        connection.close()
        connection.close_pool()
        pool["max_size"] = size
