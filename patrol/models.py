"""Patrol (巡查): inspectors' shifts, the GPS fixes of their handhelds, and what they add up to.

"人过留迹": every fix a handheld sends is kept (within the retention period) against the
inspector and the shift it belongs to, so that a supervisor can see where they walked, how many
laps of their grid, which checkpoints they visited and for how long.

On PostgreSQL the track points live in a table partitioned by day (see the migration and
``patrol.partitions``); on SpatiaLite in a plain table. Either way, one fix per inspector and
device time: a replayed upload stores nothing twice.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from patrol import trackers


class ShiftStatus(models.TextChoices):
    OPEN = "open", _("on patrol")
    CLOSED = "closed", _("ended")


class ShiftEnd(models.TextChoices):
    """Why a shift ended."""

    ENDED = "ended", _("ended by the inspector")
    IDLE = "idle", _("no fix for a while")
    NEXT = "next", _("a later shift began")
    LIMIT = "limit", _("longer than a shift may last")


class Shift(models.Model):
    """巡查班次: one stretch of patrol by one inspector, from the first fix to the last.

    An inspector starts and ends a shift on the handheld; points that arrive outside any shift
    open one by themselves (``opened_auto``). A periodic task closes a shift opened so after
    GRIDCITY_PATROL_IDLE_MINUTES without a fix, and one the inspector started after
    GRIDCITY_PATROL_SHIFT_SILENCE_MINUTES without one or GRIDCITY_PATROL_SHIFT_MAX_HOURS after
    its start.
    """

    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="shifts",
        verbose_name=_("inspector"),
    )
    device = models.ForeignKey(
        "accounts.Device",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shifts",
        verbose_name=_("handheld"),
    )
    client_uuid = models.UUIDField(_("client id"), unique=True, null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=ShiftStatus, default=ShiftStatus.OPEN
    )
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    end_reason = models.CharField(_("why ended"), max_length=8, choices=ShiftEnd, blank=True)
    opened_auto = models.BooleanField(_("opened by its points"), default=False)
    first_point_at = models.DateTimeField(_("first fix"), null=True, blank=True)
    last_point_at = models.DateTimeField(_("last fix"), null=True, blank=True)
    points_count = models.PositiveIntegerField(_("fixes"), default=0)
    # The analysis, computed in the background at shift end and nightly; served from here.
    report = models.JSONField(_("report"), null=True, blank=True)
    report_at = models.DateTimeField(_("report computed"), null=True, blank=True)
    report_points = models.PositiveIntegerField(_("fixes in the report"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        indexes = [
            models.Index(fields=["inspector", "started_at"], name="shift_inspector_start"),
            # Lists across inspectors (a supervisor's street, the nightly reports, retention)
            # walk shifts newest first.
            models.Index(fields=["started_at", "id"], name="shift_start"),
        ]
        constraints = [
            # At most one shift on patrol per inspector: two uploads racing to open one meet here.
            models.UniqueConstraint(
                fields=["inspector"],
                condition=Q(status="open"),
                name="one_open_shift_per_inspector",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inspector_id} {self.started_at:%Y-%m-%d %H:%M}"


class TrackPoint(models.Model):
    """One GPS fix (定位点) of an inspector's handheld.

    ``t`` is the device's time of the fix, ``received_at`` the server's. The natural key is
    (inspector, t): the same fix uploaded again, in whatever batch and order, is stored once.
    """

    id = models.BigAutoField(primary_key=True)
    shift = models.ForeignKey(
        Shift,
        on_delete=models.CASCADE,
        related_name="points",
        db_index=False,  # (shift, t) below serves it
        verbose_name=_("shift"),
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("inspector"),
    )
    t = models.DateTimeField(_("fix time"))
    received_at = models.DateTimeField(_("received"))
    # No spatial index: fixes are read by inspector and time, never searched by place, and a
    # GiST index on 15–40 million rows a day would cost more than the table itself.
    point = models.PointField(_("position"), srid=4326, spatial_index=False)
    accuracy = models.FloatField(_("accuracy (m)"), null=True, blank=True)
    speed = models.FloatField(_("speed (m/s)"), null=True, blank=True)
    heading = models.FloatField(_("heading (°)"), null=True, blank=True)
    altitude = models.FloatField(_("altitude (m)"), null=True, blank=True)
    battery = models.PositiveSmallIntegerField(_("battery (%)"), null=True, blank=True)
    mock = models.BooleanField(_("mock location"), default=False)
    client_id = models.CharField(_("client id"), max_length=64, blank=True)
    # The first fix after a break the recording itself marks (a new GPX track or segment): no
    # distance, moving or online time is counted from the fix before it.
    segment_start = models.BooleanField(_("starts a segment"), default=False, db_default=False)
    # The device sent no time (Traccar takes the server's then): ``t`` is the receive time.
    time_from_server = models.BooleanField(
        _("time from the server"), default=False, db_default=False
    )

    class Meta:
        ordering = ["inspector", "t"]
        verbose_name = _("track point")
        verbose_name_plural = _("track points")
        indexes = [models.Index(fields=["shift", "t"], name="trackpoint_shift_t")]
        constraints = [
            models.UniqueConstraint(fields=["inspector", "t"], name="one_fix_per_inspector_time")
        ]

    def __str__(self) -> str:
        return f"{self.inspector_id} {self.t.isoformat()}"


# The shortest device identifier a Tracker may be registered with (Tracker.clean): long enough
# that no app's default passes (Traccar Client draws 8 digits, its older apps 6, a tracker's
# IMEI is 15), so every registration replaces the default with a random one.
TRACKER_IDENTIFIER_MIN = 16


class ProtocolKindField(models.CharField):
    """``Tracker.kind``: its choices come from the registry of ``patrol.trackers`` and stay out
    of the migration state, so that a new protocol module needs no migration. The admin's select
    and ``full_clean()`` still offer and check the registered kinds."""

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        kwargs.pop("choices", None)
        return name, "django.db.models.CharField", args, kwargs


class Tracker(models.Model):
    """A positioning app registered for an inspector: Traccar Client (OsmAnd protocol),
    OwnTracks, Overland, or any protocol registered in ``patrol.trackers``. Their fixes carry
    only the device identifier (or access token), so the identifier must be registered, and
    unrevoked, for anything to be stored."""

    Kind = trackers.kind_choices()

    kind = ProtocolKindField(_("protocol"), max_length=12, choices=Kind)
    identifier = models.CharField(_("device identifier"), max_length=128)
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="trackers",
        verbose_name=_("inspector"),
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("registered"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    # Last request of the device, a fix or a heartbeat without one (Traccar Client's
    # stationary heartbeat carries only the battery): a supervisor tells a silent phone from a
    # phone that stands still.
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    last_battery = models.PositiveSmallIntegerField(_("last battery (%)"), null=True, blank=True)

    class Meta:
        ordering = ["kind", "identifier"]
        verbose_name = _("tracker")
        verbose_name_plural = _("trackers")
        constraints = [
            models.UniqueConstraint(fields=["kind", "identifier"], name="one_tracker_per_id")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.identifier}"

    def clean(self):
        # The identifier is the only credential these protocols carry (neither sends a
        # password or token with its fixes): a short or guessable one lets anyone who tries
        # it write into the inspector's track. Long random identifiers only.
        self.identifier = (self.identifier or "").strip()
        errors = []
        if len(self.identifier) < TRACKER_IDENTIFIER_MIN:
            errors.append(
                _(
                    "At least %(n)d characters: the identifier is the app's only credential. "
                    "Use a long random one."
                )
                % {"n": TRACKER_IDENTIFIER_MIN}
            )
        if (protocol := trackers.protocol(self.kind)) is not None:
            errors += protocol.identifier_errors(self.identifier)
        if errors:
            raise ValidationError({"identifier": errors})


class PatrolRequirement(models.Model):
    """巡查要求: what a grid's inspector must do each day, where it differs from the district's
    defaults (GRIDCITY_PATROL_REQUIRED_*). An empty field takes the default.

    Supervisors read each inspector's day against these (the summary of
    ``patrol.selectors.inspectors_day_summary``): laps of the grid's checkpoints, minutes
    online, share of the grid covered, every checkpoint met (visited for its minimum dwell).
    """

    grid = models.OneToOneField(
        "gridcity.WorkGrid",
        on_delete=models.CASCADE,
        related_name="patrol_requirement",
        verbose_name=_("grid"),
    )
    laps_per_day = models.PositiveSmallIntegerField(
        _("laps a day"), null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    online_minutes = models.PositiveSmallIntegerField(
        _("minutes online a day"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(24 * 60)],
    )
    coverage = models.FloatField(
        _("share of the grid covered"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("0 to 1"),
    )
    all_checkpoints = models.BooleanField(
        _("every checkpoint, for its minimum dwell"), null=True, blank=True
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["grid__code"]
        verbose_name = _("patrol requirement")
        verbose_name_plural = _("patrol requirements")
        constraints = [
            models.CheckConstraint(
                condition=Q(coverage__isnull=True) | Q(coverage__gte=0, coverage__lte=1),
                name="patrol_requirement_coverage_share",
            ),
        ]

    def __str__(self) -> str:
        return str(self.grid_id)
