"""Who sees which grids and people: scope from relations, widened by hand-granted permissions."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm

from accounts.models import AssignmentKind, GridAssignment, Role
from accounts.selectors import grids_of, grids_visible_to
from accounts.services import grid_assign, grid_unassign, user_set_role
from gridcity.models import WorkGrid
from tests.factories import make_user


def codes(qs):
    return set(qs.values_list("code", flat=True))


def open_holder(grid, kind=AssignmentKind.PRIMARY):
    """The inspector of the grid's open assignment of ``kind``, or None."""
    held = GridAssignment.objects.filter(grid=grid, kind=kind, valid_to__isnull=True).first()
    return held.inspector if held else None


def test_inspector_sees_exactly_their_grids(people):
    assert codes(grids_visible_to(people.inspector_a)) == {people.grid_a.code}
    assert codes(grids_visible_to(people.inspector_b)) == {people.grid_b.code}


def test_supervisor_sees_their_street_and_not_the_other(people, small_city):
    street_a = small_city.streets[0]

    seen = codes(grids_visible_to(people.supervisor))

    assert seen == {g.code for g in small_city.grids if g.code.startswith(street_a.code)}
    assert people.grid_a.code in seen and people.grid_b.code not in seen


def test_dispatcher_of_the_district_sees_every_grid_of_it(people, small_city):
    assert codes(grids_visible_to(people.dispatcher)) == {g.code for g in small_city.grids}


@pytest.mark.parametrize("who", ["citizen", "staff"])
def test_citizen_and_city_wide_staff_answer_for_no_grid(people, who):
    assert not grids_visible_to(getattr(people, who)).exists()


def test_anonymous_and_disabled_users_see_nothing(people):
    people.supervisor.is_active = False
    assert not grids_visible_to(AnonymousUser()).exists()
    assert not grids_visible_to(people.supervisor).exists()


def test_a_street_lent_by_hand_widens_a_supervisors_scope(people, small_city):
    other_street = small_city.streets[1]
    assign_perm("gridcity.view_street", people.supervisor, other_street)

    seen = codes(grids_visible_to(people.supervisor))

    assert people.grid_b.code in seen
    assert len(seen) == 72  # both streets, 36 grids each
    assert people.grid_a.code not in codes(grids_visible_to(people.other_supervisor))


def test_a_grid_covered_for_a_neighbour_is_visible_to_that_inspector(people):
    assign_perm("gridcity.view_workgrid", people.inspector_a, people.grid_b)

    assert codes(grids_visible_to(people.inspector_a)) == {people.grid_a.code, people.grid_b.code}
    assert codes(grids_visible_to(people.inspector_b)) == {people.grid_b.code}


def test_global_view_permission_does_not_become_scope(people):
    # Supervisors hold gridcity.view_workgrid through their role's group; that says they may
    # look at grids at all, not at every grid.
    assert people.other_supervisor.has_perm("gridcity.view_workgrid")
    assert people.grid_a.code not in codes(grids_visible_to(people.other_supervisor))


def test_reassigning_a_grid_keeps_who_held_it_when(people):
    before = timezone.now()
    later = before + timedelta(hours=1)

    grid_assign(grid=people.grid_a, inspector=people.inspector_b, at=later)

    assert open_holder(people.grid_a) == people.inspector_b
    assert people.grid_a.code in codes(grids_of(people.inspector_b, later))
    assert people.grid_a.code not in codes(grids_of(people.inspector_a, later))
    assert people.grid_a.code not in codes(grids_visible_to(people.inspector_a))
    assert codes(grids_of(people.inspector_a, before + timedelta(minutes=1))) == {
        people.grid_a.code
    }
    assert GridAssignment.objects.filter(grid=people.grid_a).count() == 2


def test_one_inspector_may_hold_several_grids(people, small_city):
    grid_assign(grid=small_city.grids[1], inspector=people.inspector_a)

    assert codes(grids_visible_to(people.inspector_a)) == {
        people.grid_a.code,
        small_city.grids[1].code,
    }


def test_backup_inspector_sees_the_grid_too(people):
    grid_assign(grid=people.grid_a, inspector=people.inspector_b, kind=AssignmentKind.BACKUP)

    assert people.grid_a.code in codes(grids_visible_to(people.inspector_b))
    assert open_holder(people.grid_a) == people.inspector_a
    assert open_holder(people.grid_a, AssignmentKind.BACKUP) == people.inspector_b


def test_unassigned_grid_leaves_the_inspectors_scope(people):
    grid_unassign(grid=people.grid_a)

    assert not grids_visible_to(people.inspector_a).exists()
    assert open_holder(people.grid_a) is None


def test_only_inspectors_can_be_assigned(people):
    with pytest.raises(ValidationError):
        grid_assign(grid=people.grid_a, inspector=people.supervisor)


def test_role_change_moves_the_user_between_groups(people):
    user_set_role(user=people.citizen, role=Role.HOTLINE)

    assert [g.name for g in people.citizen.groups.all()] == ["role:hotline"]
    assert grids_visible_to(people.citizen).count() == WorkGrid.objects.count()


def test_supervisor_needs_a_street_or_district(people):
    with pytest.raises(ValidationError):
        user_set_role(user=people.citizen, role=Role.SUPERVISOR)


@pytest.mark.parametrize("who", ["supervisor", "dispatcher", "inspector_a", "staff"])
def test_grids_visible_to_runs_a_constant_number_of_queries(people, small_city, who):
    user = getattr(people, who)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            list(grids_visible_to(user))
        return len(ctx)

    few = queries()
    # Thirty more grids in scope, with inspectors: the query count must not move.
    for grid in small_city.grids[1:31]:
        grid_assign(grid=grid, inspector=make_user(f"more-{grid.code}", Role.INSPECTOR))
    assign_perm("gridcity.view_street", user, small_city.streets[2])

    assert queries() == few
