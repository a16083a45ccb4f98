import numpy as np
import shapely
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from gridcity import coords, geometry
from gridcity.api.fields import LatitudeField, LongitudeField
from gridcity.models import Checkpoint, Community, District, Street, WorkGrid


def _round_7(coords: np.ndarray) -> np.ndarray:
    return np.round(coords, 7)


class SimplifiedGeometryField(GeometryField):
    """GeoJSON geometry, simplified by ``simplify=<metres>`` from the view's context.

    Done with shapely on the WKB rather than through GDAL's GeoJSON text: a whole district's
    grids serialise several times faster. Coordinates are rounded to 7 decimals (about 1 cm),
    well under any tolerance we keep.
    """

    def to_representation(self, value):
        if value is None:
            return None
        shape = shapely.from_wkb(bytes(value.wkb))
        metres = self.context.get("simplify_m")
        if metres:
            lat = (shape.bounds[1] + shape.bounds[3]) / 2
            simple = shape.simplify(
                geometry.simplify_tolerance_degrees(metres, lat), preserve_topology=True
            )
            # A one-part MultiPolygon comes back as a Polygon; keep the stored type.
            shape = (
                geometry.to_multipolygon(simple) if shape.geom_type == "MultiPolygon" else simple
            )
        return shapely.geometry.mapping(shapely.transform(shape, _round_7))


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
    # Finite and in range (NaN and 1e400 parse as floats, but are no place on Earth).
    lon = LongitudeField()
    lat = LatitudeField()
    crs = serializers.ChoiceField(choices=coords.CRS_CHOICES, default="wgs84")


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
