"""The patrol API: shifts (start, end, list, read), a shift's track, the upload of fixes.

Thin views: selectors decide whose shifts a caller sees (anyone else's is a 404), services do
the work and refuse what the caller may not do (403: only inspectors record patrols, and only
their own) or what contradicts what is stored (409).
"""

import numpy as np
from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import policy
from accounts.models import Device
from gridcity.api.pagination import CursorPagination
from patrol import services
from patrol.analysis import AnalysisParams
from patrol.api import serializers as s
from patrol.api.filters import ShiftFilter
from patrol.api.parsers import BoundedJSONParser
from patrol.models import Shift
from patrol.protocols import track_features
from patrol.selectors import (
    area_exists,
    inspectors_day_summary,
    may_summarise,
    shift_track,
    shifts_visible_to,
)


class ShiftPagination(CursorPagination):
    ordering = ("-started_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class IsInspector(BasePermission):
    """Only grid inspectors record patrols (their own: the services take the caller)."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated) and policy.is_inspector(
            request.user
        )


def _device_of(request) -> Device | None:
    """The handheld whose token made the request (none for a web session)."""
    token = request.auth
    if token is None or not hasattr(token, "token_key"):
        return None
    return Device.objects.filter(token=token).first()


def _visible_shift(request, pk: int) -> Shift:
    return get_object_or_404(shifts_visible_to(request.user), pk=pk)


class ShiftListStartApi(ListAPIView):
    """GET: the shifts the caller may see, newest first. POST: start a shift (idempotent by
    ``client_uuid``: 201 for a new shift, 200 for the same one again, 409 for another's)."""

    conflicts = True

    serializer_class = s.ShiftSerializer
    pagination_class = ShiftPagination
    filterset_class = ShiftFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Shift.objects.none()
        return shifts_visible_to(self.request.user).defer("report")

    @extend_schema(
        request=s.ShiftStartInputSerializer,
        responses={201: s.ShiftDetailSerializer, 200: s.ShiftDetailSerializer},
    )
    def post(self, request):
        if not IsInspector().has_permission(request, self):
            raise exceptions.PermissionDenied()
        given = s.ShiftStartInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        shift = services.shift_start(
            inspector=request.user,
            client_uuid=given.validated_data["client_uuid"],
            started_at=given.validated_data.get("started_at"),
            device=_device_of(request),
        )
        shift.inspector = request.user
        code = status.HTTP_201_CREATED if shift.created else status.HTTP_200_OK
        return Response(s.ShiftDetailSerializer(shift).data, status=code)


class ShiftDetailApi(APIView):
    """One shift, with its report once computed."""

    @extend_schema(responses=s.ShiftDetailSerializer)
    def get(self, request, pk: int):
        return Response(s.ShiftDetailSerializer(_visible_shift(request, pk)).data)


class ShiftEndApi(APIView):
    """End a shift (idempotent): only its inspector; others who may see it get 403."""

    conflicts = True

    @extend_schema(request=s.ShiftEndInputSerializer, responses=s.ShiftDetailSerializer)
    def post(self, request, pk: int):
        shift = _visible_shift(request, pk)
        given = s.ShiftEndInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        ended = services.shift_end(
            shift=shift, by=request.user, ended_at=given.validated_data.get("ended_at")
        )
        ended.inspector = shift.inspector
        return Response(s.ShiftDetailSerializer(ended).data)


def _nullable(values: np.ndarray) -> list:
    # NaN (no value) → null; so is ±Infinity, which rows stored before uploads were checked
    # may hold and JSON cannot say (v - v is NaN for both).
    return [v if v - v == 0 else None for v in values.tolist()]


class ShiftPointsApi(APIView):
    """The shift's track as GeoJSON: a LineString of its fixes in time order, and with
    ``?points=1`` each fix as a Point with its time (UTC), accuracy, speed, heading, altitude,
    battery (whole percent), mock flag and whether the recording breaks before it
    (``segment_start``). Two queries whatever the number of fixes."""

    @extend_schema(
        parameters=[OpenApiParameter("points", bool, description="each fix as a Point too")],
        responses={200: dict},
    )
    def get(self, request, pk: int):
        shift = _visible_shift(request, pk)
        track = shift_track(shift)
        xy = np.column_stack([track.lon, track.lat]).tolist()
        properties = shift_properties(shift, len(xy))
        points = None
        if request.query_params.get("points") in ("1", "true"):
            points = _point_properties(track)
        return Response(track_features(xy, properties=properties, points=points))


def shift_properties(shift: Shift, n: int) -> dict:
    """What a track's line says of its shift; ``n`` is the number of its fixes."""
    return {
        "shift": shift.pk,
        "inspector": shift.inspector_id,
        "points": n,
        "started_at": timezone.localtime(shift.started_at).isoformat(),
        "ended_at": timezone.localtime(shift.ended_at).isoformat() if shift.ended_at else None,
    }


def _point_properties(track) -> list[dict]:
    """Each fix's time (UTC), accuracy, speed, heading, altitude, battery, mock flag and break."""
    times = np.datetime_as_string(track.ms.astype("datetime64[ms]"), timezone="UTC")
    columns = {
        name: _nullable(getattr(track, name))
        for name in ("accuracy", "speed", "heading", "altitude")
    }
    # A whole percent, whichever database stored it (SpatiaLite's column is REAL).
    columns["battery"] = [None if v is None else round(v) for v in _nullable(track.battery)]
    mock = track.mock.tolist()
    breaks = track.segment_start.tolist()
    return [
        {
            "t": times[i],
            **{name: values[i] for name, values in columns.items()},
            "mock": mock[i],
            # The recording breaks before this fix: draw no line to it.
            "segment_start": bool(breaks[i]),
        }
        for i in range(len(times))
    ]


class TrackPointsUploadApi(APIView):
    """Upload fixes: ``{crs?, points: [{id?, t, lon, lat, acc?, speed?, heading?, alt?, batt?,
    mock?}]}``, at most GRIDCITY_PATROL_MAX_BATCH points, ``t`` in ISO 8601 with an offset or
    epoch milliseconds, the body optionally gzip-compressed. 200 with what was accepted, what
    was a duplicate, and each rejected point's index and reason. A body that cannot be read
    is a 400 naming the field (``points[3].t``) and stores nothing."""

    parser_classes = [BoundedJSONParser]
    permission_classes = [IsAuthenticated, IsInspector]
    conflicts = True

    @extend_schema(request=s.PointsUploadInputSerializer, responses=s.IngestResultSerializer)
    def post(self, request):
        crs, fixes = s.points_batch_parse(
            request.data, max_points=settings.GRIDCITY_PATROL_MAX_BATCH
        )
        result = services.track_points_ingest(
            inspector=request.user, fixes=fixes, device=_device_of(request), crs=crs
        )
        return Response(result.as_dict())


class ShiftReportApi(APIView):
    """A shift's report (distance, stops, checkpoint visits and dwell, laps, coverage, time
    outside, anomalies) with the grids and checkpoints it was made against. Served from
    storage; an ended shift whose report is missing or stale gets it computed (and stored)
    now, a shift still on patrol gets it computed from its fixes so far (not stored). Times
    inside ``report`` are epoch seconds. Visible as the shift is (404 otherwise)."""

    @extend_schema(responses=s.ShiftReportSerializer)
    def get(self, request, pk: int):
        current = services.shift_report_current(shift=_visible_shift(request, pk))
        radius = AnalysisParams().checkpoint_radius_m
        return Response(
            {
                "shift": s.ShiftBriefSerializer(current.shift).data,
                "grids": [{"code": g.code, "name": g.name} for g in current.grids],
                "checkpoints": [
                    {
                        "id": c.id,
                        "code": c.code,
                        "name": c.name,
                        "lon": c.lon,
                        "lat": c.lat,
                        "min_dwell_s": c.min_dwell_s,
                        "radius_m": radius,
                    }
                    for c in current.checkpoints
                ],
                "report": current.report,
                "computed_at": timezone.localtime(current.computed_at).isoformat()
                if current.computed_at
                else None,
                "fresh": current.fresh,
                "live": current.live,
            }
        )


class MaySummarise(BasePermission):
    """Supervisors (their street), administrators (all) and inspectors (their own row)."""

    def has_permission(self, request, view):
        return may_summarise(request.user)


class InspectorSummaryApi(APIView):
    """督查汇总: every inspector who held a grid in the caller's scope on a local day, with
    that day's patrol figures added up and what they lack against their grids' requirements
    (``short``, ``shortfalls``). ``street`` (or ``area``): a street, community or grid code
    inside the caller's scope (403 outside it, 404 for no such code)."""

    permission_classes = [IsAuthenticated, MaySummarise]

    @extend_schema(
        parameters=[s.InspectorSummaryQuerySerializer],
        responses={
            200: s.InspectorSummarySerializer,
            404: OpenApiResponse(description="not_found: no area with the code given"),
        },
    )
    def get(self, request):
        given = s.InspectorSummaryQuerySerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        day = given.validated_data.get("date") or timezone.localdate()
        area = given.validated_data.get("street") or given.validated_data.get("area")
        if area and not area_exists(area):
            raise exceptions.NotFound(_("There is no area with code %(code)s.") % {"code": area})
        rows = inspectors_day_summary(request.user, day=day, area=area)  # AreaOutOfScope: 403
        return Response({"date": day.isoformat(), "area": area, "results": rows})
