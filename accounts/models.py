"""People, their roles and departments, who answers for which grid, devices and the audit log.

Grid management is a chain of responsibility: an inspector (网格员) answers for their grids, a
department (处置部门) for the cases dispatched to it, a supervisor (督察员) for a street. A
user's scope comes from these relations; django-guardian object permissions are kept for the
exceptions a person grants by hand.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridcity.modelfields import optional_fk


class Role(models.TextChoices):
    INSPECTOR = "inspector", _("Grid inspector")  # 网格员
    SUPERVISOR = "supervisor", _("Supervisor")  # 督察员
    DISPATCHER = "dispatcher", _("Dispatcher")  # 受理/派遣员
    STAFF = "staff", _("Department staff")  # 处置部门
    HOTLINE = "hotline", _("Hotline operator")  # 热线接线员
    CITIZEN = "citizen", _("Citizen")
    ADMIN = "admin", _("Administrator")


class Department(models.Model):
    """处置部门: a body that handles dispatched cases (城管, 环保, 住建, …, 街道办 per street)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    parent = optional_fk("self", related_name="children", verbose_name=_("parent department"))
    street = optional_fk(
        "gridcity.Street",
        related_name="departments",
        verbose_name=_("street"),
        help_text=_("for a street office (街道办): the street it serves"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class User(AbstractUser):
    """A person who uses GridCity. Their role decides what they may do, their scope where.

    Scope by role: an inspector's grids (through GridAssignment), a supervisor's or dispatcher's
    street (or the whole district when no street is set), a staff member's department.
    """

    role = models.CharField(_("role"), max_length=16, choices=Role, default=Role.CITIZEN)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    department = optional_fk(Department, related_name="staff", verbose_name=_("department"))
    street = optional_fk(
        "gridcity.Street",
        related_name="+",
        verbose_name=_("street in charge"),
        help_text=_("supervisors and dispatchers: the street they answer for"),
    )
    district = optional_fk(
        "gridcity.District",
        related_name="+",
        verbose_name=_("district in charge"),
        help_text=_("supervisors and dispatchers of a whole district"),
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        swappable = "AUTH_USER_MODEL"

    def clean(self) -> None:
        from accounts import policy

        super().clean()
        if policy.answers_for_area(self) and not (self.street_id or self.district_id):
            raise ValidationError(
                {"street": _("A supervisor or dispatcher needs a street or a district.")}
            )
        if policy.is_department_staff(self) and not self.department_id:
            raise ValidationError({"department": _("Department staff need a department.")})

    @property
    def scope_code(self) -> str | None:
        """The code prefix of the area a supervisor or dispatcher answers for."""
        if self.street_id:
            return self.street.code
        if self.district_id:
            return self.district.code
        return None


class AssignmentKind(models.TextChoices):
    PRIMARY = "primary", _("Responsible inspector")
    BACKUP = "backup", _("Backup inspector")


class GridAssignment(models.Model):
    """Who walked which grid, and when: a history, so the past stays answerable.

    ``valid_to`` is None while the assignment holds. One inspector may hold several grids; a
    grid has at most one primary and one backup at any moment (enforced by the service, which
    closes the previous assignment when it opens the next).
    """

    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="grid_assignments",
        verbose_name=_("inspector"),
    )
    grid = models.ForeignKey(
        "gridcity.WorkGrid",
        on_delete=models.CASCADE,
        related_name="assignments",
        verbose_name=_("grid"),
    )
    kind = models.CharField(
        _("kind"), max_length=8, choices=AssignmentKind, default=AssignmentKind.PRIMARY
    )
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True)
    assigned_by = optional_fk(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assigned by"),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["grid_id", "-valid_from"]
        verbose_name = _("grid assignment")
        verbose_name_plural = _("grid assignments")
        indexes = [
            models.Index(fields=["inspector", "valid_to"]),
            models.Index(fields=["grid", "valid_to"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="assignment_ends_after_it_starts",
            ),
            # At most one open assignment of each kind per grid.
            models.UniqueConstraint(
                fields=["grid", "kind"],
                condition=Q(valid_to__isnull=True),
                name="one_open_assignment_per_grid_and_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grid_id} ← {self.inspector_id} ({self.kind})"


class Device(models.Model):
    """A handheld that logged in: its token (hashed by knox) is bound to it.

    Revoking the device deletes its token at once; a new log-in from the same device replaces
    the token and keeps the row, so the list a person sees has one line per handheld.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="devices",
        verbose_name=_("user"),
    )
    device_id = models.CharField(_("device id"), max_length=128)
    name = models.CharField(_("device name"), max_length=100, blank=True)
    token = models.OneToOneField(
        "knox.AuthToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="device",
        verbose_name=_("token"),
    )
    created_at = models.DateTimeField(_("first log-in"), auto_now_add=True)
    last_login_at = models.DateTimeField(_("last log-in"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_reason = models.CharField(_("why revoked"), max_length=100, blank=True)

    class Meta:
        ordering = ["user_id", "-last_login_at"]
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        constraints = [
            models.UniqueConstraint(fields=["user", "device_id"], name="one_row_per_user_device")
        ]

    def __str__(self) -> str:
        return f"{self.name or self.device_id} ({self.user_id})"


class AuditAction(models.TextChoices):
    LOGIN = "login", _("log-in")
    LOGIN_FAILED = "login_failed", _("failed log-in")
    LOCKED_OUT = "locked_out", _("locked out")
    LOGOUT = "logout", _("log-out")
    TOKEN_ISSUED = "token_issued", _("token issued")
    TOKEN_REVOKED = "token_revoked", _("token revoked")
    DENIED = "denied", _("request denied")
    PASSWORD_CHANGED = "password_changed", _("password changed")
    ROLE_CHANGED = "role_changed", _("role changed")
    USER_DISABLED = "user_disabled", _("user disabled")


class AuditEvent(models.Model):
    """Who did what, when and from where: log-ins, tokens, denials. Never a password or token."""

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction, db_index=True)
    actor = optional_fk(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("who"),
    )
    username = models.CharField(_("user name given"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("from address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    method = models.CharField(_("method"), max_length=8, blank=True)
    path = models.CharField(_("path"), max_length=300, blank=True)
    status = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.username}"
