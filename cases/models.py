"""Cases (案件): what was found, where, who must act, by when, and every step it took.

The taxonomy (部件/事件 → 大类 → 小类) says who handles an item and how long each stage may
take; the working calendar turns those limits into deadlines; a case moves through the
finite-state workflow of digital urban management (信息收集 → 立案 → 派遣 → 处置 → 反馈 →
核查结案), each step a ``CaseTransition`` row written in the same transaction by the services in
``cases.services``. Models only guard and change fields; ``save()`` has no side effects.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import RETURN_VALUE, FSMField, transition

from cases import workcal
from gridcity.modelfields import optional_fk


class CaseClass(models.TextChoices):
    COMPONENT = "component", _("Component")  # 部件: a thing in public space (a manhole cover)
    EVENT = "event", _("Event")  # 事件: something happening (street vending, dumped rubbish)


class Ownership(models.TextChoices):
    OWNER = "owner", _("Owner department first")  # 部件: 权属优先
    LOCALITY = "locality", _("Locality first")  # 事件: 属地优先


class TimeUnit(models.TextChoices):
    WORK_HOURS = workcal.WORK_HOURS, _("working hours")  # 工作时
    WORK_DAYS = workcal.WORK_DAYS, _("working days")  # 工作日
    CLOCK_HOURS = workcal.CLOCK_HOURS, _("round-the-clock hours")  # 紧急工作时


class Stage(models.TextChoices):
    FILE = "file", _("filing")  # 立案
    DISPATCH = "dispatch", _("dispatch")  # 派遣
    HANDLE = "handle", _("handling")  # 处置
    VERIFY = "verify", _("verification")  # 核查


class Category(models.Model):
    """大类: a major class of components or events (公用设施, 街面秩序, …)."""

    code = models.CharField(_("code"), max_length=8, unique=True)
    case_class = models.CharField(_("class"), max_length=10, choices=CaseClass)
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Item(models.Model):
    """小类: what a case is about, with who handles it and how long each stage may take."""

    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="items", verbose_name=_("category")
    )
    code = models.CharField(_("code"), max_length=8, unique=True)
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    filing_condition = models.TextField(_("filing condition"), blank=True)  # 立案条件
    closing_condition = models.TextField(_("closing condition"), blank=True)  # 结案条件
    department = optional_fk(
        "accounts.Department",
        related_name="default_items",
        verbose_name=_("default department"),
        help_text=_("empty: the street office (街道办) of the street the case is in"),
    )
    ownership = models.CharField(_("ownership rule"), max_length=10, choices=Ownership)
    emergency = models.BooleanField(_("emergency"), default=False)
    active = models.BooleanField(_("active"), default=True)
    # The public side (市民门户): what a citizen may pick when reporting, in plain words, and
    # which items never show on a public page (e.g. security matters), whoever reported them.
    public_name = models.CharField(
        _("name for citizens"), max_length=50, blank=True, help_text=_("empty: the item's name")
    )
    public_name_en = models.CharField(_("English name for citizens"), max_length=100, blank=True)
    citizen_reportable = models.BooleanField(_("offered to citizens"), default=True)
    private = models.BooleanField(
        _("private"),
        default=False,
        help_text=_("Cases of a private item never appear on a public page."),
    )
    file_limit = models.PositiveSmallIntegerField(_("filing limit"), default=1)
    file_unit = models.CharField(
        _("filing limit unit"), max_length=12, choices=TimeUnit, default=TimeUnit.WORK_HOURS
    )
    dispatch_limit = models.PositiveSmallIntegerField(_("dispatch limit"), default=1)
    dispatch_unit = models.CharField(
        _("dispatch limit unit"), max_length=12, choices=TimeUnit, default=TimeUnit.WORK_HOURS
    )
    handle_limit = models.PositiveSmallIntegerField(_("handling limit"), default=3)
    handle_unit = models.CharField(
        _("handling limit unit"), max_length=12, choices=TimeUnit, default=TimeUnit.WORK_DAYS
    )
    verify_limit = models.PositiveSmallIntegerField(_("verification limit"), default=4)
    verify_unit = models.CharField(
        _("verification limit unit"), max_length=12, choices=TimeUnit, default=TimeUnit.WORK_HOURS
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("item")
        verbose_name_plural = _("items")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def limit(self, stage: str) -> tuple[int, str]:
        """(amount, unit) of a stage's time limit."""
        return getattr(self, f"{stage}_limit"), getattr(self, f"{stage}_unit")


class CalendarDay(models.Model):
    """An administrator's word on one date: working day or not, over the statutory calendar.

    For a year the holiday package does not know yet (the State Council publishes next year's
    holidays each November), or a local arrangement (a typhoon day off).
    """

    date = models.DateField(_("date"), unique=True)
    working = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=100, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")

    def __str__(self) -> str:
        return f"{self.date} {'+' if self.working else '-'}"


class Source(models.TextChoices):
    INSPECTOR = "inspector", _("Grid inspector")  # 网格员上报
    CITIZEN = "citizen", _("Citizen")  # 市民
    HOTLINE = "hotline", _("Hotline")  # 热线
    SENSOR = "sensor", _("Sensor")  # 物联感知
    SUPERVISOR = "supervisor", _("Supervisor")  # 督察员
    OPEN311 = "open311", _("Open311")


class Status(models.TextChoices):
    REPORTED = "reported", _("Reported")  # 待立案
    FILED = "filed", _("Filed")  # 已立案, awaiting dispatch
    REJECTED = "rejected", _("Rejected")  # 不予立案
    DISPATCHED = "dispatched", _("Dispatched")  # 已派遣, awaiting the department's accept
    RETURNED = "returned", _("Returned")  # 已回退 by the department
    HANDLING = "handling", _("Handling")  # 处置中
    HANDLED = "handled", _("Handled")  # 已处置 (反馈)
    VERIFYING = "verifying", _("Verifying")  # 核查中
    CLOSED = "closed", _("Closed")  # 已结案
    SUSPENDED = "suspended", _("Suspended")  # 挂账
    CANCELLED = "cancelled", _("Cancelled")  # 作废


OPEN_STATES = [
    Status.REPORTED,
    Status.FILED,
    Status.DISPATCHED,
    Status.RETURNED,
    Status.HANDLING,
    Status.HANDLED,
    Status.VERIFYING,
    Status.SUSPENDED,
]
FINAL_STATES = [Status.REJECTED, Status.CLOSED, Status.CANCELLED]
# Open with a running clock: what the workbenches' overdue and escalated queues hold
# (``cases.selectors.RUNNING``), and the condition of the partial indexes that serve them.
RUNNING_STATES = [s for s in OPEN_STATES if s != Status.SUSPENDED]
# Where a case may be suspended (挂账) from: once filed and until handled.
SUSPENDABLE = [Status.FILED, Status.DISPATCHED, Status.RETURNED, Status.HANDLING]
# The deadline each state waits on (``Case.stage_due``): what the overdue sweep compares.
STAGE_DUE = {
    Status.REPORTED: "file_due",
    Status.FILED: "dispatch_due",
    Status.DISPATCHED: "handle_due",
    Status.RETURNED: "dispatch_due",
    Status.HANDLING: "handle_due",
    Status.VERIFYING: "verify_due",
}


class Confirmation(models.TextChoices):
    """核实: whether a reported problem was found on site by the grid's inspector, before filing."""

    NONE = "", _("Not asked")
    REQUESTED = "requested", _("Confirming on site")  # 核实中
    FOUND = "found", _("Found on site")  # 属实
    NOT_FOUND = "not_found", _("Not found on site")  # 不属实


class Resolution(models.TextChoices):
    RESOLVED = "resolved", _("Resolved")
    DUPLICATE = "duplicate", _("Duplicate")
    ANSWERED = "answered", _("Answered directly")  # 直接办结


class RequestType(models.TextChoices):
    """诉求类型 of a hotline or portal request: what the caller wants, which sets the time to
    answer (``Case.reply_due``, ``GRIDCITY_REPLY_LIMITS``)."""

    CONSULTATION = "consultation", _("Consultation")  # 咨询
    HELP = "help", _("Help")  # 求助
    COMPLAINT = "complaint", _("Complaint")  # 投诉
    REPORT = "report", pgettext_lazy("request type", "Report")  # 举报: reporting wrongdoing
    SUGGESTION = "suggestion", _("Suggestion")  # 建议
    PRAISE = "praise", _("Praise")  # 表扬


class Satisfaction(models.TextChoices):
    """评价: the citizen's verdict, from the portal or the hotline's callback (回访)."""

    SATISFIED = "satisfied", _("Satisfied")  # 满意
    FAIR = "fair", _("Fairly satisfied")  # 基本满意
    UNSATISFIED = "unsatisfied", _("Unsatisfied")  # 不满意


class Case(models.Model):
    """案件: one problem, from report to close."""

    number = models.CharField(_("number"), max_length=24, unique=True)
    source = models.CharField(_("source"), max_length=12, choices=Source)
    # The foreign keys that lead a composite index (x, status) below get no index of their
    # own: every write would pay for it, and the composite one serves the same lookups.
    item = models.ForeignKey(
        Item,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("item"),
        db_index=False,
    )
    description = models.TextField(_("description"), blank=True)
    point = models.PointField(_("location"), srid=4326)
    address = models.CharField(_("address"), max_length=200, blank=True)
    grid = optional_fk(
        "gridcity.WorkGrid",
        related_name="cases",
        db_index=False,
        verbose_name=_("grid"),
    )
    community = optional_fk("gridcity.Community", related_name="cases", verbose_name=_("community"))
    street = optional_fk(
        "gridcity.Street",
        related_name="cases",
        db_index=False,
        verbose_name=_("street"),
    )
    district = optional_fk("gridcity.District", related_name="cases", verbose_name=_("district"))
    reporter = optional_fk(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
        verbose_name=_("reporter"),
    )
    # A citizen's contact, kept private: shown only to the command centre.
    contact_name = models.CharField(_("contact name"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    department = optional_fk(
        "accounts.Department",
        related_name="cases",
        db_index=False,
        verbose_name=_("department"),
    )
    assignee = optional_fk(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
        verbose_name=_("assignee"),
    )
    verifier = optional_fk(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="verification_cases",
        verbose_name=_("verifier"),
    )
    status = FSMField(
        _("status"), max_length=12, choices=Status, default=Status.REPORTED, protected=True
    )
    suspended_from = models.CharField(
        _("suspended from"), max_length=12, choices=Status, blank=True
    )
    resolution = models.CharField(_("resolution"), max_length=10, choices=Resolution, blank=True)
    master = optional_fk("self", related_name="duplicates", verbose_name=_("duplicate of"))
    filed_at = models.DateTimeField(_("filed"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    suspended_at = models.DateTimeField(_("suspended"), null=True, blank=True)
    file_due = models.DateTimeField(_("filing due"), null=True, blank=True)
    dispatch_due = models.DateTimeField(_("dispatch due"), null=True, blank=True)
    handle_due = models.DateTimeField(_("handling due"), null=True, blank=True)
    verify_due = models.DateTimeField(_("verification due"), null=True, blank=True)
    warned_at = models.DateTimeField(_("deadline warning sent"), null=True, blank=True)
    # 核实 (on-site confirmation of a report): kept on the case, not derived from the timeline,
    # so that a queue row shows it without a join and "waiting for my confirmation" is one
    # indexed condition (at most one request is open: ``confirmation == "requested"``).
    confirmation = models.CharField(
        _("on-site confirmation"), max_length=10, choices=Confirmation, blank=True, default=""
    )
    confirm_requested_at = models.DateTimeField(_("confirmation requested"), null=True, blank=True)
    overdue = models.BooleanField(_("overdue"), default=False)
    escalated = models.BooleanField(_("escalated"), default=False)  # 督办
    rework_count = models.PositiveSmallIntegerField(_("rework count"), default=0)
    closed_on_time = models.BooleanField(_("closed on time"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(
        _("citizen rating"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    # --- the public side and the hotline (12345): 受理 → 派单 → 办理 → 答复 → 回访 → 评价 ---------
    request_type = models.CharField(
        _("request type"), max_length=12, choices=RequestType, blank=True, default=""
    )
    # 工单号 of a ticket that came from a city-level 12345 platform: one case per ticket.
    external_number = models.CharField(
        _("external ticket number"), max_length=40, null=True, blank=True, unique=True
    )
    reply_due = models.DateTimeField(_("reply due"), null=True, blank=True)  # 答复时限
    repeat_count = models.PositiveIntegerField(_("repeat requests"), default=0)  # 并单
    # Held for moderation (spam markers): not public, not filed until a person releases it.
    held = models.BooleanField(_("held for moderation"), default=False)
    # Moderation of what the public sees: the description hidden or replaced, with the reason
    # in the timeline; the original stays for staff.
    public_hidden = models.BooleanField(_("hidden from the public"), default=False)
    public_text = models.TextField(_("public description"), blank=True)
    moderated_at = models.DateTimeField(_("moderated"), null=True, blank=True)
    satisfaction = models.CharField(
        _("satisfaction"), max_length=12, choices=Satisfaction, blank=True, default=""
    )
    # 回访: the hotline calls the citizen back by this time after the case closed.
    callback_due = models.DateTimeField(_("callback due"), null=True, blank=True)
    callback_done_at = models.DateTimeField(_("called back"), null=True, blank=True)
    client_uuid = models.UUIDField(_("client id"), null=True, blank=True, unique=True)
    request_digest = models.CharField(_("request digest"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["grid", "status"]),
            models.Index(fields=["street", "status"]),
            models.Index(fields=["department", "status"]),
            models.Index(fields=["item", "status"]),
            models.Index(
                fields=["handle_due"],
                name="cases_open_handle_due",
                condition=Q(status__in=["dispatched", "handling"]),
            ),
            # The overdue and escalated (督办) queues: a few thousand open cases among a
            # year's millions, listed oldest first and counted on every workbench page.
            # Without them PostgreSQL walks ``created_at`` from the oldest case and filters
            # hundreds of thousands of closed ones (docs/cases.md, "Indexes").
            models.Index(
                fields=["created_at"],
                name="cases_open_overdue",
                condition=Q(overdue=True, status__in=RUNNING_STATES),
            ),
            models.Index(
                fields=["created_at"],
                name="cases_open_escalated",
                condition=Q(escalated=True, status__in=RUNNING_STATES),
            ),
            # What waits for an inspector on site (their phone's task list): 核查 of a handled
            # case, 核实 of a report. Few rows of a year's table, read on every visit; the
            # condition is the one cases.selectors.cases_waiting_for asks.
            # The hotline's caller history: a caller's earlier tickets by their number.
            models.Index(
                fields=["contact_phone"],
                name="cases_by_contact_phone",
                condition=~Q(contact_phone=""),
            ),
            # The hotline's callback queue (回访): closed cases not yet called back.
            models.Index(
                fields=["callback_due"],
                name="cases_callback_due",
                condition=Q(callback_due__isnull=False, callback_done_at__isnull=True),
            ),
            models.Index(
                fields=["verifier"],
                name="cases_waiting_on_site",
                condition=Q(status="verifying") | Q(status="reported", confirmation="requested"),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    def stage_due(self):
        """The deadline of the stage the case is in now (None when no clock runs)."""
        name = STAGE_DUE.get(self.status)
        return getattr(self, name) if name else None

    # --- transitions: guards and field changes only; cases.services does the rest ----------

    @transition(status, source=Status.REPORTED, target=Status.FILED)
    def file(self):  # 立案
        pass

    @transition(status, source=[Status.REPORTED, Status.FILED], target=Status.REJECTED)
    def reject(self):  # 不予立案
        pass

    @transition(status, source=[Status.REPORTED, Status.FILED], target=Status.CANCELLED)
    def cancel(self):  # 作废
        pass

    @transition(status, source=[Status.REPORTED, Status.FILED], target=Status.CLOSED)
    def merge(self):  # closed as a duplicate of another case
        self.resolution = Resolution.DUPLICATE

    @transition(status, source=Status.REPORTED, target=Status.CLOSED)
    def answer(self):  # 直接办结: a consultation answered at once, never dispatched
        self.resolution = Resolution.ANSWERED

    @transition(status, source=Status.FILED, target=Status.DISPATCHED)
    def dispatch(self):  # 派遣
        pass

    @transition(status, source=Status.DISPATCHED, target=Status.RETURNED)
    def return_(self):  # 回退
        pass

    @transition(status, source=Status.RETURNED, target=Status.DISPATCHED)
    def redispatch(self):  # 重新派遣
        pass

    @transition(status, source=Status.DISPATCHED, target=Status.HANDLING)
    def accept(self):  # 签收
        pass

    @transition(status, source=Status.HANDLING, target=Status.HANDLED)
    def handle(self):  # 处置 → 反馈
        pass

    @transition(status, source=Status.HANDLED, target=Status.VERIFYING)
    def request_verify(self):  # 核查 requested from the grid's inspector
        pass

    @transition(status, source=Status.VERIFYING, target=Status.CLOSED)
    def verify_pass(self):  # 核查通过 → 结案
        self.resolution = Resolution.RESOLVED

    @transition(status, source=Status.VERIFYING, target=Status.DISPATCHED)
    def verify_fail(self):  # 核查不通过 → 返工
        self.rework_count += 1

    @transition(status, source=[Status.HANDLED, Status.VERIFYING], target=Status.CLOSED)
    def close(self):  # 结案 by the command centre on the evidence it has
        self.resolution = Resolution.RESOLVED

    @transition(
        status,
        source=Status.CLOSED,
        target=RETURN_VALUE(Status.DISPATCHED, Status.FILED),
        conditions=[lambda case: case.resolution in (Resolution.RESOLVED, Resolution.ANSWERED)],
    )
    def reopen(self):  # 不满意重办: back to the department that handled it, for rework
        self.rework_count += 1
        self.resolution = ""
        return Status.DISPATCHED if self.department_id else Status.FILED

    @transition(status, source=SUSPENDABLE, target=Status.SUSPENDED)
    def suspend(self):  # 挂账
        self.suspended_from = self.status

    @transition(
        status,
        source=Status.SUSPENDED,
        target=RETURN_VALUE(*SUSPENDABLE),
    )
    def resume(self):
        previous, self.suspended_from = self.suspended_from, ""
        return previous


class CaseTransition(models.Model):
    """One step of a case's timeline: who did what, when, from which state to which, where."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="timeline", verbose_name=_("case")
    )
    action = models.CharField(_("action"), max_length=20)
    from_state = models.CharField(_("from"), max_length=12, choices=Status, blank=True)
    to_state = models.CharField(_("to"), max_length=12, choices=Status)
    actor = optional_fk(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
        db_index=False,  # cases_step_actor_at leads with it
    )
    at = models.DateTimeField(_("when"))
    note = models.TextField(_("note"), blank=True)
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        ordering = ["case_id", "at", "id"]
        indexes = [
            # One person's steps in a period (the hotline operator's day, who did what when):
            # a range of one actor's rows, where an index on the actor alone reads every step
            # they ever took (120,000 for the hotline's operator at 1 M cases).
            models.Index(fields=["actor", "at"], name="cases_step_actor_at"),
        ]
        verbose_name = _("case step")
        verbose_name_plural = _("case timeline")

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.from_state}→{self.to_state}"


class ExtensionDecision(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")
    WITHDRAWN = "withdrawn", _("Withdrawn")  # the case left the stage before a decision


class RequestKind(models.TextChoices):
    EXTENSION = "extension", _("Extension")  # 延期申请: more time to handle
    SUSPENSION = "suspension", _("Suspension")  # 挂账申请: put the case on hold


class CaseExtension(models.Model):
    """A department's request an approver decides: 延期 (more time to handle the case) or 挂账
    (put it on hold). One request of either kind waits per case at a time.

    A suspension asks for no time: its ``amount`` is null and its ``unit`` empty (a stored 0
    would be an amount of time that nobody asked for, and one the approval must never apply).
    """

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="extensions", verbose_name=_("case")
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=RequestKind, default=RequestKind.EXTENSION
    )
    amount = models.PositiveSmallIntegerField(_("extra time"), null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=12, choices=TimeUnit, blank=True)
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"))
    decision = models.CharField(
        _("decision"), max_length=10, choices=ExtensionDecision, default=ExtensionDecision.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    due_before = models.DateTimeField(_("due before"), null=True, blank=True)
    due_after = models.DateTimeField(_("due after"), null=True, blank=True)

    class Meta:
        ordering = ["case_id", "requested_at"]
        verbose_name = _("extension or suspension request")
        verbose_name_plural = _("extension and suspension requests")
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(decision="pending"),
                name="cases_one_pending_extension",
            ),
            # An extension names its time; a suspension names none.
            models.CheckConstraint(
                condition=(
                    Q(kind="extension", amount__gt=0) & ~Q(unit="")
                    | Q(kind="suspension", amount__isnull=True, unit="")
                ),
                name="cases_request_time_by_kind",
            ),
        ]


class PhotoStage(models.TextChoices):
    REPORT = "report", _("report")  # 上报
    HANDLE = "handle", _("handling")  # 处置后
    VERIFY = "verify", _("verification")  # 核查


def _photo_path(photo: "CasePhoto", kind: str, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1]
    return f"cases/{photo.case.number}/{kind}/{photo.stage}-{photo.sha256[:16]}.{extension}"


def photo_original_path(photo, filename):
    return _photo_path(photo, "original", filename)


def photo_display_path(photo, filename):
    return _photo_path(photo, "display", filename)


def photo_thumbnail_path(photo, filename):
    return _photo_path(photo, "thumb", filename)


class CasePhoto(models.Model):
    """A photo of a case as evidence. Every stored copy has its metadata stripped; the capture
    time and GPS were read into fields first. The cleaned original is never served publicly."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="photos", verbose_name=_("case")
    )
    stage = models.CharField(_("stage"), max_length=8, choices=PhotoStage)
    client_id = models.UUIDField(_("client id"), null=True, blank=True, unique=True)
    original = models.FileField(_("original"), upload_to=photo_original_path, max_length=200)
    display = models.FileField(
        _("display copy"), upload_to=photo_display_path, max_length=200, blank=True
    )
    thumbnail = models.FileField(
        _("thumbnail"), upload_to=photo_thumbnail_path, max_length=200, blank=True
    )
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    size = models.PositiveIntegerField(_("bytes uploaded"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    taken_at = models.DateTimeField(_("taken"), null=True, blank=True)
    taken_point = models.PointField(_("taken at"), srid=4326, null=True, blank=True)
    far_from_case = models.BooleanField(_("taken far from the case"), null=True, blank=True)
    # Moderation: a photo hidden from the public pages (the reason is in the timeline).
    public_hidden = models.BooleanField(_("hidden from the public"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["case_id", "uploaded_at", "id"]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        indexes = [
            # The few photos still waiting for their copies (cases_photo_copies_catch_up).
            models.Index(
                fields=["uploaded_at"],
                condition=Q(display="") | Q(thumbnail=""),
                name="cases_photo_unprocessed_idx",
            )
        ]


class FollowerRole(models.TextChoices):
    REPORTER = "reporter", _("Reporter")  # who filed it from the portal or by phone
    FOLLOWER = "follower", _("Follower")  # "this is mine too" on the portal
    CALLER = "caller", _("Repeat caller")  # 并单: a caller merged into the open ticket


class FollowerChannel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    HOTLINE = "hotline", _("Hotline")
    PLATFORM = "platform", _("12345 platform")
    API = "api", _("API")


class CaseFollower(models.Model):
    """A citizen who follows a case: its reporter, someone with the same problem, a repeat
    caller. Told of each public change through the outside channel; holds the private link
    (``token``) to the case's status page. Contacts stay private (hotline and administrators)."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="followers", verbose_name=_("case")
    )
    role = models.CharField(_("role"), max_length=10, choices=FollowerRole)
    via = models.CharField(_("channel"), max_length=10, choices=FollowerChannel)
    user = optional_fk(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="followed_cases",
        verbose_name=_("account"),
    )
    name = models.CharField(_("name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    # The private link's secret (``secrets.token_urlsafe``): whoever holds it reads the
    # case's public page with their own follower's options (rate, reopen, comment).
    token = models.CharField(_("private link"), max_length=43, unique=True)
    notify = models.BooleanField(_("send updates"), default=True)
    created_at = models.DateTimeField(_("followed"), auto_now_add=True)

    class Meta:
        ordering = ["case_id", "created_at", "id"]
        verbose_name = _("follower")
        verbose_name_plural = _("followers")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "user"], condition=Q(user__isnull=False), name="cases_follower_user"
            ),
            models.UniqueConstraint(
                fields=["case", "phone"], condition=~Q(phone=""), name="cases_follower_phone"
            ),
            models.UniqueConstraint(
                fields=["case"], condition=Q(role="reporter"), name="cases_one_reporter_follower"
            ),
        ]
        indexes = [
            models.Index(fields=["phone"], condition=~Q(phone=""), name="cases_follower_by_phone")
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.role}"


class Notification(models.Model):
    """What needs someone's hand: a dispatch, a verification, a return, a warning, an overdue
    escalation, an extension request. Read in the inbox, pushed over the websocket."""

    class Kind(models.TextChoices):
        DISPATCHED = "dispatched", _("New dispatch")
        RETURNED = "returned", _("Case returned")
        VERIFY = "verify", _("Verification task")
        CONFIRM = "confirm", _("Confirmation task")  # 核实
        REWORK = "rework", _("Rework")
        DUE_SOON = "due_soon", _("Deadline approaching")
        OVERDUE = "overdue", _("Overdue, escalated")
        EXTENSION = "extension", _("Extension requested")
        EXTENSION_DECIDED = "extension_decided", _("Extension decided")
        SUSPENSION = "suspension", _("Suspension requested")
        SUSPENSION_DECIDED = "suspension_decided", _("Suspension decided")
        CLOSED = "closed", _("Case closed")
        UPDATE = "update", _("Update on a followed case")  # to citizens who follow a case

    # A person with an account, or a follower without one (a phone number or an e-mail
    # address on a case): the outside channel reaches both; only accounts have an inbox.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    follower = models.ForeignKey(
        CaseFollower,
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    message = models.CharField(_("message"), max_length=200)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["user", "read_at", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(follower__isnull=False),
                name="cases_notification_has_recipient",
            )
        ]


class NotificationOutbox(models.Model):
    """A notification on its way to the outside channel (SMS, e-mail, an app push service).

    Written in the transaction that wrote the notification, so it exists exactly when the step
    that caused it committed; the worker delivers it after commit (``cases.notify``), and a
    failure only moves ``next_try_at`` back (1, 2, 4 … minutes): no request waits for, or fails
    because of, the outside channel.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("given up")

    notification = models.OneToOneField(
        Notification,
        on_delete=models.CASCADE,
        related_name="outbox",
        verbose_name=_("notification"),
    )
    state = models.CharField(_("state"), max_length=8, choices=State, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_try_at = models.DateTimeField(_("next try"), default=timezone.now)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        indexes = [
            models.Index(
                fields=["next_try_at"],
                condition=Q(state="pending"),
                name="cases_outbox_due_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.state}"


class CaseNumberCounter(models.Model):
    """The last sequence number given out for a district's day (``440306-20261122-000123``)."""

    prefix = models.CharField(max_length=16, primary_key=True)  # "440306-20261122"
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("case number counter")
