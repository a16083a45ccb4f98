"""Each role is a Django group with the model permissions that role needs, kept in step here.

The table below says what a role may do with each kind of object as Django model permissions
(the admin and the hierarchy API read them); the selectors then say *which* objects (scope).
Apps that add models add their lines here. Every other role decision is a named predicate in
``accounts.policy``.
"""

from django.contrib.auth.models import Group, Permission

from accounts.models import Role

HIERARCHY_VIEW = [
    "gridcity.view_district",
    "gridcity.view_street",
    "gridcity.view_community",
    "gridcity.view_workgrid",
    "gridcity.view_checkpoint",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.INSPECTOR: [*HIERARCHY_VIEW],
    Role.SUPERVISOR: [
        *HIERARCHY_VIEW,
        "accounts.view_user",
        "accounts.view_gridassignment",
        "accounts.view_department",
    ],
    Role.DISPATCHER: [
        "cases.view_category",
        "cases.view_item",
        *HIERARCHY_VIEW,
        "accounts.view_user",
        "accounts.view_gridassignment",
        "accounts.view_department",
    ],
    Role.STAFF: [*HIERARCHY_VIEW, "accounts.view_department"],
    Role.HOTLINE: [*HIERARCHY_VIEW, "accounts.view_department"],
    Role.CITIZEN: [],
    Role.ADMIN: [
        *HIERARCHY_VIEW,
        *(
            f"{app}.{action}_{model}"
            for app, model in [
                ("gridcity", "district"),
                ("gridcity", "street"),
                ("gridcity", "community"),
                ("gridcity", "workgrid"),
                ("gridcity", "checkpoint"),
                ("accounts", "user"),
                ("accounts", "department"),
                ("accounts", "gridassignment"),
                ("accounts", "device"),
                ("cases", "category"),
                ("cases", "item"),
                ("cases", "calendarday"),
                ("patrol", "tracker"),
                ("patrol", "patrolrequirement"),
            ]
            for action in ("add", "change", "delete", "view")
        ),
        "accounts.view_auditevent",
        # Case records are read in the admin; every change goes through the services.
        *(
            f"cases.view_{model}"
            for model in (
                "case",
                "casetransition",
                "caseextension",
                "casephoto",
                "notification",
                "notificationoutbox",
            )
        ),
        # Shifts are written by the handhelds' uploads; the admin reads them.
        "patrol.view_shift",
    ],
}


def group_name(role: str) -> str:
    return f"role:{role}"


def role_groups_sync(**kwargs) -> dict[str, Group]:
    """Create each role's group and set exactly its permissions (idempotent; post_migrate)."""
    wanted = {p for perms in ROLE_PERMISSIONS.values() for p in perms}
    found = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type").filter(
            codename__in={w.split(".", 1)[1] for w in wanted}
        )
    }
    groups = {}
    for role in Role.values:
        group, _created = Group.objects.get_or_create(name=group_name(role))
        group.permissions.set([found[p] for p in ROLE_PERMISSIONS[role] if p in found])
        groups[role] = group
    return groups
