"""The people admin. Changes with side effects go through ``accounts.services``: a role, an
account disabled or a new password revoke the person's tokens and are audited there, and a grid
assignment closes the grid's previous one (``grid_assign``)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.auth import device_revoke
from accounts.models import AuditEvent, Department, Device, GridAssignment, Role, User
from accounts.services import (
    grid_assign,
    grid_unassign,
    user_set_active,
    user_set_password,
    user_set_role,
)
from gridcity.admin import ReadOnlyAdminMixin


class PasswordSetForm(AdminPasswordChangeForm):
    """The admin's "change password" form, setting it through ``user_set_password``."""

    def set_password_and_save(self, user, commit=True, **kwargs):
        if not commit:
            return super().set_password_and_save(user, commit=False, **kwargs)
        usable = self.cleaned_data["set_usable_password"]
        password = self.cleaned_data["password1"] if usable else None
        return user_set_password(user=user, password=password)


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

    change_password_form = PasswordSetForm

    def save_model(self, request, obj, form, change):
        # Role and activity are changed by their services (tokens revoked, audited), not by
        # the form's save: the row keeps its stored values until the services run.
        if change:
            stored = User.objects.values("role", "is_active").get(pk=obj.pk)
            obj.role, obj.is_active = stored["role"], stored["is_active"]
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.cleaned_data:
            active = form.cleaned_data["is_active"]
            user_set_active(user=obj, active=active, by=request.user, request=request)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # After the form's groups: membership follows the role, the service keeps them in step.
        user = form.instance
        user_set_role(
            user=user,
            role=form.cleaned_data.get("role", user.role),
            street=user.street,
            district=user.district,
            department=user.department,
            by=request.user,
            request=request,
        )


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent", "street"]
    search_fields = ["code", "name"]
    list_select_related = ["parent", "street"]
    autocomplete_fields = ["parent", "street"]


@admin.register(GridAssignment)
class GridAssignmentAdmin(admin.ModelAdmin):
    """A new assignment starts now and closes the grid's open one of its kind (``grid_assign``).

    The history is evidence: a row is not edited; it ends when another inspector is assigned
    or by the "end" action (``grid_unassign``).
    """

    list_display = ["grid", "inspector", "kind", "valid_from", "valid_to", "assigned_by"]
    list_filter = ["kind", ("valid_to", admin.EmptyFieldListFilter)]
    search_fields = ["grid__code", "grid__name", "inspector__username"]
    list_select_related = ["grid", "inspector", "assigned_by"]
    autocomplete_fields = ["grid", "inspector"]
    date_hierarchy = "valid_from"
    fields = ["grid", "inspector", "kind", "note", "valid_from", "valid_to", "assigned_by"]
    readonly_fields = ["valid_from", "valid_to", "assigned_by"]
    actions = ["end"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return self.fields
        return self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "inspector":
            kwargs["limit_choices_to"] = Q(role=Role.INSPECTOR, is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            return  # every field is read-only on a saved assignment
        saved = grid_assign(
            grid=obj.grid, inspector=obj.inspector, kind=obj.kind, by=request.user, note=obj.note
        )
        # The admin logs and redirects to ``obj``: make it the row the service wrote.
        obj.pk, obj.valid_from, obj.assigned_by = saved.pk, saved.valid_from, saved.assigned_by
        obj._state.adding = False

    @admin.action(description=_("End the selected assignments now"))
    def end(self, request, queryset):
        ended = 0
        for assignment in queryset.filter(valid_to__isnull=True):
            ended += grid_unassign(grid=assignment.grid, kind=assignment.kind) is not None
        self.message_user(request, _("%(count)d assignment(s) ended.") % {"count": ended})


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
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the log is evidence, nobody edits it."""

    list_display = ["at", "action", "username", "actor", "ip", "method", "path", "status"]
    list_filter = ["action", "status"]
    search_fields = ["username", "actor__username", "ip", "path"]
    list_select_related = ["actor"]
    date_hierarchy = "at"
