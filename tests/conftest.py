"""Shared fixtures: test settings and a small rectangular city of exact squares.

The small city and the personas are built once per test run, right after the test database
(``django_db_setup``), and kept: each ``db`` test runs in a transaction that is rolled back, so
they are there again for the next test, which reads them afresh (new instances: one test's
changes in memory never reach another). A test that does not ask for them does not see them:
their rows are deleted inside its transaction (``_kept_rows_hidden``). A transactional test
empties every table when it ends; the next test that asks for the city builds it again.
"""

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import translation

from cases.codes import BOOKS
from tests.factories import CityKeys, SmallCity, load_small_city, make_people, make_small_city

TEST_PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


@pytest.fixture(autouse=True)
def _test_settings(settings):
    from cases.calendar import calendar_holder
    from gridcity.locate import grid_index

    cache.clear()  # answers cached by one test must not leak into the next
    for book in BOOKS:  # ids are reused between tests whose transactions were rolled back
        book.clear()
    # The kept city has the same rows and times in every test: a change a test made and rolled
    # back leaves the fingerprints as they were, so the caches built from it must go.
    grid_index.invalidate()
    calendar_holder.reset()
    # Messages are asserted in English; tests of the zh-Hans default say so themselves.
    settings.LANGUAGE_CODE = "en"
    # Hashing at production strength costs a third of a second a user; tests make hundreds.
    settings.PASSWORD_HASHERS = TEST_PASSWORD_HASHERS
    translation.activate("en")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Check the hierarchy fingerprint on every locate: tests change grids between calls.
    settings.GRIDCITY_LOCATE_INDEX_CHECK_SECONDS = 0
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@dataclass
class Kept:
    """What ``django_db_setup`` built for the whole run: the city's keys, and every row the
    city and the personas added, by model, to hide from the tests that do not ask for them."""

    city: CityKeys
    city_rows: dict[type, set]
    people_rows: dict[type, set]


def _rows() -> dict[type, set]:
    """The primary keys of every table, by model."""
    return {
        model: set(model._base_manager.values_list("pk", flat=True))
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


def _added(before: dict[type, set], after: dict[type, set]) -> dict[type, set]:
    return {model: pks - before[model] for model, pks in after.items() if pks - before[model]}


def _keep() -> Kept:
    with override_settings(PASSWORD_HASHERS=TEST_PASSWORD_HASHERS):
        empty = _rows()
        city = make_small_city()
        with_city = _rows()
        make_people(city)
        return Kept(
            city=city.keys(),
            city_rows=_added(empty, with_city),
            people_rows=_added(with_city, _rows()),
        )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> Kept:
    """The test database, with the small city and the personas built once and committed."""
    with django_db_blocker.unblock():
        return _keep()


@pytest.fixture(scope="module")
def kept_rows_removed(django_db_setup, django_db_blocker):
    """For a module that commits data of its own (e.g. the demo city) beside the kept rows,
    whose names would collide: the kept rows are removed for the module and built again after
    it, for the modules that follow."""
    with django_db_blocker.unblock():
        _delete(_union(django_db_setup.city_rows, django_db_setup.people_rows))
    yield
    with django_db_blocker.unblock():
        kept = _keep()
    django_db_setup.city, django_db_setup.city_rows = kept.city, kept.city_rows
    django_db_setup.people_rows = kept.people_rows


def _union(*rows: dict[type, set]) -> dict[type, set]:
    out: dict[type, set] = {}
    for some in rows:
        for model, pks in some.items():
            out.setdefault(model, set()).update(pks)
    return out


def _delete(rows: dict[type, set]) -> None:
    # Every foreign key is deferred to the commit (or the rollback) of the transaction, so the
    # order does not matter; no signal, no cascade: these are exactly the rows to remove.
    with transaction.atomic():
        for model, pks in rows.items():
            model._base_manager.filter(pk__in=pks)._raw_delete(connection.alias)


@pytest.fixture(autouse=True)
def _kept_rows_hidden(request):
    """A database test that asks for neither the city nor the personas finds the database as
    migrations left it; one that asks for the city but not the personas finds no personas."""
    names = request.fixturenames
    if not {"db", "transactional_db", "live_server"} & set(names) and not (
        request.node.get_closest_marker("django_db")
    ):
        return
    wants_city, wants_people = "small_city" in names, "people" in names
    if wants_city and wants_people:
        return
    kept: Kept = request.getfixturevalue("django_db_setup")
    request.getfixturevalue("_django_db_helper")  # inside the test's transaction, if it has one
    from gridcity.models import District

    if not District.objects.filter(pk=kept.city.district).exists():
        return  # emptied by a transactional test
    _delete(kept.people_rows if wants_city else _union(kept.city_rows, kept.people_rows))


@pytest.fixture
def small_city(db, django_db_setup) -> SmallCity:
    """A 2 × 2 street, 2 × 2 community, 3 × 3 grid city of squares near lon 100, lat 30."""
    return load_small_city(django_db_setup.city) or make_small_city()


@pytest.fixture
def people(small_city):
    """The shared personas on the small city: who is who in the permission tests."""
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
