from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from gridcity import coords, geometry
from gridcity.models import Checkpoint, Community, District, Street, WorkGrid


class SimplifiedGeometryField(GeometryField):
    """GeoJSON geometry, simplified by ``simplify=<metres>`` from the view's context.

    Coordinates are rounded to 7 decimals (about 1 cm), well under any tolerance we keep.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("precision", 7)
        super().__init__(**kwargs)

    def to_representation(self, value):
        metres = self.context.get("simplify_m") if hasattr(self, "parent") else None
        if metres and value is not None:
            simple = value.simplify(
                geometry.simplify_tolerance_degrees(metres, value.centroid.y),
                preserve_topology=True,
            )
            # GEOS returns a Polygon for a one-part MultiPolygon; keep the stored type.
            if isinstance(value, MultiPolygon) and isinstance(simple, Polygon):
                simple = MultiPolygon(simple, srid=value.srid)
            value = simple
        return super().to_representation(value)


class UnitSerializer(GeoFeatureModelSerializer):
    geom = SimplifiedGeometryField(read_only=True)
    parent_code = serializers.SerializerMethodField()

    class Meta:
        geo_field = "geom"
        id_field = "code"
        fields = ["code", "name", "parent_code", "area_m2", "updated_at", "geom"]

    def get_parent_code(self, unit) -> str | None:
        # The parent's code is the child's code less its last three digits.
        return unit.code[:-3] if unit.parent_field else None


class DistrictSerializer(UnitSerializer):
    class Meta(UnitSerializer.Meta):
        model = District


class StreetSerializer(UnitSerializer):
    class Meta(UnitSerializer.Meta):
        model = Street


class CommunitySerializer(UnitSerializer):
    class Meta(UnitSerializer.Meta):
        model = Community


class WorkGridSerializer(UnitSerializer):
    checkpoint_count = serializers.IntegerField(read_only=True)

    class Meta(UnitSerializer.Meta):
        model = WorkGrid
        fields = [*UnitSerializer.Meta.fields, "checkpoint_count"]


class CheckpointSerializer(GeoFeatureModelSerializer):
    grid_code = serializers.CharField(source="grid.code", read_only=True)

    class Meta:
        model = Checkpoint
        geo_field = "point"
        id_field = "code"
        fields = ["code", "name", "grid_code", "min_dwell_minutes", "updated_at", "point"]


class LocateQuerySerializer(serializers.Serializer):
    lon = serializers.FloatField(min_value=-180, max_value=180, help_text=_("longitude"))
    lat = serializers.FloatField(min_value=-90, max_value=90, help_text=_("latitude"))
    crs = serializers.ChoiceField(choices=coords.CRS_CHOICES, default="wgs84")

    def validate(self, attrs):
        # float("nan") and float("inf") parse, but are no place on Earth.
        for name in ("lon", "lat"):
            if attrs[name] != attrs[name]:
                raise serializers.ValidationError({name: _("A valid number is required.")})
        return attrs


class PlaceSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class LocationSerializer(serializers.Serializer):
    grid = PlaceSerializer()
    community = PlaceSerializer()
    street = PlaceSerializer()
    district = PlaceSerializer()
    lon = serializers.FloatField(help_text=_("the point in WGS-84"))
    lat = serializers.FloatField()
