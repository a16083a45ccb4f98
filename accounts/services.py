"""Every write about people: roles, scopes, activity, passwords, grid assignments.

The side effects of a change to a person are explicit here, not in model signals: a user
disabled, given another role or a new password loses every handheld token at once (so no device
keeps rights its holder lost), and the change is written to the audit log. The admin, the
password-change page and the ``user_password`` command all call these services; a bare
``user.save()`` changes the row and nothing else.
"""

from datetime import datetime

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import policy
from accounts.audit import audit_record
from accounts.auth import user_tokens_revoke
from accounts.models import AssignmentKind, AuditAction, Department, GridAssignment, Role, User
from accounts.roles import group_name
from gridcity.models import District, Street, WorkGrid


def _stored(user: User) -> dict | None:
    """The user's row as stored, locked until the end of the transaction (None if unsaved)."""
    if user.pk is None:
        return None
    return User.objects.select_for_update().filter(pk=user.pk).values("role", "is_active").first()


def _tokens_revoke(
    user: User, action: str, why: str, *, by: User | None, request, only_if_any=False, **detail
) -> int:
    """Revoke the user's tokens for ``why`` and write the audit row ``action`` saying so and
    how many devices went (none written for no device if ``only_if_any``)."""
    revoked = user_tokens_revoke(user=user, reason=why)
    if revoked or not only_if_any:
        audit_record(
            action=action,
            request=request,
            actor=by,
            username=user.get_username(),
            user=user.pk,
            reason=why,
            devices_revoked=revoked,
            **detail,
        )
    return revoked


@transaction.atomic
def user_set_role(
    *,
    user: User,
    role: str,
    street: Street | None = None,
    district: District | None = None,
    department: Department | None = None,
    by: User | None = None,
    request=None,
) -> User:
    """Give a user a role and its scope, and put them in exactly that role's group.

    A change of role revokes the user's handheld tokens and is audited (ROLE_CHANGED), so a
    device never keeps the rights of a role its holder no longer has. ``by`` and ``request``
    name who made the change, for the audit row.
    """
    role = Role(role)
    before = _stored(user)
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
    if before is not None and before["role"] != role:
        roles = {"role_from": before["role"], "role_to": role.value}
        why = "role changed"
        _tokens_revoke(user, AuditAction.ROLE_CHANGED, why, by=by, request=request, **roles)
    return user


@transaction.atomic
def user_set_active(*, user: User, active: bool, by: User | None = None, request=None) -> User:
    """Enable or disable a user's account.

    Disabling revokes every handheld token (and closes the user's sockets) at once and is
    audited (USER_DISABLED); enabling gives no token back, the handhelds log in again.
    """
    before = _stored(user)
    user.is_active = active
    user.save(update_fields=["is_active"])
    if before is not None and before["is_active"] and not active:
        _tokens_revoke(user, AuditAction.USER_DISABLED, "user disabled", by=by, request=request)
    return user


@transaction.atomic
def user_set_password(
    *, user: User, password: str | None, by: User | None = None, request=None
) -> User:
    """Give the user a new password (``None``: no usable password) and sign every handheld out.

    As Django ends the user's other sessions, a new password — the user's own change, or an
    administrator's after a handheld went missing — revokes every token. The change is audited
    (PASSWORD_CHANGED), and the revocation too (TOKEN_REVOKED) when there was a token. The
    caller validates the password first.
    """
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        action=AuditAction.PASSWORD_CHANGED,
        request=request,
        actor=by,
        username=user.get_username(),
        user=user.pk,
    )
    why = "password changed"
    _tokens_revoke(user, AuditAction.TOKEN_REVOKED, why, by=by, request=request, only_if_any=True)
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
