"""Shared fixtures: a small rectangular city anywhere, and the full demo city once a session."""

import pytest

from tests.factories import SmallCity, make_small_city


@pytest.fixture(autouse=True)
def _test_settings(settings):
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


@pytest.fixture(scope="session")
def demo_city(django_db_setup, django_db_blocker):
    """Bao'an as ``seed_demo_city`` builds it, made once for the whole session.

    Kept outside the per-test transactions; tests must not change it.
    """
    from django.core.management import call_command

    from gridcity.models import WorkGrid

    with django_db_blocker.unblock():
        if not WorkGrid.objects.filter(code__startswith="440306").exists():
            call_command("seed_demo_city", verbosity=0)
    yield
