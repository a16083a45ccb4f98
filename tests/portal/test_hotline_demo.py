"""The hotline's demo: knowledge entries and calls through the services."""

import pytest

from cases.models import Case, Status

pytestmark = pytest.mark.django_db


def test_the_demo_gives_the_console_answers_a_caller_and_callbacks_due(people, item):
    from django.core.management import call_command

    from accounts.models import Role
    from portal.models import KnowledgeEntry
    from tests.factories import make_user

    make_user("hotline", Role.HOTLINE)
    district = people.grid_a.community.street.district

    call_command("seed_demo_hotline", district=district.code, if_empty=True, verbosity=0)
    call_command("seed_demo_hotline", district=district.code, if_empty=True, verbosity=0)

    assert KnowledgeEntry.objects.count() > 3
    assert Case.objects.filter(source="hotline").count() == 4
    assert Case.objects.filter(status=Status.CLOSED, resolution="answered").count() == 1
    assert (
        Case.objects.filter(callback_due__isnull=False, callback_done_at__isnull=True).count() == 2
    )
