"""Admin of patrol: shifts are read here, trackers registered and revoked.

Shifts and fixes change only through ``patrol.services`` (under the inspector's lock, with
their counts and reports kept in step), so shifts are read-only. Track points have no
changelist: tens of millions of rows a day, which no one reads as a table and whose count alone
would take longer than a page may; a shift's track is served by the API
(``/api/v1/patrol/shifts/<id>/points/``) and drawn on the patrol pages.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from accounts import policy
from patrol import services
from patrol.models import PatrolRequirement, Shift, Tracker


@admin.register(Shift)
class ShiftAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "inspector",
        "status",
        "started_at",
        "ended_at",
        "end_reason",
        "opened_auto",
        "points_count",
        "report_at",
    ]
    list_filter = ["status", "end_reason", "opened_auto", "started_at"]
    list_select_related = ["inspector"]
    search_fields = ["inspector__username", "inspector__first_name", "inspector__last_name"]
    date_hierarchy = "started_at"
    show_full_result_count = False
    actions = None
    fields = [
        "inspector",
        "device",
        "client_uuid",
        "status",
        "started_at",
        "ended_at",
        "end_reason",
        "opened_auto",
        "first_point_at",
        "last_point_at",
        "points_count",
        "report_at",
        "report_points",
        "report",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        # The report is JSON of every stop and visit: read on a shift's page, not in a list.
        page = getattr(request.resolver_match, "url_name", "") or ""
        return rows if page.endswith("_change") else rows.defer("report")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PatrolRequirement)
class PatrolRequirementAdmin(admin.ModelAdmin):
    """A grid's daily patrol requirement where it differs from the district's defaults
    (GRIDCITY_PATROL_REQUIRED_*): an empty field takes the default."""

    list_display = [
        "grid",
        "laps_per_day",
        "online_minutes",
        "coverage",
        "all_checkpoints",
        "updated_at",
    ]
    list_select_related = ["grid"]
    search_fields = ["grid__code", "grid__name"]
    raw_id_fields = ["grid"]
    fields = ["grid", "laps_per_day", "online_minutes", "coverage", "all_checkpoints"]


@admin.register(Tracker)
class TrackerAdmin(admin.ModelAdmin):
    """Register a Traccar Client (OsmAnd) or OwnTracks app for an inspector, or revoke it.
    The list shows when each app was last heard from (a fix or a heartbeat) and its battery:
    a phone that stands still still calls in; a silent one is off, dead or out of reach."""

    list_display = [
        "identifier",
        "kind",
        "inspector",
        "name",
        "last_contact_at",
        "last_battery",
        "created_at",
        "revoked_at",
    ]
    list_filter = ["kind", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["inspector"]
    search_fields = ["identifier", "name", "inspector__username"]
    raw_id_fields = ["inspector"]
    fields = [
        "kind",
        "identifier",
        "inspector",
        "name",
        "last_contact_at",
        "last_battery",
        "created_at",
        "revoked_at",
    ]
    readonly_fields = ["last_contact_at", "last_battery", "created_at", "revoked_at"]
    actions = ["revoke"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "inspector":
            kwargs["limit_choices_to"] = policy.grid_holders()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.action(description=_("Revoke: accept no more fixes from these apps"))
    def revoke(self, request, queryset):
        revoked = 0
        for tracker in queryset.filter(revoked_at__isnull=True):
            services.tracker_revoke(tracker=tracker)
            revoked += 1
        self.message_user(request, _("%(n)d trackers revoked.") % {"n": revoked}, messages.SUCCESS)
