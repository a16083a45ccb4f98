"""Every write about people: roles, scopes, grid assignments."""

from datetime import datetime

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import policy
from accounts.models import AssignmentKind, Department, GridAssignment, Role, User
from accounts.roles import group_name
from gridcity.models import District, Street, WorkGrid


@transaction.atomic
def user_set_role(
    *,
    user: User,
    role: str,
    street: Street | None = None,
    district: District | None = None,
    department: Department | None = None,
) -> User:
    """Give a user a role and its scope, and put them in exactly that role's group.

    A change of role revokes the user's handheld tokens (see accounts.signals), so a device
    never keeps the rights of a role its holder no longer has.
    """
    role = Role(role)
    user.role = role
    area = policy.answers_for_area(user)
    user.street = street if area else None
    user.district = district if area and not street else None
    user.department = department if policy.is_department_staff(user) else None
    user.is_staff = policy.may_use_admin_site(user)
    user.clean()
    user.save()
    role_groups = Group.objects.filter(name__startswith="role:")
    user.groups.remove(*role_groups.exclude(name=group_name(role)))
    user.groups.add(Group.objects.get(name=group_name(role)))
    return user


@transaction.atomic
def grid_assign(
    *,
    grid: WorkGrid,
    inspector: User,
    kind: str = AssignmentKind.PRIMARY,
    by: User | None = None,
    at: datetime | None = None,
    note: str = "",
) -> GridAssignment:
    """Make ``inspector`` the grid's primary (or backup) inspector from ``at`` (default now).

    The grid's open assignment of that kind is closed at the same instant, so the history has
    no gap and no overlap. The open assignments are locked first: two dispatchers assigning the
    same grid at once are serialised, and the second one closes the first one's assignment.
    """
    if not policy.may_hold_grid(inspector):
        raise ValidationError({"inspector": _("only a grid inspector can be assigned a grid")})
    at = at or timezone.now()
    current = (
        GridAssignment.objects.select_for_update()
        .filter(grid=grid, kind=kind, valid_to__isnull=True)
        .first()
    )
    if current is not None:
        if current.inspector_id == inspector.pk:
            return current
        if current.valid_from >= at:
            raise ValidationError(
                {"valid_from": _("the current assignment starts after %(at)s") % {"at": at}}
            )
        current.valid_to = at
        current.save(update_fields=["valid_to"])
    return GridAssignment.objects.create(
        grid=grid, inspector=inspector, kind=kind, valid_from=at, assigned_by=by, note=note
    )


@transaction.atomic
def grid_unassign(
    *, grid: WorkGrid, kind: str = AssignmentKind.PRIMARY, at: datetime | None = None
) -> GridAssignment | None:
    """End the grid's open assignment of that kind; returns it, or None if there was none."""
    current = (
        GridAssignment.objects.select_for_update()
        .filter(grid=grid, kind=kind, valid_to__isnull=True)
        .first()
    )
    if current is not None:
        current.valid_to = at or timezone.now()
        current.save(update_fields=["valid_to"])
    return current
