from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.auth import device_revoke
from accounts.models import AuditEvent, Department, Device, GridAssignment, User
from accounts.services import user_set_role


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "role", "department", "street", "is_active"]
    list_filter = ["role", "is_active", "department", "street"]
    search_fields = ["username", "first_name", "last_name", "phone"]
    list_select_related = ["department", "street"]
    autocomplete_fields = ["department", "street", "district"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        (_("Role and scope"), {"fields": ["role", "phone", "department", "street", "district"]}),
    ]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Group membership follows the role; the service keeps them in step.
        user_set_role(
            user=obj,
            role=obj.role,
            street=obj.street,
            district=obj.district,
            department=obj.department,
        )


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent", "street"]
    search_fields = ["code", "name"]
    list_select_related = ["parent", "street"]
    autocomplete_fields = ["parent", "street"]


@admin.register(GridAssignment)
class GridAssignmentAdmin(admin.ModelAdmin):
    list_display = ["grid", "inspector", "kind", "valid_from", "valid_to", "assigned_by"]
    list_filter = ["kind", ("valid_to", admin.EmptyFieldListFilter)]
    search_fields = ["grid__code", "grid__name", "inspector__username"]
    list_select_related = ["grid", "inspector", "assigned_by"]
    autocomplete_fields = ["grid", "inspector", "assigned_by"]
    date_hierarchy = "valid_from"


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "device_id", "last_login_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "device_id", "name"]
    list_select_related = ["user"]
    readonly_fields = [
        "user",
        "device_id",
        "token",
        "created_at",
        "last_login_at",
        "revoked_at",
        "revoked_reason",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # devices appear when a handheld logs in

    @admin.action(description=_("Sign the selected handhelds out (their tokens stop working)"))
    def revoke(self, request, queryset):
        devices = list(queryset.select_related("user"))
        for device in devices:
            device_revoke(device=device, by=request.user, reason="administrator", request=request)
        self.message_user(
            request,
            _("%(count)d handheld(s) signed out.") % {"count": len(devices)},
        )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is evidence, nobody edits it."""

    list_display = ["at", "action", "username", "actor", "ip", "method", "path", "status"]
    list_filter = ["action", "status"]
    search_fields = ["username", "actor__username", "ip", "path"]
    list_select_related = ["actor"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
