import hashlib

from django.core.cache import cache
from django.db.models import Count
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from gridcity import coords
from gridcity.api import filters
from gridcity.api import serializers as s
from gridcity.api.conditional import etag_answer
from gridcity.api.errors import not_found
from gridcity.api.pagination import FeatureCursorPagination
from gridcity.api.permissions import ModelPermissions
from gridcity.locate import grid_at, hierarchy_fingerprint
from gridcity.models import Checkpoint, Community, District, Street, WorkGrid

SIMPLIFY = OpenApiParameter(
    "simplify", OpenApiTypes.FLOAT, description=_("simplify boundaries to this many metres")
)


class _SimplifyQuery(serializers.Serializer):
    simplify = serializers.FloatField(min_value=0, max_value=10_000, required=False)


class HierarchyCacheMixin:
    """Cache answers until the hierarchy changes, and answer 304 to a client that has them.

    Boundaries change a few times a year while every handheld and map page asks for them; the
    key is the hierarchy's fingerprint (a handful of cheap aggregates) and the full request path.
    """

    cache_seconds = 24 * 3600

    def _cached(self, request, produce):
        version = hashlib.sha1(repr(hierarchy_fingerprint()).encode()).hexdigest()[:16]
        path = hashlib.sha1(request.get_full_path().encode()).hexdigest()[:16]
        etag = f'"{version}-{path}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if (answer := etag_answer(request, etag=etag, headers=headers)) is not None:
            return answer
        key = f"gridcity:api:{version}:{path}"
        data = cache.get(key)
        if data is None:
            response = produce()
            if response.status_code != 200:
                return response
            data = response.data
            cache.set(key, data, self.cache_seconds)
        return Response(data, headers=headers)

    def list(self, request, *args, **kwargs):
        produce = super().list
        return self._cached(request, lambda: produce(request, *args, **kwargs))

    def retrieve(self, request, *args, **kwargs):
        produce = super().retrieve
        return self._cached(request, lambda: produce(request, *args, **kwargs))


@extend_schema(parameters=[SIMPLIFY])
class UnitViewSet(HierarchyCacheMixin, viewsets.ReadOnlyModelViewSet):
    """GeoJSON of one level of the hierarchy; filter by an ancestor's code or a bbox."""

    lookup_field = "code"
    lookup_value_regex = r"\d+"
    # The boundaries are public: citizens see them on the map.
    permission_classes = [AllowAny]
    pagination_class = FeatureCursorPagination
    filter_backends = [DjangoFilterBackend, filters.BBoxFilter]
    bbox_filter_field = "geom"
    bbox_filter_include_overlapping = True

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        query = _SimplifyQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        self.simplify_m = query.validated_data.get("simplify")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "simplify_m": self.simplify_m}


class DistrictViewSet(UnitViewSet):
    queryset = District.objects.all()
    serializer_class = s.DistrictSerializer


class StreetViewSet(UnitViewSet):
    queryset = Street.objects.all()
    serializer_class = s.StreetSerializer
    filterset_class = filters.StreetFilter


class CommunityViewSet(UnitViewSet):
    queryset = Community.objects.all()
    serializer_class = s.CommunitySerializer
    filterset_class = filters.CommunityFilter


class WorkGridViewSet(UnitViewSet):
    queryset = WorkGrid.objects.annotate(checkpoint_count=Count("checkpoints"))
    serializer_class = s.WorkGridSerializer
    filterset_class = filters.WorkGridFilter


class CheckpointViewSet(HierarchyCacheMixin, viewsets.ReadOnlyModelViewSet):
    """Checkpoints (巡查点) as GeoJSON points; filter by grid or any ancestor's code.

    Where inspectors must go is for the people who manage patrols, not for the public.
    """

    permission_classes = [ModelPermissions]

    lookup_field = "code"
    lookup_value_regex = r"\d+"
    queryset = Checkpoint.objects.select_related("grid")
    serializer_class = s.CheckpointSerializer
    filterset_class = filters.CheckpointFilter
    pagination_class = FeatureCursorPagination
    filter_backends = [DjangoFilterBackend, filters.BBoxFilter]
    bbox_filter_field = "point"


class LocateApi(APIView):
    """Which work grid, community, street and district hold a point."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[s.LocateQuerySerializer],
        responses={
            200: s.LocationSerializer,
            404: OpenApiResponse(description="not_found: the point lies in no work grid"),
        },
    )
    def get(self, request):
        query = s.LocateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        lon, lat, crs = (query.validated_data[k] for k in ("lon", "lat", "crs"))
        location = grid_at(lon, lat, crs)
        if location is None:
            return not_found(_("The point lies in no work grid."))
        wgs_lon, wgs_lat = coords.convert(lon, lat, crs, "wgs84")
        return Response({**location.as_dict(), "lon": wgs_lon, "lat": wgs_lat})
