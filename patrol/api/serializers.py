"""Input and output of the patrol API.

The track upload is read by ``points_batch_parse``, a plain loop rather than a serializer per
fix: a thousand fixes through DRF fields would cost more than storing them.
"""

from django.utils.translation import gettext as _
from rest_framework import serializers

from gridcity.api.fields import LatitudeField, LongitudeField, within_years
from gridcity.coords import CRS_CHOICES
from patrol import readers
from patrol.fixes import Fix, FixFormatError
from patrol.models import Shift

_OPTIONAL = (
    ("acc", "accuracy"),
    ("speed", "speed"),
    ("heading", "heading"),
    ("alt", "altitude"),
    ("batt", "battery"),
)


# Integers of a fix's fields, epoch milliseconds included, are far below this; anything beyond
# goes the slow way, which refuses what no float can hold.
_INT_BOUND = 2**53


def _usual_number(value) -> bool:
    """None, a finite float, or an integer well within a float: what a handheld sends."""
    kind = type(value)
    if kind is float:
        return value - value == 0.0  # false for NaN and ±Infinity
    return value is None or (kind is int and -_INT_BOUND < value < _INT_BOUND)


def points_batch_parse(data, *, max_points: int) -> tuple[str, list[Fix]]:
    """``{crs?, points: [{id?, t, lon, lat, acc?, speed?, heading?, alt?, batt?, mock?}]}`` →
    (crs, fixes); ``FixFormatError`` naming the field for anything that cannot be read.

    Every number must be finite (no NaN, no ±Infinity, no integer beyond a float): anything
    else is a format error. Finite values out of range (a latitude of 95, a fix of 1970) are
    not: they are fixes, and the filters reject them one by one, saying why, so that one bad
    fix in a handheld's buffer does not hold back the rest of it for ever.
    """
    if not isinstance(data, dict):
        raise FixFormatError("non_field_errors", _("A JSON object is required."))
    crs = data.get("crs", "wgs84")
    if crs not in CRS_CHOICES:
        raise FixFormatError("crs", _("One of %s.") % ", ".join(CRS_CHOICES))
    points = data.get("points")
    if not isinstance(points, list):
        raise FixFormatError("points", _("A list of points is required."))
    if len(points) > max_points:
        raise FixFormatError("points", _("At most %(n)d points in one upload.") % {"n": max_points})
    fixes = []
    for i, p in enumerate(points):
        # The usual point, checked in one expression; anything else goes the slow way, which
        # says what is wrong.
        try:
            t, lon, lat = p["t"], p["lon"], p["lat"]
            acc, speed, heading = p.get("acc"), p.get("speed"), p.get("heading")
            alt, batt = p.get("alt"), p.get("batt")
            mock, client_id = p.get("mock", False), p.get("id", "")
            usual = (
                type(lon) is float
                and type(lat) is float
                and type(mock) is bool
                and type(client_id) is str
                and len(client_id) <= 64
                and all(map(_usual_number, (t, lon, lat, acc, speed, heading, alt, batt)))
            )
            if usual:
                fixes.append(
                    Fix(
                        t=t / 1000.0,
                        lon=lon,
                        lat=lat,
                        accuracy=acc,
                        speed=speed,
                        heading=heading,
                        altitude=alt,
                        battery=batt,
                        mock=mock,
                        client_id=client_id,
                    )
                )
                continue
        except (TypeError, KeyError, OverflowError):
            pass
        fixes.append(_point(i, p))
    return crs, fixes


def _point(i: int, p) -> Fix:
    """One point read field by field: the fix, or the error that names its field."""
    if not isinstance(p, dict):
        raise FixFormatError(f"points[{i}]", _("An object is required."))
    for name in ("t", "lon", "lat"):
        if p.get(name) is None:
            raise FixFormatError(f"points[{i}].{name}", _("This field is required."))
    optional = {}
    for key, name in _OPTIONAL:
        value = p.get(key)
        if value is not None:
            optional[name] = readers.number(value, f"points[{i}].{key}", text=False)
    mock = p.get("mock", False)
    if type(mock) is not bool:
        raise FixFormatError(f"points[{i}].mock", _("true or false is required."))
    client_id = p.get("id", "")
    if type(client_id) is int:
        client_id = str(client_id)
    elif not isinstance(client_id, str) or len(client_id) > 64:
        raise FixFormatError(f"points[{i}].id", _("A string of at most 64 characters."))
    return Fix(
        t=readers.epoch_ms_or_iso(p["t"], f"points[{i}].t"),
        lon=readers.number(p["lon"], f"points[{i}].lon", text=False),
        lat=readers.number(p["lat"], f"points[{i}].lat", text=False),
        mock=mock,
        client_id=client_id,
        **optional,
    )


class PointInputSerializer(serializers.Serializer):
    """One fix of an upload (for the schema; uploads are read by ``points_batch_parse``)."""

    id = serializers.CharField(required=False, max_length=64, help_text="the handheld's own id")
    t = serializers.CharField(help_text="ISO 8601 with a UTC offset, or epoch milliseconds")
    lon = LongitudeField()
    lat = LatitudeField()
    acc = serializers.FloatField(required=False, allow_null=True, help_text="metres")
    speed = serializers.FloatField(required=False, allow_null=True, help_text="m/s")
    heading = serializers.FloatField(required=False, allow_null=True, help_text="degrees")
    alt = serializers.FloatField(required=False, allow_null=True, help_text="metres")
    batt = serializers.FloatField(required=False, allow_null=True, help_text="percent")
    mock = serializers.BooleanField(required=False, default=False)


class PointsUploadInputSerializer(serializers.Serializer):
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84")
    points = PointInputSerializer(many=True)


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    rejected = serializers.DictField(child=serializers.IntegerField())
    rejected_points = serializers.ListField(child=serializers.DictField())
    shifts = serializers.ListField(child=serializers.IntegerField())


class ShiftStartInputSerializer(serializers.Serializer):
    client_uuid = serializers.UUIDField(
        help_text="Generated by the handheld; the same id again returns the same shift."
    )
    started_at = serializers.DateTimeField(required=False, validators=[within_years])


class ShiftEndInputSerializer(serializers.Serializer):
    ended_at = serializers.DateTimeField(required=False, validators=[within_years])


class InspectorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class ShiftSerializer(serializers.ModelSerializer):
    inspector = InspectorSerializer()

    class Meta:
        model = Shift
        fields = [
            "id",
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
            "updated_at",
        ]


class ShiftDetailSerializer(ShiftSerializer):
    class Meta(ShiftSerializer.Meta):
        fields = [*ShiftSerializer.Meta.fields, "report"]


class ShiftBriefSerializer(serializers.ModelSerializer):
    inspector = InspectorSerializer()

    class Meta:
        model = Shift
        fields = ["id", "inspector", "started_at", "ended_at", "status", "points_count"]


class GridBriefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ReportCheckpointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    min_dwell_s = serializers.FloatField()
    radius_m = serializers.FloatField(help_text="a fix this near visits the checkpoint")


class ShiftReportSerializer(serializers.Serializer):
    """A shift's report with what it was made against. The report's times (``started``,
    ``ended``, stops' and visits' ``start``/``end``/``enter``/``leave``, ``lap_ends``,
    anomalies' ``start``/``end``) are epoch seconds (UTC), as stored."""

    shift = ShiftBriefSerializer()
    grids = GridBriefSerializer(many=True)
    checkpoints = ReportCheckpointSerializer(many=True)
    report = serializers.JSONField(
        allow_null=True, help_text="patrol.analysis.ShiftReport; times in epoch seconds"
    )
    computed_at = serializers.DateTimeField(allow_null=True)
    fresh = serializers.BooleanField(help_text="made from every fix the shift holds")
    live = serializers.BooleanField(help_text="computed for this answer (shift on patrol)")


class InspectorSummaryQuerySerializer(serializers.Serializer):
    date = serializers.DateField(
        required=False, validators=[within_years], help_text="local day (default today)"
    )
    street = serializers.RegexField(
        r"^\d{6}(\d{3}){0,3}$",
        required=False,
        help_text="code of a street (or of a district, community or grid)",
    )
    area = serializers.RegexField(
        r"^\d{6}(\d{3}){0,3}$",
        required=False,
        help_text="the same as street: a district, street, community or grid code",
    )

    def validate(self, attrs):
        street, area = attrs.get("street"), attrs.get("area")
        if street and area and street != area:
            raise serializers.ValidationError({"area": _("Give street or area, not both.")})
        return attrs


class ShortfallSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["laps", "checkpoints", "online", "coverage", "no_patrol"]
    )
    need = serializers.FloatField()
    got = serializers.FloatField()


class RequirementSerializer(serializers.Serializer):
    laps = serializers.IntegerField(allow_null=True)
    online_minutes = serializers.IntegerField(allow_null=True)
    coverage = serializers.FloatField(allow_null=True)
    all_checkpoints = serializers.BooleanField()


class InspectorDaySerializer(serializers.Serializer):
    inspector = serializers.DictField()
    grids = serializers.ListField(child=serializers.CharField())
    shifts = serializers.ListField(child=serializers.IntegerField())
    distance_m = serializers.FloatField()
    online_s = serializers.FloatField()
    moving_s = serializers.FloatField()
    stopped_s = serializers.FloatField()
    laps = serializers.IntegerField()
    checkpoints_visited = serializers.IntegerField()
    checkpoints_met = serializers.IntegerField()
    checkpoints_required = serializers.IntegerField()
    coverage = serializers.FloatField(allow_null=True)
    outside_s = serializers.FloatField()
    anomalies = serializers.DictField(child=serializers.IntegerField())
    report_pending = serializers.BooleanField()
    requirement = RequirementSerializer(allow_null=True)
    short = serializers.BooleanField()
    shortfalls = ShortfallSerializer(many=True)


class InspectorSummarySerializer(serializers.Serializer):
    date = serializers.DateField()
    area = serializers.CharField(allow_null=True)
    results = InspectorDaySerializer(many=True)
