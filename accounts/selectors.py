"""Who may see what: querysets built from relations (grid, street, department), never id lists.

Scope by role: an inspector sees the grids assigned to them now; a supervisor or dispatcher
the grids of their street (or district); staff of a street office their street; hotline
operators and administrators every grid. Object permissions granted by hand through
django-guardian (``view_street`` or ``view_workgrid`` on one object: a street lent for a month,
a grid covered for a neighbour) widen a scope; they never narrow one. Every selector here runs
a fixed number of queries, however many grids there are.
"""

from datetime import datetime
from functools import cache

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from accounts import policy
from accounts.models import GridAssignment, User
from gridcity.models import Street, WorkGrid


def _open_assignments(at: datetime | None = None) -> Q:
    if at is None:
        return Q(assignments__valid_to__isnull=True)
    return Q(assignments__valid_from__lte=at) & (
        Q(assignments__valid_to__isnull=True) | Q(assignments__valid_to__gt=at)
    )


def _granted(user: User, perm: str, klass) -> QuerySet:
    """Objects on which the user (or a group of theirs) holds ``perm`` object by object."""
    return get_objects_for_user(
        user, perm, klass=klass, accept_global_perms=False, with_superuser=False
    ).values("pk")


def granted_hierarchy_ids(
    user: User, *, with_assigned: bool = False
) -> tuple[list[int], list[int]]:
    """(grid ids, street ids) on which the user, or a group of theirs, was granted ``view_*``
    by hand (django-guardian), in one query: the same answer as two ``_granted`` calls, which
    a case list would otherwise pay on every request. ``with_assigned`` adds the grids the
    user is assigned to now (an inspector's), in the same query.

    Written as SQL: every case list and live-map subscription asks this, and building the
    three-part UNION through the ORM cost more than running it.
    """
    from django.contrib.contenttypes.models import ContentType

    types = ContentType.objects.get_for_models(WorkGrid, Street)  # cached by Django
    grid_type, street_type = types[WorkGrid].pk, types[Street].pk
    wanted = [grid_type, "view_workgrid", street_type, "view_street"]
    sql = _grants_sql(with_assigned)
    params = [user.pk, *wanted, user.pk, *wanted] + ([grid_type, user.pk] if with_assigned else [])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    grids, streets = [], []
    for type_id, pk in rows:
        (grids if type_id == grid_type else streets).append(int(pk))
    return grids, streets


@cache
def _grants_sql(with_assigned: bool) -> str:
    from django.contrib.auth.models import Permission
    from guardian.models import GroupObjectPermission, UserObjectPermission

    perm = Permission._meta.db_table
    wanted = (
        "((o.content_type_id = %s AND p.codename = %s)"
        " OR (o.content_type_id = %s AND p.codename = %s))"
    )
    sql = (
        f"SELECT o.content_type_id, o.object_pk FROM {UserObjectPermission._meta.db_table} o "
        f"JOIN {perm} p ON p.id = o.permission_id WHERE o.user_id = %s AND {wanted} "
        "UNION "
        f"SELECT o.content_type_id, o.object_pk FROM {GroupObjectPermission._meta.db_table} o "
        f"JOIN {perm} p ON p.id = o.permission_id "
        f"WHERE o.group_id IN (SELECT group_id FROM {User.groups.through._meta.db_table} "
        f"WHERE user_id = %s) AND {wanted}"
    )
    if with_assigned:
        sql += (
            f" UNION SELECT %s, CAST(grid_id AS varchar(255)) FROM "
            f"{GridAssignment._meta.db_table} WHERE inspector_id = %s AND valid_to IS NULL"
        )
    return sql


def scope_prefix(user: User) -> str | None:
    """The code that prefixes every unit a supervisor, dispatcher or street office oversees."""
    if policy.answers_for_area(user):
        return user.scope_code
    if policy.is_department_staff(user) and user.department_id and user.department.street_id:
        return user.department.street.code
    return None


def grids_visible_to(user: User | AnonymousUser) -> QuerySet[WorkGrid]:
    """The work grids a user answers for or oversees (not the public map: that is for all)."""
    grids = WorkGrid.objects.all()
    if not user.is_authenticated or not user.is_active:
        return grids.none()
    if policy.sees_whole_district(user):
        return grids
    rule = Q(pk__in=_granted(user, "gridcity.view_workgrid", WorkGrid))
    rule |= Q(community__street__in=_granted(user, "gridcity.view_street", Street))
    if policy.is_inspector(user):
        rule |= Q(
            pk__in=GridAssignment.objects.filter(inspector=user, valid_to__isnull=True).values(
                "grid_id"
            )
        )
    if prefix := scope_prefix(user):
        rule |= Q(code__startswith=prefix)
    return grids.filter(rule)


def grids_of(inspector: User, at: datetime | None = None) -> QuerySet[WorkGrid]:
    """The grids ``inspector`` held at ``at`` (default now), primary or backup."""
    condition = _open_assignments(at) & Q(assignments__inspector=inspector)
    return WorkGrid.objects.filter(condition).distinct().order_by("code")


@cache
def _me_sql(department: bool, street: bool, district: bool) -> str:
    """The /me/ statement for a user with these links: one index lookup per part, glued with
    UNION ALL. The user's own row is already at hand (the token check read it), so no part
    joins it, and PostgreSQL plans a few primary-key lookups in a fraction of what planning
    the former six-table outer join cost on every call (≈ 1.5 ms, most of /me/)."""
    from accounts.models import Department
    from gridcity.models import District

    parts = []
    if department:
        parts.append(
            f"SELECT 'department', code, name FROM {Department._meta.db_table} WHERE id = %s"
        )
    if street:
        parts.append(f"SELECT 'street', code, '' FROM {Street._meta.db_table} WHERE id = %s")
    if district:
        parts.append(f"SELECT 'district', code, '' FROM {District._meta.db_table} WHERE id = %s")
    parts.append(
        f"SELECT a.kind, g.code, g.name FROM {GridAssignment._meta.db_table} a "
        f"JOIN {WorkGrid._meta.db_table} g ON g.id = a.grid_id "
        "WHERE a.inspector_id = %s AND a.valid_to IS NULL"
    )
    return " UNION ALL ".join(parts)


def me_profile(user: User) -> dict:
    """What ``GET /api/v1/me/`` answers: the user, role, department, area and current grids.

    One query whatever the number of grids (the user's department, street and district codes
    and a row per open assignment), plain values: no model instances, no geometry.
    """
    links = [user.department_id, user.street_id, user.district_id]
    params = [pk for pk in links if pk is not None] + [user.pk]
    with connection.cursor() as cursor:
        cursor.execute(_me_sql(*(pk is not None for pk in links)), params)
        rows = cursor.fetchall()
    found = {kind: (code, name) for kind, code, name in rows if kind in _ME_LINKS}
    grids = sorted((code, kind, name) for kind, code, name in rows if kind not in _ME_LINKS)
    department = found.get("department")
    return {
        "id": user.pk,
        "username": user.get_username(),
        "name": user.get_full_name() or user.get_username(),
        "role": user.role,
        "role_display": str(user.get_role_display()),
        "department": {"code": department[0], "name": department[1]} if department else None,
        "street": found["street"][0] if "street" in found else None,
        "district": found["district"][0] if "district" in found else None,
        "grids": [{"code": code, "name": name, "kind": kind} for code, kind, name in grids],
    }


_ME_LINKS = frozenset({"department", "street", "district"})
