from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from guardian.admin import GuardedModelAdminMixin
from leaflet.admin import LeafletGeoAdmin

from gridcity.models import Checkpoint, Community, District, Street, WorkGrid


class ReadOnlyAdminMixin:
    """Seen, never written: the services are the only writers of these rows."""

    actions = None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class UnitAdmin(LeafletGeoAdmin):
    """Map widget from django-leaflet's own static files: it works with no internet."""

    list_display = ["code", "name", "area_km2", "updated_at"]
    search_fields = ["code", "name"]
    readonly_fields = ["area_m2", "created_at", "updated_at"]
    ordering = ["code"]

    @admin.display(description=_("area (km²)"), ordering="area_m2")
    def area_km2(self, unit) -> str:
        return f"{unit.area_m2 / 1e6:.3f}"


@admin.register(District)
class DistrictAdmin(UnitAdmin):
    pass


@admin.register(Street)
class StreetAdmin(GuardedModelAdminMixin, UnitAdmin):
    """Object permissions (a street lent to another supervisor) are granted from here."""

    list_display = [*UnitAdmin.list_display, "district"]
    list_filter = ["district"]
    autocomplete_fields = ["district"]


@admin.register(Community)
class CommunityAdmin(UnitAdmin):
    list_display = [*UnitAdmin.list_display, "street"]
    list_filter = ["street"]
    autocomplete_fields = ["street"]


class CheckpointInline(admin.TabularInline):
    model = Checkpoint
    fields = ["code", "name", "min_dwell_minutes"]
    extra = 0
    show_change_link = True


@admin.register(WorkGrid)
class WorkGridAdmin(GuardedModelAdminMixin, UnitAdmin):
    list_display = [*UnitAdmin.list_display, "community"]
    list_filter = ["community__street"]
    autocomplete_fields = ["community"]
    list_select_related = ["community"]
    inlines = [CheckpointInline]


@admin.register(Checkpoint)
class CheckpointAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "grid", "min_dwell_minutes"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["grid"]
    list_select_related = ["grid"]
    ordering = ["code"]
