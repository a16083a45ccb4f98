"""Admin of the cases app: the taxonomy and the calendar are edited here; cases are only read.

Every change to a case goes through ``cases.services`` (lock, permission check, FSM, timeline
row, notifications after commit). The admin cannot do those steps, so cases, their timeline,
extensions and notifications are read-only here: no add, no change, no delete, no actions.
"""

from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cases.models import (
    CalendarDay,
    Case,
    CaseExtension,
    CasePhoto,
    CaseTransition,
    Category,
    Item,
    Notification,
    NotificationOutbox,
    Stage,
    TimeUnit,
)
from cases.workcal import calendar_known
from gridcity.admin import ReadOnlyAdminMixin

UNIT_ABBREVIATIONS = {
    TimeUnit.WORK_HOURS: _("wh"),  # 工作时
    TimeUnit.WORK_DAYS: _("wd"),  # 工作日
    TimeUnit.CLOCK_HOURS: _("h"),  # 紧急工作时, round the clock
}


# --- taxonomy --------------------------------------------------------------------------------


class ItemLimitsColumn:
    """An item's ``limits`` column: ``file 1 wh · dispatch 1 wh · handle 3 wd · verify 4 wh``."""

    @admin.display(description=_("time limits"))
    def limits(self, item: Item) -> str:
        parts = []
        for stage in Stage:
            amount, unit = item.limit(stage.value)
            parts.append(f"{stage.label} {amount} {UNIT_ABBREVIATIONS.get(unit, unit)}")
        return " · ".join(parts)


class ItemInline(ItemLimitsColumn, admin.TabularInline):
    """The category's items at a glance; each is edited on its own page (limits and all)."""

    model = Item
    fields = ["code", "name", "department", "ownership", "emergency", "active", "limits"]
    readonly_fields = fields
    ordering = ["code"]
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("department")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "case_class", "name_en", "item_count"]
    list_filter = ["case_class"]
    search_fields = ["code", "name", "name_en"]
    inlines = [ItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(item_count=Count("items"))

    @admin.display(description=_("items"), ordering="item_count")
    def item_count(self, category):
        return category.item_count


@admin.register(Item)
class ItemAdmin(ItemLimitsColumn, admin.ModelAdmin):
    """小类. A change of time limits applies to deadlines computed from then on, not to the
    deadlines of cases already in their stage."""

    list_display = [
        "code",
        "name",
        "category",
        "department",
        "ownership",
        "emergency",
        "limits",
        "active",
    ]
    list_filter = [
        "category__case_class",
        "ownership",
        "emergency",
        "active",
        "category",
        "department",
    ]
    search_fields = ["code", "name", "name_en"]
    list_select_related = ["category", "department"]
    autocomplete_fields = ["category", "department"]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["category", "code", "name", "name_en", "active"]}),
        (
            _("Who handles it"),
            {"fields": ["department", "ownership", "emergency"]},
        ),
        (_("Conditions"), {"fields": ["filing_condition", "closing_condition"]}),
        (
            _("Time limits"),
            {
                "fields": [
                    ("file_limit", "file_unit"),
                    ("dispatch_limit", "dispatch_unit"),
                    ("handle_limit", "handle_unit"),
                    ("verify_limit", "verify_unit"),
                ]
            },
        ),
        (None, {"fields": ["updated_at"]}),
    ]


# --- working calendar ------------------------------------------------------------------------


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Overrides of the statutory calendar. Deadlines already set are not recomputed."""

    list_display = ["date", "weekday", "working", "note", "updated_at"]
    list_filter = ["working"]
    search_fields = ["note"]
    date_hierarchy = "date"
    ordering = ["-date"]

    @admin.display(description=_("weekday"))
    def weekday(self, day):
        return date_format(day.date, "D")

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            self.warn_unknown_years(request)
        return super().changelist_view(request, extra_context)

    def warn_unknown_years(self, request) -> None:
        """Warn about this year and next when the holiday package does not know them.

        The State Council publishes next year's holidays each November and the package follows
        in a release; until then that year's working days fall back to Monday–Friday.
        """
        this_year = timezone.localdate().year
        for year in (this_year, this_year + 1):
            if calendar_known(year):
                continue
            count = CalendarDay.objects.filter(date__year=year).count()
            self.message_user(
                request,
                _(
                    "The holiday calendar does not know %(year)d: its working days are Monday "
                    "to Friday. Add the statutory holidays and make-up working days of "
                    "%(year)d as overrides (%(count)d entered so far), or upgrade "
                    "chinese-calendar once a release has them."
                )
                % {"year": year, "count": count},
                level=messages.WARNING,
            )


# --- cases -----------------------------------------------------------------------------------


class TimelineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CaseTransition
    fields = ["at", "action", "from_state", "to_state", "actor", "note", "detail"]
    readonly_fields = fields
    extra = 0
    verbose_name_plural = _("timeline")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class PhotoInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The thumbnail through the case photo API; the original file is never linked."""

    model = CasePhoto
    fields = ["preview", "stage", "taken_at", "far_from_case", "uploaded_by", "uploaded_at"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("case", "uploaded_by")

    @admin.display(description=_("photo"))
    def preview(self, photo):
        if not photo.thumbnail:
            return "—"
        kwargs = {"number": photo.case.number, "pk": photo.pk}
        return format_html(
            '<a href="{}"><img src="{}" alt="" height="80"></a>',
            reverse("case-photo-file", kwargs={**kwargs, "kind": "display"}),
            reverse("case-photo-file", kwargs={**kwargs, "kind": "thumbnail"}),
        )


@admin.register(Case)
class CaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """案件, read-only: the workflow's steps are taken in the application, through the services."""

    list_display = [
        "number",
        "status",
        "item",
        "street",
        "department",
        "handle_due",
        "overdue",
        "escalated",
        "created_at",
    ]
    list_filter = [
        "status",
        "overdue",
        "escalated",
        "source",
        "item__category",
        "street",
        "department",
    ]
    search_fields = ["number"]
    date_hierarchy = "created_at"
    list_select_related = ["item", "street", "department"]
    # Counting every case for "N of M selected" costs a scan of the table on each page.
    show_full_result_count = False
    inlines = [TimelineInline, PhotoInline]
    fieldsets = [
        (
            None,
            {"fields": ["number", "status", "source", "item", "description", "resolution"]},
        ),
        (
            _("Place"),
            {"fields": ["lonlat", "address", "grid", "community", "street", "district"]},
        ),
        (
            _("People"),
            {
                "fields": [
                    "reporter",
                    "contact_name",
                    "contact_phone",
                    "department",
                    "assignee",
                    "verifier",
                ]
            },
        ),
        (
            _("Deadlines"),
            {
                "fields": [
                    "file_due",
                    "dispatch_due",
                    "handle_due",
                    "verify_due",
                    "warned_at",
                    "overdue",
                    "escalated",
                    "rework_count",
                    "closed_on_time",
                    "rating",
                ]
            },
        ),
        (
            _("Steps"),
            {
                "fields": [
                    "created_at",
                    "filed_at",
                    "dispatched_at",
                    "handled_at",
                    "suspended_at",
                    "suspended_from",
                    "closed_at",
                    "master",
                    "updated_at",
                ]
            },
        ),
        (
            _("Upload"),
            {"fields": ["client_uuid", "request_digest"], "classes": ["collapse"]},
        ),
    ]
    # Also read-only should the permissions above ever be loosened: no form field, no widget.
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("item", "street", "department", "grid", "community", "district")
        )

    @admin.display(description=_("location (lon, lat)"))
    def lonlat(self, case):
        return f"{case.point.x:.6f}, {case.point.y:.6f}" if case.point else "—"


@admin.register(CaseTransition)
class CaseTransitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["case", "action", "from_state", "to_state", "actor", "at"]
    list_filter = ["to_state", "from_state"]
    search_fields = ["case__number"]
    list_select_related = ["case", "actor"]
    show_full_result_count = False
    ordering = ["-at", "-id"]


@admin.register(CaseExtension)
class CaseExtensionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "case",
        "kind",
        "amount",
        "unit",
        "decision",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["kind", "decision", "unit"]
    search_fields = ["case__number", "requested_by__username"]
    list_select_related = ["case", "requested_by", "decided_by"]
    ordering = ["-requested_at"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "case", "message", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "case__number"]
    list_select_related = ["user", "case"]
    show_full_result_count = False


@admin.register(NotificationOutbox)
class NotificationOutboxAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What the outside channel (SMS, e-mail, app push) was given, is still to get, or was
    given up on after its last error."""

    list_display = ["notification", "state", "attempts", "next_try_at", "sent_at", "last_error"]
    list_filter = ["state"]
    search_fields = ["notification__user__username", "notification__case__number"]
    list_select_related = ["notification"]
    show_full_result_count = False
    ordering = ["-next_try_at"]
